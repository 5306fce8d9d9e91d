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
* `direct`: the viewer's conversations (`aloft.services.conversations`), as Mastodon sends
  them: a `conversation` event with the Conversation entity whenever one changes (a direct
  post added or deleted), never the statuses themselves;
* `list` with a list's id: what that list's timeline would show, to its owner only
  (`aloft.services.lists`); `user` leaves out the members of the viewer's exclusive
  lists, as home does;

Blocks, mutes and suspensions apply as in the timelines (`visibility.hidden_among`): a
status by (or reblogging) an account the viewer blocks, mutes or is blocked by, or a
suspended one, reaches none of their streams, nor does a notification they would not be
shown. A notification goes only to its owner. A deleted status's `delete` goes to the streams
that would have shown it, judged from facts the event carries (author, visibility,
mentions, tags), since the row is gone. Events are read on the primary: a NOTIFY may
arrive before a standby has replayed the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.services.conversations import bundle_for
from aloft.services.filtering import hidden
from aloft.services.lists import Routing, routing
from aloft.services.loader import Bundle, load_accounts, load_statuses
from aloft.services.visibility import PRIVATE, PUBLIC, UNLISTED, hidden_among
from aloft.storage.database import Database
from aloft.storage.events import Event, emit
from aloft.storage.schema import (
    conversations,
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


def status_edited(conn: Connection, status_id: int, edit_id: int) -> None:
    """An edit of `status_id` (its revision `edit_id`): `status.update` on the streams that
    show the status. Not replayed after a listener gap (a client reloads what it shows)."""
    emit(conn, {"k": "edit", "id": status_id, "e": edit_id})


def notified(conn: Connection, notification_id: int) -> None:
    emit(conn, {"k": "notification", "id": notification_id})


def filters_changed(conn: Connection, account_id: int) -> None:
    """The account's filters changed: `filters_changed` (no payload) on its `user` streams,
    as Mastodon publishes it after every filter save. Not replayed after a listener gap."""
    emit(conn, {"k": "filters", "a": account_id})


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
    event: str  # "update", "status.update", "notification", "delete" or "filters_changed"
    streams: set[Stream]
    status: Row | None = None  # update
    notification: Row | None = None
    bundle: Bundle | None = None
    deleted_id: int | None = None  # delete
    conversation: Row | None = None  # conversation (its bundle: last status, participants)


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
    reply_to: int | None = None  # the account it replies to, if a reply
    lists: Routing = field(default_factory=Routing)

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
                ok = ok and not self.lists.leaves_home(viewer, self.author)
            elif name == "list" and tag is not None:
                ok = self.lists.shows(viewer, int(tag), self.author, self.reply_to)
            elif name in ("public", "public:local"):
                ok = self.in_public_timeline
            elif name in ("public:media", "public:local:media"):
                ok = self.in_public_timeline and self.has_media
            elif name in ("hashtag", "hashtag:local"):
                ok = self.visibility == PUBLIC and tag is not None and tag in self.tags
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


@dataclass
class Routed:
    """What `route` made of a batch: the deliveries, in event order, and the status and
    notification events whose rows it did not find (deleted since, or read from a standby
    that has not replayed them yet during a failover: a later replay may find them)."""

    deliveries: list[Delivery] = field(default_factory=list)
    not_found: list[Event] = field(default_factory=list)


def route(db: Database, events: Sequence[Event], audience: Mapping[int, set[Stream]]) -> Routed:
    """The deliveries of committed `events` to the viewers in `audience` (viewer → the
    streams their open connections subscribe to). One read transaction and a fixed number
    of queries per batch, whatever its size (each event alone cost ~30 ms of queries: a
    drill's 35 posts a second queued up a second behind)."""
    wanted = [e for e in events if e.get("k") in ("status", "notification", "delete", "edit")]
    if not audience or not (wanted or any(e.get("k") == "filters" for e in events)):
        return Routed()
    if not wanted:  # nothing to read: only filter changes
        return Routed(_filters_changed(events, audience))
    routed = db.read(lambda conn: _route(conn, wanted, audience), "primary")
    routed.deliveries += _filters_changed(events, audience)
    return routed


def _filters_changed(
    events: Sequence[Event], audience: Mapping[int, set[Stream]]
) -> list[Delivery]:
    """`filters_changed` for each account whose filters changed, on its `user` streams."""
    out = []
    for event in events:
        if event.get("k") == "filters":
            owner = int(event["a"])
            if USER_STREAM in audience.get(owner, ()):
                out.append(Delivery(owner, "filters_changed", {USER_STREAM}))
    return out


def _route(
    conn: Connection, events: Sequence[Event], audience: Mapping[int, set[Stream]]
) -> Routed:
    status_ids = [int(e["id"]) for e in events if e["k"] in ("status", "edit")]
    note_ids = [int(e["id"]) for e in events if e["k"] == "notification"]
    rows = _by_id(conn, statuses, status_ids)  # a status deleted since is simply not here
    all_notes = _by_id(conn, notifications, note_ids)
    notes = {i: n for i, n in all_notes.items() if n.account_id in audience}
    not_found = [
        e
        for e in events
        if (e["k"] == "status" and int(e["id"]) not in rows)
        or (e["k"] == "notification" and int(e["id"]) not in all_notes)
    ]
    mentioned: dict[int, set[int]] = defaultdict(set)
    tagged: dict[int, set[str]] = defaultdict(set)
    pictured: set[int] = set()
    if rows:
        for m in conn.execute(
            sa.select(mentions.c.status_id, mentions.c.account_id).where(
                mentions.c.status_id.in_(rows)
            )
        ):
            mentioned[m.status_id].add(m.account_id)
        for t in conn.execute(
            sa.select(status_tags.c.status_id, tags.c.name)
            .join(tags, tags.c.id == status_tags.c.tag_id)
            .where(status_tags.c.status_id.in_(rows))
        ):
            tagged[t.status_id].add(t.name)
        pictured = set(
            conn.execute(
                sa.select(media_attachments.c.status_id).where(
                    media_attachments.c.status_id.in_(rows)
                )
            ).scalars()
        )
    authors = {r.account_id for r in rows.values()}
    authors |= {int(e["a"]) for e in events if e["k"] == "delete"}
    followers = _followers_of(conn, authors, audience)
    replied_to = {r.in_reply_to_account_id for r in rows.values() if r.in_reply_to_id}
    list_routes = routing(conn, audience, replied_to - {None})
    # Blocks, mutes and suspensions (aloft.services.visibility): a reblog is hidden for its
    # original's author too. Two queries (three with reblogs) per batch.
    reblogged = {r.reblog_of_id for r in rows.values() if r.reblog_of_id} - rows.keys()
    originals = {**rows, **_by_id(conn, statuses, reblogged)}
    original_author = {
        r.id: originals[r.reblog_of_id].account_id
        for r in rows.values()
        if r.reblog_of_id in originals
    }
    hidden = hidden_among(
        conn,
        audience,
        authors | set(original_author.values()) | {n.from_account_id for n in notes.values()},
    )

    # What each viewer gets, in event order; entities are loaded per viewer afterwards.
    plan: list[tuple[int, str, set[Stream], int]] = []
    for event in events:
        kind, event_id = event["k"], int(event["id"])
        edited = kind == "edit"  # routed as its status is, sent as status.update
        kind = "status" if edited else kind
        if kind == "notification":
            note = notes.get(event_id)
            if note is not None and not hidden.hides_notification(
                note.account_id, note.from_account_id
            ):
                streams = audience[note.account_id] & NOTIFICATION_STREAMS
                if streams:
                    plan.append((note.account_id, "notification", streams, event_id))
            continue
        if kind == "status":
            row = rows.get(event_id)
            if row is None:
                continue
            facts = Facts(
                author=row.account_id,
                visibility=row.visibility,
                mentioned=mentioned[row.id],
                tags=tagged[row.id],
                in_public_timeline=_in_public_timeline(row),
                has_media=row.id in pictured,
                reply_to=row.in_reply_to_account_id if row.in_reply_to_id else None,
            )
        else:
            facts = _deleted_facts(event)
        facts.followers = followers[facts.author]
        facts.lists = list_routes
        shown_by = (facts.author, original_author.get(event_id, facts.author))
        for viewer, subscribed in audience.items():
            if kind == "status" and hidden.hides_status(viewer, *shown_by):
                continue
            streams = facts.streams_for(viewer, subscribed)
            if streams:
                name = "status.update" if edited else "update" if kind == "status" else "delete"
                plan.append((viewer, name, streams, event_id))

    # Every status a viewer's deliveries show (updates, and what notifications are about),
    # loaded once per viewer: the entities as that viewer sees them (favourited, etc.).
    shown: dict[int, set[int]] = defaultdict(set)
    senders: dict[int, set[int]] = defaultdict(set)
    for viewer, name, _, event_id in plan:
        if name in ("update", "status.update"):
            shown[viewer].add(event_id)
        elif name == "notification":
            senders[viewer].add(notes[event_id].from_account_id)
            if notes[event_id].status_id:
                shown[viewer].add(notes[event_id].status_id)
    more = _by_id(conn, statuses, set().union(*shown.values()) - rows.keys()) if shown else {}
    known = {**rows, **more}
    bundles: dict[int, Bundle] = {}
    for viewer in shown.keys() | senders.keys():
        status_rows = [known[i] for i in sorted(shown[viewer]) if i in known]
        bundles[viewer] = load_statuses(conn, status_rows, viewer)
        load_accounts(conn, senders[viewer], bundles[viewer])
    plan = _screened(plan, notes, bundles)

    out = []
    for viewer, name, streams, event_id in plan:
        if name in ("update", "status.update"):
            out.append(
                Delivery(viewer, name, streams, status=rows[event_id], bundle=bundles[viewer])
            )
        elif name == "notification":
            out.append(
                Delivery(
                    viewer, name, streams, notification=notes[event_id], bundle=bundles[viewer]
                )
            )
        else:
            out.append(Delivery(viewer, name, streams, deleted_id=event_id))
    return Routed(out, not_found)


DIRECT_STREAM: Stream = ("direct", None)


def conversations_for(
    db: Database, events: Sequence[Event], audience: Mapping[int, set[Stream]]
) -> list[Delivery]:
    """`conversation` deliveries for the `conversation` events among `events`: to the
    conversation's own account, on its `direct` stream, unless the last status's author is
    hidden from it (blocks, mutes, suspension: as the conversations list leaves it out).
    One read, a fixed number of queries; none when no event is a conversation's."""
    wanted = {int(e["id"]) for e in events if e.get("k") == "conversation"}
    if not wanted or not any(DIRECT_STREAM in streams for streams in audience.values()):
        return []

    def unit(conn: Connection) -> list[Delivery]:
        rows = {
            i: r
            for i, r in _by_id(conn, conversations, wanted).items()
            if DIRECT_STREAM in audience.get(r.account_id, ())
        }
        lasts = _by_id(conn, statuses, {r.last_status_id for r in rows.values()})
        hidden = hidden_among(
            conn, {r.account_id for r in rows.values()}, {s.account_id for s in lasts.values()}
        )
        shown = [
            r
            for r in rows.values()
            if r.last_status_id in lasts
            and not hidden.hides_status(r.account_id, lasts[r.last_status_id].account_id)
        ]
        owners: dict[int, list[Row]] = defaultdict(list)
        for r in shown:
            owners[r.account_id].append(r)
        bundles = {owner: bundle_for(conn, mine, owner) for owner, mine in owners.items()}
        out = []
        for event in events:  # in event order; a conversation changed twice is sent twice
            row = rows.get(int(event["id"])) if event.get("k") == "conversation" else None
            if row is not None and row in shown:
                out.append(
                    Delivery(
                        row.account_id,
                        "conversation",
                        {DIRECT_STREAM},
                        bundle=bundles[row.account_id],
                        conversation=row,
                    )
                )
        return out

    return db.read(unit, "primary")


USER_STREAM: Stream = ("user", None)
NOTIFICATION_STREAMS = frozenset({("user", None), ("user:notification", None)})
# The filter context of each stream that shows statuses (Mastodon's web client's mapping).
STREAM_CONTEXTS = {
    "user": "home",
    "list": "home",
    **{name: "public" for name in PUBLIC_STREAMS},
}


def _screened(
    plan: list[tuple[int, str, set[Stream], int]],
    notes: Mapping[int, Row],
    bundles: Mapping[int, Bundle],
) -> list[tuple[int, str, set[Stream], int]]:
    """The plan without what each viewer's `hide` filters leave out (as the listings do,
    `aloft.services.filtering`): a status on the streams whose context a filter hides it
    in, a notification about a status hidden in notifications."""
    out = []
    for viewer, name, streams, event_id in plan:
        bundle = bundles.get(viewer)
        if bundle is not None and bundle.filtered:
            if name in ("update", "status.update") and event_id in bundle.statuses:
                row = bundle.statuses[event_id]
                streams = {
                    s
                    for s in streams
                    if s[0] not in STREAM_CONTEXTS or not hidden(bundle, row, STREAM_CONTEXTS[s[0]])
                }
            elif name == "notification":
                about = notes[event_id].status_id
                if about in bundle.statuses and hidden(
                    bundle, bundle.statuses[about], "notifications"
                ):
                    continue
        if streams:
            out.append((viewer, name, streams, event_id))
    return out


def _by_id(conn: Connection, table: sa.Table, wanted: Iterable[int]) -> dict[int, Row]:
    keys = list(wanted)
    if not keys:
        return {}
    return {r.id: r for r in conn.execute(sa.select(table).where(table.c.id.in_(keys)))}


def _followers_of(
    conn: Connection, authors: Iterable[int], viewers: Iterable[int]
) -> dict[int, set[int]]:
    """author → which of `viewers` follow them: one query."""
    out: dict[int, set[int]] = defaultdict(set)
    wanted, among = list(authors), list(viewers)
    if not wanted or not among:
        return out
    for f in conn.execute(
        sa.select(follows.c.target_account_id, follows.c.account_id).where(
            follows.c.target_account_id.in_(wanted), follows.c.account_id.in_(among)
        )
    ):
        out[f.target_account_id].add(f.account_id)
    return out


def _deleted_facts(event: Event) -> Facts:
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
    return facts


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
