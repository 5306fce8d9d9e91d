"""Issue 10's writes are safe to run twice (docs/ARCHITECTURE.md, "The unit of work").

`Database.write` reruns a unit whose commit it could not confirm; the rerun then meets what
the first run committed. `TwiceDatabase` does exactly that, on a real SQLite file and a real
PostgreSQL: every unit runs, commits, and runs again in a new transaction, and the caller gets
the second run's answer. Each operation must leave the state of one run and answer as one run
would: follow requests, authorize, reject, withdraw, markers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.services import accounts, markers
from aloft.services.auth import Viewer
from aloft.storage.database import Database
from aloft.storage.migrate import upgrade
from aloft.storage.schema import follow_requests, follows, notifications
from tests import pg

T = TypeVar("T")


class TwiceDatabase(Database):
    """Every write commits, then runs again: what a rerun after an ambiguous commit sees."""

    def write(self, fn: Callable[[Connection], T]) -> T:
        super().write(fn)
        return super().write(fn)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'aloft.db'}"
        plain = Database.from_url(url)
    else:
        server: pg.PostgresServer = request.getfixturevalue("postgres")
        name = f"aloft_twice_{tmp_path.name[-12:].replace('-', '_').lower()}"
        server.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        url = server.url(name)
        plain = Database.from_url(url)
    upgrade(plain.engine)
    twice = TwiceDatabase(plain.engine, plain.policy)
    yield twice
    plain.engine.dispose()
    if request.param == "postgresql":
        server.psql(f"DROP DATABASE {name} WITH (FORCE)")


def _user(db: Database, name: str) -> Viewer:
    row = accounts.create(db, accounts.NewAccount(name, f"{name}@example.org", "long enough pw"))
    return Viewer(row.id, frozenset({"read", "write", "follow"}), None)


def _count(db: Database, table: sa.Table, **where: Any) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return int(db.read(lambda conn: conn.execute(query).scalar_one()))


def test_follow_request_authorize_reject_withdraw(db: Database) -> None:
    alice, bob, carol = _user(db, "alice"), _user(db, "bob"), _user(db, "carol")
    assert alice.account_id and bob.account_id and carol.account_id
    accounts.update_credentials(db, alice, "http://x", "x", None, None, locked=True)

    accounts.follow(db, bob, alice.account_id)
    assert _count(db, follow_requests, target_account_id=alice.account_id) == 1
    assert _count(db, notifications, account_id=alice.account_id, type="follow_request") == 1

    accounts.authorize_follow_request(db, alice, bob.account_id)  # the rerun finds the follow
    assert _count(db, follows, target_account_id=alice.account_id) == 1
    assert _count(db, follow_requests) == 0
    assert accounts.get(db, alice.account_id).followers_count == 1
    assert accounts.get(db, bob.account_id).following_count == 1
    kinds = [
        r.type
        for r in db.read(
            lambda conn: conn.execute(
                sa.select(notifications.c.type).where(
                    notifications.c.account_id == alice.account_id
                )
            ).all()
        )
    ]
    assert kinds == ["follow"]

    accounts.follow(db, carol, alice.account_id)
    accounts.reject_follow_request(db, alice, carol.account_id)  # the rerun: nothing pending
    assert _count(db, follow_requests) == 0
    accounts.follow(db, carol, alice.account_id)
    accounts.unfollow(db, carol, alice.account_id)
    assert _count(db, follow_requests) == 0
    assert _count(db, notifications, account_id=alice.account_id, type="follow_request") == 0
    assert accounts.get(db, alice.account_id).followers_count == 1


def test_unlocking_accepts_once(db: Database) -> None:
    alice, bob = _user(db, "alice"), _user(db, "bob")
    assert alice.account_id and bob.account_id
    accounts.update_credentials(db, alice, "http://x", "x", None, None, locked=True)
    accounts.follow(db, bob, alice.account_id)
    accounts.update_credentials(db, alice, "http://x", "x", None, None, locked=False)
    assert accounts.get(db, alice.account_id).followers_count == 1
    assert _count(db, follows) == 1 and _count(db, follow_requests) == 0


def test_a_marker_rerun_is_not_a_new_version(db: Database) -> None:
    alice = _user(db, "alice")
    first = markers.save(db, alice, {"home": 10})
    assert first["home"].version == 0
    second = markers.save(db, alice, {"home": 11, "notifications": 3})
    assert second["home"].version == 1 and second["notifications"].version == 0
