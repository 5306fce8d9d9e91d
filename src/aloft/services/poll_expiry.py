"""The end of polls: the `poll` notification to the author and every voter, once.

`end_expired` runs in each app's background job (`aloft.services.jobs`), in every replica:
it claims expired polls not yet `ended` (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two apps
never take the same one; SQLite has one writer at a time), writes the notifications and sets
`ended` in one transaction. The notifications are unique by their dedupe key besides, so a
rerun after an ambiguous commit writes none twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.services.auth import now
from aloft.services.notifications import notify, notify_keyed
from aloft.storage.database import Database
from aloft.storage.schema import poll_votes, polls

# How many ended polls one run notifies about before committing.
END_BATCH = 20


def end_expired(db: Database, batch: int = END_BATCH) -> int:
    """Notify the end of polls that have expired and were not yet notified: their author
    and everyone who voted get a `poll` notification, once. Returns how many polls ended.
    Safe with any number of app processes running it at once."""

    def unit(conn: Connection) -> int:
        query = (
            sa.select(polls.c.id, polls.c.status_id, polls.c.account_id)
            .where(polls.c.ended.is_(sa.false()), polls.c.expires_at <= now())
            .order_by(polls.c.expires_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        due = conn.execute(query).all()
        for poll in due:
            voters = conn.execute(
                sa.select(poll_votes.c.account_id).distinct().where(poll_votes.c.poll_id == poll.id)
            ).scalars()
            # The author is told too, from themselves as Mastodon writes it; `notify`
            # skips notifying oneself, so theirs goes by a key of its own.
            author, status_id = poll.account_id, poll.status_id
            notify_keyed(conn, author, author, "poll", status_id, f"{author}:{status_id}")
            for voter in voters:
                notify(conn, voter, author, "poll", status_id)
            conn.execute(sa.update(polls).where(polls.c.id == poll.id).values(ended=True))
        return len(due)

    return db.write(unit)
