"""Group commit on SQLite (aloft.storage.committer): writes that wait together commit
together, each still all-or-nothing for its own caller, on a real SQLite file."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aloft.storage.database import ACTOR, Database
from aloft.storage.events import emit

WRITERS = 5


class Refused(Exception):
    pass


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'group.db'}")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE note (n INTEGER PRIMARY KEY, actor INTEGER)")
    yield database
    database.dispose()


def _grouped(db: Database, units: list[Callable[[sa.Connection], Any]]) -> list[Any]:
    """Run each unit from a thread of its own (actor = its index) while the group lock is
    held, so that all of them are queued before one thread leads them all; return what
    each call returned or raised."""
    outcomes: list[Any] = [None] * len(units)

    def call(i: int) -> None:
        ACTOR.set(i)
        try:
            outcomes[i] = db.committer.run(db.engine, units[i])
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(units))]
    with db.committer.lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while db.committer.waiting() < len(units):
            assert time.monotonic() < deadline, "the writers never queued"
            time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    return outcomes


def _insert(n: int) -> Callable[[sa.Connection], int]:
    def unit(conn: sa.Connection) -> int:
        conn.exec_driver_sql("INSERT INTO note VALUES (?, ?)", (n, ACTOR.get()))
        emit(conn, {"k": "probe", "n": n})
        return n * 10

    return unit


def _notes(db: Database) -> list[tuple[int, int]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT n, actor FROM note ORDER BY n")]


def test_a_failing_unit_is_rolled_back_alone_and_the_rest_of_its_group_commits(
    db: Database,
) -> None:
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    db.events.subscribe(got.put)

    def refused(conn: sa.Connection) -> None:
        _insert(2)(conn)
        raise Refused("no")

    units = [_insert(n) for n in range(WRITERS)]
    units[2] = refused
    batches = db.committer.batches
    outcomes = _grouped(db, units)
    assert db.committer.batches == batches + 1  # one transaction for all five
    assert outcomes[:2] == [0, 10] and outcomes[3:] == [30, 40]
    assert isinstance(outcomes[2], Refused)
    # Each unit ran as its own caller (ACTOR), and the refused one left no row.
    assert _notes(db) == [(0, 0), (1, 1), (3, 3), (4, 4)]
    events = sorted(got.get(timeout=5)["n"] for _ in range(4))
    assert events == [0, 1, 3, 4] and got.empty()


def test_a_group_whose_transaction_ends_fails_for_every_unit_and_writes_nothing(
    db: Database,
) -> None:
    def ends_it(conn: sa.Connection) -> None:
        _insert(2)(conn)
        conn.connection.driver_connection.execute("ROLLBACK")  # type: ignore[union-attr]
        raise Refused("the transaction is gone")

    units = [_insert(n) for n in range(WRITERS)]
    units[2] = ends_it
    outcomes = _grouped(db, units)
    assert all(isinstance(o, Refused) for o in outcomes), outcomes
    assert _notes(db) == []
    # The lock and the queue are free again: the next write goes through alone.
    assert db.write(_insert(7)) == 70
    assert _notes(db) == [(7, None)]
