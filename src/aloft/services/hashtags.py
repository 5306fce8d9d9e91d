"""Hashtags: one by name with its recent history, following them, and the followed ones.

Names are matched as Mastodon matches them: NFKC, then lower case (`text.normalize_tag`),
after a leading "#" is dropped. A name no status could make a hashtag of is not found
(404, as Mastodon's TagsController answers), and never reaches the database.

Following, as Mastodon: any valid name can be followed, and following one no status has
used yet creates the tag. A follow is unique per (account, tag) and its id is drawn before
the first attempt, so following twice, or a rerun after an ambiguous commit, changes
nothing; unfollowing what is not followed succeeds. Public statuses with a followed tag
reach the follower's home timeline (`in_followed_tags`), under the visibility rule like
every other status there.

History: per day (UTC) of the last `HISTORY_DAYS`, newest first, the public statuses with
the tag and the distinct accounts that posted them, as Mastodon's Tag history gives them
(numbers as strings). Read from `status_tags` by (tag, status id range): a snowflake id
holds its time, so the seven days are one index range per tag.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft import ids
from aloft.errors import NotFound
from aloft.services.auth import Viewer, now
from aloft.services.pages import Page, PageRequest
from aloft.services.text import is_tag_name, normalize_tag
from aloft.services.visibility import PUBLIC, hidden_accounts, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import status_tags, statuses, tag_follows, tags

HISTORY_DAYS = 7
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Day:
    day: int  # the day's start, seconds since the epoch (UTC midnight)
    uses: int
    accounts: int


@dataclass(frozen=True)
class TagView:
    """A hashtag as the Tag entity shows it. `id` is None for a name no status has used
    and nobody follows (it is not stored); `following` is None without a signed-in viewer."""

    id: int | None
    name: str
    history: list[Day]
    following: bool | None


def clean_name(raw: str) -> str | None:
    """The normalized name of `raw` (a leading "#" and surrounding spaces dropped), or None
    when no status could make a hashtag of it."""
    name = normalize_tag(raw.strip().removeprefix("#"))
    return name if is_tag_name(name) else None


def _name_or_404(raw: str) -> str:
    name = clean_name(raw)
    if name is None:
        raise NotFound("Record not found")
    return name


def day_id(unix_day: int) -> int:
    """The smallest snowflake of a day (days since the epoch, UTC)."""
    return ids.id_for_time(unix_day * DAY_MS)


def today(at: datetime | None = None) -> int:
    """Days since the epoch (UTC) of `at` (now)."""
    return int((at or now()).timestamp() * 1000) // DAY_MS


Counts = dict[int, dict[int, tuple[int, int]]]  # tag id → day → (uses, accounts)


def day_counts(conn: Connection, first_day: int, *where: sa.ColumnElement[bool]) -> Counts:
    """Per tag and day from `first_day` (days since the epoch) on: the statuses with the tag
    that meet `where` (the caller says which: public ones), and their distinct authors. One
    query: the days are a range of `status_tags.status_id` (snowflakes hold their time)."""
    day = status_tags.c.status_id // ids.id_for_time(DAY_MS)
    rows = conn.execute(
        sa.select(
            status_tags.c.tag_id,
            day.label("day"),
            sa.func.count().label("uses"),
            sa.func.count(sa.distinct(statuses.c.account_id)).label("accounts"),
        )
        .join(statuses, statuses.c.id == status_tags.c.status_id)
        .where(
            status_tags.c.status_id >= day_id(first_day),
            *where,
        )
        .group_by(status_tags.c.tag_id, day)
    )
    counts: Counts = defaultdict(dict)
    for r in rows:
        counts[r.tag_id][int(r.day)] = (r.uses, r.accounts)
    return counts


def days(counts: dict[int, tuple[int, int]], last_day: int) -> list[Day]:
    """The `HISTORY_DAYS` days up to `last_day`, newest first, from one tag's counts."""
    return [
        Day(d * 86_400, *counts.get(d, (0, 0)))
        for d in range(last_day, last_day - HISTORY_DAYS, -1)
    ]


def history(
    conn: Connection, tag_ids: Iterable[int], at: datetime | None = None
) -> dict[int, list[Day]]:
    """Each tag's last `HISTORY_DAYS` days, newest first (see the module's docstring), not
    counting a suspended account's statuses; one query for all the tags."""
    wanted = sorted(set(tag_ids))
    last = today(at)
    counts: Counts = {}
    if wanted:
        counts = day_counts(
            conn,
            last - HISTORY_DAYS + 1,
            status_tags.c.tag_id.in_(wanted),
            # "+ 0" keeps SQLite off the (visibility, id) index, which made it walk every
            # public status of the week and probe each tag (160 ms for ten tags over
            # 100,000 statuses), rather than each tag's own range (19 ms).
            (statuses.c.visibility + 0) == PUBLIC,
            statuses.c.account_id.not_in(hidden_accounts(None)),
        )
    return {t: days(counts.get(t, {}), last) for t in wanted}


def following(conn: Connection, viewer_id: int | None, tag_ids: Iterable[int]) -> set[int]:
    """Which of `tag_ids` the viewer follows (one query; none without a viewer)."""
    wanted = list(tag_ids)
    if viewer_id is None or not wanted:
        return set()
    return set(
        conn.execute(
            sa.select(tag_follows.c.tag_id).where(
                tag_follows.c.account_id == viewer_id, tag_follows.c.tag_id.in_(wanted)
            )
        ).scalars()
    )


def views(conn: Connection, rows: Iterable[sa.Row], viewer_id: int | None) -> list[TagView]:
    """TagViews of `rows` of `tags`, with their history and whether the viewer follows
    them: two queries whatever their number."""
    rows = list(rows)
    found = history(conn, (r.id for r in rows))
    followed = following(conn, viewer_id, (r.id for r in rows))
    return [
        TagView(r.id, r.name, found[r.id], None if viewer_id is None else r.id in followed)
        for r in rows
    ]


def _unknown(name: str, viewer_id: int | None) -> TagView:
    return TagView(None, name, days({}, today()), None if viewer_id is None else False)


def find_or_create(conn: Connection, name: str, new_id: int) -> int:
    """The id of the tag `name` (normalized), made with `new_id` if it does not exist."""
    insert_ignore(conn, tags, {"id": new_id, "name": name})
    return int(conn.execute(sa.select(tags.c.id).where(tags.c.name == name)).scalar_one())


def show(db: Database, viewer: Viewer, raw: str) -> TagView:
    name = _name_or_404(raw)

    def unit(conn: Connection) -> TagView:
        row = conn.execute(sa.select(tags).where(tags.c.name == name)).first()
        if row is None:
            return _unknown(name, viewer.account_id)
        return views(conn, [row], viewer.account_id)[0]

    return db.read(unit)


def follow(db: Database, viewer: Viewer, raw: str) -> TagView:
    me = viewer.account_id
    assert me is not None
    name = _name_or_404(raw)
    tag_id, follow_id = ids.new_id(), ids.new_id()

    def unit(conn: Connection) -> TagView:
        found = find_or_create(conn, name, tag_id)
        insert_ignore(
            conn,
            tag_follows,
            {"account_id": me, "tag_id": found, "id": follow_id, "created_at": now()},
        )
        row = conn.execute(sa.select(tags).where(tags.c.id == found)).one()
        return views(conn, [row], me)[0]

    return db.write(unit)


def unfollow(db: Database, viewer: Viewer, raw: str) -> TagView:
    me = viewer.account_id
    assert me is not None
    name = _name_or_404(raw)

    def unit(conn: Connection) -> TagView:
        row = conn.execute(sa.select(tags).where(tags.c.name == name)).first()
        if row is None:
            return _unknown(name, me)
        conn.execute(
            sa.delete(tag_follows).where(
                tag_follows.c.account_id == me, tag_follows.c.tag_id == row.id
            )
        )
        return views(conn, [row], me)[0]

    return db.write(unit)


def followed(db: Database, viewer: Viewer, page: PageRequest) -> Page[TagView]:
    """The tags the viewer follows, newest follow first, paged by the follow's id."""
    me = viewer.account_id
    assert me is not None
    query = (
        sa.select(tags.c.id, tags.c.name, tag_follows.c.id.label("follow_id"))
        .join(tag_follows, tag_follows.c.tag_id == tags.c.id)
        .where(tag_follows.c.account_id == me)
    )

    def unit(conn: Connection) -> Page[TagView]:
        rows = page.finish(conn.execute(page.apply(query, tag_follows.c.id)).all())
        return Page.of(views(conn, rows, me), [r.follow_id for r in rows])

    return db.read(unit)


def followed_tag_statuses(
    me: sa.BindParameter[int], at: sa.BindParameter[datetime]
) -> tuple[sa.Select, sa.ColumnElement[int]]:
    """The query of the ids of the public statuses with the hashtag given as parameter
    `tag` that the viewer `me` may see, and the column to page it on:
    `status_tags.status_id`, so that it is a backward walk of `status_tags`' key for the tag
    that stops at the page's limit. The home timeline runs it once per followed tag and
    merges the pages by id with the followed accounts' page (`timelines.home`); it is built
    once, with the viewer, the time and the tag as parameters. (One IN over all the tags
    made PostgreSQL read and sort every status with any of them, 10,000 for five tags over
    100,000 statuses; SQLite, offered the (visibility, id) index, walked every public
    status probing for the tag, 1.2 s for a rarely used one.)"""
    query = (
        sa.select(status_tags.c.status_id)
        .join(statuses, statuses.c.id == status_tags.c.status_id)
        .where(
            status_tags.c.tag_id == sa.bindparam("tag", type_=status_tags.c.tag_id.type),
            # "+ 0": not a way into (visibility, id) for SQLite (see `history`).
            (statuses.c.visibility + 0) == PUBLIC,
            visible_to(me, at=at),
        )
    )
    return query, status_tags.c.status_id


def tagged_with(raw: str) -> sa.ColumnElement[bool]:
    """A WHERE clause for `statuses`: those with the hashtag `raw` (matched as names are).
    A correlated EXISTS, one probe of `status_tags`' key per status, so a walk of another
    index (an account's statuses) stays a walk; nothing for a name no status could have."""
    name = clean_name(raw)
    if name is None:
        return sa.false()
    tag_id = sa.select(tags.c.id).where(tags.c.name == name).scalar_subquery()
    return sa.exists().where(
        status_tags.c.status_id == statuses.c.id, status_tags.c.tag_id == tag_id
    )
