"""Who may see a status. One rule, used everywhere a status can be read.

* public, unlisted: everyone (unlisted stays out of the public and tag timelines);
* private: the author, the author's followers and the accounts it mentions;
* direct: the author and the accounts it mentions.

A reblog row carries the visibility of what it reblogs (only public and unlisted statuses
can be reblogged), so the same rule applies to it.

Moderation and the viewer's own choices narrow that, for a status and for what a reblog
reblogs alike (as Mastodon's StatusPolicy and its feed filters):

* a suspended account's statuses are shown to nobody;
* an account that blocks the viewer is shown to them nowhere;
* in listings (`listing=True`: home, public, tag and list timelines, threads, search,
  streams) an account the viewer blocks or mutes is left out too. A status fetched by its
  id, an account's own statuses, favourites and bookmarks still show a muted (or blocked)
  account's status, as Mastodon shows them.

A mute with an expiry stops applying once it has passed: it is compared with the time of
the read, so no job has to remove it. Domain blocks hide nothing yet: every account is
local and has no domain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.storage.schema import accounts, blocks, follows, mentions, mutes, statuses

PUBLIC, UNLISTED, PRIVATE, DIRECT = 0, 1, 2, 3
NAMES = {PUBLIC: "public", UNLISTED: "unlisted", PRIVATE: "private", DIRECT: "direct"}
BY_NAME = {name: code for code, name in NAMES.items()}
# An account id, none (anonymous), or a parameter standing for one in a statement built
# once; `at` (the time mutes are compared with) may be a parameter too.
ViewerId = int | sa.BindParameter[int] | None


def _now() -> datetime:
    return datetime.now(UTC)


def muting(
    viewer_id: int | sa.BindParameter[int], at: datetime | sa.BindParameter[datetime] | None = None
) -> sa.ColumnElement[bool]:
    """The viewer's mutes that apply at `at` (now): those without an expiry or not past it.
    Either may be a parameter, for a statement built once (`visible_to`)."""
    return sa.and_(
        mutes.c.account_id == viewer_id,
        sa.or_(mutes.c.expires_at.is_(None), mutes.c.expires_at > (_now() if at is None else at)),
    )


def hidden_accounts(
    viewer_id: ViewerId, listing: bool = True, at: sa.BindParameter[datetime] | None = None
) -> sa.Select:
    """The ids of the accounts whose statuses `viewer_id` is not shown (see the module's
    docstring): suspended ones, those blocking the viewer and, in listings, those the
    viewer blocks or mutes."""
    parts: list[sa.Select] = [sa.select(accounts.c.id).where(accounts.c.suspended_at.is_not(None))]
    if viewer_id is not None:
        parts.append(sa.select(blocks.c.account_id).where(blocks.c.target_account_id == viewer_id))
        if listing:
            parts.append(
                sa.select(blocks.c.target_account_id).where(blocks.c.account_id == viewer_id)
            )
            parts.append(sa.select(mutes.c.target_account_id).where(muting(viewer_id, at)))
    return sa.union_all(*parts).subquery().select()


def silenced_senders(
    viewer_id: int | sa.BindParameter[int],
    at: datetime | sa.BindParameter[datetime] | None = None,
) -> sa.Select:
    """The ids of the accounts whose notifications `viewer_id` is not shown: suspended,
    blocked either way, or muted with their notifications (at `at`, else now)."""
    return (
        sa.union_all(
            sa.select(accounts.c.id).where(accounts.c.suspended_at.is_not(None)),
            sa.select(blocks.c.account_id).where(blocks.c.target_account_id == viewer_id),
            sa.select(blocks.c.target_account_id).where(blocks.c.account_id == viewer_id),
            sa.select(mutes.c.target_account_id).where(
                muting(viewer_id, at), mutes.c.notifications
            ),
        )
        .subquery()
        .select()
    )


# The statuses a reblog's original is looked up in. One alias for every query: making
# one sets up a copy of every column of `statuses`, a sixth of a GET /statuses/:id
# (issue 11). Each use is inside its own EXISTS, so sharing its name is harmless.
_ORIGINALS = statuses.alias("originals")


def visible_to(
    viewer_id: ViewerId,
    table: sa.Table = statuses,
    listing: bool = True,
    at: sa.BindParameter[datetime] | None = None,
) -> sa.ColumnElement[bool]:
    """A WHERE clause that keeps the rows of `table` (statuses) that `viewer_id` may see;
    with `listing`, also leaving out the accounts the viewer blocks or mutes."""
    hidden = hidden_accounts(viewer_id, listing, at)
    original = _ORIGINALS
    # A reblog is shown unless its original's author is hidden. Asked as NOT EXISTS of a
    # hidden original (a reblog's original always exists: deleting it deletes its reblogs),
    # not as EXISTS of a shown one, which PostgreSQL answered by listing every status whose
    # author is not hidden (1 ms of a 2.3 ms home page over 10,000 statuses; issue 11).
    shown = sa.and_(
        table.c.account_id.not_in(hidden),
        sa.or_(
            table.c.reblog_of_id.is_(None),
            ~sa.exists().where(
                original.c.id == table.c.reblog_of_id, original.c.account_id.in_(hidden)
            ),
        ),
    )
    open_ = table.c.visibility.in_((PUBLIC, UNLISTED))
    if viewer_id is None:
        return sa.and_(open_, shown)
    follower = sa.exists().where(
        follows.c.account_id == viewer_id, follows.c.target_account_id == table.c.account_id
    )
    mentioned = sa.exists().where(
        mentions.c.status_id == table.c.id, mentions.c.account_id == viewer_id
    )
    return sa.and_(
        sa.or_(
            open_,
            table.c.account_id == viewer_id,
            sa.and_(table.c.visibility == PRIVATE, follower),
            mentioned,
        ),
        shown,
    )


@dataclass
class Hidden:
    """For routing events one at a time (streams): per viewer, the accounts whose statuses
    (`statuses`, as in listings) and notifications (`notifications`) are not shown, and the
    suspended accounts among those asked about."""

    statuses: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    notifications: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    suspended: set[int] = field(default_factory=set)

    def hides_status(self, viewer: int, *authors: int) -> bool:
        return any(a in self.suspended or a in self.statuses[viewer] for a in authors)

    def hides_notification(self, viewer: int, sender: int) -> bool:
        return sender in self.suspended or sender in self.notifications[viewer]


def hidden_among(conn: Connection, viewers: Iterable[int], others: Iterable[int]) -> Hidden:
    """The rule above, for the pairs of `viewers` and `others` (authors, senders): two
    queries whatever their number."""
    out = Hidden()
    among, wanted = list(set(viewers)), list(set(others))
    if not among or not wanted:
        return out
    out.suspended = set(
        conn.execute(
            sa.select(accounts.c.id).where(
                accounts.c.id.in_(wanted), accounts.c.suspended_at.is_not(None)
            )
        ).scalars()
    )
    at = _now()
    pairs = sa.union_all(
        sa.select(
            blocks.c.account_id.label("viewer"),
            blocks.c.target_account_id.label("other"),
            sa.true().label("notes"),
        ).where(blocks.c.account_id.in_(among), blocks.c.target_account_id.in_(wanted)),
        sa.select(blocks.c.target_account_id, blocks.c.account_id, sa.true()).where(
            blocks.c.target_account_id.in_(among), blocks.c.account_id.in_(wanted)
        ),
        sa.select(mutes.c.account_id, mutes.c.target_account_id, mutes.c.notifications).where(
            mutes.c.account_id.in_(among),
            mutes.c.target_account_id.in_(wanted),
            sa.or_(mutes.c.expires_at.is_(None), mutes.c.expires_at > at),
        ),
    )
    for row in conn.execute(pairs):
        out.statuses[row.viewer].add(row.other)
        if row.notes:
            out.notifications[row.viewer].add(row.other)
    return out


def _silenced_query() -> sa.Select:
    me = sa.bindparam("me", type_=accounts.c.id.type)
    at = sa.bindparam("at", type_=mutes.c.expires_at.type)
    sender = sa.bindparam("sender", type_=accounts.c.id.type)
    return sa.select(sa.literal(1)).where(sender.in_(silenced_senders(me, at)))


# Built once: every notification asks it, inside the write (issue 11).
_SILENCED = _silenced_query()


def silenced(conn: Connection, viewer_id: int, sender_id: int) -> bool:
    """Whether `sender_id`'s notifications are not shown to `viewer_id` now (one query)."""
    params = {"me": viewer_id, "sender": sender_id, "at": _now()}
    return conn.execute(_SILENCED, params).first() is not None
