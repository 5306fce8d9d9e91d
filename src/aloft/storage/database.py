"""The database handle: engines for SQLite and PostgreSQL and the unit of work.

Services never open connections. They call

* `Database.read(fn)`  — run `fn(conn)` in a read transaction and return its result;
* `Database.write(fn)` — run `fn(conn)` in a write transaction, commit, return its result.

`fn` must be a complete, idempotent unit of work: it may be run more than once when the
commit's outcome is unknown (a lost connection during COMMIT, a failover). Writing it so
that a second run finds the first one's rows and returns the same answer is what makes a
retry safe; the services do this with pre-generated snowflake IDs, Idempotency-Keys and
unique constraints. Side effects outside the database belong after `write` returns.

Riding through a failover (PostgreSQL). `write` runs `fn` in attempts, each with its own
deadline (`Policy.attempt_timeout`) enforced by dropping the connection, never by cancelling
a query: a cancelled COMMIT that waits for the synchronous standby comes back as a success
with a WARNING, and that write can be lost at failover. Failures that a failover explains
(see `failures.retry_reason`) are retried on a fresh connection with backoff until
`Policy.write_deadline`, then `Unavailable` is raised (503 with Retry-After). A unit that
meets a twin of its own write (see `failures.RunAgain`) asks for a rerun the same way, so
it too runs under that one deadline and as a later attempt. Every retry
after the first attempt starts by writing a small WAL record, so its COMMIT waits for the
synchronous standby to hold everything before it — including an earlier attempt's commit
that the retry merely finds and returns.

Reads go to the primary, or with `Policy.reads == "prefer-standby"` to a standby, except for
an actor (the signed-in account) who wrote in the last `read_your_writes` seconds. If the
preferred server cannot be reached, a read falls back to any reachable server, so
timelines keep loading while the primary is down; and for `PRIMARY_TROUBLE_SECONDS` after an
attempt on the primary failed, reads ask any server first, so that a failover costs reads
one fallback, not one per read.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import logging
import os
import random
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from aloft.config import Settings
from aloft.errors import Unavailable
from aloft.storage.committer import Committer
from aloft.storage.events import EventBus, deliveries, take_pending
from aloft.storage.failures import (
    SYNC_REP_CANCELLED,
    AttemptTimeout,
    CommitUnconfirmed,
    RunAgain,
    StalePrimary,
    retry_reason,
)
from aloft.storage.statement import PLAN, plan_switch, rows_together, take_later
from aloft.storage.watchdog import WATCHDOG

T = TypeVar("T")
U = TypeVar("U")
log = logging.getLogger("aloft.storage")

SQLITE_BUSY_TIMEOUT_MS = 5000
DEFAULT_CONNECT_TIMEOUT = 2
# How long after a failed attempt on the primary reads go to any server first.
PRIMARY_TROUBLE_SECONDS = 5.0  # libpq's floor; a frozen host costs this much per connection

# A transactional WAL record: a transaction that writes WAL waits at COMMIT for the
# synchronous standby to hold everything up to it. (pg_current_xact_id() alone is not
# enough: a transaction that wrote no WAL commits without waiting; measured.)
REPLICATION_FENCE = "SELECT pg_logical_emit_message(true, 'aloft', 'retry fence')"

# Who is acting in this request (an account id), for read-your-writes routing.
ACTOR: contextvars.ContextVar[int | None] = contextvars.ContextVar("aloft_actor", default=None)


class CommitNote:
    """Where the writes of one request committed ("host:port" of the PostgreSQL server; the
    last one wins). The caller puts a fresh note in `COMMITS` before the work and reads it
    after: a holder, because work run in a worker thread gets a copy of the context, so a
    value set there would not come back, while a change to a shared object does."""

    def __init__(self) -> None:
        self.server: str | None = None


COMMITS: contextvars.ContextVar[CommitNote | None] = contextvars.ContextVar(
    "aloft_commits", default=None
)


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message says what to do."""


@dataclass(frozen=True)
class Policy:
    """Timing of the failover-aware data layer (ALOFT_DB_* settings)."""

    attempt_timeout: float = 3.0
    write_deadline: float = 45.0
    read_deadline: float = 15.0
    read_your_writes: float = 10.0
    reads: str = "primary"  # or "prefer-standby"


@dataclass
class Stats:
    """What /metrics reports about the data layer; updated under `lock`."""

    retries: Counter[str] = field(default_factory=Counter)
    unavailable: int = 0
    failovers: int = 0
    last_primary: str | None = None
    # Wall-clock times (time.time()) by kind ("read", "write"), for /readyz, which reports
    # them without any I/O: when the last unit of work succeeded, and when the first attempt
    # failed since then (no entry while attempts succeed).
    last_success: dict[str, float] = field(default_factory=dict)
    failing_since: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sqlite_engine(url: sa.URL) -> Engine:
    path = url.database
    if path and path != ":memory:":
        folder = Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create data directory {folder}: {exc.strerror}") from exc
        # A probe of its own: `serve --workers N` starts N processes at once, and with one
        # shared file a worker's unlink removed another's probe, which then failed to start.
        probe = folder / f".aloft-write-test-{os.getpid()}-{threading.get_ident()}"
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
        # Sent by the driver itself, without SQLAlchemy's execution around it (its events,
        # its result object): every request on SQLite begins a transaction (issue 11).
        immediate = conn.get_execution_options().get("aloft_write", False)
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if immediate else "BEGIN"
        )

    return engine


# The timeline a primary writes on: the first 8 hex digits of its current WAL file's name
# (pg_walfile_name uses the insert timeline, which a promotion raises at once). 0 on a
# standby, whose timeline this check leaves alone.
_TIMELINE_QUERY = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN 0 ELSE "
    "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
)


class TimelineFence:
    """The newest PostgreSQL timeline this process has seen a primary on, shared by all of a
    Database's engines. A new connection to a primary on an older timeline is refused
    (`StalePrimary`): after a failover, libpq's `target_session_attrs=read-write` takes
    any server that says it is writable, and an old primary says so for a moment after it
    wakes up (a thawed node, a healed partition) — long enough to answer reads with data
    from before the failover (seen in a hang-primary-node drill: two timelines that lost
    posts they had shown)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.newest = 0

    def check(self, timeline: int) -> None:
        with self._lock:
            if timeline and timeline < self.newest:
                raise StalePrimary(
                    f"server is a primary on timeline {timeline}, older than {self.newest}"
                )
            self.newest = max(self.newest, timeline)


def _postgres_engine(url: sa.URL, fence: TimelineFence | None = None) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    if "options" not in url.query:
        # No JIT: PostgreSQL's estimate of the trends' aggregates (a NOT IN subplan costed
        # per row) passed `jit_above_cost`, and compiling took 2.8 s of a 3.3 s read of
        # trending tags over 100,000 statuses, longer than an attempt's deadline; none of
        # our queries needs it. For the connection, since reads run without a transaction
        # (`Database._attempt`) and `SET LOCAL` would last for one statement.
        connect_args["options"] = "-c jit=off"
    # No pool_pre_ping: its "SELECT 1" would hang on a frozen server outside any deadline.
    # A dead pooled connection instead fails the first statement of an attempt, which is
    # retried on a fresh connection, and SQLAlchemy then invalidates the whole pool.
    engine = sa.create_engine(
        url, connect_args=connect_args, pool_size=10, max_overflow=10, pool_recycle=300
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        notices: list[str] = record.info.setdefault("notices", [])
        dbapi_conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        if fence is not None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute(_TIMELINE_QUERY)
                (timeline,) = cursor.fetchone()
            dbapi_conn.rollback()
            try:
                fence.check(int(timeline))
            except StalePrimary:
                dbapi_conn.close()
                raise
            record.info["timeline"] = int(timeline)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _plan_mode(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        # PostgreSQL plans a prepared statement again on every execution for as long as it
        # costs its generic plan above the plans made for the parameters at hand. The home
        # page's statement is one: over 1,000,000 statuses it took 1.5 ms to plan and 0.3 ms
        # to run, and its generic plan, costed 10 % higher, was the same plan (issue 11).
        # In a read, a statement marked GENERIC_PLAN runs with plan_cache_mode =
        # force_generic_plan and any other with the server's own choice; the connection
        # remembers which it has, so a SET is sent only when that changes. A write's
        # transaction sends no SET (a SET there would be undone by a rollback, and each
        # would be one more round trip while rows are locked): its statements run under
        # whichever mode the connection has.
        options = context.execution_options if context is not None else {}
        if options.get("isolation_level") != "AUTOCOMMIT":
            return
        switch = plan_switch(conn.connection.info, options.get(PLAN) == "generic")
        if switch is not None:
            cursor.execute(switch)

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        # A pooled connection to a primary that has since been replaced (it sat idle through
        # the failover, e.g. across a partition that just healed) would read from the old
        # primary: the pool drops it and checks out another (fresh, fenced) one.
        if fence is not None and 0 < record.info.get("timeline", 0) < fence.newest:
            raise sa.exc.DisconnectionError("pooled connection to a deposed primary")

    return engine


def create_engine(database_url: str, fence: TimelineFence | None = None) -> Engine:
    """An engine for the URL, configured for our use of that engine. PostgreSQL engines
    sharing a `fence` refuse connections to a primary on an older timeline."""
    try:
        url = sa.make_url(database_url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseError(f"cannot parse database URL {database_url!r}") from exc
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        return _postgres_engine(url, fence)
    raise DatabaseError(f"unsupported database URL {database_url!r}: use sqlite or postgresql")


def _with_session_attrs(database_url: str, attrs: str) -> str | None:
    """The same PostgreSQL URL with another target_session_attrs, for multi-host URLs."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql" or "target_session_attrs" not in url.query:
        return None
    return url.update_query_dict({"target_session_attrs": attrs}).render_as_string(
        hide_password=False
    )


class Database:
    """Runs units of work against the primary, retrying through failovers."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy | None = None,
        standby: Engine | None = None,
        anywhere: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.policy = policy or Policy()
        self.standby = standby
        self.anywhere = anywhere
        self.stats = Stats()
        # Committed events (aloft.storage.events): SQLite's are published here after
        # COMMIT; PostgreSQL's come back through a Listener that the app starts.
        self.events = EventBus()
        self._recent_writers: dict[int, float] = {}
        # Until when reads avoid asking the primary first (see _read_order); monotonic.
        self._primary_trouble_until = 0.0
        # SQLite's writers go in groups (Committer), one process's group at a time.
        self.committer = Committer(self.events, self._sqlite_exclusive)
        self._writer_file: int | None = None
        path = engine.url.database if self.dialect == "sqlite" else None
        if path and path != ":memory:" and not path.startswith("file:"):
            self._writer_file = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)

    @classmethod
    def from_url(cls, database_url: str, policy: Policy | None = None) -> Database:
        policy = policy or Policy()
        standby_url = None
        if policy.reads == "prefer-standby":
            standby_url = _with_session_attrs(database_url, "prefer-standby")
        anywhere_url = _with_session_attrs(database_url, "any")
        fence = TimelineFence()
        return cls(
            create_engine(database_url, fence),
            policy,
            create_engine(standby_url, fence) if standby_url else None,
            create_engine(anywhere_url, fence) if anywhere_url else None,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        policy = Policy(
            attempt_timeout=settings.db_attempt_timeout,
            write_deadline=settings.db_write_deadline,
            read_deadline=settings.db_read_deadline,
            read_your_writes=settings.read_your_writes_seconds,
            reads=settings.database_reads,
        )
        return cls.from_url(settings.effective_database_url, policy)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    # -- reads -------------------------------------------------------------------------

    def read(
        self, fn: Callable[[Connection], T], prefer: str = "standby", seconds: float | None = None
    ) -> T:
        """Run `fn` on a suitable server: on SQLite in one read transaction (one snapshot);
        on PostgreSQL without a transaction, each statement on its own snapshot, as it would
        be at READ COMMITTED inside one. `prefer="primary-only"` never asks a standby.
        Attempts go on for `seconds` (`Policy.read_deadline` unless given)."""
        engines = self._read_order(prefer)
        deadline = time.monotonic() + (self.policy.read_deadline if seconds is None else seconds)
        delay = 0.05
        while True:
            for engine in engines:
                try:
                    result = self._attempt(engine, fn, write=False, first=True)
                    self._note_success("read")
                    if engine is self.engine:
                        self._primary_trouble_until = 0.0
                    return result
                except Exception as exc:
                    reason = retry_reason(exc)
                    if reason is None:
                        raise
                    self._note_retry(engine, "read", reason, exc)
            delay = self._pause(deadline, delay, "read")

    def _read_order(self, prefer: str) -> list[Engine]:
        if prefer == "primary-only":
            return [self.engine]
        actor = ACTOR.get()
        wrote_recently = (
            actor is not None
            and time.monotonic() - self._recent_writers.get(actor, -1e9)
            < self.policy.read_your_writes
        )
        order = [self.engine]
        if self.standby is not None and prefer == "standby" and not wrote_recently:
            order.insert(0, self.standby)
        if self.anywhere is not None:
            if self._primary_in_trouble() and not wrote_recently:
                # The primary is failing (a failover is under way): every read that asked
                # it first would wait out a connect timeout or an attempt deadline before
                # falling back. Read from any server first until the primary answers again
                # or PRIMARY_TROUBLE_SECONDS pass without a new failure. A reader who has
                # just written still asks the primary first, for read-your-writes.
                order.insert(len(order) - 1, self.anywhere)
            else:
                order.append(self.anywhere)
        return order

    def _primary_in_trouble(self) -> bool:
        return time.monotonic() < self._primary_trouble_until

    # -- writes ------------------------------------------------------------------------

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run the idempotent unit of work `fn` in a write transaction and commit it."""
        deadline = time.monotonic() + self.policy.write_deadline
        delay = 0.05
        first = True
        while True:
            try:
                result = self._attempt(self.engine, fn, write=True, first=first)
                break
            except Exception as exc:
                reason = retry_reason(exc)
                if reason is None:
                    raise
                self._note_retry(self.engine, "write", reason, exc)
            first = False
            delay = self._pause(deadline, delay, "write")
        self._note_success("write")
        self._primary_trouble_until = 0.0
        actor = ACTOR.get()
        if actor is not None:
            self._recent_writers[actor] = time.monotonic()
            if len(self._recent_writers) > 10_000:
                self._forget_old_writers()
        return result

    def write_then(self, fn: Callable[[Connection], T], then: Callable[[Connection, T], U]) -> U:
        """`write(fn)`, then `then(conn, its result)`, which only reads, to build the answer,
        after the commit: the rows the write locked (SQLite's one write lock, which every
        writer of every worker waits for; on PostgreSQL the author's row, which the
        author's next post waits for) are held only while writing (issue 11: building a
        post's answer was half of the time it held them). `then` is a read: on PostgreSQL
        on the primary only, as the write was, through a failover under the write's
        deadline, never on a standby that may not have applied the write yet."""
        done = self.write(fn)
        if self.is_postgres:
            return self.read(
                lambda conn: then(conn, done),
                prefer="primary-only",
                seconds=self.policy.write_deadline,
            )
        return self.read(lambda conn: then(conn, done))

    def _forget_old_writers(self) -> None:
        cutoff = time.monotonic() - self.policy.read_your_writes
        self._recent_writers = {k: v for k, v in self._recent_writers.items() if v > cutoff}

    def _pause(self, deadline: float, delay: float, kind: str) -> float:
        """Back off before the next attempt (jittered, doubling to 1 s); give up at the
        deadline. Returns the next delay."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._give_up(kind)
        time.sleep(min(delay * random.uniform(0.5, 1.0), remaining))
        return min(delay * 2, 1.0)

    def _give_up(self, kind: str) -> NoReturn:
        with self.stats.lock:
            self.stats.unavailable += 1
        raise Unavailable(
            f"The database is unavailable; the {kind} was not done. Try again shortly.",
            retry_after=5,
        )

    def _note_retry(self, engine: Engine, kind: str, reason: str, exc: BaseException) -> None:
        if isinstance(exc, RunAgain):
            # The unit's own request (a twin found, an ID taken): the server is fine.
            with self.stats.lock:
                self.stats.retries[f"{kind}: {reason}"] += 1
            log.info("database %s unit runs again: %s", kind, exc)
            return
        if engine is self.engine:
            self._primary_trouble_until = time.monotonic() + PRIMARY_TROUBLE_SECONDS
        with self.stats.lock:
            self.stats.retries[f"{kind}: {reason}"] += 1
            self.stats.failing_since.setdefault(kind, time.time())
        log.warning("database %s attempt failed (%s), retrying: %s", kind, reason, exc)
        if reason in {"server is read-only", "server is shutting down", "server is in recovery"}:
            # Pooled connections still point at a server that no longer has this role.
            engine.dispose()

    def _note_success(self, kind: str) -> None:
        with self.stats.lock:
            self.stats.last_success[kind] = time.time()
            self.stats.failing_since.pop(kind, None)

    def _attempt(
        self, engine: Engine, fn: Callable[[Connection], T], write: bool, first: bool
    ) -> T:
        if write and engine.dialect.name != "postgresql":
            return self.committer.run(engine, fn)
        with engine.connect() as conn:
            if write:
                conn = conn.execution_options(aloft_write=True)
            if engine.dialect.name != "postgresql":
                with conn.begin():
                    return fn(conn)
            guard = _Guard(conn)
            handle = WATCHDOG.arm(self.policy.attempt_timeout, guard.fire)
            notices: list[str] = conn.connection.info.setdefault("notices", [])
            notices.clear()
            try:
                if not write:
                    # A read runs without BEGIN and COMMIT, two round trips of a page's
                    # nine (issue 11). It loses nothing: at READ COMMITTED each statement
                    # sees its own snapshot inside a transaction too.
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                    result = fn(conn)
                else:
                    # What a failed attempt on this connection left is not this one's.
                    take_pending(conn)
                    take_later(conn)
                    with conn.begin():
                        if not first:
                            # Make this COMMIT wait for the synchronous standby (see above).
                            conn.exec_driver_sql(REPLICATION_FENCE)
                        result = fn(conn)
                        # The statements the unit left for its end and its events' NOTIFY
                        # go with the COMMIT, in its round trip (issue 11: a post was six
                        # round trips, one a pg_notify that SQLAlchemy compiled each time).
                        last = take_later(conn) + deliveries(take_pending(conn))
                        if last:
                            rows_together(conn, last, commit=True)
            except Exception as exc:
                if guard.fired:
                    conn.invalidate()
                    raise AttemptTimeout(str(exc)) from exc
                raise
            finally:
                guard.disarm()
                WATCHDOG.cancel(handle)
            if guard.fired:
                conn.invalidate()
                raise AttemptTimeout("the attempt deadline passed during commit")
            if write and any(SYNC_REP_CANCELLED in n for n in notices):
                conn.invalidate()
                raise CommitUnconfirmed(notices[-1])
            if write:
                self._note_server(conn)
            return result

    @contextlib.contextmanager
    def _sqlite_exclusive(self) -> Iterator[None]:
        """SQLite has one writer at a time. A process's group of writes (`Committer`) waits
        for the other worker processes' (`serve --workers N`) on an flock of a file next
        to the database, before BEGIN IMMEDIATE: a waiter is woken the moment the writer
        before it is done. Left to BEGIN IMMEDIATE alone they polled SQLite's busy
        handler, which sleeps up to 100 ms between tries (a post's p99 was 2 s: issue 11)."""
        if self._writer_file is None:
            yield
            return
        fcntl.flock(self._writer_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._writer_file, fcntl.LOCK_UN)

    def _note_server(self, conn: Connection) -> None:
        info = conn.connection.dbapi_connection.info  # type: ignore[union-attr]
        where = f"{info.host}:{info.port}"
        note = COMMITS.get()
        if note is not None:
            note.server = where
        with self.stats.lock:
            if self.stats.last_primary not in (None, where):
                self.stats.failovers += 1
                log.warning("writes moved from %s to %s", self.stats.last_primary, where)
            self.stats.last_primary = where

    def probe(self, engine: Engine, writable: bool) -> bool:
        """One quick attempt: can `engine` reach a server (that accepts writes)?"""

        def check(conn: Connection) -> bool:
            if writable:
                return not conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar()
            return conn.exec_driver_sql("SELECT 1").scalar() == 1

        return self._attempt(engine, check, write=False, first=True)

    def dispose(self) -> None:
        for engine in (self.engine, self.standby, self.anywhere):
            if engine is not None:
                engine.dispose()
        with self.committer.lock:
            if self._writer_file is not None:
                os.close(self._writer_file)
                self._writer_file = None


class _Guard:
    """Drops one attempt's connection if the watchdog fires before it is disarmed."""

    def __init__(self, conn: Connection) -> None:
        self._fd: int = conn.connection.dbapi_connection.pgconn.socket  # type: ignore[union-attr]
        self._lock = threading.Lock()
        self._armed = True
        self.fired = False

    def fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.fired = True
            # shutdown() on a duplicate of the descriptor ends the connection for every
            # holder, so the thread blocked in recv() wakes up with an error.
            try:
                sock = socket.socket(fileno=os.dup(self._fd))
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()
            except OSError:
                pass

    def disarm(self) -> None:
        with self._lock:
            self._armed = False


@functools.cache
def _insert_ignore(dialect: str, table: sa.Table) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING key, built once per dialect and table with
    the row's values as parameters (building it on every insert was a tenth of a
    favourite's time, inside the write lock; issue 11)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return dialect_insert(table).on_conflict_do_nothing().returning(key)


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it would break a unique constraint; True if it was inserted.
    `values` are plain values (the columns they name are the ones inserted)."""
    return conn.execute(_insert_ignore(conn.dialect.name, table), values).first() is not None
