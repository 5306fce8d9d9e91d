"""Group commit for SQLite: the writes a process has waiting share one transaction.

SQLite takes one writer at a time, and with `synchronous=FULL` every COMMIT waits for the
disk. A post held the write lock for about 1.4 ms, half of it in that COMMIT, while the
other writers of every worker queued behind it (issue 11). Here the first writer to get
the lock leads: it runs its own unit and every unit queued in this process by then, each
in a SAVEPOINT of one transaction, and commits them with one COMMIT.

Contracts, the same as one unit in one transaction:
- a unit's result is returned to its own caller only once the COMMIT that holds it is on
  disk; a unit that raised is rolled back to its savepoint and its exception is raised to
  its caller, while the others of its batch commit;
- if the batch as a whole fails (the COMMIT, or an error that ended the transaction),
  every unit in it raises that error and nothing of it was written, so each caller's
  retry (`Database.write`) runs its unit again;
- a unit runs in its caller's context (`contextvars`), in the leading thread;
- a unit's events (`aloft.storage.events`) are published after the COMMIT, in commit order,
  and a unit rolled back publishes none.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from aloft.storage.events import Event, EventBus, take_pending

T = TypeVar("T")


@dataclass
class _Unit:
    fn: Callable[[Connection], Any]
    context: contextvars.Context
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    events: list[Event] = field(default_factory=list)


class Committer:
    """Runs units of work on SQLite in groups. `exclusive` is held (with this process's
    lock around it) while a group's transaction runs: the lock between worker processes."""

    def __init__(
        self, events: EventBus, exclusive: Callable[[], contextlib.AbstractContextManager[None]]
    ) -> None:
        self._events = events
        self._exclusive = exclusive
        self._leading = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Unit] = []
        # Groups committed or failed so far (tests read it).
        self.batches = 0

    @property
    def lock(self) -> threading.Lock:
        """Held by the thread whose group is running (or by `Database.dispose`)."""
        return self._leading

    def waiting(self) -> int:
        """How many units are queued for the next group."""
        with self._waiting_lock:
            return len(self._waiting)

    def run(self, engine: Engine, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in a write transaction, with whatever else this process has waiting;
        return its result once committed, or raise what it (or the batch) raised."""
        unit = _Unit(fn, contextvars.copy_context())
        with self._waiting_lock:
            self._waiting.append(unit)
        with self._leading:
            # Done already when an earlier leader took it into its group.
            if not unit.done:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._commit(engine, batch)
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    def _commit(self, engine: Engine, batch: list[_Unit]) -> None:
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(aloft_write=True)
                take_pending(conn)  # a failed earlier attempt's events never happened
                with self._exclusive(), conn.begin():
                    if len(batch) == 1:
                        self._run_alone(conn, batch[0])
                    else:
                        for unit in batch:
                            self._run_in_savepoint(conn, unit)
        except BaseException as exc:
            for unit in batch:
                if unit.error is None:
                    unit.error = exc
                unit.events = []
        finally:
            for unit in batch:
                unit.done = True
        self.batches += 1
        for unit in batch:
            if unit.error is None:
                self._events.publish(unit.events)

    @staticmethod
    def _run_alone(conn: Connection, unit: _Unit) -> None:
        # One unit needs no savepoint: its error rolls the transaction back (in _commit).
        unit.result = unit.context.run(unit.fn, conn)
        unit.events = take_pending(conn)

    @staticmethod
    def _run_in_savepoint(conn: Connection, unit: _Unit) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("SAVEPOINT unit")
        try:
            unit.result = unit.context.run(unit.fn, conn)
        except Exception as exc:
            take_pending(conn)
            if not driver.in_transaction:
                raise  # SQLite ended the transaction itself: the whole batch failed
            driver.execute("ROLLBACK TO unit")
            driver.execute("RELEASE unit")
            unit.error = exc
            return
        driver.execute("RELEASE unit")
        unit.events = take_pending(conn)
