"""Background work of one app process: finishing videos and GIFs, removing old uploads,
telling of polls that ended, publishing scheduled posts.

One thread per process (`Jobs`), started and stopped by the app's lifespan, with a
`Database` of its own (its own connection pool). It finishes
pending media (`media.process_next`) until none is left, runs the unattached-upload
cleanup (`media.remove_unattached`) every `cleanup_every` seconds, and otherwise sleeps
until woken (an upload in this process) or `poll` seconds pass, so that work left by
another replica, or by a replica that died mid-job, is picked up too. Every replica runs
the same loop; the claims in `aloft.services.media` keep them from doing one job twice.
Every round also notifies the end of expired polls (`aloft.services.poll_expiry`, whose
claim is `FOR UPDATE SKIP LOCKED`), so a poll's end is told within `poll` seconds, and
publishes the scheduled posts whose time has come (`aloft.services.scheduled`, one per
transaction, claimed the same way and removed in the transaction that posts it: each is
published once, whichever replica gets there), within `poll` seconds of their time.
An error is logged and the loop goes on: during a failover the database calls raise
`Unavailable` after their deadline, and the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time

from aloft.services import media, poll_expiry, scheduled
from aloft.services.statuses import Site
from aloft.storage.database import Database

log = logging.getLogger("aloft.jobs")


class Jobs:
    def __init__(
        self, db: Database, site: Site, poll: float = 5.0, cleanup_every: float = 3600.0
    ) -> None:
        self.db = db
        self.site = site  # what publishing a scheduled post renders its text with
        self.poll = poll
        self.cleanup_every = cleanup_every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="aloft-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (called after an upload that left a job)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a conversion under way is left to its time limit) and close the
        Database it was given."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.db.dispose()

    def _run(self) -> None:
        next_cleanup = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while not self._stop.is_set() and media.process_next(self.db):
                    pass
                while (
                    not self._stop.is_set()
                    and poll_expiry.end_expired(self.db) == poll_expiry.END_BATCH
                ):
                    pass
                while not self._stop.is_set() and scheduled.publish_due(self.db, self.site):
                    pass
                if time.monotonic() >= next_cleanup:
                    removed = media.remove_unattached(self.db)
                    if removed:
                        log.info("removed %d unattached uploads older than a day", removed)
                    next_cleanup = time.monotonic() + self.cleanup_every
            except Exception:
                log.exception("background job failed; trying again in %.0f s", self.poll)
            self._wake.wait(self.poll)
