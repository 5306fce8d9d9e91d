"""Statuses: posting, reading, deleting, threads, favourites, reblogs and bookmarks.

Every write here is a unit of work that may run twice (see `aloft.storage.database`):
* a new status carries its snowflake ID and optional Idempotency-Key from before the first
  attempt; a second run finds either and returns the status already written;
* favourites, reblogs and bookmarks are unique per (account, status), and counters and
  notifications change only when the row was really added or removed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from aloft import ids
from aloft.errors import FieldError, Forbidden, Invalid, NotFound
from aloft.services import conversations, instance, limits, polls, text
from aloft.services.auth import Viewer, now
from aloft.services.filtering import shown
from aloft.services.loader import Bundle, load_statuses, with_bundle
from aloft.services.media import attach_to_status, check_media_ids
from aloft.services.notifications import notify
from aloft.services.pages import Page, PageRequest
from aloft.services.streaming import status_deleted, status_posted
from aloft.services.visibility import BY_NAME, DIRECT, PUBLIC, UNLISTED, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.failures import RunAgain, is_unique_violation
from aloft.storage.schema import (
    accounts,
    bookmarks,
    favourites,
    idempotency_keys,
    mentions,
    mutes,
    status_tags,
    statuses,
    tags,
)
from aloft.storage.statement import GENERIC_PLAN, Statement, later, rows_of

IDEMPOTENCY_WINDOW = timedelta(hours=1)
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}([-_][A-Za-z0-9]{1,8})?$")
MAX_ANCESTORS = 40
MAX_DESCENDANTS = 4000
# A twin is found by the rerun after the unique violation it caused (at most one more if it
# was still in flight); more violations than this are not a twin but a bug.
MAX_TWIN_RERUNS = 3

Action = Callable[[Database, Viewer, int], tuple[Row, Bundle]]


class IdCollision(Exception):
    """Another process drew the same snowflake for another account's status."""


@dataclass(frozen=True)
class NewStatus:
    text: str
    in_reply_to_id: int | None = None
    visibility: str | None = None
    spoiler_text: str = ""
    sensitive: bool | None = None  # None: the author's default (for a post with media)
    language: str | None = None
    idempotency_key: str | None = None
    media_ids: tuple[int, ...] = ()
    poll: polls.NewPoll | None = None


@dataclass(frozen=True)
class Site:
    """What rendering text needs to know about this server."""

    base_url: str
    domain: str


# The query of one status by id as a viewer may see it, built once for a signed-in viewer
# and once for anyone (building it on every request was a third of GET /statuses/:id).
@functools.cache
def _by_id(signed_in: bool) -> Statement:
    me = sa.bindparam("me", type_=statuses.c.account_id.type) if signed_in else None
    wanted = sa.bindparam("status_id", type_=statuses.c.id.type)
    # By id, a muted or blocked account's status is still shown (as Mastodon does).
    return Statement.of(
        sa.select(statuses)
        .where(statuses.c.id == wanted, visible_to(me, listing=False))
        .execution_options(**GENERIC_PLAN)
    )


def _visible_row(conn: Connection, viewer_id: int | None, status_id: int) -> Row:
    params = {"status_id": status_id} | ({"me": viewer_id} if viewer_id is not None else {})
    found = rows_of(conn, _by_id(viewer_id is not None), params)
    if not found:
        raise NotFound("Record not found")
    return found[0]


def _content_row(conn: Connection, viewer_id: int | None, status_id: int) -> Row:
    """The visible status, or what it reblogs: actions on a reblog act on the original."""
    row = _visible_row(conn, viewer_id, status_id)
    if row.reblog_of_id is not None:
        row = _visible_row(conn, viewer_id, row.reblog_of_id)
    return row


def replied_to(conn: Connection, viewer_id: int, status_id: int) -> Row:
    """The status a new post of `viewer_id` may reply to (what `status_id` reblogs, if it is
    a reblog), or NotFound: scheduling a reply checks it as posting does."""
    return _content_row(conn, viewer_id, status_id)


@functools.cache
def _counting(table: sa.Table, column: str, returning: bool) -> sa.Update:
    """UPDATE of one counter of row `row_id` by `delta`, built once per table and column;
    with `returning`, it gives the row as it now is (statuses only)."""
    col = table.c[column]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id", type_=table.c.id.type))
        .values({col: col + sa.bindparam("delta", type_=col.type)})
    )
    return update.returning(*table.c) if returning else update


def _bump(conn: Connection, table: sa.Table, row_id: int, column: str, delta: int) -> None:
    conn.execute(_counting(table, column, False), {"row_id": row_id, "delta": delta})


def _recount(conn: Connection, status_id: int, column: str, delta: int) -> Row:
    """Add `delta` to one of a status's counters; the row as it now is. On PostgreSQL the
    row stays locked from here to COMMIT, and everyone else counting on this status waits:
    callers do it last."""
    params = {"row_id": status_id, "delta": delta}
    return conn.execute(_counting(statuses, column, True), params).one()


def validate(new: NewStatus) -> int:
    """The visibility code of a status that keeps the text limits (422 otherwise); editing
    (`aloft.services.edits`) checks an edited status by the same rules."""
    if new.poll is not None:
        if new.media_ids:
            raise Invalid("Validation failed: a poll cannot be attached to a post with media")
        polls.validate(new.poll)
    if not new.text.strip() and not new.media_ids:
        raise Invalid.on("status", "ERR_BLANK", "can't be blank", "Text")
    if text.weighted_length(new.text) + len(new.spoiler_text) > text.MAX_CHARACTERS:
        raise Invalid.on(
            "status", "ERR_TOO_LONG", f"character limit of {text.MAX_CHARACTERS} exceeded", "Text"
        )
    too_large = text.size_error(new.text, new.spoiler_text)
    if too_large is not None:
        raise Invalid(
            f"Validation failed: {too_large}", [FieldError("status", "ERR_TOO_LONG", too_large)]
        )
    visibility = BY_NAME.get(new.visibility or "public")
    if visibility is None:
        raise Invalid.on(
            "visibility", "ERR_INCLUSION", "is not one of public, unlisted, private, direct"
        )
    if new.language is not None and not LANGUAGE.match(new.language):
        raise Invalid.on("language", "ERR_INVALID", "is not a valid language code")
    if new.idempotency_key is not None and not 0 < len(new.idempotency_key) <= 255:
        raise Invalid("Idempotency-Key must be 1 to 255 characters")
    return visibility


_DEFAULTS = Statement.of(
    sa.select(
        accounts.c.default_privacy, accounts.c.default_sensitive, accounts.c.default_language
    ).where(accounts.c.id == sa.bindparam("me", type_=accounts.c.id.type))
)


def _with_defaults(conn: Connection, me: int, new: NewStatus) -> NewStatus:
    """`new` with the author's posting defaults where the client did not say, as Mastodon's
    PostStatusService: their default privacy, their default language, and for a post with
    media their default sensitivity. Read in the post's own transaction: a separate read
    would be one more round trip per post and, in a failover, one more deadline to wait out
    before the write's own."""
    if new.visibility and new.language and new.sensitive is not None:
        return new
    found = rows_of(conn, _DEFAULTS, {"me": me})
    if not found:  # no such author: the write itself says so (a foreign key)
        return new
    defaults = found[0]
    sensitive = new.sensitive
    if sensitive is None:
        sensitive = defaults.default_sensitive and bool(new.media_ids)
    return replace(
        new,
        visibility=new.visibility or defaults.default_privacy,
        language=new.language or defaults.default_language,
        sensitive=sensitive,
    )


def create(
    db: Database, viewer: Viewer, site: Site, new: NewStatus, limited: bool = True
) -> tuple[Row, Bundle]:
    """Post a status and return it, or the one already posted with the same Idempotency-Key.
    With `limited`, RateLimited when the author is over the posting limit (a retry of a post
    already made is answered, not limited)."""
    me = viewer.account_id
    assert me is not None
    validate(new)  # what the client sent; the author's defaults are valid values
    media_ids = check_media_ids(new.media_ids)
    parsed = text.parse(new.text, site.domain)

    def unit(conn: Connection, status_id: int) -> Row:
        if new.idempotency_key is not None:
            earlier = _by_idempotency_key(conn, me, new.idempotency_key)
            if earlier is not None:
                return earlier
        # Only a rerun can find its ID taken: it is new to this call, and a twin or a
        # collision makes the first attempt's INSERT fail, which is what reruns it.
        again = conn.execute(_STATUS, {"status_id": status_id}).first() if tries[0] else None
        tries[0] += 1
        if again is not None:
            if again.account_id != me:
                raise IdCollision(status_id)
            return again  # an earlier attempt committed
        full = _with_defaults(conn, me, new)
        visibility = validate(full)
        return _write(
            conn, viewer, site, full, visibility, media_ids, parsed, status_id, poll_id, limited
        )

    # A unique violation means a twin of this write committed first: an earlier attempt
    # whose commit outcome we never learnt (still in flight when this attempt began), or a
    # concurrent request with the same Idempotency-Key. Rerunning with the same ID finds it
    # and returns it. Only a real snowflake collision with another account's status draws a
    # new ID. Reruns are Database.write's own attempts: one deadline, each one fenced.
    status_id = [ids.new_id()]
    poll_id = ids.new_id()
    twins = [0]
    tries = [0]

    def attempt(conn: Connection) -> Row:
        try:
            return unit(conn, status_id[0])
        except IdCollision:
            status_id[0] = ids.new_id()
            raise RunAgain("the snowflake ID is another account's status") from None
        except IntegrityError as exc:
            twins[0] += 1
            if not is_unique_violation(exc) or twins[0] > MAX_TWIN_RERUNS:
                raise  # no twin will be found: a bug, not the client's conflict
            raise RunAgain("a twin of this status committed first") from exc

    posted = db.write_then(attempt, with_bundle(me))
    instance.forget(db)
    return posted


def _by_idempotency_key(conn: Connection, me: int, key: str) -> Row | None:
    found = conn.execute(
        sa.select(idempotency_keys).where(
            idempotency_keys.c.account_id == me, idempotency_keys.c.key == key
        )
    ).first()
    if found is None:
        return None
    created = found.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=now().tzinfo)
    if now() - created > IDEMPOTENCY_WINDOW:
        conn.execute(
            sa.delete(idempotency_keys).where(
                idempotency_keys.c.account_id == me, idempotency_keys.c.key == key
            )
        )
        return None
    return conn.execute(sa.select(statuses).where(statuses.c.id == found.status_id)).first()


def write(
    conn: Connection,
    viewer: Viewer,
    site: Site,
    new: NewStatus,
    status_id: int,
    poll_id: int,
    limited: bool = True,
) -> Row:
    """Write a new status (its mentions, tags, media, poll, counters, notifications, its
    direct conversations and its stream event) inside the caller's unit of work; the row.
    `create` calls it once it knows no earlier attempt wrote the status, and the scheduled
    posts' job (`aloft.services.scheduled`) in the transaction that removes the scheduled
    row, so a scheduled post is published once. The author's posting defaults fill what
    the post does not say, as for a post made at once."""
    assert viewer.account_id is not None
    new = _with_defaults(conn, viewer.account_id, new)
    return _write(
        conn,
        viewer,
        site,
        new,
        validate(new),
        check_media_ids(new.media_ids),
        text.parse(new.text, site.domain),
        status_id,
        poll_id,
        limited,
    )


# A post's statements, built once (building them was a sixth of a post's time, inside the
# write lock) and run by the driver (`rows_of`; SQLite's posts at 16 connections went from
# 531, 692 and 559 a second to 891, 956 and 598, interleaved: issue 11). The row's values
# are parameters.
_STATUS_VALUES = [
    "id",
    "account_id",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "text",
    "content",
    "spoiler_text",
    "sensitive",
    "visibility",
    "language",
    "app_id",
    "created_at",
]
_INSERT_STATUS = Statement.of(
    sa.insert(statuses)
    .values({name: sa.bindparam(name, type_=statuses.c[name].type) for name in _STATUS_VALUES})
    .returning(*statuses.c)  # the row, without reading it
)
_KEY_VALUES = ("account_id", "key", "status_id", "created_at")
_INSERT_KEY = Statement.of(
    sa.insert(idempotency_keys).values(
        {name: sa.bindparam(name, type_=idempotency_keys.c[name].type) for name in _KEY_VALUES}
    )
)
_COUNT_POST = Statement.of(
    sa.update(accounts)
    .where(accounts.c.id == sa.bindparam("me", type_=accounts.c.id.type))
    .values(
        statuses_count=accounts.c.statuses_count + 1,
        last_status_at=sa.bindparam("at", type_=accounts.c.last_status_at.type),
    )
)
_STATUS = sa.select(statuses).where(
    statuses.c.id == sa.bindparam("status_id", type_=statuses.c.id.type)
)


def _write(
    conn: Connection,
    viewer: Viewer,
    site: Site,
    new: NewStatus,
    visibility: int,
    media_ids: list[int],
    parsed: text.Parsed,
    status_id: int,
    poll_id: int,
    limited: bool,
) -> Row:
    me = viewer.account_id
    assert me is not None
    if limited:
        limits.posts_allowed(conn, me)
    reply_to = None
    if new.in_reply_to_id is not None:
        reply_to = _content_row(conn, me, new.in_reply_to_id)
    mentioned = (
        conn.execute(
            sa.select(accounts.c.id, accounts.c.username, accounts.c.username_lower).where(
                accounts.c.username_lower.in_(parsed.mentions)
            )
        ).all()
        if parsed.mentions
        else []
    )
    content = text.render(
        new.text, site.base_url, site.domain, {m.username_lower: m.username for m in mentioned}
    )
    created = now()
    (row,) = rows_of(
        conn,
        _INSERT_STATUS,
        {
            "id": status_id,
            "account_id": me,
            "in_reply_to_id": reply_to.id if reply_to else None,
            "in_reply_to_account_id": reply_to.account_id if reply_to else None,
            "text": new.text,
            "content": content,
            "spoiler_text": new.spoiler_text,
            "sensitive": new.sensitive or bool(new.spoiler_text),
            "visibility": visibility,
            "language": new.language,
            "app_id": viewer.app_id,
            "created_at": created,
        },
    )
    attach_to_status(conn, me, status_id, media_ids)
    if new.poll is not None:
        polls.write(conn, poll_id, status_id, me, new.poll)
        row = conn.execute(_STATUS, {"status_id": status_id}).one()  # with its poll_id
    if mentioned:
        conn.execute(
            sa.insert(mentions),
            [{"status_id": status_id, "account_id": m.id} for m in mentioned],
        )
    for name in parsed.hashtags:
        insert_ignore(conn, tags, {"id": ids.new_id(), "name": name})
    if parsed.hashtags:
        tag_ids = conn.execute(
            sa.select(tags.c.id).where(tags.c.name.in_(parsed.hashtags))
        ).scalars()
        conn.execute(
            sa.insert(status_tags), [{"status_id": status_id, "tag_id": t} for t in tag_ids]
        )
    if new.idempotency_key is not None:
        rows_of(
            conn,
            _INSERT_KEY,
            {
                "account_id": me,
                "key": new.idempotency_key,
                "status_id": status_id,
                "created_at": created,
            },
        )
    status_posted(conn, status_id)  # streamed after commit, by this attempt only
    for m in mentioned:
        notify(conn, m.id, me, "mention", status_id)
    if visibility == DIRECT:
        conversations.status_posted(
            conn, status_id, me, reply_to.id if reply_to else None, [m.id for m in mentioned]
        )
    # The counters last: on PostgreSQL the author's row (and the parent's) stays locked from
    # its UPDATE until COMMIT, and the author's next post waits for it (issue 11: posts by
    # one account waited on each other through everything that came after). The author's
    # goes in the COMMIT's own round trip (`later`).
    # As Mastodon counts: a direct post is in no counter, and only a reply that may
    # be shown to anyone (public, unlisted) is in its parent's replies_count.
    if visibility != DIRECT:
        later(conn, _COUNT_POST, {"me": me, "at": created})
    if reply_to is not None and visibility in (PUBLIC, UNLISTED):
        _bump(conn, statuses, reply_to.id, "replies_count", 1)
    return row


def get(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    def unit(conn: Connection) -> tuple[Row, Bundle]:
        row = _visible_row(conn, viewer.account_id, status_id)
        return row, load_statuses(conn, [row], viewer.account_id)

    return db.read(unit)


# GET /api/v1/statuses takes at most this many IDs, as Mastodon (422 beyond).
MAX_FETCH = 20


def get_many(db: Database, viewer: Viewer, status_ids: Sequence[int]) -> tuple[list[Row], Bundle]:
    """The statuses the viewer may see among `status_ids`, once each, in the order asked;
    unknown and hidden ones are left out."""
    wanted = list(dict.fromkeys(status_ids))
    if len(wanted) > MAX_FETCH:
        raise Invalid(f"At most {MAX_FETCH} statuses can be fetched at once")

    def unit(conn: Connection) -> tuple[list[Row], Bundle]:
        if not wanted:
            return [], load_statuses(conn, [], viewer.account_id)
        query = sa.select(statuses).where(
            statuses.c.id.in_(wanted), visible_to(viewer.account_id, listing=False)
        )
        found = {r.id: r for r in conn.execute(query)}
        rows = [found[i] for i in wanted if i in found]
        return rows, load_statuses(conn, rows, viewer.account_id)

    return db.read(unit)


def delete(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    """Delete one of the viewer's statuses; return it as it was (with its source text).

    Idempotent under retry: if an attempt whose outcome was lost did delete the status, the
    next attempt finds it gone and returns what the first one saw, rather than a 404.
    """
    me = viewer.account_id
    seen: list[tuple[Row, Bundle]] = []

    def unit(conn: Connection) -> tuple[Row, Bundle]:
        row = conn.execute(
            sa.select(statuses).where(statuses.c.id == status_id, statuses.c.account_id == me)
        ).first()
        if row is None:
            if seen:
                return seen[0]
            raise NotFound("Record not found")
        bundle = load_statuses(conn, [row], me)
        seen[:] = [(row, bundle)]
        reblogs = (
            conn.execute(sa.select(statuses.c.account_id).where(statuses.c.reblog_of_id == row.id))
            .scalars()
            .all()
        )
        held = conversations.holding(conn, row.id) if row.visibility == DIRECT else []
        # Delete first and count: if an earlier attempt's commit got there while we looked,
        # nothing is removed here and no counter may move. Reblogs go by ON DELETE CASCADE.
        removed = conn.execute(sa.delete(statuses).where(statuses.c.id == row.id)).rowcount
        if not removed:
            return row, bundle
        conversations.status_removed(conn, held)
        status_deleted(
            conn, row, (m.id for m in bundle.mentions.get(row.id, ())), bundle.tags.get(row.id, ())
        )
        for account_id in reblogs:
            _bump(conn, accounts, account_id, "statuses_count", -1)
        if row.visibility != DIRECT:
            _bump(conn, accounts, row.account_id, "statuses_count", -1)
        if row.in_reply_to_id is not None and row.visibility in (PUBLIC, UNLISTED):
            _bump(conn, statuses, row.in_reply_to_id, "replies_count", -1)
        if row.reblog_of_id is not None:
            _bump(conn, statuses, row.reblog_of_id, "reblogs_count", -1)
        return row, bundle

    return db.write(unit)


@functools.cache
def _thread_queries(signed_in: bool) -> tuple[sa.Select, sa.Select]:
    """The ancestors of parameter `parent` (itself included) and the descendants of `root`
    that `me` may see, oldest first, at time `at`. Built once for a signed-in viewer and
    once for anyone: building them was most of a context request's time (issue 11)."""
    me = sa.bindparam("me", type_=statuses.c.account_id.type) if signed_in else None
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    parent = sa.bindparam("parent", type_=statuses.c.id.type)
    root = sa.bindparam("root", type_=statuses.c.id.type)
    up = (
        sa.select(statuses.c.id, statuses.c.in_reply_to_id, sa.literal(1).label("depth"))
        .where(statuses.c.id == parent)
        .cte("up", recursive=True)
    )
    up = up.union_all(
        sa.select(statuses.c.id, statuses.c.in_reply_to_id, (up.c.depth + 1))
        .join(up, statuses.c.id == up.c.in_reply_to_id)
        .where(up.c.depth < MAX_ANCESTORS)
    )
    down = (
        sa.select(statuses.c.id)
        .where(statuses.c.in_reply_to_id == root)
        .cte("down", recursive=True)
    )
    down = down.union_all(
        sa.select(statuses.c.id).join(down, statuses.c.in_reply_to_id == down.c.id)
    )
    above = (
        sa.select(statuses)
        .where(statuses.c.id.in_(sa.select(up.c.id)), visible_to(me, at=at))
        .order_by(statuses.c.id)
    )
    below = (
        sa.select(statuses)
        .where(statuses.c.id.in_(sa.select(down.c.id)), visible_to(me, at=at))
        .order_by(statuses.c.id)
        .limit(MAX_DESCENDANTS)
    )
    return above.execution_options(**GENERIC_PLAN), below.execution_options(**GENERIC_PLAN)


def context(db: Database, viewer: Viewer, status_id: int) -> tuple[list[Row], list[Row], Bundle]:
    """Ancestors (oldest first) and descendants (in order) the viewer may see."""
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[list[Row], list[Row], Bundle]:
        row = _visible_row(conn, me, status_id)
        above, below = _thread_queries(me is not None)
        params = {"me": me, "at": now(), "parent": row.in_reply_to_id, "root": row.id}
        ancestors = conn.execute(above, params).all()
        descendants = conn.execute(below, params).all()
        bundle = load_statuses(conn, [*ancestors, *descendants], me)
        # The viewer's `hide` filters for threads leave their matches out.
        return shown(bundle, ancestors, "thread"), shown(bundle, descendants, "thread"), bundle

    return db.read(unit)


def _mark(table: sa.Table, counter: str | None, kind: str | None) -> Action:
    """A use case that adds (account, status) to `table`, e.g. favourite or bookmark."""

    def run(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
        me = viewer.account_id
        assert me is not None
        row_id = ids.new_id()

        def unit(conn: Connection) -> Row:
            row = _content_row(conn, me, status_id)
            added = insert_ignore(
                conn,
                table,
                {"id": row_id, "account_id": me, "status_id": row.id, "created_at": now()},
            )
            if added and kind:
                notify(conn, row.account_id, me, kind, row.id)
            if added and counter:
                return _recount(conn, row.id, counter, 1)
            return row  # read in this transaction, and unchanged by it

        return db.write_then(unit, with_bundle(me))

    return run


def _unmark(table: sa.Table, counter: str | None) -> Action:
    """A use case that removes (account, status) from `table`; idempotent."""

    def run(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
        me = viewer.account_id

        def unit(conn: Connection) -> Row:
            row = _content_row(conn, me, status_id)
            removed = conn.execute(
                sa.delete(table).where(table.c.account_id == me, table.c.status_id == row.id)
            ).rowcount
            if removed and counter:
                return _recount(conn, row.id, counter, -1)
            return row  # read in this transaction, and unchanged by it

        return db.write_then(unit, with_bundle(me))

    return run


favourite = _mark(favourites, "favourites_count", "favourite")
unfavourite = _unmark(favourites, "favourites_count")
bookmark = _mark(bookmarks, None, None)
unbookmark = _unmark(bookmarks, None)


def reblog(
    db: Database, viewer: Viewer, status_id: int, limited: bool = True
) -> tuple[Row, Bundle]:
    """Reblog a public or unlisted status; return the reblog (the existing one if any).
    A new reblog counts against the posting limit when `limited`."""
    me = viewer.account_id
    assert me is not None
    reblog_id = ids.new_id()

    def unit(conn: Connection) -> Row:
        original = _content_row(conn, me, status_id)
        if original.visibility not in (PUBLIC, UNLISTED):
            raise Forbidden("This action is not allowed")
        created = now()
        added = insert_ignore(
            conn,
            statuses,
            {
                "id": reblog_id,
                "account_id": me,
                "reblog_of_id": original.id,
                "visibility": original.visibility,
                "app_id": viewer.app_id,
                "created_at": created,
            },
        )
        if added and limited:
            # Counted with the new row in place: over when it makes one too many.
            limits.posts_allowed(conn, me, extra=1)
        if added:
            _bump(conn, statuses, original.id, "reblogs_count", 1)
            conn.execute(
                sa.update(accounts)
                .where(accounts.c.id == me)
                .values(statuses_count=accounts.c.statuses_count + 1, last_status_at=created)
            )
            notify(conn, original.account_id, me, "reblog", original.id)
            status_posted(conn, reblog_id)
        return conn.execute(
            sa.select(statuses).where(
                statuses.c.account_id == me, statuses.c.reblog_of_id == original.id
            )
        ).one()

    return db.write_then(unit, with_bundle(me))


def unreblog(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    """Undo the viewer's reblog; return the original status. Idempotent."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Row:
        original = _content_row(conn, me, status_id)
        mine = statuses.c.account_id == me, statuses.c.reblog_of_id == original.id
        reblog = conn.execute(sa.select(statuses).where(*mine)).first()
        removed = conn.execute(sa.delete(statuses).where(*mine)).rowcount
        if removed:
            _bump(conn, statuses, original.id, "reblogs_count", -1)
            _bump(conn, accounts, me, "statuses_count", -1)
            if reblog is not None:
                status_deleted(conn, reblog, (), ())
        return conn.execute(sa.select(statuses).where(statuses.c.id == original.id)).one()

    return db.write_then(unit, with_bundle(me))


def _actors(
    db: Database, viewer: Viewer, status_id: int, page: PageRequest, table: sa.Table
) -> Page[Row]:
    """Accounts that favourited (table=favourites) or reblogged (statuses) a status."""

    def unit(conn: Connection) -> Page[Row]:
        row = _content_row(conn, viewer.account_id, status_id)
        if table is statuses:
            key = statuses.c.id
            query = (
                sa.select(accounts, key.label("key"))
                .join(statuses, statuses.c.account_id == accounts.c.id)
                .where(statuses.c.reblog_of_id == row.id)
            )
        else:
            key = table.c.id
            query = (
                sa.select(accounts, key.label("key"))
                .join(table, table.c.account_id == accounts.c.id)
                .where(table.c.status_id == row.id)
            )
        rows = page.finish(conn.execute(page.apply(query, key)).all())
        return Page.of(rows, [r.key for r in rows])

    return db.read(unit)


def favourited_by(db: Database, viewer: Viewer, status_id: int, page: PageRequest) -> Page[Row]:
    return _actors(db, viewer, status_id, page, favourites)


def reblogged_by(db: Database, viewer: Viewer, status_id: int, page: PageRequest) -> Page[Row]:
    return _actors(db, viewer, status_id, page, statuses)


def marked(
    db: Database, viewer: Viewer, page: PageRequest, table: sa.Table
) -> tuple[Page[Row], Bundle]:
    """The viewer's favourites or bookmarks (still visible to them), newest mark first."""
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        query = (
            sa.select(statuses, table.c.id.label("mark_id"))
            .join(table, table.c.status_id == statuses.c.id)
            .where(table.c.account_id == me, visible_to(me, listing=False))
        )
        rows = page.finish(conn.execute(page.apply(query, table.c.id)).all())
        return Page.of(rows, [r.mark_id for r in rows]), load_statuses(conn, rows, me)

    return db.read(unit)
