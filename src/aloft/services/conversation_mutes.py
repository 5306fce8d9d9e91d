"""Conversation mutes: an account stops being notified about a thread.

A thread is known by its root (the status it all replies to). Muting any status mutes its
whole thread, as Mastodon mutes a conversation; replies, favourites, reblogs and edits in it
then notify the muter no more (`aloft.services.notifications.notify` asks `conversation_muted`).
Mute and unmute are idempotent: the row is unique per (account, root).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.storage.database import insert_ignore
from aloft.storage.schema import conversation_mutes, statuses
from aloft.storage.statement import Among, Statement

# A thread deeper than this is cut there (as the context view does).
MAX_DEPTH = 40


def _up(start: Sequence[int] | sa.ColumnElement[bool]) -> sa.CTE:
    """(start, id): each status in `start` with itself and its ancestors, root included.
    `start` is the ids, or a condition on `statuses.id` (a statement built once)."""
    among = start if isinstance(start, sa.ColumnElement) else statuses.c.id.in_(list(start))
    up = (
        sa.select(
            statuses.c.id.label("start"),
            statuses.c.id,
            statuses.c.in_reply_to_id,
            sa.literal(0).label("depth"),
        )
        .where(among)
        .cte("up", recursive=True)
    )
    return up.union_all(
        sa.select(up.c.start, statuses.c.id, statuses.c.in_reply_to_id, up.c.depth + 1)
        .join(up, statuses.c.id == up.c.in_reply_to_id)
        .where(up.c.depth < MAX_DEPTH)
    )


def root_of(conn: Connection, status_id: int) -> int:
    """The root of the thread `status_id` is in (itself if it replies to nothing we have)."""
    up = _up([status_id])
    found = conn.execute(
        sa.select(up.c.id).order_by(up.c.depth.desc()).limit(1)
    ).scalar_one_or_none()
    return int(found) if found is not None else status_id


def muted_among_query(among: Among) -> sa.Select:
    """The ids (`start`) among the list parameter `ids` whose thread the account `me` muted
    (a query of its own, and part of the loader's facts query)."""
    up = _up(among(statuses.c.id, "ids"))
    return (
        sa.select(up.c.start)
        .distinct()
        .join(
            conversation_mutes,
            sa.and_(
                conversation_mutes.c.status_id == up.c.id,
                conversation_mutes.c.account_id == sa.bindparam("me"),
            ),
        )
    )


_MUTED_AMONG = Statement(muted_among_query)  # built once: it is asked on every page


def muted_among(conn: Connection, account_id: int, status_ids: Sequence[int]) -> set[int]:
    """Those of `status_ids` whose thread `account_id` muted: one query."""
    if not status_ids:
        return set()
    found = conn.execute(_MUTED_AMONG.on(conn), {"me": account_id, "ids": list(status_ids)})
    return set(found.scalars())


def conversation_muted(conn: Connection, account_id: int, status_id: int) -> bool:
    return status_id in muted_among(conn, account_id, [status_id])


def mute(conn: Connection, account_id: int, status_id: int) -> None:
    root = root_of(conn, status_id)
    insert_ignore(conn, conversation_mutes, {"account_id": account_id, "status_id": root})


def unmute(conn: Connection, account_id: int, status_id: int) -> None:
    """Every mute on this thread goes (one on the root, or on any of its ancestors)."""
    up = _up([status_id])
    conn.execute(
        sa.delete(conversation_mutes).where(
            conversation_mutes.c.account_id == account_id,
            conversation_mutes.c.status_id.in_(sa.select(up.c.id)),
        )
    )
