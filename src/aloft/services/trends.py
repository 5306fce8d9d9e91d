"""Trends: the hashtags, statuses and links that are getting attention now.

Computed when read, from the last `WINDOW_DAYS` days of public statuses only: a snowflake
holds its time, so the window is one range of an index (`status_tags.status_id`,
`statuses (visibility, id)`) whatever the database's age. What counts is what the viewer
may see in listings (`visibility.visible_to`): suspended authors are left out for
everyone, and accounts the viewer blocks or mutes (or that block the viewer) for that
viewer. Measured figures and the choice of computing on read are in docs/ARCHITECTURE.md.

* Tags: per day (UTC), the statuses using the tag and their distinct authors. A tag's
  score is its distinct authors per day, each day weighted half the day after it
  (today 1, yesterday 0.5…), so a tag used by many people today outranks one used by as
  many a week ago and one person posting a tag a hundred times counts once a day. A tag
  needs `MIN_ACCOUNTS` authors on one day to trend (Mastodon asks for 5; a small server
  would never show one). `history` is those seven days, as Mastodon's.
* Statuses: public posts that start a thread (no replies, no reblogs), without a content
  warning and not sensitive (as Mastodon's eligibility), ranked by reblogs + favourites +
  replies, halved for every `HALF_LIFE_HOURS` of age (in steps of that size: the decay is
  a CASE over the age in the SQL, so both engines rank alike and only the page is read).
* Links: the URLs in the text of the latest `LINK_SCAN` public statuses with a link,
  ranked like tags by distinct sharers per day. Nothing is fetched from the linked pages,
  so a link's title, description and image are empty (the entity allows it). A trending
  link's statuses are its timeline (`link_statuses`).

Pages are `limit`/`offset` over the ranking, as Mastodon's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import NotFound
from aloft.services import hashtags, text
from aloft.services.auth import Viewer, now
from aloft.services.hashtags import Day, TagView
from aloft.services.loader import Bundle, load_statuses
from aloft.services.pages import Page, PageRequest
from aloft.services.visibility import PUBLIC, visible_to
from aloft.storage.database import Database
from aloft.storage.schema import statuses, tags

WINDOW_DAYS = hashtags.HISTORY_DAYS
MIN_ACCOUNTS = 2
MIN_INTERACTIONS = 1
HALF_LIFE_HOURS = 6
LINK_SCAN = 5000


@dataclass(frozen=True)
class LinkView:
    url: str
    history: list[Day]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _decayed(per_day: dict[int, tuple[int, int]], last_day: int) -> float:
    """Distinct authors per day, each day weighing half the next."""
    return sum(accounts * 0.5 ** (last_day - day) for day, (_, accounts) in per_day.items())


def _ranked(counts: dict[int, dict[int, tuple[int, int]]], last_day: int) -> list[int]:
    """The keys of `counts` that trend, best first (ties: more uses, then the older key)."""
    eligible = [
        k
        for k, per_day in counts.items()
        if max((a for _, a in per_day.values()), default=0) >= MIN_ACCOUNTS
    ]
    return sorted(
        eligible,
        key=lambda k: (-_decayed(counts[k], last_day), -sum(u for u, _ in counts[k].values()), k),
    )


def top_tags(
    db: Database, viewer: Viewer, limit: int, offset: int, at: datetime | None = None
) -> list[TagView]:
    at = at or now()
    last = hashtags.today(at)
    me = viewer.account_id

    def unit(conn: Connection) -> list[TagView]:
        counts = hashtags.day_counts(
            conn, last - WINDOW_DAYS + 1, statuses.c.visibility == PUBLIC, visible_to(me)
        )
        chosen = _ranked(counts, last)[offset : offset + limit]
        if not chosen:
            return []
        found = conn.execute(sa.select(tags.c.id, tags.c.name).where(tags.c.id.in_(chosen)))
        names = {r.id: r.name for r in found}
        followed = hashtags.following(conn, me, chosen)
        return [
            TagView(
                t, names[t], hashtags.days(counts[t], last), None if me is None else t in followed
            )
            for t in chosen
        ]

    return db.read(unit)


def top_statuses(
    db: Database, viewer: Viewer, limit: int, offset: int, at: datetime | None = None
) -> tuple[list[Row], Bundle]:
    at = at or now()
    now_id = ids.id_for_time(_ms(at))
    step = ids.id_for_time(HALF_LIFE_HOURS * 3_600_000)
    steps = WINDOW_DAYS * 24 // HALF_LIFE_HOURS
    age = (sa.literal(now_id, sa.BigInteger) - statuses.c.id) // step
    interactions = statuses.c.reblogs_count + statuses.c.favourites_count + statuses.c.replies_count
    score = interactions * sa.case({k: 0.5**k for k in range(steps)}, value=age, else_=0.0)
    query = (
        sa.select(statuses)
        .where(
            statuses.c.visibility == PUBLIC,
            statuses.c.id >= ids.id_for_time(_ms(at - timedelta(days=WINDOW_DAYS))),
            statuses.c.id <= now_id,
            statuses.c.reblog_of_id.is_(None),
            statuses.c.in_reply_to_id.is_(None),
            statuses.c.spoiler_text == "",
            sa.not_(statuses.c.sensitive),
            interactions >= MIN_INTERACTIONS,
            visible_to(viewer.account_id),
        )
        .order_by(score.desc(), statuses.c.id.desc())
        .offset(offset)
        .limit(limit)
    )

    def unit(conn: Connection) -> tuple[list[Row], Bundle]:
        rows = list(conn.execute(query).all())
        return rows, load_statuses(conn, rows, viewer.account_id)

    return db.read(unit)


def top_links(
    db: Database, viewer: Viewer, limit: int, offset: int, at: datetime | None = None
) -> list[LinkView]:
    at = at or now()
    last = hashtags.today(at)
    query = (
        sa.select(statuses.c.id, statuses.c.account_id, statuses.c.text)
        .where(
            statuses.c.visibility == PUBLIC,
            statuses.c.id >= hashtags.day_id(last - WINDOW_DAYS + 1),
            statuses.c.reblog_of_id.is_(None),
            statuses.c.text.like("%http%"),
            visible_to(viewer.account_id),
        )
        .order_by(statuses.c.id.desc())
        .limit(LINK_SCAN)
    )

    def unit(conn: Connection) -> list[LinkView]:
        sharers: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        uses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for row in conn.execute(query):
            day = ids.id_time_ms(row.id) // hashtags.DAY_MS
            for url in text.urls(row.text):
                sharers[url][day].add(row.account_id)
                uses[url][day] += 1
        keys = list(sharers)
        counts = {
            i: {d: (uses[url][d], len(who)) for d, who in sharers[url].items()}
            for i, url in enumerate(keys)
        }
        chosen = _ranked(counts, last)[offset : offset + limit]
        return [LinkView(keys[i], hashtags.days(counts[i], last)) for i in chosen]

    return db.read(unit)


def link_statuses(
    db: Database, viewer: Viewer, url: str, page: PageRequest, at: datetime | None = None
) -> tuple[Page[Row], Bundle]:
    """The public statuses of the window that link to `url` (Mastodon 4.3's link timeline,
    which apps open from a trending link), newest first. A link that does not trend now is
    NotFound, as Mastodon answers for a link that is not trending. Bounded like
    `top_links`: the latest `LINK_SCAN` statuses of the window whose text holds the URL."""
    at = at or now()
    last = hashtags.today(at)
    me = viewer.account_id
    pattern = "%" + url.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (
        sa.select(statuses.c.id, statuses.c.account_id, statuses.c.text)
        .where(
            statuses.c.visibility == PUBLIC,
            statuses.c.id >= hashtags.day_id(last - WINDOW_DAYS + 1),
            statuses.c.reblog_of_id.is_(None),
            statuses.c.text.like(pattern, escape="\\"),
            visible_to(me),
        )
        .order_by(statuses.c.id.desc())
        .limit(LINK_SCAN)
    )

    def unit(conn: Connection) -> tuple[Page[Row], Bundle]:
        linking = [r for r in conn.execute(query) if url in text.urls(r.text)]
        sharers: dict[int, set[int]] = defaultdict(set)
        uses: dict[int, int] = defaultdict(int)
        for r in linking:
            day = ids.id_time_ms(r.id) // hashtags.DAY_MS
            sharers[day].add(r.account_id)
            uses[day] += 1
        if not _ranked({0: {d: (uses[d], len(a)) for d, a in sharers.items()}}, last):
            raise NotFound("Record not found")
        shown = sa.select(statuses).where(statuses.c.id.in_([r.id for r in linking]))
        rows = page.finish(conn.execute(page.apply(shown, statuses.c.id)).all())
        return Page.of(rows, [r.id for r in rows]), load_statuses(conn, rows, me)

    return db.read(unit)
