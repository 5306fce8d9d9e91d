"""Polls: made with a status, read, voted in, and ended.

Limits are Mastodon's defaults and are what the instance configuration advertises
(`configuration.polls`): 2 to 4 options of at most 50 characters, open 5 minutes to
30 days. A poll and media attachments on one status are refused, as Mastodon does.

Every write is a unit of work that may run twice (docs/ARCHITECTURE.md):
* a vote is unique per (poll, account, choice); a rerun that finds the account's votes
  equal to its choices answers as the first run did, and counters move only when the votes
  were really added;
* the end of a poll is noticed by `aloft.services.poll_expiry` (the background job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import BadRequest, Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.visibility import visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import poll_options, poll_votes, polls, statuses

MIN_OPTIONS = 2
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # seconds
MAX_EXPIRATION = 30 * 24 * 3600


@dataclass(frozen=True)
class NewPoll:
    options: tuple[str, ...]
    expires_in: int | None
    multiple: bool = False
    hide_totals: bool = False


@dataclass
class PollView:
    """A poll with its options, and the viewer's choices (None: no viewer)."""

    row: Row
    options: list[Row]
    own_votes: list[int] | None
    viewer_id: int | None = None


def validate(poll: NewPoll) -> None:
    """Invalid (422, naming the field) unless the poll keeps the advertised limits."""
    if len(poll.options) < MIN_OPTIONS:
        raise Invalid.on("poll", "ERR_TOO_FEW", f"must have at least {MIN_OPTIONS} options", "Poll")
    if len(poll.options) > MAX_OPTIONS:
        raise Invalid.on(
            "poll", "ERR_TOO_MANY", f"can't contain more than {MAX_OPTIONS} items", "Poll"
        )
    for option in poll.options:
        if not option.strip():
            raise Invalid.on("poll", "ERR_BLANK", "options can't be blank", "Poll")
        if len(option) > MAX_OPTION_CHARS:
            raise Invalid.on(
                "poll",
                "ERR_TOO_LONG",
                f"can't contain items longer than {MAX_OPTION_CHARS} characters",
                "Poll",
            )
    if len(set(poll.options)) != len(poll.options):
        raise Invalid.on("poll", "ERR_DUPLICATE", "options can't contain duplicates", "Poll")
    if poll.expires_in is None:
        raise Invalid.on("poll[expires_in]", "ERR_BLANK", "can't be blank")
    if not MIN_EXPIRATION <= poll.expires_in <= MAX_EXPIRATION:
        raise Invalid.on(
            "poll[expires_in]",
            "ERR_INVALID",
            f"must be between {MIN_EXPIRATION} and {MAX_EXPIRATION} seconds",
        )


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def expired(row: Row) -> bool:
    return _aware(row.expires_at) <= now()


def write(conn: Connection, poll_id: int, status_id: int, me: int, poll: NewPoll) -> None:
    """Insert a new poll for `status_id` (inside the status's unit of work)."""
    assert poll.expires_in is not None
    conn.execute(
        sa.insert(polls).values(
            id=poll_id,
            status_id=status_id,
            account_id=me,
            multiple=poll.multiple,
            hide_totals=poll.hide_totals,
            expires_at=now() + timedelta(seconds=poll.expires_in),
        )
    )
    conn.execute(
        sa.insert(poll_options),
        [{"poll_id": poll_id, "position": i, "title": t} for i, t in enumerate(poll.options)],
    )
    conn.execute(sa.update(statuses).where(statuses.c.id == status_id).values(poll_id=poll_id))


def replace(conn: Connection, poll_id: int, poll: NewPoll) -> None:
    """An edit that changes a poll's options or kind: the votes so far are void (Mastodon
    resets them too); the expiry is counted again from now."""
    assert poll.expires_in is not None
    conn.execute(sa.delete(poll_votes).where(poll_votes.c.poll_id == poll_id))
    conn.execute(sa.delete(poll_options).where(poll_options.c.poll_id == poll_id))
    conn.execute(
        sa.update(polls)
        .where(polls.c.id == poll_id)
        .values(
            multiple=poll.multiple,
            hide_totals=poll.hide_totals,
            expires_at=now() + timedelta(seconds=poll.expires_in),
            votes_count=0,
            voters_count=0,
            ended=False,
        )
    )
    conn.execute(
        sa.insert(poll_options),
        [{"poll_id": poll_id, "position": i, "title": t} for i, t in enumerate(poll.options)],
    )


def restart(conn: Connection, poll_id: int, poll: NewPoll) -> None:
    """An edit that keeps a poll's options and kind: its votes stay; its end and whether
    totals are hidden are as the edit says (the end counted from now, as Mastodon)."""
    assert poll.expires_in is not None
    conn.execute(
        sa.update(polls)
        .where(polls.c.id == poll_id)
        .values(
            hide_totals=poll.hide_totals,
            expires_at=now() + timedelta(seconds=poll.expires_in),
            ended=False,
        )
    )


def for_statuses(
    conn: Connection, poll_ids: Sequence[int], viewer_id: int | None
) -> dict[int, PollView]:
    """Polls by id with their options (one query) and the viewer's votes (one more):
    what `aloft.services.loader` adds to a page that has polls."""
    out: dict[int, PollView] = {}
    if not poll_ids:
        return out
    query = (
        sa.select(
            polls,
            poll_options.c.position,
            poll_options.c.title,
            poll_options.c.votes_count.label("option_votes"),
        )
        .join(poll_options, poll_options.c.poll_id == polls.c.id)
        .where(polls.c.id.in_(poll_ids))
        .order_by(polls.c.id, poll_options.c.position)
    )
    for row in conn.execute(query):
        view = out.setdefault(row.id, PollView(row, [], None, viewer_id))
        view.options.append(row)
    if viewer_id is not None and out:
        for view in out.values():
            view.own_votes = []
        votes = sa.select(poll_votes.c.poll_id, poll_votes.c.choice).where(
            poll_votes.c.account_id == viewer_id, poll_votes.c.poll_id.in_(list(out))
        )
        for vote in conn.execute(votes.order_by(poll_votes.c.choice)):
            own = out[vote.poll_id].own_votes
            assert own is not None
            own.append(vote.choice)
    return out


def _visible_poll(conn: Connection, viewer_id: int | None, poll_id: int) -> Row:
    """The poll, if the viewer may see its status; otherwise NotFound, as for the status."""
    row = conn.execute(
        sa.select(polls)
        .join(statuses, statuses.c.id == polls.c.status_id)
        .where(polls.c.id == poll_id, visible_to(viewer_id))
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def get(db: Database, viewer: Viewer, poll_id: int) -> PollView:
    def unit(conn: Connection) -> PollView:
        row = _visible_poll(conn, viewer.account_id, poll_id)
        return for_statuses(conn, [row.id], viewer.account_id)[row.id]

    return db.read(unit)


def vote(db: Database, viewer: Viewer, poll_id: int, choices: Sequence[int] | None) -> PollView:
    """Vote in a poll the viewer may see and did not make, before it ends: one choice, or
    several distinct ones on a multiple-choice poll. A second vote is refused (422); a rerun
    of this very vote (the same choices already recorded) answers as the first run did.
    `choices` None: the parameter was missing (400, once the poll is found: 404 first)."""
    me = viewer.account_id
    assert me is not None
    wanted = sorted(set(choices or ()))
    vote_ids = [ids.new_id() for _ in wanted]

    def unit(conn: Connection) -> PollView:
        row = _visible_poll(conn, me, poll_id)
        if choices is None:
            raise BadRequest("Missing required parameter: choices")
        if not wanted:
            raise Invalid.on("choices", "ERR_BLANK", "can't be blank")
        mine = sorted(
            conn.execute(
                sa.select(poll_votes.c.choice).where(
                    poll_votes.c.poll_id == row.id, poll_votes.c.account_id == me
                )
            ).scalars()
        )
        if mine and mine == wanted:
            return for_statuses(conn, [row.id], me)[row.id]  # an earlier run committed
        if mine:
            raise Invalid("Validation failed: You have already voted on this poll")
        if expired(row):
            raise Invalid("Validation failed: The poll has already ended")
        if row.account_id == me:
            raise Invalid("Validation failed: You cannot vote in your own poll")
        if len(wanted) > 1 and not row.multiple:
            raise Invalid("Validation failed: This poll allows one choice only")
        count = conn.execute(
            sa.select(sa.func.count()).where(poll_options.c.poll_id == row.id)
        ).scalar_one()
        if any(not 0 <= c < count for c in wanted):
            raise Invalid("Validation failed: Choice is not an option of this poll")
        at = now()
        added = 0
        for vote_id, choice in zip(vote_ids, wanted, strict=True):
            added += insert_ignore(
                conn,
                poll_votes,
                {
                    "id": vote_id,
                    "poll_id": row.id,
                    "account_id": me,
                    "choice": choice,
                    "created_at": at,
                },
            )
        if added:
            conn.execute(
                sa.update(poll_options)
                .where(poll_options.c.poll_id == row.id, poll_options.c.position.in_(wanted))
                .values(votes_count=poll_options.c.votes_count + 1)
            )
            conn.execute(
                sa.update(polls)
                .where(polls.c.id == row.id)
                .values(
                    votes_count=polls.c.votes_count + added, voters_count=polls.c.voters_count + 1
                )
            )
        return for_statuses(conn, [row.id], me)[row.id]

    return db.write(unit)
