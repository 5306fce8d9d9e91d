"""Streaming: which committed event goes to whom, on which stream, as what.

The transport (WebSocket, Server-Sent Events) is `aloft.api.streaming`; this module holds
the rules, which are the timelines' rules applied to one status at a time:

* `user`: what the viewer's home timeline would show (their own statuses and those of
  accounts they follow, that they may see) and their notifications;
* `user:notification`: their notifications only;
* `public`, `public:local`: what the public timeline would show (public, no reblogs, not a
  reply to someone else); every account is local, so both are the same; `public:media` and
  `public:local:media` the same with media attached; `public:remote` and
  `public:remote:media` never carry anything (there is no federation), but are accepted as
  Mastodon accepts them: masto.js reads an error on a shared connection as every
  subscription's failure;
* `hashtag`, `hashtag:local` with a tag: what that tag's timeline would show;
* `direct`: direct statuses the viewer wrote or is mentioned in;
* `list`: this server has no lists, so there is never a list to stream.

A notification goes only to its owner. A deleted status's `delete` goes to the streams
that would have shown it, judged from facts the event carries (author, visibility,
mentions, tags), since the row is gone. Events are read on the primary: a NOTIFY may
arrive before a standby has replayed the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.services.loader import Bundle, load_accounts, load_statuses
from aloft.services.visibility import DIRECT, PRIVATE, PUBLIC, UNLISTED
from aloft.storage.database import Database
from aloft.storage.events import Event, emit
from aloft.storage.schema import (
    follows,
    media_attachments,
    mentions,
    notifications,
    status_tags,
    statuses,
    tags,
)

# (stream name, its parameter: the tag for hashtag streams, else None)
Stream = tuple[str, str | None]

STREAMS = (
    "user",
    "user:notification",
    "public",
    "public:local",
    "public:media",
    "public:local:media",
    "public:remote",
    "public:remote:media",
    "hashtag",
    "hashtag:local",
    "list",
    "direct",
)
PUBLIC_STREAMS = frozenset(
    {
        "public",
        "public:local",
        "public:media",
        "public:local:media",
        "public:remote",
        "public:remote:media",
        "hashtag",
        "hashtag:local",
    }
)


# -- what the services emit (inside their unit of work; delivered after commit) -------------


def status_posted(conn: Connection, status_id: int) -> None:
    emit(conn, {"k": "status", "id": status_id})


def notified(conn: Connection, notification_id: int) -> None:
    emit(conn, {"k": "notification", "id": notification_id})


def status_deleted(
    conn: Connection, row: Row, mentioned: Iterable[int], tag_names: Iterable[str]
) -> None:
    """`row` is the deleted status as it was; the facts that decide who saw it travel along."""
    emit(
        conn,
        {
            "k": "delete",
            "id": row.id,
            "a": row.account_id,
            "v": row.visibility,
            "pub": _in_public_timeline(row),
            "m": sorted(set(mentioned)),
            "t": sorted(set(tag_names)),
        },
    )


# -- who gets what ----------------------------------------------------------------------------


@dataclass
class Delivery:
    """One event for one viewer: on which of the viewer's streams, and what to render."""

    viewer_id: int
    event: str  # "update", "notification" or "delete"
    streams: set[Stream]
    status: Row | None = None  # update
    notification: Row | None = None
    bundle: Bundle | None = None
    deleted_id: int | None = None  # delete


@dataclass
class Facts:
    """What decides who may see a status and on which streams it appears."""

    author: int
    visibility: int
    mentioned: set[int]
    tags: set[str]
    in_public_timeline: bool
    followers: set[int] = field(default_factory=set)  # among the viewers asked about
    has_media: bool = False

    def visible_to(self, viewer: int) -> bool:
        """The rule of `aloft.services.visibility`, for one status."""
        return (
            self.visibility in (PUBLIC, UNLISTED)
            or viewer == self.author
            or (self.visibility == PRIVATE and viewer in self.followers)
            or viewer in self.mentioned
        )

    def streams_for(self, viewer: int, wanted: set[Stream]) -> set[Stream]:
        out: set[Stream] = set()
        if not self.visible_to(viewer):
            return out
        for stream in wanted:
            name, tag = stream
            if name == "user":
                ok = viewer == self.author or viewer in self.followers
            elif name in ("public", "public:local"):
                ok = self.in_public_timeline
            elif name in ("public:media", "public:local:media"):
                ok = self.in_public_timeline and self.has_media
            elif name in ("hashtag", "hashtag:local"):
                ok = self.visibility == PUBLIC and tag is not None and tag in self.tags
            elif name == "direct":
                ok = self.visibility == DIRECT and (
                    viewer == self.author or viewer in self.mentioned
                )
            else:
                ok = False
            if ok:
                out.add(stream)
        return out


def _in_public_timeline(row: Row) -> bool:
    """As `timelines.public` selects: public, not a reblog, not a reply to someone else."""
    return (
        row.visibility == PUBLIC
        and row.reblog_of_id is None
        and (row.in_reply_to_id is None or row.in_reply_to_account_id == row.account_id)
    )


def normalize_tag(name: str) -> str:
    return name.strip().lstrip("#").lower()


def _followers_among(conn: Connection, author: int, viewers: Iterable[int]) -> set[int]:
    wanted = list(viewers)
    if not wanted:
        return set()
    return set(
        conn.execute(
            sa.select(follows.c.account_id).where(
                follows.c.target_account_id == author, follows.c.account_id.in_(wanted)
            )
        ).scalars()
    )


def route(db: Database, event: Event, audience: Mapping[int, set[Stream]]) -> list[Delivery]:
    """The deliveries of one committed event to the viewers in `audience` (viewer → the
    streams their open connections subscribe to). Empty for an event nobody may see."""
    kind = event.get("k")
    if not audience or kind not in ("status", "notification", "delete"):
        return []
    if kind == "notification":
        return db.read(lambda conn: _notification(conn, int(event["id"]), audience), "primary")
    if kind == "delete":
        return db.read(lambda conn: _delete(conn, event, audience), "primary")
    return db.read(lambda conn: _status(conn, int(event["id"]), audience), "primary")


def _status(
    conn: Connection, status_id: int, audience: Mapping[int, set[Stream]]
) -> list[Delivery]:
    row = conn.execute(sa.select(statuses).where(statuses.c.id == status_id)).first()
    if row is None:
        return []  # deleted before we got to it
    facts = Facts(
        author=row.account_id,
        visibility=row.visibility,
        mentioned=set(
            conn.execute(
                sa.select(mentions.c.account_id).where(mentions.c.status_id == row.id)
            ).scalars()
        ),
        tags=set(
            conn.execute(
                sa.select(tags.c.name)
                .join(status_tags, status_tags.c.tag_id == tags.c.id)
                .where(status_tags.c.status_id == row.id)
            ).scalars()
        ),
        in_public_timeline=_in_public_timeline(row),
        has_media=conn.execute(
            sa.select(media_attachments.c.id).where(media_attachments.c.status_id == row.id)
        ).first()
        is not None,
    )
    facts.followers = _followers_among(conn, row.account_id, audience)
    out = []
    for viewer, wanted in audience.items():
        streams = facts.streams_for(viewer, wanted)
        if streams:
            # The entity as this viewer sees it (their favourited/bookmarked flags).
            bundle = load_statuses(conn, [row], viewer)
            out.append(Delivery(viewer, "update", streams, status=row, bundle=bundle))
    return out


def _delete(conn: Connection, event: Event, audience: Mapping[int, set[Stream]]) -> list[Delivery]:
    facts = Facts(
        author=int(event["a"]),
        visibility=int(event["v"]),
        mentioned={int(m) for m in event.get("m", ())},
        tags=set(event.get("t", ())),
        in_public_timeline=bool(event.get("pub")),
        # Its media are detached by now; a delete of a status never seen is harmless.
        has_media=True,
    )
    if event.get("trimmed"):
        # The lists did not fit the payload: tell only those who surely saw it.
        facts.mentioned = set()
    facts.followers = _followers_among(conn, facts.author, audience)
    out = []
    for viewer, wanted in audience.items():
        streams = facts.streams_for(viewer, wanted)
        if streams:
            out.append(Delivery(viewer, "delete", streams, deleted_id=int(event["id"])))
    return out


def _notification(
    conn: Connection, notification_id: int, audience: Mapping[int, set[Stream]]
) -> list[Delivery]:
    row = conn.execute(
        sa.select(notifications).where(notifications.c.id == notification_id)
    ).first()
    if row is None or row.account_id not in audience:
        return []
    streams = audience[row.account_id] & {("user", None), ("user:notification", None)}
    if not streams:
        return []
    status_rows = (
        conn.execute(sa.select(statuses).where(statuses.c.id == row.status_id)).all()
        if row.status_id
        else []
    )
    bundle = load_statuses(conn, status_rows, row.account_id)
    load_accounts(conn, {row.from_account_id}, bundle)
    return [Delivery(row.account_id, "notification", streams, notification=row, bundle=bundle)]


def committed_since(db: Database, since_ms: int) -> list[Event]:
    """Events for what was committed since `since_ms` (statuses and notifications, by their
    time-ordered ids): after the listener missed some, the receiver replays these and skips
    the ones it has already delivered. Deletes cannot be found again and are not replayed."""
    bound = ids.id_for_time(max(since_ms, 0))

    def unit(conn: Connection) -> list[Event]:
        status_ids = conn.execute(
            sa.select(statuses.c.id)
            .where(statuses.c.id >= bound)
            .order_by(statuses.c.id)
            .limit(1000)
        ).scalars()
        out: list[Event] = [{"k": "status", "id": i} for i in status_ids]
        note_ids = conn.execute(
            sa.select(notifications.c.id)
            .where(notifications.c.id >= bound)
            .order_by(notifications.c.id)
            .limit(1000)
        ).scalars()
        out += [{"k": "notification", "id": i} for i in note_ids]
        return out

    return db.read(unit, "primary")
