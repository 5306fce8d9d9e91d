"""Rate limits: sliding windows, and counts shared by processes through the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aloft.config import Settings
from aloft.errors import RateLimited
from aloft.services.limits import GENERAL, REGISTRATION, Limiter, Rule, decide
from aloft.storage.database import Database, Policy
from aloft.storage.migrate import upgrade

RULE = Rule("test", 10, 60)


def test_a_burst_at_a_window_boundary_is_not_doubled() -> None:
    """Fixed windows let 10 requests in at 0:59 and 10 more at 1:00; a sliding window
    counts the previous window's requests while they are still within the last minute."""
    limiter = Limiter()
    for _ in range(10):
        limiter.hit(RULE, "k", now=59.0)
    with pytest.raises(RateLimited):
        limiter.hit(RULE, "k", now=59.5)
    with pytest.raises(RateLimited) as caught:
        limiter.hit(RULE, "k", now=60.5)  # a new fixed window, but 10 in the last 60 s
    assert caught.value.retry_after >= 5
    # Half a window later, half of the previous window's 10 still count: 5 more fit.
    admitted = 0
    for _ in range(10):
        try:
            limiter.hit(RULE, "k", now=90.0)
            admitted += 1
        except RateLimited:
            break
    assert admitted == 5


def test_retry_after_is_when_a_request_fits_again() -> None:
    limiter = Limiter()
    for _ in range(10):
        limiter.hit(RULE, "k", now=0.0)
    with pytest.raises(RateLimited) as caught:
        limiter.hit(RULE, "k", now=30.0)
    wait = caught.value.retry_after
    # At 60 + 6 s, 10 × (1 − 6/60) = 9 still count: one more fits, and not a second earlier.
    assert wait == 36
    limiter.hit(RULE, "k", now=30.0 + wait)
    assert caught.value.headers["X-RateLimit-Remaining"] == "0"


def test_refused_requests_are_not_counted() -> None:
    limiter = Limiter()
    for _ in range(10):
        limiter.hit(RULE, "k", now=0.0)
    for _ in range(50):
        with pytest.raises(RateLimited):
            limiter.hit(RULE, "k", now=1.0)
    assert decide(RULE, 0, 10, 66.0).remaining == 0, "only the 10 admitted count"
    limiter.hit(RULE, "k", now=66.0)


@pytest.fixture
def databases(settings: Settings) -> Iterator[tuple[Database, Database]]:
    """Two Database objects on one real database: what two app processes have."""
    first = Database.from_settings(settings)
    upgrade(first.engine)
    second = Database.from_settings(settings)
    yield first, second
    first.dispose()
    second.dispose()


def test_exact_limits_are_shared_by_processes(databases: tuple[Database, Database]) -> None:
    a, b = (Limiter(db) for db in databases)
    for limiter in (a, b, a, b, a):
        limiter.hit_now(REGISTRATION, "192.0.2.7")
    with pytest.raises(RateLimited):
        b.hit_now(REGISTRATION, "192.0.2.7")
    with pytest.raises(RateLimited):
        a.hit_now(REGISTRATION, "192.0.2.7")
    b.hit_now(REGISTRATION, "192.0.2.8")  # another address has its own budget


def test_general_counts_reach_other_processes_at_the_next_sync(
    databases: tuple[Database, Database],
) -> None:
    a, b = (Limiter(db) for db in databases)
    for _ in range(200):
        a.hit(GENERAL, "42")
    a.sync()
    assert b.hit(GENERAL, "42").remaining == 299, "b has not heard of a's requests yet"
    b.sync()
    assert b.hit(GENERAL, "42").remaining == 300 - 202
    for _ in range(98):
        b.hit(GENERAL, "42")
    with pytest.raises(RateLimited):
        b.hit(GENERAL, "42")
    b.sync()
    # `a` still decides from what it last read (its own 200): it learns of b's requests
    # with the sync that follows its next request, which is the bounded overshoot.
    a.hit(GENERAL, "42")
    a.sync()
    with pytest.raises(RateLimited):
        a.hit(GENERAL, "42")


def test_counts_wait_for_the_database_when_it_is_away(settings: Settings, tmp_path: Path) -> None:
    """A sync that cannot write keeps this process's counts for the next one."""
    db = Database.from_settings(settings)
    upgrade(db.engine)
    limiter = Limiter(db)
    for _ in range(5):
        limiter.hit(GENERAL, "7")
    away = {
        "sqlite": f"sqlite:///{tmp_path}/no/such/directory/aloft.db",
        "postgresql": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }[db.dialect]
    unreachable = Database.from_url(away, Policy(write_deadline=0.5))
    limiter.attach(unreachable)
    limiter.sync()
    assert limiter.hit(GENERAL, "7").remaining == 300 - 6, "nothing was lost or doubled"
    limiter.attach(db)
    limiter.sync()
    other = Limiter(db)
    other.hit(GENERAL, "7")
    other.sync()
    assert other.hit(GENERAL, "7").remaining == 300 - 8
    db.dispose()
    unreachable.dispose()


def test_a_bad_statement_on_sqlite_is_not_retried(tmp_path: Path) -> None:
    """sqlite3's OperationalError has no SQLSTATE: a syntax error must fail at once, not be
    retried until the write deadline as if the connection had dropped."""
    import sqlalchemy as sa

    db = Database.from_settings(Settings(data_dir=tmp_path))
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError):
        db.write(lambda conn: conn.exec_driver_sql("SELEC 1"))
    assert time.monotonic() - started < 5
    db.dispose()
