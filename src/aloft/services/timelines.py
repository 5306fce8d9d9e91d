"""Timelines: home, public, hashtag and an account's statuses.

Home is built when it is read (fan-out on read): the viewer's own statuses and those of
the accounts they follow, filtered by the visibility rule. Nothing is written per
follower when someone posts, so a post is one small transaction, which keeps the
write path short during a failover.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft.errors import NotFound
from aloft.services import hashtags, lists
from aloft.services.auth import Viewer
from aloft.services.filtering import page_shown
from aloft.services.loader import Bundle, load_statuses
from aloft.services.pages import Page, PageRequest, Shape, bound
from aloft.services.visibility import PUBLIC, visible_to
from aloft.storage.database import Database
from aloft.storage.schema import (
    accounts,
    follows,
    media_attachments,
    mutes,
    status_pins,
    status_tags,
    statuses,
    tag_follows,
    tags,
)
from aloft.storage.statement import GENERIC_PLAN, Statement, rows_together

Result = tuple[Page[Row], Bundle]

# `only_media`: statuses with at least one attachment (a reblog has none of its own).
WITH_MEDIA = sa.exists().where(media_attachments.c.status_id == statuses.c.id)


def _run(
    conn: Connection,
    query: sa.Select,
    page: PageRequest,
    viewer_id: int | None,
    *also: tuple[sa.Select, sa.ColumnElement[int]],
) -> Result:
    """The page of `query` (a `select(statuses)` with its conditions). Each of `also` is a
    query of status ids and the column to page it on: paged the same way, on its own, and
    its rows merged with the first's (the page of the union, without an OR that would spoil
    each one's plan)."""
    first = page.apply(query.with_only_columns(statuses.c.id), statuses.c.id)
    queries = [_rows(first), *(_rows(page.apply(q, key)) for q, key in also)]
    return _page(conn, [conn.execute(q) for q in queries], page, viewer_id)


def _rows(ids: sa.Select) -> sa.CompoundSelect:
    """The rows of the statuses `ids` selects (cursors and limit applied), then the rows of
    the statuses they reblog, in one statement: each row's columns after `original`, true
    for the rows reblogged. The ids are their own subquery so that each engine answers it
    from an index and stops at the limit (SQLite read and sorted every matching row when
    the whole row was asked for; see ARCHITECTURE.md "Speed"); reading the rows, or the
    reblogged originals, in a statement of their own cost one more statement on a page
    (issue 11). Both engines run `ids` once for both parts (a CTE named twice is
    materialized)."""
    page = sa.select(*ids.cte("page").c)  # its one column, whatever its name
    reblogged = sa.select(statuses.c.reblog_of_id).where(
        statuses.c.id.in_(page), statuses.c.reblog_of_id.is_not(None)
    )
    return sa.union_all(
        sa.select(sa.false().label("original"), statuses).where(statuses.c.id.in_(page)),
        sa.select(sa.true().label("original"), statuses).where(statuses.c.id.in_(reblogged)),
    ).execution_options(**GENERIC_PLAN)


def _page(
    conn: Connection, results: Iterable[Iterable[Any]], page: PageRequest, viewer_id: int | None
) -> Result:
    """The rows of the row queries of one page (each `_rows` of an id query with its
    cursors and limit), merged by id, and everything the page shows loaded."""
    found: dict[int, Any] = {}
    originals: dict[int, Any] = {}
    for result in results:
        for row in result:
            (originals if row.original else found)[row.id] = row
    ordered = page.finish(sorted(found, reverse=page.min_id is None)[: page.limit])
    rows = [found[i] for i in ordered]
    bundle = Bundle()
    for row in rows:
        if row.reblog_of_id in originals:
            bundle.statuses[row.reblog_of_id] = originals[row.reblog_of_id]
    return Page.of(rows, ordered), load_statuses(conn, rows, viewer_id, bundle)


# From this many follows on, SQLite walks the id index backwards (see _home_page).
SQLITE_WALK_FROM = 200
# What the home page needs to know first, in one statement: rows (0, how many accounts the
# viewer follows), which picks SQLite's plan, and (1, tag id) for each hashtag it follows.
_FOLLOWING, _TAG_FOLLOWED = 0, 1
_PREFACE = Statement.of(
    sa.union_all(
        sa.select(sa.literal(_FOLLOWING, sa.Integer), accounts.c.following_count).where(
            accounts.c.id == sa.bindparam("me", type_=accounts.c.id.type)
        ),
        sa.select(sa.literal(_TAG_FOLLOWED, sa.Integer), tag_follows.c.tag_id).where(
            tag_follows.c.account_id == sa.bindparam("me", type_=accounts.c.id.type)
        ),
    )
)


# The page queries below are built once per engine, viewer kind and cursor shape, with the
# viewer, the time and the cursors as parameters: building a statement and its cache key
# took more Python time than running it (issue 11), and they run through `rows_together`,
# compiled once. functools.cache keeps each; their arguments are the few flags that change
# a statement's SQL, never a request's values.


@functools.cache
def _home_page(postgres: bool, walk: bool, shape: Shape) -> Statement:
    """The home timeline's page of followed accounts' statuses (`_rows`)."""
    me = sa.bindparam("me", type_=accounts.c.id.type)
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    followed = sa.select(follows.c.target_account_id).where(follows.c.account_id == me)
    if postgres:
        # PostgreSQL walks the primary key backwards, checks each status's author against
        # the hashed follows and stops at the limit (2.5 ms a page over 1,000,000 statuses).
        # Given one IN it read every followed status through (account_id, id) and sorted
        # them (8.6 s).
        authors = sa.or_(statuses.c.account_id == me, statuses.c.account_id.in_(followed))
    else:
        # SQLite, given the OR, merged two index scans and sorted every followed status
        # (3.4 s a page over 1,000,000 statuses). Given one IN it looks up each author in
        # (account_id, id) and stops each walk once it cannot beat the page's last id: one
        # probe per follow (0.2 ms following 50, 330 ms following 5,000). Past
        # SQLITE_WALK_FROM follows, `account_id + 0` keeps it off that index, so it walks
        # the id index backwards as PostgreSQL does and stops at the limit (0.8 ms
        # following 5,000; a home of rare posters costs a longer walk).
        author = statuses.c.account_id + 0 if walk else statuses.c.account_id
        authors = author.in_(sa.union_all(followed, sa.select(me)))
    query = sa.select(statuses.c.id).where(authors, visible_to(me, at=at))
    # Members of the viewer's exclusive lists are read in those lists, not here (Mastodon
    # 4.2+); the viewer's own statuses always stay.
    exclusive = lists.exclusive_members(me)  # type: ignore[arg-type]
    query = query.where(
        sa.or_(statuses.c.account_id == me, statuses.c.account_id.not_in(exclusive))
    )
    return Statement.of(_rows(bound(shape, query, statuses.c.id)))


@functools.cache
def _tag_page(shape: Shape) -> Statement:
    """The home timeline's page of one followed hashtag's statuses (`_rows`)."""
    me = sa.bindparam("me", type_=accounts.c.id.type)
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    query, key = hashtags.followed_tag_statuses(me, at)
    return Statement.of(_rows(bound(shape, query, key)))


def home(db: Database, viewer: Viewer, page: PageRequest) -> Result:
    me = viewer.account_id
    assert me is not None  # the endpoint requires a user
    params = {"me": me, "at": datetime.now(UTC)} | page.values()

    def unit(conn: Connection) -> Result:
        batch = [(_PREFACE, params)]
        if db.is_postgres:
            # The page does not wait for the preface on PostgreSQL: one round trip for both.
            batch.append((_home_page(True, False, page.shape), params))
        preface, *results = rows_together(conn, batch)
        following, tag_ids = 0, []
        for kind, value in preface:
            if kind == _FOLLOWING:
                following = value
            else:
                tag_ids.append(value)
        pages = []
        if not db.is_postgres:
            pages.append((_home_page(False, following >= SQLITE_WALK_FROM, page.shape), params))
        # Public statuses with a hashtag the viewer follows, as Mastodon's home shows them.
        for tag in tag_ids:
            pages.append((_tag_page(page.shape), params | {"tag": tag}))
        results += rows_together(conn, pages)
        return page_shown(_page(conn, results, page, me), "home")

    return db.read(unit)


@functools.cache
def _public_page(signed_in: bool, only_media: bool, shape: Shape) -> Statement:
    """The public timeline's page (`_rows`)."""
    me = sa.bindparam("me", type_=accounts.c.id.type) if signed_in else None
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    query = sa.select(statuses.c.id).where(
        statuses.c.visibility == PUBLIC,
        visible_to(me, at=at),
        statuses.c.reblog_of_id.is_(None),
        sa.or_(
            statuses.c.in_reply_to_id.is_(None),
            statuses.c.in_reply_to_account_id == statuses.c.account_id,
        ),
    )
    if only_media:
        query = query.where(WITH_MEDIA)
    return Statement.of(_rows(bound(shape, query, statuses.c.id)))


def public(db: Database, viewer: Viewer, page: PageRequest, only_media: bool = False) -> Result:
    """Public statuses that start or continue their author's own thread; no reblogs."""
    me = viewer.account_id
    query = _public_page(me is not None, only_media, page.shape)
    params: dict[str, object] = {"me": me, "at": datetime.now(UTC), **page.values()}
    return db.read(
        lambda conn: page_shown(
            _page(conn, rows_together(conn, [(query, params)]), page, me), "public"
        )
    )


def tag(
    db: Database, viewer: Viewer, name: str, page: PageRequest, only_media: bool = False
) -> Result:
    """Public statuses with the hashtag `name` (any case). A name no status text can make a
    hashtag of has none, and is not sent to the database (PostgreSQL refuses a NUL in text).
    The tag is looked up first: given its id as a subquery that found nothing, SQLite walked
    every public status probing for it (370 ms over 1,000,000 statuses, for an empty page)."""
    clean = hashtags.clean_name(name)
    me = viewer.account_id

    def unit(conn: Connection) -> Result:
        tag_id = None
        if clean is not None:
            tag_id = conn.execute(sa.select(tags.c.id).where(tags.c.name == clean)).scalar()
        if tag_id is None:
            return Page.of([], []), load_statuses(conn, [], me)
        query = (
            sa.select(statuses)
            .join(status_tags, status_tags.c.status_id == statuses.c.id)
            .where(status_tags.c.tag_id == tag_id, statuses.c.visibility == PUBLIC, visible_to(me))
        )
        if only_media:
            query = query.where(WITH_MEDIA)
        return page_shown(_run(conn, query, page, me), "public")

    return db.read(unit)


def account(
    db: Database,
    viewer: Viewer,
    account_id: int,
    page: PageRequest,
    exclude_replies: bool = False,
    exclude_reblogs: bool = False,
    only_media: bool = False,
    pinned: bool = False,
    tagged: str | None = None,
) -> Result:
    """An account's statuses that the viewer may see; with `pinned`, only those it pinned
    (`aloft.services.pins`); with `tagged`, only those with that hashtag."""
    me = viewer.account_id
    # A profile shows a muted or blocked account's statuses (not to those it blocks).
    query = sa.select(statuses).where(
        statuses.c.account_id == account_id, visible_to(me, listing=False)
    )
    if exclude_replies:
        query = query.where(
            sa.or_(
                statuses.c.in_reply_to_id.is_(None),
                statuses.c.in_reply_to_account_id == account_id,
            )
        )
    if exclude_reblogs:
        query = query.where(statuses.c.reblog_of_id.is_(None))
    if only_media:
        query = query.where(WITH_MEDIA)
    if pinned:
        query = query.where(
            statuses.c.id.in_(
                sa.select(status_pins.c.status_id).where(status_pins.c.account_id == account_id)
            )
        )
    if tagged is not None:
        query = query.where(hashtags.tagged_with(tagged))

    def unit(conn: Connection) -> Result:
        if (
            conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first()
            is None
        ):
            raise NotFound("Record not found")
        return page_shown(_run(conn, query, page, me), "account")

    return db.read(unit)


def list_timeline(db: Database, viewer: Viewer, list_id: int, page: PageRequest) -> Result:
    """The statuses and reblogs of a list's members that its owner may see, replies as
    its `replies_policy` says (`aloft.services.lists`). Someone else's list is NotFound."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Result:
        row = lists.owned(conn, me, list_id)
        query = sa.select(statuses).where(
            statuses.c.account_id.in_(lists.member_ids(list_id)),
            lists.replies_shown(row),
            visible_to(me),
        )
        return page_shown(_run(conn, query, page, me), "home")

    return db.read(unit)
