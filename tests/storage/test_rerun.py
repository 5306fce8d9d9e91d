"""Reruns of a unit of work belong to `Database.write` alone.

Against a real PostgreSQL 15 (and a real SQLite file), no mocks; the twin is injected the way
`test_failover.py` injects its faults, from a SQL event listener (here: another connection
commits the same status first, as an ambiguous commit leaves it):

* a status whose twin committed first is found by a rerun inside the same `write`: one
  deadline, and the rerun is fenced like every later attempt;
* a unit that keeps asking to run again ends with `Unavailable` at the one write deadline;
* an IntegrityError that is not a twin is raised as it is, not retried and not a 422.

Registration (one unit of work) is in `test_registration_failover.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from aloft.errors import Unavailable
from aloft.services import accounts, statuses
from aloft.services.auth import Viewer
from aloft.storage.database import REPLICATION_FENCE, Database, Policy
from aloft.storage.failures import RunAgain
from aloft.storage.migrate import upgrade
from tests import pg

SITE = statuses.Site("http://test.example", "test.example")


@pytest.fixture
def server() -> Iterator[pg.PostgresServer]:
    with pg.running("aloft") as srv:
        yield srv


def _viewer(db: Database, name: str = "writer") -> Viewer:
    row = accounts.create(db, accounts.NewAccount(name, f"{name}@example.org", "long enough pw"))
    return Viewer(row.id, frozenset({"write"}), None)


def test_a_twin_is_found_by_a_fenced_rerun_within_one_write(server: pg.PostgresServer) -> None:
    """The first attempt's INSERT meets a twin that committed first (what an ambiguous
    commit leaves behind). The rerun that finds and returns it must be a later attempt of
    the same write, so its COMMIT waits behind the replication fence."""
    db = Database.from_url(server.url("aloft"), Policy(write_deadline=30.0))
    viewer = _viewer(db)
    seen: list[str] = []
    twin: list[int] = []

    def commit_a_twin_first(conn, cursor, statement, params, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)
        if statement.startswith("INSERT INTO statuses") and not twin:
            twin.append(int(params["id"]))
            server.psql(
                "INSERT INTO statuses (id, account_id, text, content, visibility, created_at) "
                f"VALUES ({params['id']}, {viewer.account_id}, 'twin', '<p>twin</p>', 0, now())",
                db="aloft",
            )

    sa.event.listen(db.engine, "before_cursor_execute", commit_a_twin_first)
    row, _ = statuses.create(db, viewer, SITE, statuses.NewStatus("twin"))
    db.dispose()
    assert twin and row.id == twin[0]
    assert server.psql("SELECT count(*) FROM statuses", db="aloft") == "1"
    failed_insert = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO statuses"))
    assert REPLICATION_FENCE in seen[failed_insert:], "the rerun was not fenced"
    assert any("again" in reason for reason in db.stats.retries), db.stats.retries


def test_rerunning_stops_at_the_one_write_deadline(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}", Policy(write_deadline=0.5))
    runs: list[float] = []

    def unit(conn: Any) -> None:
        runs.append(time.monotonic())
        raise RunAgain("never satisfied")

    started = time.monotonic()
    with pytest.raises(Unavailable):
        db.write(unit)
    took = time.monotonic() - started
    db.dispose()
    assert len(runs) > 2 and 0.5 <= took < 2.0, (len(runs), took)


def test_an_integrity_error_that_is_no_twin_is_raised_once(tmp_path: Path) -> None:
    """A status for an account that does not exist breaks a foreign key: no rerun finds
    anything, so it is raised at once (a bug, not "please try again" as a 422)."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(db.engine)
    inserts: list[str] = []
    sa.event.listen(
        db.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: (
            inserts.append(statement) if statement.startswith("INSERT INTO statuses") else None
        ),
    )
    ghost = Viewer(123456789, frozenset({"write"}), None)
    with pytest.raises(IntegrityError):
        statuses.create(db, ghost, SITE, statuses.NewStatus("from nobody"))
    db.dispose()
    assert len(inserts) == 1
