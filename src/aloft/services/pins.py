"""What a viewer sets on a status for themselves: pins, and conversation mutes.

Pins, as Mastodon: an account pins its own public, unlisted or private statuses (not a
reblog, not a direct one), at most `MAX_PINNED`; beyond, or for any other status it may
see, 422. A status it may not see is 404. Both ways are idempotent: a pin is unique per
(account, status), so a rerun or a second pin changes nothing, and unpinning what is not
pinned succeeds.

Conversation mutes (`aloft.services.conversation_mutes`): any status the viewer may see.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services import conversation_mutes
from aloft.services.auth import Viewer, now
from aloft.services.loader import Bundle, with_bundle
from aloft.services.visibility import DIRECT, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import status_pins, statuses

MAX_PINNED = 5


def _visible(conn: Connection, me: int, status_id: int) -> Row:
    row = conn.execute(
        sa.select(statuses).where(statuses.c.id == status_id, visible_to(me))
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def _answer(conn: Connection, status_id: int) -> Row:
    return conn.execute(sa.select(statuses).where(statuses.c.id == status_id)).one()


def pin(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    me = viewer.account_id
    assert me is not None
    pin_id = ids.new_id()

    def unit(conn: Connection) -> Row:
        row = _visible(conn, me, status_id)
        if row.reblog_of_id is not None:
            raise Invalid("Validation failed: Reblogs cannot be pinned")
        if row.account_id != me:
            raise Invalid("Validation failed: Only own posts can be pinned")
        if row.visibility == DIRECT:
            raise Invalid("Validation failed: Private mentions cannot be pinned")
        pinned = (
            conn.execute(sa.select(status_pins.c.status_id).where(status_pins.c.account_id == me))
            .scalars()
            .all()
        )
        if row.id not in pinned:
            if len(pinned) >= MAX_PINNED:
                raise Invalid(
                    f"Validation failed: You have already pinned the maximum of {MAX_PINNED} posts"
                )
            insert_ignore(
                conn,
                status_pins,
                {"id": pin_id, "account_id": me, "status_id": row.id, "created_at": now()},
            )
        return _answer(conn, row.id)

    return db.write_then(unit, with_bundle(me))


def unpin(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Row:
        row = _visible(conn, me, status_id)
        conn.execute(
            sa.delete(status_pins).where(
                status_pins.c.account_id == me, status_pins.c.status_id == row.id
            )
        )
        return _answer(conn, row.id)

    return db.write_then(unit, with_bundle(me))


def mute(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Row:
        row = _visible(conn, me, status_id)
        conversation_mutes.mute(conn, me, row.id)
        return _answer(conn, row.id)

    return db.write_then(unit, with_bundle(me))


def unmute(db: Database, viewer: Viewer, status_id: int) -> tuple[Row, Bundle]:
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Row:
        row = _visible(conn, me, status_id)
        conversation_mutes.unmute(conn, me, row.id)
        return _answer(conn, row.id)

    return db.write_then(unit, with_bundle(me))
