"""Shared fixtures: real SQLite files, the real ASGI app, real `aloft serve` processes.

* `client` — Starlette's TestClient around `create_app` on a fresh SQLite file; no socket,
  but the whole app (middleware, routing, services, storage) runs for real.
* `api` — `client` plus helpers to make apps, users and posts in one line.
* `server` — an `aloft serve` subprocess on a free port with its own data directory, for
  clients that need a real HTTP server (Mastodon.py, toot).

`make test` runs the suite in two parts: everything not marked `serial` or `cluster` on
pytest-xdist workers (each with its own PostgreSQL, temporary directories and free ports),
then the tests that need the machine to themselves, one at a time (`SERIAL`, below).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from aloft.storage.database import Database
from aloft.storage.migrate import upgrade
from tests import pg

ROOT = Path(__file__).resolve().parent.parent

# What must not share the machine with other tests, so `make test` runs it after the
# parallel part, alone: the cluster and the drills (etcd, Patroni, HAProxy on fixed ports,
# network namespaces, nftables, fault timings), the benchmark (wrk saturates the CPUs and
# its figures are reported), `make serve` from a clone (uv installs everything), and every
# test in a real browser (Chromium is heavy, waits on live updates, and saves screenshots
# under runs/ in the checkout). A test whose fixtures include `browser` is serial wherever
# it lives.
SERIAL = (
    "tests/cluster/",
    "tests/drill/",
    "tests/bench/test_bench.py",
    "tests/acceptance/test_make_serve.py",
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.resolve().relative_to(ROOT).as_posix()
        if where.startswith(SERIAL) or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.PostgresServer]:
    """One PostgreSQL 15 server for the session (for each xdist worker: its own), with a
    migrated template database."""
    with pg.running("aloft_template") as server:
        yield server


@pytest.fixture(scope="session")
def postgres_admin(postgres: pg.PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit session on the test server that creates and drops each test's
    database (through `psql` that was four processes a test: runuser and psql, twice)."""
    url = postgres.url().replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file, made once; `settings` copies it for each test, as
    PostgreSQL's tests clone `aloft_template` (migrating a new file took ~0.1 s a test)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "aloft.db"
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    # The last connection's close checkpointed the WAL into the file: it is complete alone.
    assert not path.with_name("aloft.db-wal").exists()
    return path


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, migrated database: SQLite in tmp_path (a copy of the migrated
    template file), or a new PostgreSQL database cloned from the migrated template. Every
    API test runs on both."""
    if request.param == "sqlite":
        data = tmp_path / "data"
        data.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data / "aloft.db")
        yield Settings(data_dir=data, rate_limits=False)
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres")
    admin: psycopg.Connection[Any] = request.getfixturevalue("postgres_admin")
    name = f"aloft_test_{next(_databases)}"
    admin.execute(f"CREATE DATABASE {name} TEMPLATE aloft_template")
    yield Settings(data_dir=tmp_path / "data", rate_limits=False, database_url=server.url(name))
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        yield c


@dataclass
class User:
    id: str
    username: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


class Api:
    """Helpers over a TestClient that speak the Mastodon API like a client would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._app: dict[str, Any] | None = None

    def app(self, scopes: str = "read write follow push") -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/apps",
            data={
                "client_name": "tests",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": scopes,
            },
        )
        assert r.status_code == 200, r.text
        return r.json()

    def default_app(self) -> dict[str, Any]:
        if self._app is None:
            self._app = self.app()
        return self._app

    def app_token(self, scope: str = "read write follow push") -> str:
        app = self.default_app()
        r = self.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": scope,
            },
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def register(self, username: str, password: str = "correct horse battery") -> User:
        r = self.client.post(
            "/api/v1/accounts",
            headers={"Authorization": f"Bearer {self.app_token()}"},
            data={
                "username": username,
                "email": f"{username}@example.org",
                "password": password,
                "agreement": "true",
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = self.client.get("/api/v1/accounts/verify_credentials", headers=headers)
        assert me.status_code == 200, me.text
        return User(me.json()["id"], username, token, headers)

    def token_with(self, username: str, scope: str, password: str = "correct horse battery") -> str:
        app = self.default_app()
        r = self.client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": username,
                "password": password,
                "scope": scope,
            },
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def post(self, user: User, text: str, **fields: Any) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/statuses", headers=user.headers, data={"status": text, **fields}
        )
        assert r.status_code == 200, r.text
        return r.json()

    def follow(self, user: User, target: User) -> None:
        r = self.client.post(f"/api/v1/accounts/{target.id}/follow", headers=user.headers)
        assert r.status_code == 200, r.text

    def get(self, path: str, user: User | None = None, **params: Any) -> httpx.Response:
        return self.client.get(path, headers=user.headers if user else {}, params=params)


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path


STARTUP_SECONDS = 90


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    """Start `aloft serve` on a free port and wait until it answers (or fail with its log)."""
    port = free_port()
    env = {
        **os.environ,
        "ALOFT_DATA_DIR": str(data_dir),
        "ALOFT_PORT": str(port),
        "ALOFT_HOST": "127.0.0.1",
        "ALOFT_RATE_LIMITS": "off",
        **(extra_env or {}),
    }
    env.pop("ALOFT_BASE_URL", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "aloft", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    # Generous: a start takes ~4 s here, but over 30 s was seen with the machine's load
    # average above 20 (imports, migrations, the event listener's first LISTEN).
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"aloft serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/instance", timeout=1).status_code == 200:
                return Server(url, data_dir, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"aloft serve did not answer in {STARTUP_SECONDS} s: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("server") / "data")
    yield srv
    stop_server(srv)


def register_http(
    client: httpx.Client,
    username: str,
    password: str = "correct horse battery",
    scopes: str = "read write",
) -> httpx.Response:
    """Sign up through the API as an app does: register an app, take its client token, post
    the account. Returns the registration's answer (its JSON holds the user's token)."""
    app = client.post(
        "/api/v1/apps",
        data={
            "client_name": "t",
            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": scopes,
        },
    ).json()
    app_token = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": scopes,
        },
    ).json()["access_token"]
    return client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {app_token}"},
        data={
            "username": username,
            "email": f"{username}@example.org",
            "password": password,
            "agreement": "true",
        },
    )
