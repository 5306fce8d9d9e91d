"""What a viewer's filters make of the statuses shown to them, as Mastodon decides it.

`screen(conn, viewer, bundle)` reads the viewer's filters that have not expired (one
query, which also finds the page's statuses among their filtered statuses), compiles each
filter's keywords into one regular expression, and matches every status of the bundle
once. A status matches a filter when a keyword is found in its searchable text (Mastodon's
`Status#searchable_text`: the content warning, the text as written, the poll's options and
the media descriptions, joined by blank lines), or when it, or the status it reblogs, is
one of the filter's statuses. A reblog carries its original's results, and the original
the reblog's, as Mastodon's StatusRelationshipsPresenter keys them.

Keywords match case-insensitively; a whole-word keyword has a word boundary on each side
that begins or ends with a word character (a keyword "#tag" needs none before the `#`).
Python's `\\b` and word characters are Unicode's, where Mastodon's Ruby `\\b` is ASCII's:
"café" is a whole word here in "un café noir", which Mastodon would not find.

`filtered` lists every matching filter, whatever its context; `hidden(bundle, row,
context)` is what a listing in that context leaves out: a status a `hide` filter for that
context matches, unless the viewer wrote it (their own posts are never hidden, as
Mastodon's web client decides). Mastodon 4 leaves hiding to the apps; Aloft removes them
too (v1's `irreversible` is documented as dropped by the server), so an app that knows
nothing of filters does not show them either.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft.services.auth import now
from aloft.services.pages import Page
from aloft.storage.schema import filter_keywords, filter_statuses, filters
from aloft.storage.statement import Among, Statement

if TYPE_CHECKING:
    from aloft.services.loader import Bundle

HIDE = "hide"
WORD_START = re.compile(r"^\w")
WORD_END = re.compile(r"\w$")


@dataclass(frozen=True)
class Match:
    """One filter that matched a status (Mastodon's FilterResult)."""

    filter: Row  # the filters row: id, title, context, action, expires_at
    keyword_matches: tuple[str, ...] | None
    status_matches: tuple[int, ...] | None

    def hides_in(self, context: str) -> bool:
        return self.filter.action == HIDE and context in str(self.filter.context).split()


@dataclass(frozen=True)
class _Compiled:
    filter: Row
    pattern: re.Pattern[str] | None
    status_ids: frozenset[int]
    # The keywords case-folded: the pattern runs only on a text that holds one of them. A
    # search of an alternation tries every keyword at every position (10 filters of 20
    # keywords took 180 ms over a page of 40 statuses); a substring test is C's.
    needles: tuple[str, ...] = ()

    def search(self, text: str, folded: str) -> re.Match[str] | None:
        if self.pattern is None or not any(n in folded for n in self.needles):
            return None
        return self.pattern.search(text)


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """One keyword as a regular expression (escaped; word boundaries for a whole word)."""
    body = re.escape(keyword)
    if not whole_word:
        return body
    start = r"\b" if WORD_START.search(keyword) else ""
    end = r"\b" if WORD_END.search(keyword) else ""
    return f"{start}{body}{end}"


def _active_filters(among: Among) -> sa.CompoundSelect:
    unexpired = sa.and_(
        filters.c.account_id == sa.bindparam("me"),
        sa.or_(
            filters.c.expires_at.is_(None),
            filters.c.expires_at > sa.bindparam("at", type_=filters.c.expires_at.type),
        ),
    )
    columns = [filters.c.id, filters.c.title, filters.c.context, filters.c.action]
    columns.append(filters.c.expires_at)
    by_keyword = (
        sa.select(
            *columns,
            filter_keywords.c.keyword,
            filter_keywords.c.whole_word,
            sa.null().label("status_id"),
        )
        .join(filter_keywords, filter_keywords.c.filter_id == filters.c.id)
        .where(unexpired)
    )
    by_status = (
        sa.select(
            *columns,
            sa.null().label("keyword"),
            sa.null().label("whole_word"),
            filter_statuses.c.status_id,
        )
        .join(filter_statuses, filter_statuses.c.filter_id == filters.c.id)
        .where(unexpired, among(filter_statuses.c.status_id, "ids"))
    )
    return sa.union_all(by_keyword, by_status)


# Built once: it is asked on every page a signed-in viewer reads (building it each time was
# a tenth of a home page's time, issue 11).
_ACTIVE = Statement(_active_filters)


def _active(conn: Connection, viewer_id: int, status_ids: list[int]) -> list[_Compiled]:
    """The viewer's unexpired filters that can match: those with keywords, and those with
    one of `status_ids` among their statuses. One query."""
    query = _ACTIVE.on(conn)
    params = {"me": viewer_id, "at": now(), "ids": status_ids}
    heads: dict[int, Row] = {}
    words: dict[int, list[str]] = defaultdict(list)
    needles: dict[int, list[str]] = defaultdict(list)
    matched: dict[int, set[int]] = defaultdict(set)
    for r in conn.execute(query, params):
        heads.setdefault(r.id, r)
        if r.keyword is not None:
            words[r.id].append(keyword_pattern(r.keyword, bool(r.whole_word)))
            needles[r.id].append(str(r.keyword).casefold())
        if r.status_id is not None:
            matched[r.id].add(int(r.status_id))
    out = []
    for filter_id in sorted(heads):
        found = words.get(filter_id)
        pattern = re.compile("|".join(found), re.IGNORECASE) if found else None
        statuses = frozenset(matched[filter_id])
        out.append(_Compiled(heads[filter_id], pattern, statuses, tuple(needles[filter_id])))
    return out


def searchable_text(row: Row, bundle: Bundle) -> str:
    """Mastodon's Status#searchable_text for a local status (whose plain text is its
    source): the content warning, the text, the poll's options, the media descriptions."""
    parts = [row.spoiler_text or "", row.text or ""]
    poll = bundle.polls.get(row.poll_id) if row.poll_id else None
    if poll is not None:
        parts.append("\n\n".join(o.title for o in poll.options))
    parts.append("\n\n".join(m.description or "" for m in bundle.media.get(row.id, ())))
    return "\n\n".join(parts)


def screen(conn: Connection, viewer_id: int, bundle: Bundle) -> dict[int, list[Match]]:
    """Status id → the viewer's filters that match it, for every status in `bundle`
    (reblogs under their own id and their original's)."""
    rows = list(bundle.statuses.values())
    compiled = _active(conn, viewer_id, [r.id for r in rows])
    if not compiled:
        return {}
    out: dict[int, list[Match]] = {}
    for row in rows:
        original = bundle.statuses.get(row.reblog_of_id) if row.reblog_of_id else row
        if original is None or row.id in out:
            continue
        text = searchable_text(original, bundle) if any(c.pattern for c in compiled) else ""
        folded = text.casefold()
        results = []
        for c in compiled:
            found = c.search(text, folded)
            hit = sorted({row.id, original.id} & c.status_ids)
            if found is None and not hit:
                continue
            results.append(
                Match(c.filter, (found.group(0),) if found else None, tuple(hit) if hit else None)
            )
        if results:
            out[row.id] = results
            out[original.id] = results
    return out


def hidden(bundle: Bundle, row: Row, context: str) -> bool:
    """Whether a listing in `context` leaves `row` out (see the module's docstring)."""
    results = bundle.filtered.get(row.id)
    if not results:
        return False
    original = bundle.statuses.get(row.reblog_of_id) if row.reblog_of_id else row
    if (original or row).account_id == bundle.viewer_id:
        return False
    return any(m.hides_in(context) for m in results)


def shown(bundle: Bundle, rows: Sequence[Row], context: str) -> list[Row]:
    """`rows` without those `hidden` in `context`."""
    if not bundle.filtered:
        return list(rows)
    return [r for r in rows if not hidden(bundle, r, context)]


def page_shown(result: tuple[Page[Row], Bundle], context: str) -> tuple[Page[Row], Bundle]:
    """A timeline's page without what is `hidden` in `context`. The cursors stay those of
    the rows read, so the next page starts after the hidden ones too (a page may thus hold
    fewer statuses than its limit, or none, and still lead on)."""
    page, bundle = result
    kept = shown(bundle, page.items, context)
    if len(kept) == len(page.items):
        return result
    return Page(kept, page.next_max_id, page.prev_min_id), bundle
