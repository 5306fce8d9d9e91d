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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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


def load_accounts(conn: Connection, account_ids: Iterable[int], bundle: Bundle) -> None:
    wanted = {i for i in account_ids if i not in bundle.accounts}
    if wanted:
        for row in conn.execute(sa.select(accounts).where(accounts.c.id.in_(wanted))):
            bundle.accounts[row.id] = row


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
    original_ids = {r.reblog_of_id for r in rows if r.reblog_of_id} - bundle.statuses.keys()
    if original_ids:
        for row in conn.execute(sa.select(statuses).where(statuses.c.id.in_(original_ids))):
            bundle.statuses[row.id] = row
    all_rows = list(bundle.statuses.values())
    content_ids = [r.id for r in all_rows if r.reblog_of_id is None]
    load_accounts(conn, {r.account_id for r in all_rows}, bundle)
    if content_ids:
        query = (
            sa.select(mentions.c.status_id, accounts.c.id, accounts.c.username)
            .join(accounts, accounts.c.id == mentions.c.account_id)
            .where(mentions.c.status_id.in_(content_ids))
        )
        for m in conn.execute(query):
            bundle.mentions[m.status_id].append(m)
        query = (
            sa.select(status_tags.c.status_id, tags.c.name)
            .join(tags, tags.c.id == status_tags.c.tag_id)
            .where(status_tags.c.status_id.in_(content_ids))
        )
        for t in conn.execute(query):
            bundle.tags[t.status_id].append(t.name)
        bundle.media.update(media.for_statuses(conn, content_ids))
        poll_ids = [r.poll_id for r in all_rows if r.reblog_of_id is None and r.poll_id]
        bundle.polls.update(polls_for(conn, poll_ids, viewer_id))
    app_ids = {r.app_id for r in all_rows if r.app_id} - bundle.apps.keys()
    if app_ids:
        for a in conn.execute(
            sa.select(apps.c.id, apps.c.name, apps.c.website).where(apps.c.id.in_(app_ids))
        ):
            bundle.apps[a.id] = a
    if viewer_id is not None and content_ids:
        bundle.favourited |= _flags(conn, favourites, viewer_id, content_ids)
        bundle.bookmarked |= _flags(conn, bookmarks, viewer_id, content_ids)
        bundle.reblogged |= set(
            conn.execute(
                sa.select(statuses.c.reblog_of_id).where(
                    statuses.c.account_id == viewer_id, statuses.c.reblog_of_id.in_(content_ids)
                )
            ).scalars()
        )
        own = [r.id for r in all_rows if r.reblog_of_id is None and r.account_id == viewer_id]
        if own:
            bundle.pinned |= _flags(conn, status_pins, viewer_id, own)
        bundle.muted |= conversation_mutes.muted_among(conn, viewer_id, content_ids)
    if viewer_id is not None and bundle.statuses:
        bundle.filtered = filtering.screen(conn, viewer_id, bundle)
    return bundle


def _flags(conn: Connection, table: sa.Table, viewer_id: int, status_ids: list[int]) -> set[int]:
    query = sa.select(table.c.status_id).where(
        table.c.account_id == viewer_id, table.c.status_id.in_(status_ids)
    )
    return set(conn.execute(query).scalars())
