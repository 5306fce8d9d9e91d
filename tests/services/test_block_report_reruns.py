"""Issue 13's blocks, mutes, domain blocks, reports and moderation are safe to run twice
(docs/ARCHITECTURE.md, "The unit of work"): every unit runs, commits and runs again, as a
rerun after an ambiguous commit does (`TwiceDatabase`), on SQLite and PostgreSQL, and leaves
the state of one run and answers as one run would."""

from __future__ import annotations

import sqlalchemy as sa

from aloft.services import accounts, blocks, reports
from aloft.services.auth import Viewer
from aloft.storage import schema
from aloft.storage.database import Database
from aloft.storage.schema import domain_blocks, follows, mutes
from tests.services.test_follow_request_reruns import _count, db

__all__ = ["db"]  # the fixture


def _user(db: Database, name: str, admin: bool = False) -> Viewer:
    row = accounts.create(
        db, accounts.NewAccount(name, f"{name}@example.org", "long enough pw", is_admin=admin)
    )
    return Viewer(row.id, frozenset({"read", "write", "follow", "admin:write"}), None)


def _counts(db: Database, account_id: int) -> tuple[int, int]:
    row = db.read(
        lambda conn: conn.execute(
            sa.select(schema.accounts.c.followers_count, schema.accounts.c.following_count).where(
                schema.accounts.c.id == account_id
            )
        ).one()
    )
    return row.followers_count, row.following_count


def test_block_and_mute_run_twice(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    assert alice.account_id and bob.account_id
    accounts.follow(db, alice, bob.account_id)
    accounts.follow(db, bob, alice.account_id)
    blocks.block(db, alice, bob.account_id)
    assert _count(db, schema.blocks) == 1
    assert _count(db, follows) == 0
    assert _counts(db, alice.account_id) == (0, 0) and _counts(db, bob.account_id) == (0, 0)
    blocks.unblock(db, alice, bob.account_id)
    assert _count(db, schema.blocks) == 0

    blocks.mute(db, alice, bob.account_id, 60, notifications=False)
    rows = db.read(lambda conn: conn.execute(sa.select(mutes)).all())
    assert len(rows) == 1 and rows[0].notifications is False and rows[0].expires_at
    blocks.mute(db, alice, bob.account_id)  # muting again replaces the settings
    rows = db.read(lambda conn: conn.execute(sa.select(mutes)).all())
    assert len(rows) == 1 and rows[0].notifications is True and rows[0].expires_at is None
    blocks.unmute(db, alice, bob.account_id)
    assert _count(db, mutes) == 0

    blocks.block_domain(db, alice, "Spam.Example")
    assert _count(db, domain_blocks) == 1
    blocks.unblock_domain(db, alice, "spam.example")
    assert _count(db, domain_blocks) == 0


def test_report_resolve_suspend_unsuspend_run_twice(db: Database) -> None:
    alice, bob, root = _user(db, "alice"), _user(db, "bob"), _user(db, "root", admin=True)
    assert bob.account_id
    report = reports.create(db, alice, reports.NewReport(bob.account_id, comment="spam"))
    assert _count(db, schema.reports) == 1
    resolved = reports.resolve(db, root, report.id)
    assert resolved.action_taken_at is not None and resolved.action_taken_by_account_id
    reports.act(db, root, bob.account_id, "suspend")
    suspended = accounts.get(db, bob.account_id).suspended_at
    assert suspended is not None
    row = reports.unsuspend(db, root, bob.account_id)  # the rerun finds it lifted: no 403
    assert row.suspended_at is None
