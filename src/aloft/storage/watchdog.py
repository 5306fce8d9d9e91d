"""One background thread that fires callbacks at deadlines: per-attempt time limits.

A frozen database server (SIGSTOP, a dead host behind a live switch) still completes TCP
handshakes and leaves the client blocked in recv() forever; keepalives and
statement_timeout do not help, and psycopg's cancel can itself block for ~10 s. So each
attempt arms a deadline here, and if it passes, the callback shuts the connection's socket
down, which makes the blocked call fail at once.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._active: set[int] = set()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> int:
        """Call `callback` in `seconds` unless `cancel` is called first; returns a handle."""
        handle = next(self._counter)
        due = time.monotonic() + seconds
        with self._cond:
            # The thread sleeps until the earliest deadline: only an earlier one (or the
            # first) needs to wake it. Waking it for every attempt cost each database
            # round trip a thread switch (issue 11); deadlines of one length come in order.
            wake = not self._heap or due < self._heap[0][0]
            heapq.heappush(self._heap, (due, handle, callback))
            self._active.add(handle)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="aloft-watchdog", daemon=True
                )
                self._thread.start()
            if wake:
                self._cond.notify()
        return handle

    def cancel(self, handle: int) -> None:
        with self._cond:
            self._active.discard(handle)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, handle, callback = self._heap[0]
                if handle not in self._active:  # cancelled: drop it
                    heapq.heappop(self._heap)
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._active.discard(handle)
            with contextlib.suppress(Exception):  # a failing callback must not stop us
                callback()


WATCHDOG = Watchdog()
