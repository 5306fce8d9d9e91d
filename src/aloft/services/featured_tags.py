"""Featured hashtags: the tags an account shows on its profile, with how often it used them.

As Mastodon: at most `MAX_FEATURED` per account; a name is given with or without "#" and
must be one a status could make a hashtag of (else 422 naming `name`); featuring a tag
already featured is 422 ("Name has already been taken"); the list is ordered by
statuses_count, most first. The count and the last use are the account's public and
unlisted statuses with the tag, read when listed (at most ten tags, one grouped query
over the account's statuses by `status_tags`' key) rather than kept as counters that
every post, edit and delete would have to update.

A new featured tag's id is drawn before the first attempt, so a rerun after an ambiguous
commit finds its own row and answers with it rather than "already taken". Deleting one
that is not (or no longer) there is 404, as Mastodon answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.hashtags import TagView, clean_name, find_or_create, views
from aloft.services.visibility import PUBLIC, UNLISTED
from aloft.storage.database import Database
from aloft.storage.schema import accounts, featured_tags, status_tags, statuses, tags

MAX_FEATURED = 10
SUGGESTIONS = 10
# Suggestions come from the tags of the account's latest statuses, as Mastodon's.
SUGGESTED_FROM = 1000


@dataclass(frozen=True)
class FeaturedView:
    id: int
    name: str  # as the account spelled it, without "#"
    tag_name: str  # normalized: the tag's own name, for URLs
    username: str  # the account's, for the URL of its statuses with the tag
    statuses_count: int
    last_status_at: datetime | None


def _views(conn: Connection, account_id: int) -> list[FeaturedView]:
    rows = conn.execute(
        sa.select(
            featured_tags.c.id,
            featured_tags.c.name,
            featured_tags.c.tag_id,
            tags.c.name.label("tag_name"),
            accounts.c.username,
        )
        .join(tags, tags.c.id == featured_tags.c.tag_id)
        .join(accounts, accounts.c.id == featured_tags.c.account_id)
        .where(featured_tags.c.account_id == account_id)
        .order_by(featured_tags.c.id)
    ).all()
    if not rows:
        return []
    used = {
        r.tag_id: (r.n, r.last)
        for r in conn.execute(
            sa.select(
                status_tags.c.tag_id,
                sa.func.count().label("n"),
                sa.func.max(statuses.c.created_at).label("last"),
            )
            .join(statuses, statuses.c.id == status_tags.c.status_id)
            .where(
                statuses.c.account_id == account_id,
                statuses.c.visibility.in_((PUBLIC, UNLISTED)),
                status_tags.c.tag_id.in_([r.tag_id for r in rows]),
            )
            .group_by(status_tags.c.tag_id)
        )
    }
    out = [
        FeaturedView(r.id, r.name, r.tag_name, r.username, *used.get(r.tag_id, (0, None)))
        for r in rows
    ]
    return sorted(out, key=lambda f: -f.statuses_count)


def mine(db: Database, viewer: Viewer) -> list[FeaturedView]:
    me = viewer.account_id
    assert me is not None
    return db.read(lambda conn: _views(conn, me))


def of_account(db: Database, account_id: int) -> list[FeaturedView]:
    """An account's featured tags, for anyone to see; a suspended account shows none."""

    def unit(conn: Connection) -> list[FeaturedView]:
        row = conn.execute(
            sa.select(accounts.c.suspended_at).where(accounts.c.id == account_id)
        ).first()
        if row is None:
            raise NotFound("Record not found")
        return [] if row.suspended_at is not None else _views(conn, account_id)

    return db.read(unit)


def create(db: Database, viewer: Viewer, raw: str) -> FeaturedView:
    me = viewer.account_id
    assert me is not None
    spelled = raw.strip().removeprefix("#")
    name = clean_name(raw)
    if name is None:
        raise Invalid.on("name", "ERR_INVALID", "is invalid")
    featured_id, tag_id = ids.new_id(), ids.new_id()

    def unit(conn: Connection) -> FeaturedView:
        found = find_or_create(conn, name, tag_id)
        existing = conn.execute(
            sa.select(featured_tags.c.id, featured_tags.c.tag_id).where(
                featured_tags.c.account_id == me
            )
        ).all()
        mine_ = next((f for f in existing if f.tag_id == found), None)
        if mine_ is not None and mine_.id != featured_id:
            raise Invalid.on("name", "ERR_TAKEN", "has already been taken")
        if mine_ is None:
            if len(existing) >= MAX_FEATURED:
                raise Invalid(
                    "Validation failed: You have already featured the maximum number of hashtags"
                )
            conn.execute(
                sa.insert(featured_tags).values(
                    id=featured_id, account_id=me, tag_id=found, name=spelled, created_at=now()
                )
            )
        return next(f for f in _views(conn, me) if f.id == featured_id)

    return db.write(unit)


def delete(db: Database, viewer: Viewer, featured_id: int) -> None:
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> None:
        gone = conn.execute(
            sa.delete(featured_tags)
            .where(featured_tags.c.id == featured_id, featured_tags.c.account_id == me)
            .returning(featured_tags.c.id)
        ).first()
        if gone is None:
            raise NotFound("Record not found")

    db.write(unit)


def suggestions(db: Database, viewer: Viewer) -> list[TagView]:
    """The tags of the viewer's latest statuses that it does not feature yet, the most used
    first (as Mastodon's suggestions)."""
    me = viewer.account_id
    assert me is not None
    latest = (
        sa.select(statuses.c.id)
        .where(statuses.c.account_id == me)
        .order_by(statuses.c.id.desc())
        .limit(SUGGESTED_FROM)
        .subquery()
    )
    uses = sa.func.count().label("uses")
    query = (
        sa.select(tags.c.id, tags.c.name, uses)
        .join(status_tags, status_tags.c.tag_id == tags.c.id)
        .where(
            status_tags.c.status_id.in_(sa.select(latest.c.id)),
            tags.c.id.not_in(
                sa.select(featured_tags.c.tag_id).where(featured_tags.c.account_id == me)
            ),
        )
        .group_by(tags.c.id, tags.c.name)
        .order_by(uses.desc(), tags.c.name)
        .limit(SUGGESTIONS)
    )
    return db.read(lambda conn: views(conn, conn.execute(query).all(), me))
