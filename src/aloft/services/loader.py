"""Batch loading: everything a page of statuses or accounts needs, in a fixed number of
queries whatever the page size (no N+1).

For a page of statuses: the reblogged originals, every author, mentions, hashtags, media
attachments, apps and the viewer's favourited / reblogged / bookmarked flags: at most nine
queries; then polls (one query, only for a page that has some) and the viewer's votes in
them (one), the viewer's pins (one, only when the page has statuses of the viewer's own) and
the viewer's muted conversations (one): at most thirteen; then the viewer's filters
(one, `aloft.services.filtering`), whose results are `filtered`: at most fourteen.
Counts come from counter columns on the rows themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    mentions,
    status_pins,
    status_tags,
    statuses,
    tags,
)
from aloft.storage.statement import Statement


@dataclass
class Bundle:
    """Rows keyed by id, ready for `aloft.api.entities` to render."""

    statuses: dict[int, Row] = field(default_factory=dict)
    accounts: dict[int, Row] = field(default_factory=dict)
    mentions: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))
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
_MENTIONS = Statement(
    lambda among: (
        sa.select(mentions.c.status_id, accounts.c.id, accounts.c.username)
        .join(accounts, accounts.c.id == mentions.c.account_id)
        .where(among(mentions.c.status_id, "ids"))
    )
)
_TAGS = Statement(
    lambda among: (
        sa.select(status_tags.c.status_id, tags.c.name)
        .join(tags, tags.c.id == status_tags.c.tag_id)
        .where(among(status_tags.c.status_id, "ids"))
    )
)
_APPS = Statement(
    lambda among: sa.select(apps.c.id, apps.c.name, apps.c.website).where(among(apps.c.id, "ids"))
)
FAVOURITED, BOOKMARKED, REBLOGGED, PINNED = 0, 1, 2, 3


def _viewer_flags(among: Any) -> sa.Executable:
    """The viewer's favourites, bookmarks, reblogs and pins among a page: one round trip."""
    me = sa.bindparam("me", type_=accounts.c.id.type)

    def kind(table: sa.Table, code: int, column: str = "status_id", ids: str = "ids") -> sa.Select:
        return sa.select(sa.literal(code).label("kind"), table.c[column].label("id")).where(
            table.c.account_id == me, among(table.c[column], ids)
        )

    return sa.union_all(
        kind(favourites, FAVOURITED),
        kind(bookmarks, BOOKMARKED),
        kind(statuses, REBLOGGED, "reblog_of_id"),
        kind(status_pins, PINNED, ids="own"),
    )


_FLAGS = Statement(_viewer_flags)


def status_rows(conn: Connection, status_ids: Iterable[int]) -> list[Row]:
    """The `statuses` rows of these ids (those that exist), in no order: one query."""
    wanted = list(status_ids)
    return list(conn.execute(_STATUSES.on(conn), {"ids": wanted})) if wanted else []


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
) -> Bundle:
    """A Bundle for `rows` (full `statuses` rows) as seen by `viewer_id`."""
    bundle = bundle or Bundle()
    bundle.viewer_id = viewer_id
    for row in rows:
        bundle.statuses[row.id] = row
    original_ids = list({r.reblog_of_id for r in rows if r.reblog_of_id} - bundle.statuses.keys())
    if original_ids:
        for row in conn.execute(_STATUSES.on(conn), {"ids": original_ids}):
            bundle.statuses[row.id] = row
    all_rows = list(bundle.statuses.values())
    content_ids = [r.id for r in all_rows if r.reblog_of_id is None]
    load_accounts(conn, {r.account_id for r in all_rows}, bundle)
    if content_ids:
        for m in conn.execute(_MENTIONS.on(conn), {"ids": content_ids}):
            bundle.mentions[m.status_id].append(m)
        for t in conn.execute(_TAGS.on(conn), {"ids": content_ids}):
            bundle.tags[t.status_id].append(t.name)
        bundle.media.update(media.for_statuses(conn, content_ids))
        poll_ids = [r.poll_id for r in all_rows if r.reblog_of_id is None and r.poll_id]
        bundle.polls.update(polls_for(conn, poll_ids, viewer_id))
    app_ids = list({r.app_id for r in all_rows if r.app_id} - bundle.apps.keys())
    if app_ids:
        for a in conn.execute(_APPS.on(conn), {"ids": app_ids}):
            bundle.apps[a.id] = a
    if viewer_id is not None and content_ids:
        own = [r.id for r in all_rows if r.reblog_of_id is None and r.account_id == viewer_id]
        flags = (bundle.favourited, bundle.bookmarked, bundle.reblogged, bundle.pinned)
        for f in conn.execute(_FLAGS.on(conn), {"me": viewer_id, "ids": content_ids, "own": own}):
            flags[f.kind].add(f.id)
        bundle.muted |= conversation_mutes.muted_among(conn, viewer_id, content_ids)
    if viewer_id is not None and bundle.statuses:
        bundle.filtered = filtering.screen(conn, viewer_id, bundle)
    return bundle
