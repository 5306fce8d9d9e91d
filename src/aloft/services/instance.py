"""Figures about this server for /api/v1/instance, /api/v2/instance and NodeInfo."""

from __future__ import annotations

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


def stats(db: Database) -> Stats:
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
