"""Batch loading: everything a page of statuses or accounts needs, in a fixed number of
queries whatever the page size (no N+1).

For a page of statuses (its rows given, with the originals they reblog when the page's
statement brought them, `timelines._rows`): the reblogged originals still missing (one
query), then every author (one), the facts (one: hashtags, mentions and, for a signed-in
viewer, their favourites, bookmarks, reblogs, pins and muted threads among the page),
media attachments (one) and apps (one, only for statuses posted through one), these four
in one round trip on PostgreSQL (`storage.statement.rows_together`); then polls (one, only
for a page that has some) and the viewer's votes in them (one); then the viewer's filters
(one, `aloft.services.filtering`, only for a viewer who has any: the facts say), whose
results are `filtered`. Counts come from counter columns on the rows themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft.services import conversation_mutes, filtering, media
from aloft.services.polls import PollView
from aloft.services.polls import for_statuses as polls_for
from aloft.storage.schema import (
    accounts,
    apps,
    bookmarks,
    favourites,
    filters,
    mentions,
    status_pins,
    status_tags,
    statuses,
    tags,
)
from aloft.storage.statement import Statement, rows_of, rows_together


class Mention(NamedTuple):
    """An account a status mentions."""

    id: int
    username: str


@dataclass
class Bundle:
    """Rows keyed by id, ready for `aloft.api.entities` to render."""

    statuses: dict[int, Row] = field(default_factory=dict)
    accounts: dict[int, Row] = field(default_factory=dict)
    mentions: dict[int, list[Mention]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    media: dict[int, list[Row]] = field(default_factory=dict)
    apps: dict[int, Row] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    polls: dict[int, PollView] = field(default_factory=dict)  # by poll id
    pinned: set[int] = field(default_factory=set)
    muted: set[int] = field(default_factory=set)  # statuses in a conversation the viewer muted
    # status id → the viewer's filters that match it (aloft.services.filtering)
    filtered: dict[int, list[filtering.Match]] = field(default_factory=dict)
    viewer_id: int | None = None


# What an Account entity may need: every column but the secrets (a page never needs a
# password hash or an email, and did fetch them).
ACCOUNT_COLUMNS = tuple(c for c in accounts.c if c.name not in ("password_hash", "email"))

_ACCOUNTS = Statement(lambda among: sa.select(*ACCOUNT_COLUMNS).where(among(accounts.c.id, "ids")))
_STATUSES = Statement(lambda among: sa.select(statuses).where(among(statuses.c.id, "ids")))
_APPS = Statement(
    lambda among: sa.select(apps.c.id, apps.c.name, apps.c.website).where(among(apps.c.id, "ids"))
)
# What the facts query (below) says of a status, by its first column; HAS_FILTERS is of the
# viewer.
FAVOURITED, BOOKMARKED, REBLOGGED, PINNED, MUTED, TAG, MENTION, HAS_FILTERS = range(8)


def _facts(signed_in: bool) -> Callable[[Any], sa.Executable]:
    """The facts of a page's statuses in one statement (one round trip), as rows of
    (kind, status_id, id, name): the hashtags (name) and mentions (id, name) of the
    statuses in `ids`, and with `signed_in` the viewer `me`'s favourites, bookmarks and
    reblogs among them, the viewer's pins among `own`, those in a thread the viewer
    muted, and one HAS_FILTERS row if the viewer has made any filter (most have none, and
    their pages then skip the filters' statement). It replaced four statements and spares
    most viewers a fifth (issue 11: each one's execution costs more in Python than SQLite's
    work for it, and each is a round trip to PostgreSQL)."""

    def build(among: Any) -> sa.Executable:
        me = sa.bindparam("me", type_=accounts.c.id.type)
        no_id = sa.cast(sa.null(), accounts.c.id.type)
        no_name = sa.cast(sa.null(), sa.Text)

        def code(kind: int) -> sa.ColumnElement[int]:
            return sa.literal(kind, sa.Integer).label("kind")

        def mark(
            table: sa.Table, kind: int, column: str = "status_id", ids: str = "ids"
        ) -> sa.Select:
            return sa.select(code(kind), table.c[column].label("status_id"), no_id, no_name).where(
                table.c.account_id == me, among(table.c[column], ids)
            )

        parts: list[sa.Select] = [
            sa.select(code(TAG), status_tags.c.status_id, no_id, tags.c.name)
            .join(tags, tags.c.id == status_tags.c.tag_id)
            .where(among(status_tags.c.status_id, "ids")),
            sa.select(code(MENTION), mentions.c.status_id, accounts.c.id, accounts.c.username)
            .join(accounts, accounts.c.id == mentions.c.account_id)
            .where(among(mentions.c.status_id, "ids")),
        ]
        if signed_in:
            muted = conversation_mutes.muted_among_query(among).subquery()
            parts += [
                mark(favourites, FAVOURITED),
                mark(bookmarks, BOOKMARKED),
                mark(statuses, REBLOGGED, "reblog_of_id"),
                mark(status_pins, PINNED, ids="own"),
                sa.select(code(MUTED), muted.c.start, no_id, no_name),
                sa.select(code(HAS_FILTERS), no_id, no_id, no_name).where(
                    sa.exists().where(filters.c.account_id == me)
                ),
            ]
        return sa.union_all(*parts)

    return build


_FACTS = {signed_in: Statement(_facts(signed_in)) for signed_in in (False, True)}


def status_rows(conn: Connection, status_ids: Iterable[int]) -> list[Row]:
    """The `statuses` rows of these ids (those that exist), in no order: one query."""
    wanted = list(status_ids)
    return rows_of(conn, _STATUSES, {"ids": wanted}) if wanted else []


def load_accounts(conn: Connection, account_ids: Iterable[int], bundle: Bundle) -> None:
    wanted = [i for i in set(account_ids) if i not in bundle.accounts]
    if wanted:
        for row in conn.execute(_ACCOUNTS.on(conn), {"ids": wanted}):
            bundle.accounts[row.id] = row


def with_bundle(viewer_id: int | None) -> Callable[[Connection, Row], tuple[Row, Bundle]]:
    """A `then` for `Database.write_then`: the written status row and its Bundle as
    `viewer_id` sees it."""
    return lambda conn, row: (row, load_statuses(conn, [row], viewer_id))


def load_statuses(
    conn: Connection,
    rows: Sequence[Row],
    viewer_id: int | None,
    bundle: Bundle | None = None,
    accounts: Iterable[int] = (),
) -> Bundle:
    """A Bundle for `rows` (full `statuses` rows) as seen by `viewer_id`, with the
    `accounts` the page also shows (a notification's sender) loaded with the authors."""
    bundle = bundle or Bundle()
    bundle.viewer_id = viewer_id
    for row in rows:
        bundle.statuses[row.id] = row
    original_ids = list({r.reblog_of_id for r in rows if r.reblog_of_id} - bundle.statuses.keys())
    if original_ids:
        for row in rows_of(conn, _STATUSES, {"ids": original_ids}):
            bundle.statuses[row.id] = row
    all_rows = list(bundle.statuses.values())
    content_ids = [r.id for r in all_rows if r.reblog_of_id is None]
    # Authors, facts, media and apps depend only on the rows: one round trip on PostgreSQL
    # (`rows_together`).
    batch: list[tuple[Statement, dict[str, Any]]] = []
    account_ids = list({r.account_id for r in all_rows}.union(accounts) - bundle.accounts.keys())
    if account_ids:
        batch.append((_ACCOUNTS, {"ids": account_ids}))
    if content_ids:
        facts = _facts_params(all_rows, content_ids, viewer_id)
        batch.append((_FACTS[viewer_id is not None], facts))
        batch.append((media.FOR_STATUSES, {"ids": content_ids}))
    app_ids = list({r.app_id for r in all_rows if r.app_id} - bundle.apps.keys())
    if app_ids:
        batch.append((_APPS, {"ids": app_ids}))
    found = iter(rows_together(conn, batch))
    if account_ids:
        bundle.accounts.update((row.id, row) for row in next(found))
    has_filters = True  # unless the facts say otherwise
    if content_ids:
        has_filters = _take_facts(next(found), bundle)
        bundle.media.update(media.by_status(next(found)))
        poll_ids = [r.poll_id for r in all_rows if r.reblog_of_id is None and r.poll_id]
        bundle.polls.update(polls_for(conn, poll_ids, viewer_id))
    if app_ids:
        bundle.apps.update((a.id, a) for a in next(found))
    if viewer_id is not None and bundle.statuses and has_filters:
        bundle.filtered = filtering.screen(conn, viewer_id, bundle)
    return bundle


def _facts_params(
    rows: Sequence[Row], content_ids: list[int], viewer_id: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"ids": content_ids}
    if viewer_id is not None:
        params["me"] = viewer_id
        params["own"] = [r.id for r in rows if r.reblog_of_id is None and r.account_id == viewer_id]
    return params


def _take_facts(facts: Iterable[Any], bundle: Bundle) -> bool:
    """The facts' rows (hashtags, mentions and the viewer's own marks) into `bundle`.
    Whether the viewer has made any filter (False for no viewer)."""
    marks = (bundle.favourited, bundle.bookmarked, bundle.reblogged, bundle.pinned, bundle.muted)
    has_filters = False
    for kind, status_id, ref, name in facts:
        if kind == TAG:
            bundle.tags[status_id].append(name)
        elif kind == MENTION:
            bundle.mentions[status_id].append(Mention(ref, name))
        elif kind == HAS_FILTERS:
            has_filters = True
        else:
            marks[kind].add(status_id)
    return has_filters
