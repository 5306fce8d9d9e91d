"""Real PostgreSQL 15 servers for tests (aloft.storage.pgserver), one started per fixture.

PostgreSQL refuses to run as root, so when the tests run as root every server command runs
as an unprivileged user (`postgres` if the system has it, else one we create). Servers
listen on 127.0.0.1 and on a Unix socket inside their own directory.
"""

from __future__ import annotations

import shutil
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

__all__ = ["BIN", "SUPERUSER", "PostgresServer", "available", "free_port", "running", "temp_root"]


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
