"""Accounts: registration, profiles, follows, follow requests and relationships.

A follow of a locked account is a follow request (`follow_requests`) until the target
authorizes it (it becomes a follow) or rejects it (it is deleted); the requester is not a
follower meanwhile, so the visibility rule (`aloft.services.visibility`) keeps the target's
private posts from them. Every write here is safe to run twice (see ARCHITECTURE.md, "The
unit of work"): rows are unique by the pair they relate and counters move only when a row
was really added or removed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from aloft.services import (
    account_notes,
    endorsements,
    instance,
    limits,
    pictures,
    profile,
    text,
    visibility,
)
from aloft.services.auth import IssuedToken, Viewer, insert_token, now
from aloft.services.lists import forget as leave_lists
from aloft.services.notifications import notify, unnotify
from aloft.services.pages import Page, PageRequest
from aloft.services.passwords import hash_password
from aloft.storage.database import Database, insert_ignore
from aloft.storage.failures import rerun_after_twin
from aloft.storage.schema import (
    account_pins,
    accounts,
    blocks,
    follow_requests,
    follows,
    mutes,
    tokens,
)

USERNAME = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500


@dataclass(frozen=True)
class NewAccount:
    username: str
    email: str
    password: str
    is_admin: bool = False


def validate_new(new: NewAccount) -> None:
    """Invalid naming every field at fault, with Mastodon's ERR_* codes."""
    problems = []
    if not new.username:
        problems.append(FieldError("username", "ERR_BLANK", "can't be blank"))
    elif len(new.username) > 30:
        problems.append(FieldError("username", "ERR_TOO_LONG", "is too long (maximum is 30)"))
    elif not USERNAME.match(new.username):
        problems.append(
            FieldError(
                "username", "ERR_INVALID", "must contain only letters, numbers and underscores"
            )
        )
    if not new.email:
        problems.append(FieldError("email", "ERR_BLANK", "can't be blank"))
    elif not EMAIL.match(new.email) or len(new.email) > 320:
        problems.append(FieldError("email", "ERR_INVALID", "is invalid"))
    if not new.password:
        problems.append(FieldError("password", "ERR_BLANK", "can't be blank"))
    elif len(new.password) < 8:
        problems.append(FieldError("password", "ERR_TOO_SHORT", "is too short (minimum is 8)"))
    elif len(new.password) > 72:
        problems.append(FieldError("password", "ERR_TOO_LONG", "is too long (maximum is 72)"))
    if problems:
        sentences = ", ".join(f"{p.field.capitalize()} {p.description}" for p in problems)
        raise Invalid(f"Validation failed: {sentences}", problems)


def _account_unit(
    new: NewAccount, account_id: int, password_hash: str
) -> Callable[[Connection], Row]:
    """The part of a unit of work that creates the account `account_id` (ID and password
    hash drawn before the first attempt), or returns it if an earlier attempt did."""

    def unit(conn: Connection) -> Row:
        existing = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        if existing is not None:  # a rerun of this very write
            return existing
        taken = conn.execute(
            sa.select(accounts.c.username_lower, accounts.c.email).where(
                sa.or_(
                    accounts.c.username_lower == new.username.lower(),
                    accounts.c.email == new.email.lower(),
                )
            )
        ).first()
        if taken is not None:
            what = "username" if taken.username_lower == new.username.lower() else "email"
            raise Conflict.on(what, "ERR_TAKEN", "has already been taken")
        conn.execute(
            sa.insert(accounts).values(
                id=account_id,
                username=new.username,
                username_lower=new.username.lower(),
                email=new.email.lower(),
                password_hash=password_hash,
                is_admin=new.is_admin,
                created_at=now(),
            )
        )
        return conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()

    return unit


def create(db: Database, new: NewAccount) -> Row:
    """Create a local account. Conflict if the username or email is taken (any case)."""
    validate_new(new)
    account_id = ids.new_id()
    password_hash = hash_password(new.password)  # slow on purpose: outside the transaction
    row = db.write(rerun_after_twin(_account_unit(new, account_id, password_hash)))
    instance.forget(db)
    return row


def register(
    db: Database, new: NewAccount, app_id: int, scopes: tuple[str, ...]
) -> tuple[Row, IssuedToken]:
    """Sign up: create a local account and its first access token in one unit of work, so a
    failover can never leave an account without a token (the app's retry would then be told
    the name is taken). Everything a rerun must find again is drawn before the first
    attempt (account ID, token and its ID), so a rerun after an ambiguous commit finds the
    account and token that attempt wrote and returns the same token."""
    validate_new(new)
    account_id = ids.new_id()
    password_hash = hash_password(new.password)  # slow on purpose: outside the transaction
    token_id = ids.new_id()
    token = secrets.token_urlsafe(32)
    issued = IssuedToken(token, scopes, now())
    create_account = _account_unit(new, account_id, password_hash)

    def unit(conn: Connection) -> tuple[Row, IssuedToken]:
        row = create_account(conn)
        found = conn.execute(sa.select(tokens.c.id).where(tokens.c.id == token_id)).first()
        if found is None:
            insert_token(conn, app_id, account_id, scopes, token_id, token, issued.created_at)
        return row, issued

    made = db.write(rerun_after_twin(unit))
    instance.forget(db)
    return made


def get_row(conn: Connection, account_id: int) -> Row:
    row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def get(db: Database, account_id: int) -> Row:
    return db.read(lambda conn: get_row(conn, account_id))


def lookup(db: Database, acct: str, local_domain: str) -> Row:
    """The account for "user" or "user@our.domain"; NotFound for anything else."""
    username, _, domain = acct.strip().lstrip("@").partition("@")
    if domain and domain.lower() != local_domain.lower():
        raise NotFound("Record not found")
    row = db.read(
        lambda conn: conn.execute(
            sa.select(accounts).where(accounts.c.username_lower == username.lower())
        ).first()
    )
    if row is None:
        raise NotFound("Record not found")
    return row


def update_credentials(
    db: Database,
    viewer: Viewer,
    base_url: str,
    local_domain: str,
    display_name: str | None,
    note: str | None,
    locked: bool | None = None,
    bot: bool | None = None,
    extras: ProfileExtras | None = None,
    new_pictures: Sequence[pictures.Picture] = (),
    cleared_pictures: Sequence[pictures.Part] = (),
) -> Row:
    """Change what is given (None: unchanged); `extras` are the profile fields, posting
    defaults, flags and pictures' alt text (`aloft.services.profile` has their rules).
    `new_pictures` (already checked, `pictures.prepare`) replace the avatar or header,
    `cleared_pictures` put the default back; all in the one unit of work."""
    assert viewer.account_id is not None
    changes: dict[str, object] = _extra_changes(extras) if extras is not None else {}
    if display_name is not None:
        if len(display_name) > MAX_DISPLAY_NAME:
            raise Invalid.on(
                "display_name", "ERR_TOO_LONG", f"is too long (maximum is {MAX_DISPLAY_NAME})"
            )
        changes["display_name"] = display_name.strip()
    if note is not None:
        if len(note) > MAX_NOTE:
            raise Invalid.on("note", "ERR_TOO_LONG", f"is too long (maximum is {MAX_NOTE})")
        changes["note_source"] = note
        changes["note"] = text.render(note, base_url, local_domain, {}) if note.strip() else ""
    if bot is not None:
        changes["bot"] = bot
    if locked is not None:
        changes["locked"] = locked
    me = viewer.account_id

    def unit(conn: Connection) -> Row:
        for part in cleared_pictures:
            pictures.clear(conn, me, part)
        for picture in new_pictures:
            pictures.store(conn, me, picture)
        if changes:
            conn.execute(sa.update(accounts).where(accounts.c.id == me).values(**changes))
        if locked is False:
            # Unlocking accepts whoever was waiting, as Mastodon does.
            waiting = conn.execute(
                sa.select(follow_requests.c.account_id).where(
                    follow_requests.c.target_account_id == me
                )
            ).scalars()
            for requester in list(waiting):
                _authorize(conn, requester, me)
        return get_row(conn, me)

    return db.write(unit)


@dataclass(frozen=True)
class ProfileExtras:
    """The rest of update_credentials; None leaves a value as it is. `language` "" clears
    the default language."""

    fields: Sequence[tuple[str, str]] | None = None
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    hide_collections: bool | None = None
    avatar_description: str | None = None
    header_description: str | None = None


def _extra_changes(extras: ProfileExtras) -> dict[str, object]:
    changes: dict[str, object] = {}
    if extras.fields is not None:
        changes["fields"] = profile.fields_json(extras.fields)
    if extras.privacy is not None:
        changes["default_privacy"] = profile.check_privacy(extras.privacy)
    if extras.language is not None:
        changes["default_language"] = profile.check_language(extras.language)
    for column in ("sensitive", "discoverable", "indexable", "hide_collections"):
        value = getattr(extras, column)
        if value is not None:
            changes["default_sensitive" if column == "sensitive" else column] = value
    for part in pictures.PARTS.values():
        alt = getattr(extras, part.description_column)
        if alt is not None:
            changes[part.description_column] = pictures.description(part, alt)
    return changes


def follow(db: Database, viewer: Viewer, target_id: int, limited: bool = True) -> None:
    """Follow `target_id`, or ask to if the target is locked (a follow request, and a
    `follow_request` notification to the target). Idempotent: following or asking again
    changes nothing; asking while already following changes nothing either. With `limited`,
    a new follow or request over the daily follow limit is RateLimited (and not made)."""
    me = viewer.account_id
    assert me is not None
    if target_id == me:
        raise Forbidden("You cannot follow yourself")
    follow_id = ids.new_id()

    def unit(conn: Connection) -> None:
        target = get_row(conn, target_id)
        if blocked_either_way(conn, me, target_id):
            raise Forbidden("This action is not allowed")
        if target.locked and not _follows(conn, me, target_id):
            added = insert_ignore(
                conn,
                follow_requests,
                {
                    "id": follow_id,
                    "account_id": me,
                    "target_account_id": target_id,
                    "created_at": now(),
                },
            )
            if added and limited:
                limits.follows_allowed(conn, me, extra=1)
            if added:
                notify(conn, target_id, me, "follow_request")
            return
        if _add_follow(conn, me, target_id, follow_id) and limited:
            # Raising here rolls the new follow back with its counters and notification.
            limits.follows_allowed(conn, me, extra=1)

    db.write(unit)


def blocked_either_way(conn: Connection, a: int, b: int) -> bool:
    """Whether `a` blocks `b` or `b` blocks `a` (then neither may follow the other)."""
    found = conn.execute(
        sa.select(blocks.c.id).where(
            sa.or_(
                sa.and_(blocks.c.account_id == a, blocks.c.target_account_id == b),
                sa.and_(blocks.c.account_id == b, blocks.c.target_account_id == a),
            )
        )
    ).first()
    return found is not None


def _follows(conn: Connection, account_id: int, target_id: int) -> bool:
    found = conn.execute(
        sa.select(follows.c.id).where(
            follows.c.account_id == account_id, follows.c.target_account_id == target_id
        )
    ).first()
    return found is not None


def _add_follow(conn: Connection, account_id: int, target_id: int, follow_id: int) -> bool:
    """Make `account_id` follow `target_id` and notify the target; False if it already did."""
    added = insert_ignore(
        conn,
        follows,
        {
            "id": follow_id,
            "account_id": account_id,
            "target_account_id": target_id,
            "created_at": now(),
        },
    )
    if added:
        _bump(conn, account_id, "following_count", 1)
        _bump(conn, target_id, "followers_count", 1)
        notify(conn, target_id, account_id, "follow")
    return added


def drop_request(conn: Connection, requester_id: int, target_id: int) -> bool:
    """Delete a pending request and its notification; False if there was none."""
    removed = conn.execute(
        sa.delete(follow_requests).where(
            follow_requests.c.account_id == requester_id,
            follow_requests.c.target_account_id == target_id,
        )
    ).rowcount
    unnotify(conn, target_id, requester_id, "follow_request")
    return bool(removed)


def _authorize(conn: Connection, requester_id: int, target_id: int) -> None:
    """Turn a pending request into a follow. The follow keeps the request's id, so a rerun
    after an ambiguous commit adds nothing."""
    request = conn.execute(
        sa.select(follow_requests.c.id).where(
            follow_requests.c.account_id == requester_id,
            follow_requests.c.target_account_id == target_id,
        )
    ).first()
    if request is None:
        return
    drop_request(conn, requester_id, target_id)
    # Mastodon tells the target "X followed you" once it has accepted.
    _add_follow(conn, requester_id, target_id, request.id)


def follow_request_list(db: Database, viewer: Viewer, page: PageRequest) -> Page[Row]:
    """Accounts waiting for the viewer's answer, newest request first."""
    me = viewer.account_id

    def unit(conn: Connection) -> Page[Row]:
        query = (
            sa.select(accounts, follow_requests.c.id.label("request_id"))
            .join(follow_requests, follow_requests.c.account_id == accounts.c.id)
            .where(follow_requests.c.target_account_id == me)
        )
        rows = page.finish(conn.execute(page.apply(query, follow_requests.c.id)).all())
        return Page.of(rows, [r.request_id for r in rows])

    return db.read(unit)


def follow_requests_count(db: Database, account_id: int) -> int:
    """How many requests wait for `account_id`'s answer (CredentialAccount's source)."""
    query = (
        sa.select(sa.func.count())
        .select_from(follow_requests)
        .where(follow_requests.c.target_account_id == account_id)
    )
    return int(db.read(lambda conn: conn.execute(query).scalar_one()))


def authorize_follow_request(db: Database, viewer: Viewer, requester_id: int) -> None:
    """Accept `requester_id`'s request: they now follow the viewer, and the viewer gets a
    `follow` notification. NotFound if there is no such request and no such follow (a rerun
    after the commit finds the follow, so it succeeds)."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        get_row(conn, requester_id)
        if _follows(conn, requester_id, me):
            return
        pending = conn.execute(
            sa.select(follow_requests.c.id).where(
                follow_requests.c.account_id == requester_id,
                follow_requests.c.target_account_id == me,
            )
        ).first()
        if pending is None:
            raise NotFound("Record not found")
        _authorize(conn, requester_id, me)

    db.write(unit)


def reject_follow_request(db: Database, viewer: Viewer, requester_id: int) -> None:
    """Refuse `requester_id`'s request. With no request pending this changes nothing and
    succeeds (Mastodon answers 404), so that a rerun after an ambiguous commit, or a replay,
    never reports a done rejection as a failure. NotFound only for an unknown account."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        get_row(conn, requester_id)
        drop_request(conn, requester_id, me)

    db.write(unit)


def unfollow(db: Database, viewer: Viewer, target_id: int) -> None:
    """Stop following `target_id`, or withdraw a pending request. Idempotent: unfollowing
    twice changes nothing."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        drop_request(conn, me, target_id)
        drop_follow(conn, me, target_id)

    db.write(unit)


def drop_follow(conn: Connection, account_id: int, target_id: int) -> None:
    """Remove a follow if there is one; the counters move only when it was there. The
    target leaves the follower's lists with it (`aloft.services.lists.forget`)."""
    removed = conn.execute(
        sa.delete(follows).where(
            follows.c.account_id == account_id, follows.c.target_account_id == target_id
        )
    ).rowcount
    leave_lists(conn, account_id, target_id)
    if removed:
        _bump(conn, account_id, "following_count", -1)
        _bump(conn, target_id, "followers_count", -1)
        endorsements.forget(conn, account_id, target_id)


def remove_from_followers(db: Database, viewer: Viewer, target_id: int) -> None:
    """`target_id` no longer follows the viewer (Mastodon's RemoveFromFollowersService);
    idempotent: a rerun finds no follow and changes nothing."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        get_row(conn, target_id)
        drop_follow(conn, target_id, me)

    db.write(unit)


def _bump(conn: Connection, account_id: int, column: str, delta: int) -> None:
    col = accounts.c[column]
    conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values({col: col + delta}))


@dataclass(frozen=True)
class Relationship:
    id: int
    following: bool
    followed_by: bool
    requested: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    endorsed: bool = False
    note: str = ""


def _linked(
    conn: Connection, table: sa.Table, me: int, wanted: list[int], outgoing: bool
) -> set[int]:
    """Which of `wanted` a row of `table` (follows, follow requests, blocks) links to `me`:
    from me to them when `outgoing`, else from them to me."""
    mine, theirs = table.c.account_id, table.c.target_account_id
    if not outgoing:
        mine, theirs = theirs, mine
    return set(conn.execute(sa.select(theirs).where(mine == me, theirs.in_(wanted))).scalars())


def relationships(
    db: Database, viewer: Viewer, target_ids: Sequence[int], with_suspended: bool = False
) -> list[Relationship]:
    """The viewer's relationship to each target, in the order asked (unknown ids skipped,
    and suspended accounts unless `with_suspended`, as Mastodon)."""
    me = viewer.account_id
    assert me is not None
    wanted = list(dict.fromkeys(target_ids))[:100]

    def unit(conn: Connection) -> list[Relationship]:
        if not wanted:
            return []
        found = sa.select(accounts.c.id).where(accounts.c.id.in_(wanted))
        if not with_suspended:
            found = found.where(accounts.c.suspended_at.is_(None))
        known = set(conn.execute(found).scalars())
        following = _linked(conn, follows, me, wanted, outgoing=True)
        followed_by = _linked(conn, follows, me, wanted, outgoing=False)
        requested = _linked(conn, follow_requests, me, wanted, outgoing=True)
        requested_by = _linked(conn, follow_requests, me, wanted, outgoing=False)
        blocking = _linked(conn, blocks, me, wanted, outgoing=True)
        blocked_by = _linked(conn, blocks, me, wanted, outgoing=False)
        endorsed = _linked(conn, account_pins, me, wanted, outgoing=True)
        notes = account_notes.notes_on(conn, me, wanted)
        # Only mutes in force: an expired one is compared with now, never swept.
        muting = {
            m.target_account_id: m.notifications
            for m in conn.execute(
                sa.select(mutes.c.target_account_id, mutes.c.notifications).where(
                    visibility.muting(me), mutes.c.target_account_id.in_(wanted)
                )
            )
        }
        return [
            Relationship(
                i,
                i in following,
                i in followed_by,
                i in requested,
                i in requested_by,
                blocking=i in blocking,
                blocked_by=i in blocked_by,
                muting=i in muting,
                muting_notifications=bool(muting.get(i, False)),
                endorsed=i in endorsed,
                note=notes.get(i, ""),
            )
            for i in wanted
            if i in known
        ]

    return db.read(unit)


def relationship(db: Database, viewer: Viewer, target_id: int) -> Relationship:
    """The answer of an action on one account, suspended or not."""
    return relationships(db, viewer, [target_id], with_suspended=True)[0]


def familiar_followers(
    db: Database, viewer: Viewer, target_ids: Sequence[int]
) -> list[tuple[int, list[Row]]]:
    """For each target (in the order asked, at most 100, unknown ones with no accounts): the
    accounts the viewer follows that follow it."""
    me = viewer.account_id
    wanted = list(dict.fromkeys(target_ids))[:100]
    mine = follows.alias("mine")

    def unit(conn: Connection) -> list[tuple[int, list[Row]]]:
        found: dict[int, list[Row]] = {i: [] for i in wanted}
        if not wanted:
            return []
        query = (
            sa.select(accounts, follows.c.target_account_id.label("familiar_to"))
            .join(follows, follows.c.account_id == accounts.c.id)
            .join(mine, sa.and_(mine.c.target_account_id == accounts.c.id, mine.c.account_id == me))
            .where(follows.c.target_account_id.in_(wanted))
            .order_by(follows.c.id.desc())
        )
        for row in conn.execute(query):
            found[row.familiar_to].append(row)
        return list(found.items())

    return db.read(unit)


def follow_list(
    db: Database,
    account_id: int,
    page: PageRequest,
    direction: str,
    viewer_id: int | None = None,
) -> Page[Row]:
    """Accounts following (`followers`) or followed by (`following`) `account_id`; none
    for a suspended account, and none but to itself for an account that hides them
    (`hide_collections`), as Mastodon."""
    if direction == "followers":
        anchor, other = follows.c.target_account_id, follows.c.account_id
    else:
        anchor, other = follows.c.account_id, follows.c.target_account_id

    def unit(conn: Connection) -> Page[Row]:
        owner = get_row(conn, account_id)
        if owner.suspended_at is not None or (owner.hide_collections and viewer_id != account_id):
            return Page.of([], [])
        query = (
            sa.select(accounts, follows.c.id.label("follow_id"))
            .join(follows, other == accounts.c.id)
            .where(anchor == account_id)
        )
        rows = page.finish(conn.execute(page.apply(query, follows.c.id)).all())
        return Page.of(rows, [r.follow_id for r in rows])

    return db.read(unit)
