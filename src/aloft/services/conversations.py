"""Conversations: the direct posts an account is part of, as Mastodon's AccountConversation.

A conversation is one account's view of one thread of direct posts with one set of other
participants (a thread is known by its root status, `conversation_mutes.root_of`; the
participants are the post's author and mentioned accounts, less the account itself).

* A direct post adds itself to its author's conversation (marked read) and to each
  mentioned account's (marked unread, and so moved to the top: conversations are ordered
  and paged by their last status), in the post's own unit of work (`status_posted`). A
  mentioned account that does not get the mention notification (the author blocked either
  way, suspended, or muted with notifications: `visibility.silenced`) gets no conversation,
  as Mastodon adds it from its NotifyService.
* Deleting a post gives each conversation holding it its previous post as `last_status`, or
  removes the conversation when none is left (`holding`, `status_removed`).
* Each change emits a `conversation` event, which the `direct` stream of the conversation's
  account carries with the Conversation entity (`aloft.services.streaming`).
* Listing keeps the conversations whose last status the account may see in a listing
  (`visibility.visible_to`: blocks, mutes, suspensions).

Every write is safe to run twice: rows are unique by (account, thread, participants) and
(conversation, status); a rerun that finds them changes nothing it has not changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import NotFound
from aloft.services.auth import Viewer
from aloft.services.conversation_mutes import root_of
from aloft.services.loader import Bundle, load_accounts, load_statuses
from aloft.services.pages import Page, PageRequest
from aloft.services.visibility import silenced, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.events import emit
from aloft.storage.schema import conversation_statuses, conversations, statuses


def participant_ids(row: Row) -> list[int]:
    """The other participants of a conversation (empty: the account talks to itself)."""
    return [int(i) for i in orjson.loads(row.participants)]


def _changed(conn: Connection, conversation_id: int) -> None:
    emit(conn, {"k": "conversation", "id": conversation_id})


# -- inside the units of work of posting and deleting -----------------------------------------


def status_posted(
    conn: Connection, status_id: int, author: int, reply_to_id: int | None, mentioned: list[int]
) -> None:
    """Add a new direct status to the conversations of its author and of the accounts it
    mentions (see the module's docstring)."""
    thread = root_of(conn, reply_to_id) if reply_to_id is not None else status_id
    everyone = {author, *mentioned}
    recipients = [author] + [
        m for m in dict.fromkeys(mentioned) if m != author and not silenced(conn, m, author)
    ]
    for recipient in recipients:
        others = sorted(everyone - {recipient})
        listed = orjson.dumps(others).decode()
        key = hashlib.sha256(listed.encode()).hexdigest()
        unread = recipient != author
        insert_ignore(
            conn,
            conversations,
            {
                "id": ids.new_id(),
                "account_id": recipient,
                "thread_id": thread,
                "participants_key": key,
                "participants": listed,
                "last_status_id": status_id,
                "unread": unread,
            },
        )
        row = conn.execute(
            sa.select(conversations.c.id, conversations.c.last_status_id).where(
                conversations.c.account_id == recipient,
                conversations.c.thread_id == thread,
                conversations.c.participants_key == key,
            )
        ).one()
        insert_ignore(
            conn, conversation_statuses, {"conversation_id": row.id, "status_id": status_id}
        )
        conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == row.id)
            .values(last_status_id=max(row.last_status_id, status_id), unread=unread)
        )
        _changed(conn, row.id)


def holding(conn: Connection, status_id: int) -> list[int]:
    """The conversations that hold `status_id` (asked before it is deleted)."""
    return list(
        conn.execute(
            sa.select(conversation_statuses.c.conversation_id).where(
                conversation_statuses.c.status_id == status_id
            )
        ).scalars()
    )


def status_removed(conn: Connection, conversation_ids: Sequence[int]) -> None:
    """After a direct status was deleted (its rows in conversation_statuses went with it):
    each of `conversation_ids` gets its newest remaining status as the last one, or is
    removed when it holds none."""
    for conversation_id in conversation_ids:
        last = conn.execute(
            sa.select(sa.func.max(conversation_statuses.c.status_id)).where(
                conversation_statuses.c.conversation_id == conversation_id
            )
        ).scalar()
        if last is None:
            conn.execute(sa.delete(conversations).where(conversations.c.id == conversation_id))
            continue
        conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(last_status_id=last)
        )
        _changed(conn, conversation_id)


# -- use cases ---------------------------------------------------------------------------------


def bundle_for(conn: Connection, rows: Sequence[Row], me: int) -> Bundle:
    """What rendering these conversations needs: their last statuses as `me` sees them and
    every participant's account (`me`'s too, shown when it talks to itself)."""
    last = conn.execute(
        sa.select(statuses).where(statuses.c.id.in_([r.last_status_id for r in rows]))
    ).all()
    bundle = load_statuses(conn, last, me)
    load_accounts(conn, {me, *(i for r in rows for i in participant_ids(r))}, bundle)
    return bundle


def list_page(db: Database, viewer: Viewer, page: PageRequest) -> tuple[Page[Row], Bundle]:
    """The viewer's conversations, the one with the newest post first, paged by that post's
    id as Mastodon pages them."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        query = (
            sa.select(conversations)
            .join(statuses, statuses.c.id == conversations.c.last_status_id)
            .where(conversations.c.account_id == me, visible_to(me))
        )
        rows = page.finish(conn.execute(page.apply(query, conversations.c.last_status_id)).all())
        return Page.of(rows, [r.last_status_id for r in rows]), bundle_for(conn, rows, me)

    return db.read(unit)


def _own(conn: Connection, me: int, conversation_id: int) -> Row:
    row = conn.execute(
        sa.select(conversations).where(
            conversations.c.id == conversation_id, conversations.c.account_id == me
        )
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def mark_read(db: Database, viewer: Viewer, conversation_id: int) -> tuple[Row, Bundle]:
    """Mark one of the viewer's conversations read; return it. Idempotent."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> tuple[Row, Bundle]:
        _own(conn, me, conversation_id)
        conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(unread=False)
        )
        row = _own(conn, me, conversation_id)
        return row, bundle_for(conn, [row], me)

    return db.write(unit)


def remove(db: Database, viewer: Viewer, conversation_id: int) -> None:
    """Remove one of the viewer's conversations from their list (the statuses stay; a new
    post in the thread brings it back). A rerun after an unknown commit that did remove it
    succeeds rather than answer 404."""
    me = viewer.account_id
    assert me is not None
    found: list[bool] = []

    def unit(conn: Connection) -> None:
        removed = conn.execute(
            sa.delete(conversations).where(
                conversations.c.id == conversation_id, conversations.c.account_id == me
            )
        ).rowcount
        if not removed and not found:
            raise NotFound("Record not found")
        found.append(True)

    db.write(unit)
