"""Real PostgreSQL 15 servers for tests (aloft.storage.pgserver), one started per fixture.

PostgreSQL refuses to run as root, so when the tests run as root every server command runs
as an unprivileged user (`postgres` if the system has it, else one we create). Servers
listen on 127.0.0.1 and on a Unix socket inside their own directory.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aloft.storage.pgserver import (
    BIN,
    SUPERUSER,
    PostgresServer,
    available,
    free_port,
    temp_root,
)

__all__ = [
    "BIN",
    "SUPERUSER",
    "PostgresServer",
    "available",
    "free_port",
    "reload",
    "running",
    "temp_root",
]


@contextmanager
def running(database: str) -> Iterator[PostgresServer]:
    """A started server holding `database`, migrated to the latest schema; removed after.
    Skips the test (with the reason) where PostgreSQL cannot run."""
    import pytest

    from aloft.storage.database import create_engine
    from aloft.storage.migrate import upgrade

    why_not = available()
    if why_not is not None:
        pytest.skip(f"PostgreSQL tests skipped: {why_not}")
    root = temp_root()
    server = PostgresServer.create(root)
    try:
        server.start()
        server.psql(f"CREATE DATABASE {database}")
        engine = create_engine(server.url(database))
        upgrade(engine)
        engine.dispose()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def reload(server: PostgresServer) -> None:
    """pg_reload_conf(), returning once the postmaster has reloaded (and so has signalled
    every backend, which takes the new settings before its next statement). The call alone
    only signals the postmaster: on a loaded machine (two test workers) a test's next
    statement once ran before the reload, without the setting it had just made. A new
    session's pg_conf_load_time() is the postmaster's."""
    before = server.psql("SELECT pg_conf_load_time()")
    server.psql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while server.psql("SELECT pg_conf_load_time()") == before:
        assert time.monotonic() < deadline, "PostgreSQL did not reload its configuration"
        time.sleep(0.02)
