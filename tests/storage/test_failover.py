"""The failover-aware write path against a real PostgreSQL 15 (no mocks).

Each test owns its own server so it can crash, freeze, restart or fence it:
* killed mid-transaction (pg_ctl stop -m immediate) → the write lands exactly once;
* COMMIT whose acknowledgement never arrives (the server waits for a synchronous standby
  that is not there) → the retry returns the first commit, never a duplicate;
* read-only server (default_transaction_read_only) → writes wait, then succeed;
* a frozen backend (SIGSTOP) → the per-attempt deadline drops the connection and retries;
* past the deadline → Unavailable (503 through the API), and nothing is written.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from aloft.errors import Unavailable
from aloft.services import accounts, statuses
from aloft.services.auth import Viewer
from aloft.storage.database import Database, Policy
from aloft.storage.schema import statuses as statuses_table
from tests import pg

SITE = statuses.Site("http://test.example", "test.example")


@pytest.fixture
def server() -> Iterator[pg.PostgresServer]:
    with pg.running("aloft") as srv:
        yield srv


def _db(server: pg.PostgresServer, **policy: float) -> Database:
    return Database.from_url(server.url("aloft"), Policy(**{"write_deadline": 30.0, **policy}))


def _viewer(db: Database, name: str = "writer") -> Viewer:
    row = accounts.create(db, accounts.NewAccount(name, f"{name}@example.org", "long enough pw"))
    return Viewer(row.id, frozenset({"write"}), None)


def _stored(server: pg.PostgresServer, text: str) -> int:
    return int(server.psql(f"SELECT count(*) FROM statuses WHERE text = '{text}'", db="aloft"))


def test_killed_mid_transaction_the_write_lands_exactly_once(server: pg.PostgresServer) -> None:
    db = _db(server)
    viewer = _viewer(db)
    crashed = threading.Event()

    def crash_on_insert(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO statuses") and not crashed.is_set():
            crashed.set()
            server.stop("immediate")  # the INSERT now meets a dead server
            threading.Timer(1.0, server.start).start()

    sa.event.listen(db.engine, "before_cursor_execute", crash_on_insert)
    started = time.monotonic()
    row, _ = statuses.create(db, viewer, SITE, statuses.NewStatus("survives a crash"))
    took = time.monotonic() - started
    db.dispose()
    assert crashed.is_set()
    assert _stored(server, "survives a crash") == 1
    assert (
        server.psql(
            f"SELECT statuses_count FROM accounts WHERE id = {viewer.account_id}", db="aloft"
        )
        == "1"
    )
    assert sum(db.stats.retries.values()) >= 1 and took >= 1.0
    assert row.text == "survives a crash"


def test_ambiguous_commit_is_not_written_twice(server: pg.PostgresServer) -> None:
    """COMMIT is done locally but its acknowledgement never comes (the server waits for a
    synchronous standby that does not exist). The attempt deadline drops the connection;
    the retry must return the first commit once the server lets it through."""
    db = _db(server, attempt_timeout=1.0)
    viewer = _viewer(db)
    server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    pg.reload(server)
    threading.Timer(
        3.0,
        lambda: (
            server.psql("ALTER SYSTEM RESET synchronous_standby_names"),
            pg.reload(server),
        ),
    ).start()
    row, _ = statuses.create(db, viewer, SITE, statuses.NewStatus("ambiguous"))
    db.dispose()
    assert _stored(server, "ambiguous") == 1
    assert server.psql("SELECT id FROM statuses WHERE text = 'ambiguous'", db="aloft") == str(
        row.id
    )
    assert any("deadline" in reason for reason in db.stats.retries), db.stats.retries


def test_read_only_server_makes_writes_wait_then_succeed(server: pg.PostgresServer) -> None:
    db = _db(server)
    viewer = _viewer(db)
    server.psql("ALTER SYSTEM SET default_transaction_read_only = on")
    pg.reload(server)

    def writable_again() -> None:
        server.psql("ALTER SYSTEM RESET default_transaction_read_only")
        pg.reload(server)

    threading.Timer(2.0, writable_again).start()
    started = time.monotonic()
    statuses.create(db, viewer, SITE, statuses.NewStatus("waited"))
    took = time.monotonic() - started
    db.dispose()
    assert _stored(server, "waited") == 1
    assert took >= 1.5, "the write waited for the server to become writable"
    assert db.stats.retries["write: server is read-only"] >= 1


def test_frozen_backend_is_dropped_at_the_attempt_deadline(server: pg.PostgresServer) -> None:
    db = _db(server, attempt_timeout=1.0)
    viewer = _viewer(db)
    frozen: list[int] = []

    def freeze_once(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO statuses") and not frozen:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            frozen.append(pid)
            os.kill(pid, signal.SIGSTOP)

    sa.event.listen(db.engine, "before_cursor_execute", freeze_once)
    try:
        started = time.monotonic()
        statuses.create(db, viewer, SITE, statuses.NewStatus("unfrozen"))
        took = time.monotonic() - started
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    db.dispose()
    assert frozen and _stored(server, "unfrozen") == 1
    assert 1.0 <= took < 10, took
    assert db.stats.retries["write: attempt deadline passed"] == 1


def test_deadline_gives_unavailable_and_writes_nothing(server: pg.PostgresServer) -> None:
    db = _db(server, write_deadline=2.0)
    viewer = _viewer(db)
    server.stop("immediate")
    started = time.monotonic()
    with pytest.raises(Unavailable):
        statuses.create(db, viewer, SITE, statuses.NewStatus("never"))
    took = time.monotonic() - started
    server.start()
    db.dispose()
    assert 1.5 <= took < 6, took
    assert _stored(server, "never") == 0
    assert db.stats.unavailable == 1


def test_api_answers_503_with_retry_after(server: pg.PostgresServer, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        rate_limits=False,
        database_url=server.url("aloft"),
        db_write_deadline=1.5,
        db_read_deadline=1.5,
    )
    from tests.conftest import Api

    with TestClient(create_app(settings)) as client:
        api = Api(client)
        alice = api.register("alice")
        server.stop("immediate")
        r = client.post("/api/v1/statuses", headers=alice.headers, data={"status": "lost?"})
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5" and "unavailable" in r.json()["error"]
        # The process still serves (it would hold the next write), so it stays ready; the
        # probe says what it cannot reach, and /readyz what the data layer last saw.
        reachable = client.get("/healthz/database")
        assert reachable.status_code == 503 and reachable.json()["ok"] is False
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert ready.json()["database"]["unavailable"] == 1
        assert ready.json()["database"]["failing_for_seconds"] != {}
        server.start()
        assert client.get("/healthz/database").json() == {
            "ok": True,
            "primary": True,
            "reads": True,
        }
    assert _stored(server, "lost?") == 0


def test_a_retry_answers_only_once_the_standby_has_everything(
    server: pg.PostgresServer,
) -> None:
    """A retry may merely find an earlier attempt's commit; it must not report it before the
    synchronous standby has it. Here no standby exists, so the retry must wait."""
    db = _db(server, attempt_timeout=30.0)
    viewer = _viewer(db)
    server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    pg.reload(server)
    finished = threading.Event()

    def read_only_unit(conn: sa.Connection) -> int:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(statuses_table)).scalar_one()
        )

    def retry() -> None:
        db._attempt(db.engine, read_only_unit, write=True, first=False)
        finished.set()

    thread = threading.Thread(target=retry)
    thread.start()
    assert not finished.wait(1.5), "a retry answered without the synchronous standby"
    server.psql("ALTER SYSTEM RESET synchronous_standby_names")
    pg.reload(server)
    assert finished.wait(10)
    thread.join()
    # A first attempt that writes nothing does not wait.
    server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    pg.reload(server)
    assert db._attempt(db.engine, read_only_unit, write=True, first=True) == 0
    server.psql("ALTER SYSTEM RESET synchronous_standby_names")
    pg.reload(server)
    db.dispose()
    assert viewer.account_id is not None


def test_delete_whose_commit_was_ambiguous_succeeds_once(server: pg.PostgresServer) -> None:
    db = _db(server, attempt_timeout=1.0)
    viewer = _viewer(db)
    root, _ = statuses.create(db, viewer, SITE, statuses.NewStatus("parent"))
    child, _ = statuses.create(
        db, viewer, SITE, statuses.NewStatus("doomed", in_reply_to_id=root.id)
    )
    server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    pg.reload(server)

    def release() -> None:
        server.psql("ALTER SYSTEM RESET synchronous_standby_names")
        pg.reload(server)

    threading.Timer(3.0, release).start()
    deleted, _ = statuses.delete(db, viewer, child.id)
    db.dispose()
    assert deleted.text == "doomed"
    assert _stored(server, "doomed") == 0
    counts = server.psql(
        f"SELECT statuses_count FROM accounts WHERE id = {viewer.account_id}", db="aloft"
    )
    replies = server.psql(f"SELECT replies_count FROM statuses WHERE id = {root.id}", db="aloft")
    assert (counts, replies) == ("1", "0"), "counters moved exactly once"
    assert any("deadline" in reason for reason in db.stats.retries)
