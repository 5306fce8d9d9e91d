"""Endorsements: the accounts an account features on its profile (Mastodon's AccountPin).

As Mastodon: only an account the endorser follows may be endorsed (422 otherwise, itself
included); endorsing is idempotent (unique per pair: a rerun or a second endorse changes
nothing) and so is taking it back; a follow that ends takes its endorsement with it
(`forget`, called where follows are removed). The list pages by the endorsement's id, newest
first.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.pages import Page, PageRequest
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import account_pins, accounts, follows


def _existing(conn: Connection, account_id: int) -> Row:
    row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def endorse(db: Database, viewer: Viewer, target_id: int) -> None:
    me = viewer.account_id
    assert me is not None
    pin_id = ids.new_id()

    def unit(conn: Connection) -> None:
        _existing(conn, target_id)
        following = conn.execute(
            sa.select(follows.c.id).where(
                follows.c.account_id == me, follows.c.target_account_id == target_id
            )
        ).first()
        if following is None:
            raise Invalid(
                "Validation failed: You must be already following the person you want to endorse"
            )
        insert_ignore(
            conn,
            account_pins,
            {"id": pin_id, "account_id": me, "target_account_id": target_id, "created_at": now()},
        )

    db.write(unit)


def unendorse(db: Database, viewer: Viewer, target_id: int) -> None:
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        _existing(conn, target_id)
        forget(conn, me, target_id)

    db.write(unit)


def forget(conn: Connection, account_id: int, target_id: int) -> None:
    """`account_id` no longer endorses `target_id` (their follow ended)."""
    conn.execute(
        sa.delete(account_pins).where(
            account_pins.c.account_id == account_id, account_pins.c.target_account_id == target_id
        )
    )


def endorsed(db: Database, account_id: int, page: PageRequest) -> Page[Row]:
    """The accounts `account_id` endorses (404 for an unknown account; none for a suspended
    one, whose lists Mastodon hides)."""

    def unit(conn: Connection) -> Page[Row]:
        if _existing(conn, account_id).suspended_at is not None:
            return Page.of([], [])
        query = (
            sa.select(accounts, account_pins.c.id.label("pin_id"))
            .join(account_pins, account_pins.c.target_account_id == accounts.c.id)
            .where(account_pins.c.account_id == account_id, accounts.c.suspended_at.is_(None))
        )
        rows = page.finish(conn.execute(page.apply(query, account_pins.c.id)).all())
        return Page.of(rows, [r.pin_id for r in rows])

    return db.read(unit)
