"""Figures about this server for /api/v1/instance, /api/v2/instance and NodeInfo."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.services.auth import now
from aloft.storage.database import Database
from aloft.storage.schema import accounts


@dataclass(frozen=True)
class Stats:
    users: int
    active_month: int
    statuses: int


# How long one count stands. Every app asks for /api/v1/instance, most on every start, and
# counting was 80 % of that request (issue 11); a figure a minute old is what Mastodon's
# own cached counts show too.
STATS_SECONDS = 60.0
_counted: weakref.WeakKeyDictionary[Database, tuple[float, Stats]] = weakref.WeakKeyDictionary()


def forget(db: Database) -> None:
    """Count again at the next ask: called by this process after it creates an account or
    a status, so that whoever just did sees it counted (another process may show the old
    figure for up to STATS_SECONDS)."""
    _counted.pop(db, None)


def stats(db: Database) -> Stats:
    """This server's users, users active in the last 30 days and statuses, counted at most
    once every STATS_SECONDS per Database (so per process)."""
    at = time.monotonic()
    counted = _counted.get(db)
    if counted is not None and at - counted[0] < STATS_SECONDS:
        return counted[1]
    found = _count(db)
    _counted[db] = (at, found)
    return found


def _count(db: Database) -> Stats:
    month_ago = now() - timedelta(days=30)

    def unit(conn: Connection) -> Stats:
        users, active = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.count().filter(accounts.c.last_status_at >= month_ago),
            ).select_from(accounts)
        ).one()
        posts = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(accounts.c.statuses_count), 0))
        ).scalar_one()
        return Stats(users, active, int(posts))

    return db.read(unit)
