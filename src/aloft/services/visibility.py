"""Who may see a status. One rule, used everywhere a status can be read.

* public, unlisted: everyone (unlisted stays out of the public and tag timelines);
* private: the author, the author's followers and the accounts it mentions;
* direct: the author and the accounts it mentions.

A reblog row carries the visibility of what it reblogs (only public and unlisted statuses
can be reblogged), so the same rule applies to it.
"""

from __future__ import annotations

import sqlalchemy as sa

from aloft.storage.schema import follows, mentions, statuses

PUBLIC, UNLISTED, PRIVATE, DIRECT = 0, 1, 2, 3
NAMES = {PUBLIC: "public", UNLISTED: "unlisted", PRIVATE: "private", DIRECT: "direct"}
BY_NAME = {name: code for code, name in NAMES.items()}


def visible_to(viewer_id: int | None, table: sa.Table = statuses) -> sa.ColumnElement[bool]:
    """A WHERE clause that keeps the rows of `table` (statuses) that `viewer_id` may see."""
    open_ = table.c.visibility.in_((PUBLIC, UNLISTED))
    if viewer_id is None:
        return open_
    follower = sa.exists().where(
        follows.c.account_id == viewer_id, follows.c.target_account_id == table.c.account_id
    )
    mentioned = sa.exists().where(
        mentions.c.status_id == table.c.id, mentions.c.account_id == viewer_id
    )
    return sa.or_(
        open_,
        table.c.account_id == viewer_id,
        sa.and_(table.c.visibility == PRIVATE, follower),
        mentioned,
    )
