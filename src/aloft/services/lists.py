"""Lists: an account's named sets of the accounts it follows, each with its own timeline.

As Mastodon (checked in its ListsController, List and ListAccount models,
Lists::AccountsController, Accounts::ListsController and FeedManager#filter_from_list?):

* A list is its owner's alone: anyone else's list is not found (404), as is an unknown one.
* `title` is required (422 naming it); `replies_policy` is one of `REPLIES_POLICIES`
  (default `list`; anything else 422 naming it); `exclusive` defaults to false. At most
  `MAX_LISTS` lists per account (422).
* Members are accounts the owner follows, or the owner itself. An unknown account is 404;
  one the owner does not follow is 422 "Account must be a followed account", and a batch
  with one refusal adds none. Differences from Mastodon, both so that a write is safe to
  run twice (ARCHITECTURE.md, "The unit of work"): adding a member that is already on the
  list succeeds and changes nothing (Mastodon answers 422), and an account whose follow
  request is still pending cannot be added (Mastodon 4.3 takes it and shows its posts once
  the request is accepted), so membership never outlives a follow.
* A follow that ends (unfollow; a block, either way) takes the account out of the
  follower's lists (`forget`, called where follows are dropped), as Mastodon's ListAccount
  goes with its Follow.
* The list timeline (`aloft.services.timelines.list_timeline`) is the members' statuses
  and reblogs that the owner may see (`visible_to`: blocks, mutes, audience), with
  replies chosen by `replies_shown`. Members of an `exclusive` list are left out of the
  owner's home timeline and `user` stream (`exclusive_members`), as Mastodon 4.2+ does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.pages import Page, PageRequest
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import accounts, follows, list_accounts, lists, statuses

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 50


@dataclass(frozen=True)
class Changes:
    """What a create or update sets; None leaves a field as it is (or its default)."""

    title: str | None = None
    replies_policy: str | None = None
    exclusive: bool | None = None


def _me(viewer: Viewer) -> int:
    assert viewer.account_id is not None
    return viewer.account_id


def owned(conn: Connection, owner_id: int, list_id: int) -> Row:
    """The list `list_id` if `owner_id` owns it; NotFound otherwise (whoever owns it)."""
    row = conn.execute(
        sa.select(lists).where(lists.c.id == list_id, lists.c.account_id == owner_id)
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def _validate(changes: Changes, creating: bool) -> None:
    if (changes.title is not None or creating) and not (changes.title or "").strip():
        raise Invalid.on("title", "ERR_BLANK", "can't be blank")
    policy = changes.replies_policy
    if policy is not None and policy not in REPLIES_POLICIES:
        raise Invalid.on(
            "replies_policy",
            "ERR_INCLUSION",
            f"must be one of {', '.join(REPLIES_POLICIES)}",
            label="Replies policy",
        )


def owns(db: Database, viewer: Viewer, list_id: int) -> bool:
    """Whether the viewer owns the list `list_id` (a list stream is its owner's alone)."""
    me = _me(viewer)
    query = sa.select(lists.c.id).where(lists.c.id == list_id, lists.c.account_id == me)
    return db.read(lambda conn: conn.execute(query).first() is not None)


def index(db: Database, viewer: Viewer) -> list[Row]:
    """The viewer's lists, oldest first (as Mastodon lists them: by id)."""
    me = _me(viewer)
    query = sa.select(lists).where(lists.c.account_id == me).order_by(lists.c.id)
    return db.read(lambda conn: list(conn.execute(query).all()))


def show(db: Database, viewer: Viewer, list_id: int) -> Row:
    me = _me(viewer)
    return db.read(lambda conn: owned(conn, me, list_id))


def create(db: Database, viewer: Viewer, changes: Changes) -> Row:
    """A new list. Its id is drawn before the first attempt, so a rerun after an ambiguous
    commit finds the list that attempt made and returns it."""
    me = _me(viewer)
    _validate(changes, creating=True)
    list_id, at = ids.new_id(), now()
    values = {
        "id": list_id,
        "account_id": me,
        "title": (changes.title or "").strip(),
        "replies_policy": changes.replies_policy or "list",
        "exclusive": bool(changes.exclusive),
        "created_at": at,
    }

    def unit(conn: Connection) -> Row:
        mine = sa.select(sa.func.count()).select_from(lists).where(lists.c.account_id == me)
        if conn.execute(mine.where(lists.c.id != list_id)).scalar_one() >= MAX_LISTS:
            raise Invalid(f"Validation failed: You have reached the maximum of {MAX_LISTS} lists")
        insert_ignore(conn, lists, values)
        return owned(conn, me, list_id)

    return db.write(unit)


def update(db: Database, viewer: Viewer, list_id: int, changes: Changes) -> Row:
    """Set the fields `changes` gives; the others stay. Setting is idempotent."""
    me = _me(viewer)
    _validate(changes, creating=False)
    values: dict[str, object] = {}
    if changes.title is not None:
        values["title"] = changes.title.strip()
    if changes.replies_policy is not None:
        values["replies_policy"] = changes.replies_policy
    if changes.exclusive is not None:
        values["exclusive"] = changes.exclusive

    def unit(conn: Connection) -> Row:
        owned(conn, me, list_id)
        if values:
            conn.execute(sa.update(lists).where(lists.c.id == list_id).values(**values))
        return owned(conn, me, list_id)

    return db.write(unit)


def delete(db: Database, viewer: Viewer, list_id: int) -> None:
    """Delete a list and its memberships. A rerun after an ambiguous commit that did delete
    it succeeds rather than answer 404."""
    me = _me(viewer)
    seen: list[bool] = []

    def unit(conn: Connection) -> None:
        try:
            owned(conn, me, list_id)
        except NotFound:
            if seen:
                return
            raise
        seen.append(True)
        conn.execute(sa.delete(list_accounts).where(list_accounts.c.list_id == list_id))
        conn.execute(sa.delete(lists).where(lists.c.id == list_id))

    db.write(unit)


def members(db: Database, viewer: Viewer, list_id: int, page: PageRequest | None) -> Page[Row]:
    """A list's members (suspended accounts left out, as Mastodon), paged by account id;
    with no `page`, all of them (Mastodon's limit=0)."""
    me = _me(viewer)
    query = (
        sa.select(accounts)
        .join(list_accounts, list_accounts.c.account_id == accounts.c.id)
        .where(list_accounts.c.list_id == list_id, accounts.c.suspended_at.is_(None))
    )

    def unit(conn: Connection) -> Page[Row]:
        owned(conn, me, list_id)
        if page is None:
            rows = list(conn.execute(query.order_by(accounts.c.id.desc())).all())
            return Page(rows, None, None)
        rows = page.finish(conn.execute(page.apply(query, accounts.c.id)).all())
        return Page.of(rows, [r.id for r in rows])

    return db.read(unit)


def _require(account_ids: list[int]) -> None:
    if not account_ids:
        raise Invalid.on("account_ids", "ERR_BLANK", "can't be blank", label="Account ids")


def add_members(db: Database, viewer: Viewer, list_id: int, account_ids: list[int]) -> None:
    """Add accounts the viewer follows (or the viewer) to its list. All or none: an unknown
    account is NotFound, one not followed Invalid, and then nothing is added. Adding a
    member again changes nothing."""
    me = _me(viewer)
    wanted = sorted(set(account_ids))

    def unit(conn: Connection) -> None:
        owned(conn, me, list_id)  # an unknown list is 404 before anything else, as Mastodon
        _require(account_ids)
        known = set(
            conn.execute(sa.select(accounts.c.id).where(accounts.c.id.in_(wanted))).scalars()
        )
        if known != set(wanted):
            raise NotFound("Record not found")
        followed = set(
            conn.execute(
                sa.select(follows.c.target_account_id).where(
                    follows.c.account_id == me, follows.c.target_account_id.in_(wanted)
                )
            ).scalars()
        )
        if set(wanted) - followed - {me}:
            raise Invalid.on(
                "account_id", "ERR_INVALID", "must be a followed account", label="Account"
            )
        for account_id in wanted:
            insert_ignore(conn, list_accounts, {"list_id": list_id, "account_id": account_id})

    db.write(unit)


def remove_members(db: Database, viewer: Viewer, list_id: int, account_ids: list[int]) -> None:
    """Take accounts off the viewer's list; those not on it are passed over (as Mastodon)."""
    me = _me(viewer)

    def unit(conn: Connection) -> None:
        owned(conn, me, list_id)  # an unknown list is 404 before anything else, as Mastodon
        _require(account_ids)
        conn.execute(
            sa.delete(list_accounts).where(
                list_accounts.c.list_id == list_id,
                list_accounts.c.account_id.in_(sorted(set(account_ids))),
            )
        )

    db.write(unit)


def containing(db: Database, viewer: Viewer, account_id: int) -> list[Row]:
    """The viewer's lists that `account_id` is on (none for a suspended account, as
    Mastodon); NotFound for an unknown account."""
    me = _me(viewer)

    def unit(conn: Connection) -> list[Row]:
        target = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        if target is None:
            raise NotFound("Record not found")
        if target.suspended_at is not None:
            return []
        query = (
            sa.select(lists)
            .join(list_accounts, list_accounts.c.list_id == lists.c.id)
            .where(lists.c.account_id == me, list_accounts.c.account_id == account_id)
            .order_by(lists.c.id)
        )
        return list(conn.execute(query).all())

    return db.read(unit)


def forget(conn: Connection, owner_id: int, account_id: int) -> None:
    """`account_id` leaves `owner_id`'s lists: called in the unit of work that drops the
    follow between them. The owner on its own lists stays (no follow is behind that)."""
    if owner_id == account_id:
        return
    conn.execute(
        sa.delete(list_accounts).where(
            list_accounts.c.account_id == account_id,
            list_accounts.c.list_id.in_(
                sa.select(lists.c.id).where(lists.c.account_id == owner_id)
            ),
        )
    )


# -- the rules the timelines and streams apply --------------------------------------------


def member_ids(list_id: int) -> sa.Select:
    """The ids of a list's members, as a subquery."""
    return sa.select(list_accounts.c.account_id).where(list_accounts.c.list_id == list_id)


def exclusive_members(owner_id: int) -> sa.Select:
    """The ids of the accounts on `owner_id`'s exclusive lists, as a subquery (their
    statuses stay out of the owner's home timeline)."""
    return (
        sa.select(list_accounts.c.account_id)
        .join(lists, lists.c.id == list_accounts.c.list_id)
        .where(lists.c.account_id == owner_id, lists.c.exclusive)
    )


def replies_shown(row: Row) -> sa.ColumnElement[bool]:
    """Which statuses the list `row` shows, as far as replies go (FeedManager's rule): not
    a reply, a reply to its own author or to the list's owner, and otherwise by the
    policy: `followed` a reply to an account the owner follows, `list` to a member, `none`
    no other reply."""
    to = statuses.c.in_reply_to_account_id
    allowed: list[sa.ColumnElement[bool]] = [
        statuses.c.in_reply_to_id.is_(None),
        to.is_(None),
        to == statuses.c.account_id,
        to == row.account_id,
    ]
    if row.replies_policy == "followed":
        allowed.append(
            to.in_(
                sa.select(follows.c.target_account_id).where(follows.c.account_id == row.account_id)
            )
        )
    elif row.replies_policy == "list":
        allowed.append(to.in_(member_ids(row.id)))
    return sa.or_(*allowed)


def reply_shown(row: Row, author: int, reply_to: int | None, followed: bool, member: bool) -> bool:
    """`replies_shown` for one status (the streams' routing): `reply_to` is the account
    it replies to (None if not a reply), `followed`/`member` whether the owner follows that
    account / it is on the list."""
    if reply_to is None or reply_to in (author, row.account_id):
        return True
    if row.replies_policy == "followed":
        return followed
    if row.replies_policy == "list":
        return member
    return False


@dataclass
class Routing:
    """The lists' part of routing one batch of events to streams (`aloft.services.streaming`):
    the subscribed lists (`lists`, id → row), their members, the members of each viewer's
    exclusive lists, and which of the accounts replied to each list owner follows."""

    lists: dict[int, Row] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    exclusive: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    followed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def leaves_home(self, viewer: int, author: int) -> bool:
        """Whether `author`'s statuses stay off the viewer's `user` stream, as off home."""
        return author != viewer and author in self.exclusive[viewer]

    def shows(self, viewer: int, list_id: int, author: int, reply_to: int | None) -> bool:
        """Whether the list's stream shows a status of `author` replying to `reply_to`
        (None: not a reply) to `viewer`, who must own the list."""
        row = self.lists.get(list_id)
        if row is None or row.account_id != viewer or author not in self.members[list_id]:
            return False
        followed, member = reply_to in self.followed[viewer], reply_to in self.members[list_id]
        return reply_shown(row, author, reply_to, followed, member)


def routing(
    conn: Connection, audience: Mapping[int, Iterable[tuple[str, str | None]]], replied_to: set[int]
) -> Routing:
    """The `Routing` for viewers subscribed to `audience`'s streams (viewer → streams):
    at most three queries, none when no viewer has a `user` or `list` stream."""
    out = Routing()
    wanted = {
        int(param)
        for streams in audience.values()
        for name, param in streams
        if name == "list" and param is not None
    }
    home = [v for v, streams in audience.items() if ("user", None) in streams]
    found: list[sa.ColumnElement[bool]] = []
    if wanted:
        found.append(lists.c.id.in_(sorted(wanted)))
    if home:
        found.append(sa.and_(lists.c.account_id.in_(home), lists.c.exclusive))
    if not found:
        return out
    rows = {r.id: r for r in conn.execute(sa.select(lists).where(sa.or_(*found)))}
    if not rows:
        return out
    out.lists = {i: r for i, r in rows.items() if i in wanted and r.account_id in audience}
    for m in conn.execute(sa.select(list_accounts).where(list_accounts.c.list_id.in_(rows))):
        out.members[m.list_id].add(m.account_id)
        row = rows[m.list_id]
        if row.exclusive and row.account_id in home:
            out.exclusive[row.account_id].add(m.account_id)
    owners = {r.account_id for r in out.lists.values() if r.replies_policy == "followed"}
    if owners and replied_to:
        for f in conn.execute(
            sa.select(follows.c.account_id, follows.c.target_account_id).where(
                follows.c.account_id.in_(owners), follows.c.target_account_id.in_(replied_to)
            )
        ):
            out.followed[f.account_id].add(f.target_account_id)
    return out
