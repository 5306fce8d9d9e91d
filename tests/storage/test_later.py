"""Statements left for COMMIT (`aloft.storage.statement.later`) on both engines: run before
the write commits, never by an attempt that failed, nor by the next write on the same
connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from aloft.storage.database import Database
from aloft.storage.statement import Statement, later, rows_of
from tests import pg

counter = sa.table("counter", sa.column("id", sa.Integer), sa.column("n", sa.Integer))
BUMP = Statement.of(
    sa.update(counter).where(counter.c.id == 1).values(n=counter.c.n + sa.bindparam("by"))
)
READ = Statement.of(sa.select(counter.c.n).where(counter.c.id == 1))


class Refused(Exception):
    pass


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'later.db'}")
        yield from _with_counter(database)
        return
    with pg.running("later") as server:
        yield from _with_counter(Database.from_url(server.url("later")))


def _with_counter(database: Database) -> Iterator[Database]:
    # Used from one thread, one request at a time, the pool hands out one connection: the
    # write after a failed one runs on the connection the failed one used.
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    try:
        yield database
    finally:
        database.dispose()


def _n(db: Database) -> int:
    value: int = db.read(lambda conn: rows_of(conn, READ, {})[0].n)
    return value


def test_a_statement_left_for_commit_runs_once_the_unit_is_done(db: Database) -> None:
    def unit(conn: sa.Connection) -> str:
        later(conn, BUMP, {"by": 5})
        later(conn, BUMP, {"by": 2})
        return "done"

    assert db.write(unit) == "done"
    assert _n(db) == 7


def test_a_failed_attempt_leaves_nothing_for_the_next_write(db: Database) -> None:
    def refused(conn: sa.Connection) -> None:
        later(conn, BUMP, {"by": 100})
        raise Refused

    with pytest.raises(Refused):
        db.write(refused)
    assert _n(db) == 0
    db.write(lambda conn: later(conn, BUMP, {"by": 1}))
    assert _n(db) == 1  # not 101: the refused unit's statement did not come back
