"""Fixtures of the storage tests: a real PostgreSQL primary with a synchronous standby."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from aloft.storage.database import create_engine
from aloft.storage.migrate import upgrade
from tests import pg


@dataclass
class Pair:
    primary: pg.PostgresServer
    standby: pg.PostgresServer

    def multi_host_url(self) -> str:
        hosts = f"host=127.0.0.1:{self.primary.port}&host=127.0.0.1:{self.standby.port}"
        return (
            f"postgresql+psycopg://{pg.SUPERUSER}@/aloft?{hosts}"
            "&target_session_attrs=read-write&connect_timeout=2"
        )


@pytest.fixture
def pair() -> Iterator[Pair]:
    why_not = pg.available()
    if why_not:
        pytest.skip(f"PostgreSQL tests skipped: {why_not}")
    root = pg.temp_root()
    primary = pg.PostgresServer.create(root, "primary")
    primary.start()
    primary.psql("CREATE DATABASE aloft")
    engine = create_engine(primary.url("aloft"))
    upgrade(engine)
    engine.dispose()
    standby = primary.standby(root, "standby")
    standby.start()
    standby.wait_ready()
    # Synchronous: a commit is acknowledged only once the standby has it.
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.psql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
        assert time.monotonic() < deadline, "standby never became synchronous"
        time.sleep(0.1)
    yield Pair(primary, standby)
    primary.stop("immediate")
    standby.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)
