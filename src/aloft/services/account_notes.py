"""Private notes: what an account writes about another, for its own eyes only (Mastodon's
AccountNote), shown as `note` in their Relationship.

At most `MAX_COMMENT` characters (422 beyond); a blank comment removes the note. Setting
a note writes the value given, so a rerun leaves the same state.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.errors import Invalid, NotFound
from aloft.services.auth import Viewer
from aloft.storage.database import Database
from aloft.storage.schema import account_notes, accounts

MAX_COMMENT = 2000


def set_note(db: Database, viewer: Viewer, target_id: int, comment: str) -> None:
    me = viewer.account_id
    assert me is not None
    if len(comment) > MAX_COMMENT:
        raise Invalid.on("comment", "ERR_TOO_LONG", f"is too long (maximum is {MAX_COMMENT})")

    def unit(conn: Connection) -> None:
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == target_id)).first() is None:
            raise NotFound("Record not found")
        conn.execute(
            sa.delete(account_notes).where(
                account_notes.c.account_id == me, account_notes.c.target_account_id == target_id
            )
        )
        if comment.strip():
            conn.execute(
                sa.insert(account_notes).values(
                    account_id=me, target_account_id=target_id, comment=comment
                )
            )

    db.write(unit)


def notes_on(conn: Connection, me: int, wanted: list[int]) -> dict[int, str]:
    """The viewer's notes on each of `wanted` that has one."""
    rows = conn.execute(
        sa.select(account_notes.c.target_account_id, account_notes.c.comment).where(
            account_notes.c.account_id == me, account_notes.c.target_account_id.in_(wanted)
        )
    )
    return {r.target_account_id: r.comment for r in rows}
