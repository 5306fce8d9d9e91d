"""Markers: where an account last read its home timeline and its notifications.

`save` sets `last_read_id` and raises `version` by one only when the id really changes, as
Mastodon's optimistic lock counter moves only on a real update. That also makes the unit of
work safe to run twice: a rerun after an ambiguous commit finds the id already set and
changes nothing, so the version is not raised twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.errors import Invalid
from aloft.services.auth import Viewer, now
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import markers

TIMELINES = ("home", "notifications")


@dataclass(frozen=True)
class Marker:
    timeline: str
    last_read_id: int
    version: int
    updated_at: datetime


def _read(conn: Connection, me: int, timelines: Sequence[str]) -> dict[str, Marker]:
    rows = conn.execute(
        sa.select(markers).where(markers.c.account_id == me, markers.c.timeline.in_(timelines))
    )
    found = {r.timeline: Marker(r.timeline, r.last_read_id, r.version, r.updated_at) for r in rows}
    return {t: found[t] for t in TIMELINES if t in found}


def get(db: Database, viewer: Viewer, timelines: Sequence[str]) -> dict[str, Marker]:
    """The viewer's markers for the timelines named; unknown names are left out (an empty
    list gives an empty answer, as in Mastodon)."""
    me = viewer.account_id
    assert me is not None
    wanted = [t for t in timelines if t in TIMELINES]
    if not wanted:
        return {}
    return db.read(lambda conn: _read(conn, me, wanted))


def save(db: Database, viewer: Viewer, positions: Mapping[str, int]) -> dict[str, Marker]:
    """Set the viewer's position in each timeline given; answers the markers set."""
    me = viewer.account_id
    assert me is not None
    unknown = [t for t in positions if t not in TIMELINES]
    if unknown:
        raise Invalid(f"Unknown timeline: {', '.join(sorted(unknown))} (home, notifications)")
    if not positions:
        raise Invalid("Give home[last_read_id] or notifications[last_read_id]")

    def unit(conn: Connection) -> dict[str, Marker]:
        at = now()
        for timeline, last_read_id in positions.items():
            created = insert_ignore(
                conn,
                markers,
                {
                    "account_id": me,
                    "timeline": timeline,
                    "last_read_id": last_read_id,
                    "version": 0,
                    "updated_at": at,
                },
            )
            if not created:
                conn.execute(
                    sa.update(markers)
                    .where(
                        markers.c.account_id == me,
                        markers.c.timeline == timeline,
                        markers.c.last_read_id != last_read_id,
                    )
                    .values(last_read_id=last_read_id, version=markers.c.version + 1, updated_at=at)
                )
        return _read(conn, me, list(positions))

    return db.write(unit)
