"""Notifications: mention, follow, follow_request, favourite, reblog; one by one (v1) and
grouped (v2), and how many are unread.

They are written in the same transaction as the action that causes them, and are unique by
(recipient, type, actor, status), so a retried or repeated action never notifies twice.

Groups, as Mastodon 4.3 makes them: favourites of one status, reblogs of one status, and
follows each share a `group_key` ("favourite-<status>-<hour>", "follow-<hour>"), where
<hour> is the hour (since the epoch) the group started; a notification joins the
recipient's latest group of its kind if that started less than 12 hours earlier. Every
other notification is a group of its own, "ungrouped-<id>". A v2 page holds `limit` groups,
each represented by its newest notification within the page's cursors.

Types a client names that we do not know (`types[]=collection_update`) are ignored, as
Mastodon ignores them: `types[]` of unknown types only matches nothing. Notifications about
a status the recipient may not see (`aloft.services.visibility`) are never listed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import NotFound
from aloft.services.auth import Viewer, now
from aloft.services.conversation_mutes import conversation_muted
from aloft.services.filtering import hidden
from aloft.services.loader import Bundle, load_accounts, load_statuses, status_rows
from aloft.services.pages import Page, PageRequest, Shape, bound
from aloft.services.streaming import notified
from aloft.services.visibility import silenced, silenced_senders, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import markers, mutes, notifications, statuses
from aloft.storage.statement import GENERIC_PLAN, Statement, rows_of

TYPES = ("mention", "follow", "follow_request", "favourite", "reblog", "poll", "update")
# Mastodon 4.3 groups these (Notification::GROUPABLE_NOTIFICATION_TYPES).
GROUPABLE = ("favourite", "reblog", "follow")
MAX_GROUP_SPAN_HOURS = 12
SAMPLE_ACCOUNTS = 8
UNGROUPED = "ungrouped-"
GROUP_KEY = re.compile(r"[a-z_]+(-[0-9]+){1,2}")
# How many rows one round trip reads while collecting a page of groups.
WALK_BATCH = 200


def _group_prefix(kind: str, status_id: int | None) -> str:
    return "follow" if kind == "follow" else f"{kind}-{status_id}"


# The recipient's greatest group key in [low, high): built once, as every notification
# asks it inside its write (issue 11).
_LATEST_GROUP = sa.select(sa.func.max(notifications.c.group_key)).where(
    notifications.c.account_id == sa.bindparam("me", type_=notifications.c.account_id.type),
    notifications.c.group_key >= sa.bindparam("low", type_=notifications.c.group_key.type),
    notifications.c.group_key < sa.bindparam("high", type_=notifications.c.group_key.type),
)


def _group_key(
    conn: Connection, recipient_id: int, kind: str, status_id: int | None, at: datetime
) -> str | None:
    """The group a new notification joins: the recipient's latest group of this kind (and
    status) if it started less than MAX_GROUP_SPAN_HOURS ago, else a new one."""
    if kind not in GROUPABLE:
        return None
    prefix = _group_prefix(kind, status_id) + "-"
    hour = int(at.timestamp()) // 3600
    # A range on the index (account_id, group_key) rather than LIKE, which PostgreSQL only
    # serves from an index under the C collation. Hours since the epoch keep six digits
    # until 2084, so the greatest key is the latest group.
    params = {"me": recipient_id, "low": prefix, "high": prefix[:-1] + "."}  # "." follows "-"
    latest = conn.execute(_LATEST_GROUP, params).scalar()
    if latest is not None:
        started = int(latest.rsplit("-", 1)[1])
        if hour < started + MAX_GROUP_SPAN_HOURS:
            hour = started
    return f"{prefix}{hour}"


def _dedupe_key(kind: str, from_id: int, status_id: int | None) -> str:
    return f"{kind}:{from_id}:{status_id or ''}"


def notify(
    conn: Connection, recipient_id: int, from_id: int, kind: str, status_id: int | None = None
) -> None:
    """Record a notification unless it is about oneself, already recorded, or from an
    account silenced for the recipient (blocked either way, or muted with notifications:
    nothing is written, as Mastodon's NotifyService drops it)."""
    if recipient_id == from_id or silenced(conn, recipient_id, from_id):
        return
    _record(conn, recipient_id, from_id, kind, status_id, _dedupe_key(kind, from_id, status_id))


def notify_keyed(
    conn: Connection, recipient_id: int, from_id: int, kind: str, status_id: int, key: str
) -> None:
    """Record a notification under a dedupe key of the caller's: the `poll` notification
    its own author gets (from themselves, as Mastodon writes it), one `update` per edit."""
    _record(conn, recipient_id, from_id, kind, status_id, f"{kind}:{key}")


def _record(
    conn: Connection,
    recipient_id: int,
    from_id: int,
    kind: str,
    status_id: int | None,
    dedupe_key: str,
) -> None:
    # Nothing about a status in a conversation the recipient muted (any type: Mastodon's
    # NotifyService drops every notification whose target status is in one).
    if status_id is not None and conversation_muted(conn, recipient_id, status_id):
        return
    at = now()
    notification_id = ids.new_id()
    added = insert_ignore(
        conn,
        notifications,
        {
            "id": notification_id,
            "account_id": recipient_id,
            "from_account_id": from_id,
            "type": kind,
            "status_id": status_id,
            "dedupe_key": dedupe_key,
            "group_key": _group_key(conn, recipient_id, kind, status_id, at),
            "created_at": at,
        },
    )
    if added:
        notified(conn, notification_id)  # streamed after commit


def unnotify(
    conn: Connection, recipient_id: int, from_id: int, kind: str, status_id: int | None = None
) -> None:
    """Remove the notification `notify` recorded for this action, if any (a follow request
    answered or withdrawn is no longer news)."""
    conn.execute(
        sa.delete(notifications).where(
            notifications.c.account_id == recipient_id,
            notifications.c.dedupe_key == _dedupe_key(kind, from_id, status_id),
        )
    )


@dataclass(frozen=True)
class Filters:
    """What a listing or a count keeps. Unknown type names are harmless: `types` keeps only
    rows of the types named, so unknown names match nothing, as in Mastodon."""

    types: Sequence[str] = ()
    exclude_types: Sequence[str] = ()
    account_id: int | None = None

    def apply(self, query: sa.Select, me: int) -> sa.Select:
        query = query.where(notifications.c.account_id == me, _visible(me, now()))
        if self.types:
            query = query.where(notifications.c.type.in_(list(self.types)))
        if self.exclude_types:
            query = query.where(notifications.c.type.not_in(list(self.exclude_types)))
        if self.account_id is not None:
            query = query.where(notifications.c.from_account_id == self.account_id)
        return query


def _visible(
    me: int | sa.BindParameter[int], at: datetime | sa.BindParameter[datetime]
) -> sa.ColumnElement[bool]:
    """No notification about a status the recipient may not see, and none from an account
    silenced for them at `at` (blocked either way, suspended, or muted with its
    notifications)."""
    return sa.and_(
        notifications.c.from_account_id.not_in(silenced_senders(me, at)),
        sa.or_(
            notifications.c.status_id.is_(None),
            sa.exists().where(
                statuses.c.id == notifications.c.status_id, visible_to(me, listing=False)
            ),
        ),
    )


def _bundle(
    conn: Connection, rows: Sequence[Row], viewer_id: int, more_accounts: Sequence[int] = ()
) -> Bundle:
    shown = status_rows(conn, {r.status_id for r in rows if r.status_id})
    senders = {r.from_account_id for r in rows} | set(more_accounts)
    return load_statuses(conn, shown, viewer_id, accounts=senders)


def _unfiltered(bundle: Bundle, rows: Sequence[Row]) -> list[Row]:
    """`rows` without the notifications about a status the viewer's `hide` filters for
    notifications match (aloft.services.filtering); the page's cursors stay the query's."""
    if not bundle.filtered:
        return list(rows)
    return [
        r
        for r in rows
        if r.status_id not in bundle.statuses
        or not hidden(bundle, bundle.statuses[r.status_id], "notifications")
    ]


@functools.cache
def _listing(shape: Shape) -> Statement:
    """The unfiltered listing (what apps ask for), built once per cursor shape with the
    viewer and the time as parameters (building it was a third of a page's time; issue 11),
    run by the driver."""
    me = sa.bindparam("me", type_=notifications.c.account_id.type)
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    query = sa.select(notifications).where(notifications.c.account_id == me, _visible(me, at))
    return Statement.of(bound(shape, query, notifications.c.id).execution_options(**GENERIC_PLAN))


def list_page(
    db: Database, viewer: Viewer, page: PageRequest, filters: Filters = Filters()
) -> tuple[Page[Row], Bundle]:
    """The viewer's notifications, newest first, filtered by type and originating account."""
    assert viewer.account_id is not None
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        if not (filters.types or filters.exclude_types or filters.account_id is not None):
            params = {"me": me, "at": now()} | page.values()
            found = rows_of(conn, _listing(page.shape), params)
        else:
            query = filters.apply(sa.select(notifications), me)
            found = list(conn.execute(page.apply(query, notifications.c.id)))
        rows = page.finish(found)
        bundle = _bundle(conn, rows, me)
        return Page.of(_unfiltered(bundle, rows), [r.id for r in rows]), bundle

    return db.read(unit)


def get(db: Database, viewer: Viewer, notification_id: int) -> tuple[Row, Bundle]:
    assert viewer.account_id is not None
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[Row, Bundle]:
        query = Filters().apply(sa.select(notifications), me)
        row = conn.execute(query.where(notifications.c.id == notification_id)).first()
        if row is None:
            raise NotFound("Record not found")
        return row, _bundle(conn, [row], me)

    return db.read(unit)


def dismiss(db: Database, viewer: Viewer, notification_id: int) -> None:
    """Delete one of the viewer's notifications. Unknown ids are ignored, so a retried
    dismiss succeeds; another account's notification is never touched."""
    me = viewer.account_id

    def unit(conn: Connection) -> None:
        conn.execute(
            sa.delete(notifications).where(
                notifications.c.id == notification_id, notifications.c.account_id == me
            )
        )

    db.write(unit)


def clear(db: Database, viewer: Viewer) -> None:
    me = viewer.account_id
    db.write(
        lambda conn: conn.execute(sa.delete(notifications).where(notifications.c.account_id == me))
    )


# --- groups (v2) ---------------------------------------------------------------------------


def grouped_types(names: Sequence[str] | None) -> frozenset[str]:
    """The types a client lets us group: all we group when it names none, else those of
    its names that we group (unknown names are ignored)."""
    if not names:
        return frozenset(GROUPABLE)
    return frozenset(n for n in names if n in GROUPABLE)


def group_of(row: Row, grouped: frozenset[str]) -> str:
    """A notification's group key as the client sees it."""
    if row.group_key and row.type in grouped:
        return str(row.group_key)
    return f"{UNGROUPED}{row.id}"


@dataclass
class Group:
    """One notification group as a page shows it. `notification` is its representative:
    the newest notification of the group within the page's cursors."""

    key: str
    notification: Row
    count: int
    most_recent_id: int
    sample_account_ids: list[int]
    page_min_id: int | None = None
    page_max_id: int | None = None
    latest_at: datetime | None = None


@dataclass
class GroupPage:
    groups: list[Group]
    bundle: Bundle
    # Representatives' ids, newest first: the cursors of the Link header.
    keys: list[int] = field(default_factory=list)
    paginated: bool = True


def _walk_groups(
    conn: Connection,
    query: sa.Select,
    limit: int,
    ascending: bool,
    grouped: frozenset[str],
) -> list[Row]:
    """Up to `limit` rows of `query` (ordered by id, the cursors already applied), each the
    first of its group in that order, read in batches (Mastodon does this with a recursive
    CTE; two engines and small pages make a loop the simpler choice). Each batch leaves out
    the groups already picked, as the CTE does, so it holds at least one new group and one
    huge group (a post with 100,000 favourites) is never read row by row."""
    seen: set[str] = set()
    stored: list[str] = []  # picked groups that have a key in the table
    picked: list[Row] = []
    last: int | None = None
    order = notifications.c.id.asc() if ascending else notifications.c.id.desc()
    while len(picked) < limit:
        batch_query = query
        if last is not None:
            after = notifications.c.id > last if ascending else notifications.c.id < last
            batch_query = batch_query.where(after)
        if stored:
            batch_query = batch_query.where(
                sa.or_(
                    notifications.c.group_key.is_(None), notifications.c.group_key.not_in(stored)
                )
            )
        rows = conn.execute(batch_query.order_by(order).limit(WALK_BATCH)).all()
        for row in rows:
            key = group_of(row, grouped)
            if key not in seen:
                seen.add(key)
                if not key.startswith(UNGROUPED):
                    stored.append(key)
                picked.append(row)
                if len(picked) == limit:
                    break
        if len(rows) < WALK_BATCH:
            break
        last = rows[-1].id
    return picked


def _group_data(
    conn: Connection,
    me: int,
    keys: Sequence[str],
    low: int | None,
    high: int | None,
) -> dict[str, tuple[int, int, int | None, datetime, list[int]]]:
    """For each stored group key: (most recent id, count, oldest id >= low, newest time,
    sample account ids), counting notifications with id <= high. Two queries whatever the
    number of groups."""
    if not keys:
        return {}
    n = notifications
    # Counts and samples leave out senders the recipient is not shown (blocks, mutes).
    upto = [
        n.c.account_id == me,
        n.c.group_key.in_(list(keys)),
        n.c.from_account_id.not_in(silenced_senders(me)),
    ]
    if high is not None:
        upto.append(n.c.id <= high)
    oldest = sa.func.min(sa.case((n.c.id >= low, n.c.id)) if low is not None else n.c.id)
    totals = {
        r.group_key: r
        for r in conn.execute(
            sa.select(
                n.c.group_key,
                sa.func.max(n.c.id).label("newest"),
                sa.func.count().label("total"),
                oldest.label("oldest"),
            )
            .where(*upto)
            .group_by(n.c.group_key)
        )
    }
    rank = (
        sa.func.row_number().over(partition_by=n.c.group_key, order_by=n.c.id.desc()).label("rank")
    )
    ranked = sa.select(n.c.group_key, n.c.from_account_id, n.c.created_at, rank).where(*upto)
    sub = ranked.subquery()
    samples: dict[str, list[int]] = {}
    newest_at: dict[str, datetime] = {}
    for r in conn.execute(
        sa.select(sub).where(sub.c.rank <= SAMPLE_ACCOUNTS).order_by(sub.c.group_key, sub.c.rank)
    ):
        samples.setdefault(r.group_key, []).append(r.from_account_id)
        if r.rank == 1:
            newest_at[r.group_key] = r.created_at
    return {
        key: (t.newest, t.total, t.oldest, newest_at[key], samples[key])
        for key, t in totals.items()
    }


def _groups(
    conn: Connection,
    me: int,
    rows: Sequence[Row],
    grouped: frozenset[str],
    low: int | None,
    high: int | None,
    paginated: bool,
) -> list[Group]:
    stored = [group_of(r, grouped) for r in rows if not group_of(r, grouped).startswith(UNGROUPED)]
    data = _group_data(conn, me, stored, low, high)
    out = []
    for row in rows:
        key = group_of(row, grouped)
        if key in data:
            newest, count, oldest, at, sample = data[key]
            group = Group(key, row, count, newest, sample, oldest, newest, at)
        else:
            one = [row.from_account_id]
            group = Group(key, row, 1, row.id, one, row.id, row.id, row.created_at)
        if not paginated:
            group.page_min_id = group.page_max_id = None
            group.latest_at = None
        out.append(group)
    return out


def grouped_page(
    db: Database,
    viewer: Viewer,
    page: PageRequest,
    filters: Filters = Filters(),
    grouped_names: Sequence[str] | None = None,
) -> GroupPage:
    """A page of the viewer's notification groups, newest first (GET /api/v2/notifications).

    The page's range, which bounds each group's count and sample (Mastodon's
    pagination_range): from the oldest to the newest representative; on the last page
    (fewer groups than asked) it reaches back to `since_id` (or to the start), or, paging
    up with `min_id`, forward to `max_id` (or to the end)."""
    assert viewer.account_id is not None
    me = viewer.account_id
    grouped = grouped_types(grouped_names)

    def unit(conn: Connection) -> GroupPage:
        query = filters.apply(sa.select(notifications), me)
        ascending = page.min_id is not None
        if page.max_id is not None:
            query = query.where(notifications.c.id < page.max_id)
        if ascending:
            query = query.where(notifications.c.id > page.min_id)
        elif page.since_id is not None:
            query = query.where(notifications.c.id > page.since_id)
        rows = _walk_groups(conn, query, page.limit, ascending, grouped)
        if ascending:
            rows.reverse()
        if not rows:
            return GroupPage([], Bundle(viewer_id=me))
        low: int | None = rows[-1].id
        high: int | None = rows[0].id
        if len(rows) < page.limit:
            if ascending:
                high = page.max_id - 1 if page.max_id is not None else None
            else:
                low = page.since_id + 1 if page.since_id is not None else None
        groups = _groups(conn, me, rows, grouped, low, high, paginated=True)
        samples = [a for g in groups for a in g.sample_account_ids]
        bundle = _bundle(conn, rows, me, samples)
        kept = {r.id for r in _unfiltered(bundle, rows)}
        groups = [g for g in groups if g.notification.id in kept]
        return GroupPage(groups, bundle, [r.id for r in rows])

    return db.read(unit)


def _by_group_key(me: int, group_key: str) -> sa.ColumnElement[bool] | None:
    """The condition for a group's notifications, None for a key that cannot exist."""
    if group_key.startswith(UNGROUPED):
        raw = group_key[len(UNGROUPED) :]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) >= 1 << 63:
            return None
        return sa.and_(notifications.c.account_id == me, notifications.c.id == int(raw))
    # Only the shapes we write ("favourite-<status>-<hour>", "follow-<hour>") can exist; any
    # other text (a NUL, which PostgreSQL refuses in text) is not sent to the database.
    if len(group_key) > 80 or not GROUP_KEY.fullmatch(group_key):
        return None
    return sa.and_(notifications.c.account_id == me, notifications.c.group_key == group_key)


def group(db: Database, viewer: Viewer, group_key: str) -> GroupPage:
    """One group by its key (GET /api/v2/notifications/:group_key), counted whole."""
    assert viewer.account_id is not None
    me = viewer.account_id
    condition = _by_group_key(me, group_key)
    if condition is None:
        raise NotFound("Record not found")

    def unit(conn: Connection) -> GroupPage:
        query = Filters().apply(sa.select(notifications), me).where(condition)
        row = conn.execute(query.order_by(notifications.c.id.desc()).limit(1)).first()
        if row is None:
            raise NotFound("Record not found")
        # Grouped by every type we group, whatever the key's own type says.
        groups = _groups(conn, me, [row], frozenset(GROUPABLE), None, None, paginated=False)
        bundle = _bundle(conn, [row], me, groups[0].sample_account_ids)
        return GroupPage(groups, bundle, [row.id], paginated=False)

    return db.read(unit)


def group_accounts(
    db: Database, viewer: Viewer, group_key: str, page: PageRequest
) -> tuple[Page[Row], Bundle]:
    """The accounts behind a group's notifications, newest first, paged by notification."""
    assert viewer.account_id is not None
    me = viewer.account_id
    condition = _by_group_key(me, group_key)
    if condition is None:
        raise NotFound("Record not found")

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        query = Filters().apply(sa.select(notifications), me).where(condition)
        rows = page.finish(conn.execute(page.apply(query, notifications.c.id)).all())
        if not rows and page.max_id is None and page.min_id is None and page.since_id is None:
            raise NotFound("Record not found")
        bundle = Bundle(viewer_id=me)
        load_accounts(conn, {r.from_account_id for r in rows}, bundle)
        return Page.of(rows, [r.id for r in rows]), bundle

    return db.read(unit)


def dismiss_group(db: Database, viewer: Viewer, group_key: str) -> None:
    """Delete every notification of one of the viewer's groups. Unknown keys change
    nothing and succeed, so a retried dismiss succeeds (as Mastodon's destroy_all)."""
    assert viewer.account_id is not None
    condition = _by_group_key(viewer.account_id, group_key)
    if condition is None:
        return
    db.write(lambda conn: conn.execute(sa.delete(notifications).where(condition)))


# --- unread counts -------------------------------------------------------------------------


def _marker(conn: Connection, me: int) -> int | None:
    return conn.execute(
        sa.select(markers.c.last_read_id).where(
            markers.c.account_id == me, markers.c.timeline == "notifications"
        )
    ).scalar()


def unread_count(db: Database, viewer: Viewer, limit: int, filters: Filters = Filters()) -> int:
    """Notifications newer than the viewer's notifications marker (all of them without
    one), at most `limit` (GET /api/v1/notifications/unread_count)."""
    assert viewer.account_id is not None
    me = viewer.account_id

    def unit(conn: Connection) -> int:
        query = filters.apply(sa.select(notifications.c.id), me)
        marker = _marker(conn, me)
        if marker is not None:
            query = query.where(notifications.c.id > marker)
        counted = sa.select(sa.func.count()).select_from(query.limit(limit).subquery())
        return int(conn.execute(counted).scalar_one())

    return db.read(unit)


def unread_group_count(
    db: Database,
    viewer: Viewer,
    limit: int,
    filters: Filters = Filters(),
    grouped_names: Sequence[str] | None = None,
) -> int:
    """Groups with a notification newer than the notifications marker, at most `limit`
    (GET /api/v2/notifications/unread_count)."""
    assert viewer.account_id is not None
    me = viewer.account_id
    grouped = grouped_types(grouped_names)

    def unit(conn: Connection) -> int:
        columns = (notifications.c.id, notifications.c.type, notifications.c.group_key)
        query = filters.apply(sa.select(*columns), me)
        marker = _marker(conn, me)
        if marker is not None:
            query = query.where(notifications.c.id > marker)
        return len(_walk_groups(conn, query, limit, True, grouped))

    return db.read(unit)
