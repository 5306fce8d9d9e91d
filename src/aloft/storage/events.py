"""Committed events: what happened (a status posted, deleted; a notification), for streaming.

Contract:

* `emit(conn, event)` is called *inside* a unit of work, at the point where the unit really
  changed something (a row inserted or deleted, not found again by a rerun). The event is
  delivered only if that transaction commits, and once per committed transaction: a unit
  that runs twice emits only from the attempt that wrote, and an attempt that rolled back
  emits nothing. This is how "side effects after commit, from the committed result, once"
  holds even for an ambiguous commit that a rerun finds (the rerun writes and emits nothing;
  the first attempt's event is delivered if and only if it committed).
* An event is a small JSON object of ids and facts (never an entity, never text): `k` names
  the kind. Whoever receives it reads what it needs from the database.
* PostgreSQL: `emit` keeps the event with the connection, and `Database` sends it as a
  `pg_notify` on channel `aloft_events` in the COMMIT's round trip (`NOTIFY`); PostgreSQL
  delivers it to every listening session after the commit, so an event written through
  one app reaches the clients of every app. Payloads are at most 8000 bytes; `encode`
  drops the optional lists (`m`, `t`) of an event that would be larger rather than fail
  the write.
* SQLite: `emit` keeps the event with the connection, and `Database` hands it to this
  process's `EventBus` after COMMIT returns (in-process only: one server process).
* `Listener` (PostgreSQL) holds one LISTEN connection per app process, to the current
  primary (the app's own multi-host URL, timeline-fenced like every connection). It probes
  the server every second and drops a connection that does not answer within
  `PROBE_TIMEOUT` or that now says it is a standby; it reconnects with backoff. Events
  committed while it was not listening are not replayed by PostgreSQL: on reconnect it
  publishes a `gap` event (`{"k": "gap", "from": ms, "to": ms}`) so that receivers can look
  up what was committed meanwhile.
* Sinks (`EventBus.subscribe`) are called from the thread that delivers (a worker thread on
  SQLite, the listener thread on PostgreSQL); they must not block.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from aloft.storage.statement import Statement
from aloft.storage.watchdog import WATCHDOG

log = logging.getLogger("aloft.events")

Event = dict[str, Any]
Sink = Callable[[Event], None]

CHANNEL = "aloft_events"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_PAYLOAD = 7900
# Where a SQLite connection keeps the events of its open transaction.
PENDING = "aloft_pending_events"

PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 2.0
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 2.0


def encode(event: Event) -> str:
    """The event as JSON text that fits a NOTIFY payload."""
    text = orjson.dumps(event).decode()
    if len(text.encode()) > MAX_PAYLOAD:
        slim = {k: v for k, v in event.items() if not isinstance(v, list)}
        slim["trimmed"] = True
        text = orjson.dumps(slim).decode()
    return text


def emit(conn: Connection, event: Event) -> None:
    """Deliver `event` after this unit of work's transaction commits (see the module doc).
    Only a write's unit (`Database.write`) delivers: what a read emitted is dropped."""
    conn.info.setdefault(PENDING, []).append(event)


def take_pending(conn: Connection) -> list[Event]:
    """The events a transaction emitted (and forget them): `Database` calls this before an
    attempt (to drop a failed attempt's) and at COMMIT (to deliver them)."""
    pending: list[Event] = conn.info.pop(PENDING, [])
    return pending


# PostgreSQL's delivery of one event, sent with the COMMIT (`Database`).
NOTIFY = Statement.of(
    sa.select(
        sa.func.pg_notify(
            sa.bindparam("channel", type_=sa.Text), sa.bindparam("payload", type_=sa.Text)
        ).label("sent")
    )
)


def deliveries(events: list[Event]) -> list[tuple[Statement, dict[str, Any]]]:
    """The NOTIFY statements that deliver `events` on PostgreSQL, in order."""
    return [(NOTIFY, {"channel": CHANNEL, "payload": encode(e)}) for e in events]


class EventBus:
    """This process's subscribers to committed events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sinks: list[Sink] = []

    def subscribe(self, sink: Sink) -> Callable[[], None]:
        """Call `sink(event)` for every event from now on; returns the unsubscribe function."""
        with self._lock:
            self._sinks.append(sink)

        def unsubscribe() -> None:
            with self._lock:
                if sink in self._sinks:
                    self._sinks.remove(sink)

        return unsubscribe

    def publish(self, events: list[Event]) -> None:
        """Hand committed events to every sink; a failing sink is logged, never raised."""
        if not events:
            return
        with self._lock:
            sinks = list(self._sinks)
        for event in events:
            for sink in sinks:
                try:
                    sink(event)
                except Exception:
                    log.exception("event sink failed on %s", event.get("k"))


def _shutdown(fd: int) -> None:
    """Make a call blocked on this socket fail at once (see aloft.storage.watchdog)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    except OSError:
        pass


class Listener:
    """LISTENs on the primary for this process and publishes what arrives to `bus`."""

    def __init__(self, engine: Engine, bus: EventBus) -> None:
        self.engine = engine
        self.bus = bus
        self.connected = False
        self.reconnects = 0
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aloft-listener", daemon=True)
        self._conn: Any = None

    def start(self) -> None:
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Wait until the listener has listened once (or `timeout` passes); True if it has."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):  # already closed: nothing to wake
                _shutdown(conn.pgconn.socket)
        self._thread.join(timeout=5)

    def _connect(self) -> Any:
        raw = self.engine.raw_connection()  # the app's URL: primary, fenced by timeline
        conn: Any = raw.driver_connection
        raw.detach()  # ours for good: never returned to the pool
        conn.rollback()
        conn.autocommit = True
        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            conn.close()
            raise ConnectionError("the server is a standby")
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _probe(self, conn: Any) -> None:
        """Is the server alive and still the primary? Raises if not (a frozen server is cut
        off after PROBE_TIMEOUT by shutting the socket down)."""
        fd = conn.pgconn.socket
        handle = WATCHDOG.arm(PROBE_TIMEOUT, lambda: _shutdown(fd))
        try:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        finally:
            WATCHDOG.cancel(handle)
        if in_recovery:
            raise ConnectionError("the server became a standby")

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        lost_at: float | None = None
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._conn = self._connect()
                self.connected = True
                self._listening.set()
                backoff = BACKOFF_FIRST
                if lost_at is not None:
                    now = time.time()
                    self.reconnects += 1
                    log.warning("event listener back after %.1f s without events", now - lost_at)
                    # Listening again before the gap is published: whatever the receivers
                    # look up now, nothing committed from here on is missed.
                    self.bus.publish(
                        [{"k": "gap", "from": int(lost_at * 1000), "to": int(now * 1000)}]
                    )
                    lost_at = None
                while not self._stop.is_set():
                    # Each one as it comes (collecting them until the generator ends held
                    # every event up to PROBE_INTERVAL: 0.7 s of delivery lag in a drill).
                    for note in conn.notifies(timeout=PROBE_INTERVAL):
                        try:
                            event = orjson.loads(note.payload)
                        except orjson.JSONDecodeError:
                            log.warning("event listener: payload is not JSON, dropped")
                            continue
                        self.bus.publish([event])
                    self._probe(conn)
            except Exception as exc:
                if self._stop.is_set():
                    break
                if self.connected:
                    lost_at = time.time()
                    log.warning("event listener lost its connection: %s", exc)
                else:
                    log.warning("event listener cannot listen yet: %s", exc)
                    if lost_at is None:
                        lost_at = time.time()
                self.connected = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                self._conn = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
