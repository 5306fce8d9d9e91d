"""Registration is one unit of work, idempotent under rerun, on a real PostgreSQL 15.

Faults are injected the way `test_failover.py` does (a SQL event listener that stops the
server, or makes COMMIT wait for a synchronous standby that does not exist); no mocks:

* a failover between creating the account and issuing its token cannot leave an account
  without a token (the app's retry would then get "username taken");
* across an ambiguous commit, the rerun finds the account and the token it wrote and
  returns that token: one account, one token, and the token answered works.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests import pg
from tests.conftest import Api


@pytest.fixture
def server() -> Iterator[pg.PostgresServer]:
    with pg.running("aloft") as srv:
        yield srv


def _settings(server: pg.PostgresServer, tmp_path: Path, **more: Any) -> Settings:
    return Settings(data_dir=tmp_path, rate_limits=False, database_url=server.url("aloft"), **more)


def _register(api: Api, app_token: str, name: str) -> Any:
    return api.client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {app_token}"},
        data={
            "username": name,
            "email": f"{name}@example.org",
            "password": "correct horse battery",
            "agreement": "true",
        },
    )


@pytest.fixture
def statements() -> Iterator[list[Any]]:
    """Listeners on every engine (the app builds its own), removed afterwards."""
    listeners: list[Any] = []
    yield listeners
    for fn in listeners:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", fn)


def test_failover_between_account_and_token_leaves_nothing_half_done(
    server: pg.PostgresServer, tmp_path: Path, statements: list[Any]
) -> None:
    settings = _settings(server, tmp_path, db_write_deadline=1.5)
    stopped = threading.Event()

    def crash_at_the_token(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO tokens") and not stopped.is_set():
            stopped.set()
            server.stop("immediate")

    with TestClient(create_app(settings)) as client:
        api = Api(client)
        app_token = api.app_token()
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", crash_at_the_token)
        statements.append(crash_at_the_token)
        first = _register(api, app_token, "halfway")
        assert stopped.is_set()
        assert first.status_code == 503, first.text
        server.start()
        again = _register(api, app_token, "halfway")
        assert again.status_code == 200, again.text
        headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
        me = client.get("/api/v1/accounts/verify_credentials", headers=headers)
        assert me.status_code == 200 and me.json()["username"] == "halfway"


def test_registration_across_an_ambiguous_commit(
    server: pg.PostgresServer, tmp_path: Path, statements: list[Any]
) -> None:
    """The registration's COMMIT is done locally but its acknowledgement never comes (the
    server waits for a synchronous standby that does not exist); the attempt deadline drops
    the connection and the rerun must return the account and token that first attempt
    wrote: one account, one token, and the token answered works."""
    settings = _settings(server, tmp_path, db_attempt_timeout=1.0, db_write_deadline=30.0)
    hung = threading.Event()

    def release() -> None:
        server.psql("ALTER SYSTEM RESET synchronous_standby_names")
        pg.reload(server)

    def hang_the_commit(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO tokens") and not hung.is_set():
            hung.set()
            server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
            pg.reload(server)
            time.sleep(0.5)  # the checkpointer and this backend take the new setting
            threading.Timer(3.0, release).start()

    with TestClient(create_app(settings)) as client:
        api = Api(client)
        app_token = api.app_token()
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", hang_the_commit)
        statements.append(hang_the_commit)
        r = _register(api, app_token, "ambiguous")
        assert hung.is_set()
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = client.get("/api/v1/accounts/verify_credentials", headers=headers)
        assert me.status_code == 200 and me.json()["username"] == "ambiguous"
        retries = dict(client.app.state.db.stats.retries)  # type: ignore[attr-defined]
    account = server.psql("SELECT id FROM accounts WHERE username = 'ambiguous'", db="aloft")
    assert account and "\n" not in account
    tokens = server.psql(f"SELECT count(*) FROM tokens WHERE account_id = {account}", db="aloft")
    assert tokens == "1", f"{tokens} tokens for one registration"
    assert any("deadline" in reason for reason in retries), retries
