"""The database handle: engines for SQLite and PostgreSQL and the unit of work.

Services never open connections themselves. They call

* `Database.read(fn)`  — run `fn(conn)` in a read transaction and return its result;
* `Database.write(fn)` — run `fn(conn)` in a write transaction, commit, return its result.

`fn` must be a complete, idempotent unit of work: it may be run more than once when the
commit's outcome is unknown (a lost connection during COMMIT, a failover). Writing it so
that a second run finds the first one's rows and returns the same answer is what makes a
retry safe; the services do this with pre-generated snowflake IDs, Idempotency-Keys and
unique constraints. Side effects outside the database belong after `write` returns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 5000


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message says what to do."""


def _sqlite_engine(url: sa.URL) -> Engine:
    path = url.database
    if path and path != ":memory:":
        folder = Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create data directory {folder}: {exc.strerror}") from exc
        probe = folder / ".aloft-write-test"
        try:
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise DatabaseError(
                f"data directory {folder} is not writable ({exc.strerror}); "
                "set ALOFT_DATA_DIR to a folder you can write"
            ) from exc
    engine = sa.create_engine(
        url,
        # We issue BEGIN ourselves (below); the driver's own transaction handling is off.
        connect_args={"isolation_level": None, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer, so an acknowledged post survives a
        # power cut, not only a process crash. (NORMAL would be faster and weaker.)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that later needs to
        # write can fail with SQLITE_BUSY without waiting for busy_timeout.
        immediate = conn.get_execution_options().get("aloft_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_engine(database_url: str) -> Engine:
    """An engine for the URL, configured for our use of that engine."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise DatabaseError(f"unsupported database URL {database_url!r}: use sqlite or postgresql")


class Database:
    """Runs units of work against one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def from_url(cls, database_url: str) -> Database:
        return cls(create_engine(database_url))

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in one read transaction (a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            return fn(conn)

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run the idempotent unit of work `fn` in a write transaction and commit it."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(aloft_write=True)
            with conn.begin():
                return fn(conn)

    def dispose(self) -> None:
        self.engine.dispose()


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it would break a unique constraint; True if it was inserted."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt).rowcount == 1
