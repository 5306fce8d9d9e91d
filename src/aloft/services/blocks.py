"""Blocks, mutes and domain blocks: what an account chooses not to see.

What they hide is the visibility rule's business (`aloft.services.visibility`); this module
only writes and lists them. Every write is a unit of work that is safe to run twice (see
ARCHITECTURE.md, "The unit of work"): rows are unique by the pair they relate, their ids
and times are drawn before the first attempt, and counters move only when a follow was
really removed.

* A block removes follows both ways and pending follow requests both ways (with their
  notifications), as Mastodon's BlockService does; while it lasts neither account can
  follow the other.
* A mute has an optional expiry (`duration` seconds, 0 = forever) compared with the time
  of each read, so nothing has to run when it passes; `notifications` (default true) says
  whether the muted account's notifications are hidden too. Muting again replaces both.
* Domain blocks are stored and listed only: every account here is local and has no
  domain, so they hide nothing until federation comes.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Forbidden, Invalid
from aloft.services.accounts import drop_follow, drop_request, get_row
from aloft.services.auth import Viewer, now
from aloft.services.pages import Page, PageRequest
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import accounts, blocks, domain_blocks, mutes

# The longest mute a duration may ask for (about 100 years): beyond it, "forever" is 0.
MAX_MUTE_SECONDS = 100 * 365 * 24 * 3600
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"^(?=.{{1,253}}$)({LABEL}\.)*{LABEL}$")


def _me(viewer: Viewer) -> int:
    assert viewer.account_id is not None
    return viewer.account_id


def block(db: Database, viewer: Viewer, target_id: int) -> None:
    """Block `target_id`: their statuses and notifications stop reaching the viewer, ours
    stop reaching them, and follows and follow requests between the two go. Blocking
    again changes nothing."""
    me = _me(viewer)
    if target_id == me:
        raise Forbidden("This action is not allowed")
    block_id, at = ids.new_id(), now()

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        insert_ignore(
            conn,
            blocks,
            {"id": block_id, "account_id": me, "target_account_id": target_id, "created_at": at},
        )
        for a, b in ((me, target_id), (target_id, me)):
            drop_follow(conn, a, b)
            drop_request(conn, a, b)

    db.write(unit)


def unblock(db: Database, viewer: Viewer, target_id: int) -> None:
    """Lift a block; lifting one that is not there changes nothing."""
    me = _me(viewer)

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        conn.execute(
            sa.delete(blocks).where(
                blocks.c.account_id == me, blocks.c.target_account_id == target_id
            )
        )

    db.write(unit)


def mute(
    db: Database, viewer: Viewer, target_id: int, duration: int = 0, notifications: bool = True
) -> None:
    """Mute `target_id` for `duration` seconds (0: until unmuted), hiding their
    notifications too when `notifications`. Muting again replaces both settings."""
    me = _me(viewer)
    if target_id == me:
        raise Forbidden("This action is not allowed")
    if duration < 0 or duration > MAX_MUTE_SECONDS:
        raise Invalid.on(
            "duration", "ERR_INVALID", f"must be between 0 and {MAX_MUTE_SECONDS} seconds"
        )
    mute_id, at = ids.new_id(), now()
    expires_at = at + timedelta(seconds=duration) if duration else None

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        settings = {"notifications": notifications, "expires_at": expires_at}
        added = insert_ignore(
            conn,
            mutes,
            {
                "id": mute_id,
                "account_id": me,
                "target_account_id": target_id,
                "created_at": at,
                **settings,
            },
        )
        if not added:
            conn.execute(
                sa.update(mutes)
                .where(mutes.c.account_id == me, mutes.c.target_account_id == target_id)
                .values(**settings)
            )

    db.write(unit)


def unmute(db: Database, viewer: Viewer, target_id: int) -> None:
    """Lift a mute; lifting one that is not there changes nothing."""
    me = _me(viewer)

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        conn.execute(
            sa.delete(mutes).where(mutes.c.account_id == me, mutes.c.target_account_id == target_id)
        )

    db.write(unit)


def blocked_accounts(db: Database, viewer: Viewer, page: PageRequest) -> Page[Row]:
    """The accounts the viewer blocks, newest block first."""
    me = _me(viewer)
    query = (
        sa.select(accounts, blocks.c.id.label("key"))
        .join(blocks, blocks.c.target_account_id == accounts.c.id)
        .where(blocks.c.account_id == me)
    )
    return db.read(lambda conn: _page(conn, query, blocks.c.id, page))


def muted_accounts(db: Database, viewer: Viewer, page: PageRequest) -> Page[Row]:
    """The accounts the viewer mutes now (expired mutes are left out), newest mute first;
    each row carries its `mute_expires_at`."""
    me = _me(viewer)
    at = now()
    query = (
        sa.select(accounts, mutes.c.id.label("key"), mutes.c.expires_at.label("mute_expires_at"))
        .join(mutes, mutes.c.target_account_id == accounts.c.id)
        .where(
            mutes.c.account_id == me,
            sa.or_(mutes.c.expires_at.is_(None), mutes.c.expires_at > at),
        )
    )
    return db.read(lambda conn: _page(conn, query, mutes.c.id, page))


def _page(conn: Connection, query: sa.Select, key: sa.ColumnElement, page: PageRequest) -> Page:
    rows = page.finish(conn.execute(page.apply(query, key)).all())
    return Page.of(rows, [r.key for r in rows])


def normalize_domain(raw: str | None) -> str:
    """A domain as stored (lower case, no trailing dot); Invalid naming `domain` if it is
    missing or is not a domain name."""
    domain = (raw or "").strip().lower().rstrip(".")
    if not domain:
        raise Invalid.on("domain", "ERR_BLANK", "can't be blank")
    if not DOMAIN.match(domain):
        raise Invalid.on("domain", "ERR_INVALID", "is not a valid domain name")
    return domain


def block_domain(db: Database, viewer: Viewer, raw: str | None) -> None:
    """Store a domain block (it hides nothing yet: no account has a domain). Idempotent."""
    me, domain = _me(viewer), normalize_domain(raw)
    row_id, at = ids.new_id(), now()
    db.write(
        lambda conn: insert_ignore(
            conn,
            domain_blocks,
            {"id": row_id, "account_id": me, "domain": domain, "created_at": at},
        )
    )


def unblock_domain(db: Database, viewer: Viewer, raw: str | None) -> None:
    """Remove a domain block; removing one that is not there changes nothing."""
    me, domain = _me(viewer), normalize_domain(raw)
    db.write(
        lambda conn: conn.execute(
            sa.delete(domain_blocks).where(
                domain_blocks.c.account_id == me, domain_blocks.c.domain == domain
            )
        )
    )


def blocked_domains(db: Database, viewer: Viewer, page: PageRequest) -> Page[Row]:
    """The domains the viewer blocks, newest first."""
    me = _me(viewer)
    query = sa.select(domain_blocks.c.domain, domain_blocks.c.id.label("key")).where(
        domain_blocks.c.account_id == me
    )
    return db.read(lambda conn: _page(conn, query, domain_blocks.c.id, page))
