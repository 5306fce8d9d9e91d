"""What went wrong with a database attempt, and whether trying again is safe.

The data layer retries a unit of work (see `database.Database.write`) only for failures
that a failover or restart explains, where a fresh connection may well succeed:

* the connection was refused, reset or lost (server crash, network partition, failover);
* the server is shutting down or starting up (57P01, 57P02, 57P03);
* the server is read-only (25006): a demoted primary, or a standby that HAProxy or libpq
  picked a moment before promotion finished;
* our own per-attempt deadline expired (a frozen server still completes TCP handshakes, so
  only a client-side clock notices) and we dropped the connection;
* PostgreSQL cancelled a COMMIT's wait for the synchronous standby and said so only in a
  WARNING: the commit is local to a server that may be about to lose it, so the outcome is
  unknown;
* serialization failures and deadlocks (40001, 40P01), and a locked SQLite file;
* the server says it is a primary but is on an older timeline than one this process has
  already written to: a deposed primary that has not noticed yet (`StalePrimary`);
* the unit of work itself asks to be run again (`RunAgain`): its write met a twin that
  committed first (a unique violation where the rerun will find that twin and return it),
  or it drew an ID another row holds. This is the only way a service retries anything.

Any of these may have hit during COMMIT, in which case the write may or may not have
happened (an ambiguous commit). That is safe only because every unit of work is idempotent:
the retry finds the first attempt's rows and returns the same answer.

Everything else (constraint violations the unit did not turn into `RunAgain`, bad SQL, data
errors) is a bug or a real conflict and is raised at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

T = TypeVar("T")

RETRYABLE_SQLSTATES = {
    "25006": "server is read-only",
    "57P01": "server is shutting down",
    "57P02": "server crashed",
    "57P03": "server is starting up",
    "40001": "serialization failure",
    "40P01": "deadlock",
    "55000": "server is in recovery",  # e.g. functions refused on a standby
}

SYNC_REP_CANCELLED = "canceling wait for synchronous replication"


class AttemptTimeout(Exception):
    """Our per-attempt deadline expired and we dropped the connection."""


class CommitUnconfirmed(Exception):
    """The server confirmed COMMIT only with a warning that the synchronous standby may
    not have it: treat as an unknown outcome."""


class StalePrimary(Exception):
    """A new connection reached a server that runs as primary on an older timeline than the
    newest this process has seen: an old primary that has not yet learned it was replaced
    (a frozen node just thawed, a partition just healed). Its data is stale, and Patroni
    will demote it within moments; the connection is refused and the attempt retried."""


class RunAgain(Exception):
    """Raised by a unit of work that wants to be run again from the start: it met a twin of
    its own write that committed first (an earlier attempt whose outcome it never learnt,
    still in flight when this attempt began, or a concurrent request with the same key), or
    it drew an ID that another row already holds. The rerun is one more attempt of the same
    `Database.write`: same deadline, and fenced like every later attempt."""


RUN_AGAIN = "the unit of work asked to run again"


def is_unique_violation(exc: BaseException) -> bool:
    """Whether `exc` is a unique-constraint violation (PostgreSQL 23505, or SQLite's
    "UNIQUE constraint failed"), as opposed to any other integrity error (foreign key,
    not-null, check), which no rerun can mend."""
    if not isinstance(exc, sa_exc.IntegrityError):
        return False
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    return "unique constraint failed" in str(exc.orig).lower()


# A twin is found by the rerun after the unique violation it caused (at most one more if it
# was still in flight); more violations than this are not a twin but a bug.
MAX_TWIN_RERUNS = 3


def rerun_after_twin(unit: Callable[[Connection], T]) -> Callable[[Connection], T]:
    """`unit`, asking `Database.write` to run it again (same deadline, fenced) when it meets
    a unique violation: a twin of its write committed first (an earlier attempt whose
    outcome was never learnt and that was still in flight, or a concurrent request with the
    same key or name), and the rerun finds it. More violations than a twin explains are a
    bug and are raised as they are."""
    twins = [0]

    def attempt(conn: Connection) -> T:
        try:
            return unit(conn)
        except sa_exc.IntegrityError as exc:
            twins[0] += 1
            if not is_unique_violation(exc) or twins[0] > MAX_TWIN_RERUNS:
                raise
            raise RunAgain("a twin of this write committed first") from exc

    return attempt


def retry_reason(exc: BaseException) -> str | None:
    """Why `exc` is worth a retry on a fresh connection, or None if it is not."""
    if isinstance(exc, RunAgain):
        return RUN_AGAIN
    if isinstance(exc, StalePrimary):
        return "deposed primary"
    if isinstance(exc, AttemptTimeout):
        return "attempt deadline passed"
    if isinstance(exc, CommitUnconfirmed):
        return "commit not confirmed by the synchronous standby"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return RETRYABLE_SQLSTATES[sqlstate]
    if sqlstate and sqlstate.startswith("08"):
        return "connection failure"
    if exc.connection_invalidated:
        return "connection lost"
    if isinstance(exc, sa_exc.OperationalError):
        message = str(orig).lower()
        if "database is locked" in message or "database is busy" in message:
            return "database is locked"
        if sqlstate is None and not isinstance(orig, sqlite3.Error):
            # psycopg raises OperationalError without SQLSTATE for transport failures:
            # refused, reset, closed unexpectedly, consuming input failed. (sqlite3's
            # OperationalError has no SQLSTATE either, but there it means a bad statement
            # or a missing table: nothing a retry fixes.)
            return "connection failure"
    if isinstance(exc, sa_exc.InterfaceError):
        return "connection closed"
    return None
