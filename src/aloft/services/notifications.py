"""Notifications: mention, follow, favourite, reblog.

They are written in the same transaction as the action that causes them, and are unique by
(recipient, type, actor, status), so a retried or repeated action never notifies twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.loader import Bundle, load_accounts, load_statuses
from aloft.services.pages import Page, PageRequest
from aloft.services.streaming import notified
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import notifications, statuses

TYPES = ("mention", "follow", "favourite", "reblog")


def notify(
    conn: Connection, recipient_id: int, from_id: int, kind: str, status_id: int | None = None
) -> None:
    """Record a notification unless it is about oneself or already recorded."""
    if recipient_id == from_id:
        return
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
            "dedupe_key": f"{kind}:{from_id}:{status_id or ''}",
            "created_at": now(),
        },
    )
    if added:
        notified(conn, notification_id)  # streamed after commit


def _check_types(names: Sequence[str]) -> None:
    unknown = [t for t in names if t not in TYPES and t not in KNOWN_ELSEWHERE]
    if unknown:
        raise Invalid(f"Unknown notification type: {', '.join(unknown)}")


# Types other Mastodon servers emit: accepted as filters, never produced here.
KNOWN_ELSEWHERE = (
    "status",
    "follow_request",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
    "quote",
    "quoted_update",
)


def _bundle(conn: Connection, rows: Sequence[Row], viewer_id: int) -> Bundle:
    status_ids = {r.status_id for r in rows if r.status_id}
    status_rows = (
        conn.execute(sa.select(statuses).where(statuses.c.id.in_(status_ids))).all()
        if status_ids
        else []
    )
    bundle = load_statuses(conn, status_rows, viewer_id)
    load_accounts(conn, {r.from_account_id for r in rows}, bundle)
    return bundle


def list_page(
    db: Database,
    viewer: Viewer,
    page: PageRequest,
    types: Sequence[str] = (),
    exclude_types: Sequence[str] = (),
    account_id: int | None = None,
) -> tuple[Page[Row], Bundle]:
    """The viewer's notifications, newest first, filtered by type and originating account."""
    assert viewer.account_id is not None
    _check_types([*types, *exclude_types])
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        query = sa.select(notifications).where(notifications.c.account_id == me)
        if types:
            query = query.where(notifications.c.type.in_(types))
        if exclude_types:
            query = query.where(notifications.c.type.not_in(exclude_types))
        if account_id is not None:
            query = query.where(notifications.c.from_account_id == account_id)
        rows = page.finish(conn.execute(page.apply(query, notifications.c.id)).all())
        return Page.of(rows, [r.id for r in rows]), _bundle(conn, rows, me)

    return db.read(unit)


def get(db: Database, viewer: Viewer, notification_id: int) -> tuple[Row, Bundle]:
    assert viewer.account_id is not None
    me = viewer.account_id

    def unit(conn: Connection) -> tuple[Row, Bundle]:
        row = conn.execute(
            sa.select(notifications).where(
                notifications.c.id == notification_id, notifications.c.account_id == me
            )
        ).first()
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
