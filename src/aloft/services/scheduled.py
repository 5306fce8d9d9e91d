"""Scheduled posts: `scheduled_at` on posting keeps the post until its time, and a job in
every app process publishes it then, through the normal posting path, exactly once.

Rules, as Mastodon's ScheduledStatus and PostStatusService: the time must be more than
`MIN_OFFSET` (5 minutes) ahead, an account has at most `TOTAL_LIMIT` (300) pending and at
most `DAILY_LIMIT` (25: Mastodon's ScheduledStatus::DAILY_LIMIT) scheduled on one UTC day,
else 422. The post is checked as posting checks it (text, poll, visibility, language,
media, the status replied to) when it is scheduled; its media are reserved for it (not
cleaned up as unattached, not attachable to another post). `params` is kept as Mastodon's
ScheduledStatus shows it. An Idempotency-Key works as on posting: the same key again
answers the scheduled post already made, and a concurrent twin raises `RunAgain` on the
unique index and finds it.

Exactly once (`publish_due`): one due row is claimed per transaction (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so app processes and replicas never take the same row; SQLite has
one writer at a time), and the row's deletion, its media's release and the status with all
it causes (`statuses.write`: mentions, notifications, conversations, counters, the stream
event) commit together. A crash or failover before COMMIT leaves the row for the next
round; after it, the row is gone and no rerun finds anything to publish. A post that can no
longer be made (the status it replies to deleted, say) is dropped, as Mastodon's
PublishScheduledStatusWorker drops it, and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Forbidden, Invalid, NotFound
from aloft.services import media, polls, statuses
from aloft.services.auth import Viewer, now
from aloft.services.pages import Page, PageRequest
from aloft.services.statuses import NewStatus, Site
from aloft.services.visibility import NAMES
from aloft.storage.database import Database
from aloft.storage.failures import rerun_after_twin
from aloft.storage.schema import scheduled_statuses

log = logging.getLogger("aloft.scheduled")

MIN_OFFSET = timedelta(minutes=5)
TOTAL_LIMIT = 300
DAILY_LIMIT = 25
TOO_SOON = "The scheduled date must be in the future"


@dataclass(frozen=True)
class Scheduled:
    """A scheduled post and the media reserved for it, in order."""

    row: Row
    media: list[Row]

    @property
    def params(self) -> dict[str, object]:
        params: dict[str, object] = orjson.loads(self.row.params)
        return params


def parse_time(raw: str) -> datetime:
    """An ISO 8601 time (UTC when it names no offset), or 422 naming scheduled_at."""
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid.on("scheduled_at", "ERR_INVALID", "is not a valid ISO 8601 time") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _check_time(at: datetime, current: datetime) -> None:
    if at <= current + MIN_OFFSET:
        raise Invalid.on("scheduled_at", "ERR_INVALID", TOO_SOON)


def _check_day(conn: Connection, me: int, at: datetime, other_than: int | None = None) -> None:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    query = sa.select(sa.func.count()).where(
        scheduled_statuses.c.account_id == me,
        scheduled_statuses.c.scheduled_at >= day,
        scheduled_statuses.c.scheduled_at < day + timedelta(days=1),
    )
    if other_than is not None:
        query = query.where(scheduled_statuses.c.id != other_than)
    if conn.execute(query).scalar_one() >= DAILY_LIMIT:
        raise Invalid(
            f"Validation failed: You have exceeded the limit of {DAILY_LIMIT} scheduled "
            "posts for that day"
        )


def _params(new: NewStatus, visibility: int, app_id: int | None) -> dict[str, object]:
    """What Mastodon's ScheduledStatus shows as `params` (and what publishing posts)."""
    poll = new.poll
    return {
        "text": new.text,
        "poll": (
            {
                "options": list(poll.options),
                "expires_in": poll.expires_in,
                "multiple": poll.multiple,
                "hide_totals": poll.hide_totals,
            }
            if poll is not None
            else None
        ),
        "media_ids": [str(i) for i in new.media_ids] or None,
        "sensitive": bool(new.sensitive),
        "spoiler_text": new.spoiler_text or None,
        "visibility": NAMES[visibility],
        "in_reply_to_id": new.in_reply_to_id,
        "language": new.language,
        "application_id": app_id or 0,
        "scheduled_at": None,
        "idempotency": None,
        "with_rate_limit": False,
    }


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _new_status(params: dict[str, object]) -> NewStatus:
    """The post `params` describe, to publish."""
    poll = params.get("poll")
    reply = params.get("in_reply_to_id")
    return NewStatus(
        text=str(params.get("text") or ""),
        in_reply_to_id=int(str(reply)) if reply is not None else None,
        visibility=str(params["visibility"]),
        spoiler_text=str(params.get("spoiler_text") or ""),
        sensitive=bool(params.get("sensitive")),
        language=str(params["language"]) if params.get("language") else None,
        media_ids=tuple(int(str(i)) for i in _list(params.get("media_ids"))),
        poll=(
            polls.NewPoll(
                tuple(poll["options"]),
                poll["expires_in"],
                bool(poll["multiple"]),
                bool(poll["hide_totals"]),
            )
            if isinstance(poll, dict)
            else None
        ),
    )


def _load(conn: Connection, rows: Sequence[Row]) -> list[Scheduled]:
    reserved = media.for_scheduled(conn, [r.id for r in rows])
    return [Scheduled(r, reserved.get(r.id, [])) for r in rows]


def _own(conn: Connection, me: int, scheduled_id: int) -> Row:
    row = conn.execute(
        sa.select(scheduled_statuses).where(
            scheduled_statuses.c.id == scheduled_id, scheduled_statuses.c.account_id == me
        )
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def create(
    db: Database, viewer: Viewer, new: NewStatus, at: datetime, current: datetime | None = None
) -> Scheduled:
    """Schedule `new` for `at` (an aware time); the scheduled post, or the one already made
    with the same Idempotency-Key. `current` is the time to judge `at` by (now)."""
    me = viewer.account_id
    assert me is not None
    visibility = statuses.validate(new)
    media_ids = statuses.check_media_ids(new.media_ids)
    at = _aware(at).astimezone(UTC)
    _check_time(at, current or now())
    params = orjson.dumps(_params(new, visibility, viewer.app_id)).decode()
    scheduled_id = ids.new_id()
    key = new.idempotency_key

    def unit(conn: Connection) -> Scheduled:
        if key is not None:
            earlier = conn.execute(
                sa.select(scheduled_statuses).where(
                    scheduled_statuses.c.account_id == me,
                    scheduled_statuses.c.idempotency_key == key,
                )
            ).first()
            if earlier is not None:
                return _load(conn, [earlier])[0]
        again = conn.execute(
            sa.select(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id)
        ).first()
        if again is not None:  # an earlier attempt committed
            return _load(conn, [again])[0]
        if new.in_reply_to_id is not None:
            statuses.replied_to(conn, me, new.in_reply_to_id)
        pending = conn.execute(
            sa.select(sa.func.count()).where(scheduled_statuses.c.account_id == me)
        ).scalar_one()
        if pending >= TOTAL_LIMIT:
            raise Invalid(
                f"Validation failed: You have exceeded the limit of {TOTAL_LIMIT} scheduled posts"
            )
        _check_day(conn, me, at)
        conn.execute(
            sa.insert(scheduled_statuses).values(
                id=scheduled_id,
                account_id=me,
                scheduled_at=at,
                params=params,
                idempotency_key=key,
                created_at=now(),
            )
        )
        media.reserve_for_scheduled(conn, me, scheduled_id, media_ids)
        row = conn.execute(
            sa.select(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id)
        ).one()
        return _load(conn, [row])[0]

    # A concurrent twin (the same Idempotency-Key) breaks the unique index: the rerun finds it.
    return db.write(rerun_after_twin(unit))


def list_page(db: Database, viewer: Viewer, page: PageRequest) -> Page[Scheduled]:
    """The viewer's scheduled posts, newest first by id (Mastodon pages them by id)."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Page[Scheduled]:
        query = sa.select(scheduled_statuses).where(scheduled_statuses.c.account_id == me)
        rows = page.finish(conn.execute(page.apply(query, scheduled_statuses.c.id)).all())
        return Page.of(_load(conn, rows), [r.id for r in rows])

    return db.read(unit)


def get(db: Database, viewer: Viewer, scheduled_id: int) -> Scheduled:
    me = viewer.account_id
    assert me is not None
    return db.read(lambda conn: _load(conn, [_own(conn, me, scheduled_id)])[0])


def reschedule(
    db: Database,
    viewer: Viewer,
    scheduled_id: int,
    at: datetime,
    current: datetime | None = None,
) -> Scheduled:
    """Move one of the viewer's scheduled posts to `at` (the same rules as scheduling)."""
    me = viewer.account_id
    assert me is not None
    at = _aware(at).astimezone(UTC)
    _check_time(at, current or now())

    def unit(conn: Connection) -> Scheduled:
        _own(conn, me, scheduled_id)
        _check_day(conn, me, at, other_than=scheduled_id)
        conn.execute(
            sa.update(scheduled_statuses)
            .where(scheduled_statuses.c.id == scheduled_id)
            .values(scheduled_at=at)
        )
        return _load(conn, [_own(conn, me, scheduled_id)])[0]

    return db.write(unit)


def delete(db: Database, viewer: Viewer, scheduled_id: int) -> None:
    """Cancel one of the viewer's scheduled posts; its media are free again. A rerun after
    an unknown commit that did delete it succeeds rather than answer 404."""
    me = viewer.account_id
    assert me is not None
    found: list[bool] = []

    def unit(conn: Connection) -> None:
        removed = conn.execute(
            sa.delete(scheduled_statuses).where(
                scheduled_statuses.c.id == scheduled_id, scheduled_statuses.c.account_id == me
            )
        ).rowcount
        if not removed and not found:
            raise NotFound("Record not found")
        found.append(True)
        media.release(conn, scheduled_id)

    db.write(unit)


# -- the job -----------------------------------------------------------------------------------


def publish_due(db: Database, site: Site, at: datetime | None = None) -> bool:
    """Publish one scheduled post whose time has come (by `at`, now when not given), or drop
    it if it can no longer be posted. True if there was one (call again until False). Safe
    with any number of app processes running it at once (see the module's docstring)."""
    when = _aware(at) if at is not None else now()
    claimed: list[int] = []

    def unit(conn: Connection) -> bool:
        claimed.clear()
        row = conn.execute(
            sa.select(scheduled_statuses)
            .where(scheduled_statuses.c.scheduled_at <= when)
            .order_by(scheduled_statuses.c.scheduled_at, scheduled_statuses.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return False
        claimed.append(row.id)
        removed = conn.execute(
            sa.delete(scheduled_statuses).where(scheduled_statuses.c.id == row.id)
        ).rowcount
        if not removed:  # published by another process meanwhile (the lock makes it rare)
            return True
        media.release(conn, row.id)
        params: dict[str, object] = orjson.loads(row.params)
        app_id = params.get("application_id")
        author = Viewer(
            account_id=row.account_id,
            scopes=frozenset(),
            app_id=int(str(app_id)) if app_id else None,
        )
        statuses.write(
            conn, author, site, _new_status(params), ids.new_id(), ids.new_id(), limited=False
        )
        return True

    try:
        return db.write(unit)
    except (Invalid, NotFound, Forbidden) as exc:
        # The post itself is at fault; the database failing (Unavailable) is not, and the
        # row stays for the next round.
        if not claimed:
            raise
        log.warning("scheduled post %d cannot be published and is dropped: %s", claimed[0], exc)
        return _drop(db, claimed[0])


def _drop(db: Database, scheduled_id: int) -> bool:
    def unit(conn: Connection) -> bool:
        conn.execute(sa.delete(scheduled_statuses).where(scheduled_statuses.c.id == scheduled_id))
        media.release(conn, scheduled_id)
        return True

    return db.write(unit)
