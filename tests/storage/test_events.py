"""Committed events (aloft.storage.events) on both engines: delivered once a unit of work
commits, never for one that rolled back, and never larger than a NOTIFY payload may be."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aloft.storage.database import Database
from aloft.storage.events import MAX_PAYLOAD, Listener, emit, encode
from tests import pg


class Boom(Exception):
    pass


def _fail(conn: sa.Connection) -> None:
    emit(conn, {"k": "probe", "n": 0})
    raise Boom


def _events(db: Database) -> queue.Queue[dict[str, Any]]:
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    db.events.subscribe(got.put)
    return got


def _check(db: Database, got: queue.Queue[dict[str, Any]]) -> None:
    with pytest.raises(Boom):
        db.write(_fail)
    db.write(lambda conn: emit(conn, {"k": "probe", "n": 1}))
    # The rolled-back unit's event never comes: the first one to arrive is the committed one.
    assert got.get(timeout=30) == {"k": "probe", "n": 1}
    big = {"k": "delete", "id": 1, "m": list(range(5000)), "t": ["x" * 40] * 100}
    db.write(lambda conn: emit(conn, big))  # PostgreSQL refuses a payload of 8000 bytes
    trimmed = {"k": "delete", "id": 1, "trimmed": True}
    assert got.get(timeout=30) == (trimmed if db.is_postgres else big)  # SQLite's stay here


def test_sqlite_events_come_after_commit_and_only_then(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        got = _events(db)
        seen_committed = []

        def unit(conn: sa.Connection) -> None:
            emit(conn, {"k": "probe", "n": 2})
            seen_committed.append(got.empty())  # nothing delivered inside the transaction

        db.write(unit)
        assert seen_committed == [True] and got.get_nowait() == {"k": "probe", "n": 2}
        _check(db, got)
    finally:
        db.dispose()


def test_postgresql_events_come_through_the_listener() -> None:
    with pg.running("events") as server:
        db = Database.from_url(server.url("events"))
        listener = Listener(db.engine, db.events)
        try:
            got = _events(db)
            listener.start()
            assert listener.wait_listening(30)
            _check(db, got)
        finally:
            listener.stop()
            db.dispose()


def test_encode_keeps_payloads_under_the_notify_limit() -> None:
    small = {"k": "delete", "id": 1, "m": [1, 2], "t": ["cats"]}
    assert encode(small) == '{"k":"delete","id":1,"m":[1,2],"t":["cats"]}'
    big = {"k": "delete", "id": 1, "m": list(range(100_000))}
    assert len(encode(big).encode()) < MAX_PAYLOAD < 8000
