"""Readiness is not database health: /readyz answers from memory while the database is
unreachable, /healthz/database probes it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests.conftest import free_port


def test_readyz_answers_from_memory_without_touching_the_database(client: TestClient) -> None:
    db = client.app.state.db  # type: ignore[attr-defined]
    checkouts: list[Any] = []
    engines = [e for e in (db.engine, db.standby, db.anywhere) if e is not None]
    for engine in engines:
        sa.event.listen(engine, "checkout", lambda *args: checkouts.append(args))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert set(body["database"]) == {
        "engine",
        "primary",
        "failovers",
        "unavailable",
        "seconds_since_success",
        "failing_for_seconds",
    }
    assert checkouts == []
    # The probe is the one that connects.
    probe = client.get("/healthz/database")
    assert probe.status_code == 200 and probe.json()["ok"] is True
    assert checkouts != []


def test_readyz_stays_ready_while_no_database_server_answers(tmp_path: Path) -> None:
    """Nothing listens on the database port: requests fail after their deadline, the probe
    says so, and the app stays ready (an app in a failover holds requests; it does not
    refuse them), reporting what it saw."""
    settings = Settings(
        data_dir=tmp_path,
        rate_limits=False,
        database_url=f"postgresql+psycopg://aloft@/aloft?host=127.0.0.1:{free_port()}"
        "&target_session_attrs=read-write&connect_timeout=2",
        db_read_deadline=0.3,
        db_write_deadline=0.3,
    )
    app = create_app(settings, migrate=False)
    with TestClient(app) as client:
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and time.monotonic() - started < 0.5
        assert ready.json()["database"]["failing_for_seconds"] == {}

        assert client.get("/api/v1/timelines/public").status_code == 503
        probe = client.get("/healthz/database")
        assert probe.status_code == 503
        assert probe.json() == {"ok": False, "primary": False, "reads": False}

        ready = client.get("/readyz")
        assert ready.status_code == 200
        seen = ready.json()["database"]
        assert seen["engine"] == "postgresql" and seen["unavailable"] == 1
        assert seen["failing_for_seconds"]["read"] >= 0.3
        assert seen["seconds_since_success"] == {}
    # After shutdown has begun the process says it cannot serve.
    assert client.get("/readyz").status_code == 503
