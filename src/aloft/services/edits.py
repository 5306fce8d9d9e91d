"""Editing a status, its history and its source (Mastodon's UpdateStatusService, facts only).

Only the author edits (anyone else is told the status does not exist: 404, as Mastodon
finds it among the author's own). Parameters work as Mastodon's: `status`, `spoiler_text`,
`sensitive` and `language` left out keep what was there; `media_ids` and `poll` left out
remove the media and the poll. Text limits and sanitizing are those of posting. A poll
whose options or kind change loses its votes; a poll and media together are refused.

The first edit also writes the original as the first revision, so that the history
(`history`) lists the original first, then every edit. An edit that changes nothing writes
nothing. An edit tells the streams (`status.update`) and notifies those who reblogged the
status (an `update` notification per edit, as Mastodon 4.x does).

The unit of work may run twice (docs/ARCHITECTURE.md): the edit's revision id is drawn
before the first attempt, so a rerun after an ambiguous commit finds its revision and
answers with the status as it is, writing nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services import polls, text
from aloft.services.auth import Viewer, now
from aloft.services.loader import Bundle, load_accounts, with_bundle
from aloft.services.media import COLUMNS, attach_to_status, check_media_ids
from aloft.services.notifications import notify, notify_keyed
from aloft.services.statuses import NewStatus, Site, validate
from aloft.services.streaming import status_edited
from aloft.services.visibility import NAMES, visible_to
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import (
    accounts,
    media_attachments,
    mentions,
    poll_options,
    status_edits,
    status_tags,
    statuses,
    tags,
)
from aloft.storage.schema import (
    polls as polls_table,
)


@dataclass(frozen=True)
class Edit:
    """What PUT /api/v1/statuses/:id asks; None: keep what is there."""

    text: str | None = None
    spoiler_text: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    media_ids: tuple[int, ...] = ()
    poll: polls.NewPoll | None = None


@dataclass(frozen=True)
class Revision:
    """One revision of a status (a `status_edits` row, or the status never edited)."""

    account_id: int
    content: str
    spoiler_text: str
    sensitive: bool
    media_ids: list[int]
    poll_options: list[str] | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> Revision:
        return cls(
            row.account_id,
            row.content,
            row.spoiler_text,
            row.sensitive,
            orjson.loads(row.media_ids),
            orjson.loads(row.poll_options) if row.poll_options is not None else None,
            row.created_at,
        )


@dataclass
class History:
    edits: list[Revision]
    accounts: dict[int, Row]
    media: dict[int, Row]


def _own(conn: Connection, me: int, status_id: int) -> Row:
    row = conn.execute(
        sa.select(statuses).where(
            statuses.c.id == status_id,
            statuses.c.account_id == me,
            statuses.c.reblog_of_id.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def _media_ids(conn: Connection, status_id: int) -> list[int]:
    return list(
        conn.execute(
            sa.select(media_attachments.c.id)
            .where(media_attachments.c.status_id == status_id)
            .order_by(media_attachments.c.position)
        ).scalars()
    )


def _poll_titles(conn: Connection, poll_id: int | None) -> list[str] | None:
    if poll_id is None:
        return None
    return list(
        conn.execute(
            sa.select(poll_options.c.title)
            .where(poll_options.c.poll_id == poll_id)
            .order_by(poll_options.c.position)
        ).scalars()
    )


def _revision(
    conn: Connection,
    edit_id: int,
    row: Row,
    media: list[int],
    titles: list[str] | None,
    at: datetime,
) -> None:
    conn.execute(
        sa.insert(status_edits).values(
            id=edit_id,
            status_id=row.id,
            account_id=row.account_id,
            text=row.text,
            content=row.content,
            spoiler_text=row.spoiler_text,
            sensitive=row.sensitive,
            media_ids=orjson.dumps(media).decode(),
            poll_options=orjson.dumps(titles).decode() if titles is not None else None,
            created_at=at,
        )
    )


def edit(
    db: Database, viewer: Viewer, site: Site, status_id: int, change: Edit
) -> tuple[Row, Bundle]:
    """Edit one of the viewer's statuses; return it as it is now."""
    me = viewer.account_id
    assert me is not None
    media_ids = check_media_ids(change.media_ids)
    if change.poll is not None:
        if media_ids:
            raise Invalid("Validation failed: a poll cannot be attached to a post with media")
        polls.validate(change.poll)
    original_id, edit_id, poll_id = ids.new_id(), ids.new_id(), ids.new_id()

    def unit(conn: Connection) -> Row:
        row = _own(conn, me, status_id)
        done = conn.execute(sa.select(status_edits.c.id).where(status_edits.c.id == edit_id))
        if done.first() is not None:
            return row  # an earlier attempt committed
        new_text = change.text if change.text is not None else row.text
        spoiler = change.spoiler_text if change.spoiler_text is not None else row.spoiler_text
        sensitive = row.sensitive
        if change.sensitive is not None or change.spoiler_text is not None:
            sensitive = bool(change.sensitive) or bool(spoiler)
        language = change.language or row.language
        validate(
            NewStatus(
                text=new_text,
                visibility=NAMES[row.visibility],
                spoiler_text=spoiler,
                language=language,
                media_ids=tuple(media_ids),
            )
        )
        old_media = _media_ids(conn, row.id)
        old_titles = _poll_titles(conn, row.poll_id)
        old_poll = (
            conn.execute(sa.select(polls_table).where(polls_table.c.id == row.poll_id)).first()
            if row.poll_id is not None
            else None
        )
        new_titles = list(change.poll.options) if change.poll is not None else None
        changed = (
            new_text != row.text
            or spoiler != row.spoiler_text
            or sensitive != row.sensitive
            or language != row.language
            or media_ids != old_media
            or new_titles != old_titles
            or (change.poll is not None)  # a poll sent again restarts its time, as Mastodon
        )
        if not changed:
            return row
        at = now()
        first_edit = (
            conn.execute(
                sa.select(status_edits.c.id).where(status_edits.c.status_id == row.id).limit(1)
            ).first()
            is None
        )
        if first_edit:
            _revision(conn, original_id, row, old_media, old_titles, row.created_at)

        parsed = text.parse(new_text, site.domain)
        mentioned = (
            conn.execute(
                sa.select(accounts.c.id, accounts.c.username, accounts.c.username_lower).where(
                    accounts.c.username_lower.in_(parsed.mentions)
                )
            ).all()
            if parsed.mentions
            else []
        )
        content = text.render(
            new_text, site.base_url, site.domain, {m.username_lower: m.username for m in mentioned}
        )
        conn.execute(
            sa.update(statuses)
            .where(statuses.c.id == row.id)
            .values(
                text=new_text,
                content=content,
                spoiler_text=spoiler,
                sensitive=sensitive,
                language=language,
                edited_at=at,
            )
        )
        # Mentions and hashtags follow the new text; a newly mentioned account is told.
        conn.execute(sa.delete(mentions).where(mentions.c.status_id == row.id))
        if mentioned:
            conn.execute(
                sa.insert(mentions), [{"status_id": row.id, "account_id": m.id} for m in mentioned]
            )
        conn.execute(sa.delete(status_tags).where(status_tags.c.status_id == row.id))
        for name in parsed.hashtags:
            insert_ignore(conn, tags, {"id": ids.new_id(), "name": name})
        if parsed.hashtags:
            tag_ids = conn.execute(
                sa.select(tags.c.id).where(tags.c.name.in_(parsed.hashtags))
            ).scalars()
            conn.execute(
                sa.insert(status_tags), [{"status_id": row.id, "tag_id": t} for t in tag_ids]
            )

        # Media: what is left out is detached (kept for the cleanup, as on deletion); new
        # ones must be the author's, processed and unattached; then the order asked.
        if media_ids != old_media:
            conn.execute(
                sa.update(media_attachments)
                .where(
                    media_attachments.c.status_id == row.id,
                    media_attachments.c.id.not_in(media_ids) if media_ids else sa.true(),
                )
                .values(status_id=None)
            )
            attach_to_status(conn, me, row.id, [i for i in media_ids if i not in old_media])
            for position, media_id in enumerate(media_ids):
                conn.execute(
                    sa.update(media_attachments)
                    .where(media_attachments.c.id == media_id)
                    .values(position=position)
                )

        if change.poll is not None:
            if old_poll is None:
                polls.write(conn, poll_id, row.id, me, change.poll)
            elif new_titles != old_titles or change.poll.multiple != old_poll.multiple:
                polls.replace(conn, old_poll.id, change.poll)
            else:
                polls.restart(conn, old_poll.id, change.poll)
        elif old_poll is not None:
            conn.execute(sa.update(statuses).where(statuses.c.id == row.id).values(poll_id=None))
            conn.execute(sa.delete(polls_table).where(polls_table.c.id == old_poll.id))

        now_row = conn.execute(sa.select(statuses).where(statuses.c.id == row.id)).one()
        _revision(conn, edit_id, now_row, media_ids, new_titles, at)
        status_edited(conn, row.id, edit_id)
        for m in mentioned:
            notify(conn, m.id, me, "mention", row.id)
        rebloggers = conn.execute(
            sa.select(statuses.c.account_id).where(statuses.c.reblog_of_id == row.id)
        ).scalars()
        for account_id in rebloggers:
            notify_keyed(conn, account_id, me, "update", row.id, f"{me}:{edit_id}")
        return now_row

    return db.write_then(unit, with_bundle(me))


def history(db: Database, viewer: Viewer, status_id: int) -> History:
    """The revisions of a status the viewer may see, oldest (the original) first; a status
    never edited has one, itself, as Mastodon answers."""

    def unit(conn: Connection) -> History:
        row = conn.execute(
            sa.select(statuses).where(
                statuses.c.id == status_id,
                statuses.c.reblog_of_id.is_(None),
                visible_to(viewer.account_id),
            )
        ).first()
        if row is None:
            raise NotFound("Record not found")
        edits = [
            Revision.of(r)
            for r in conn.execute(
                sa.select(status_edits)
                .where(status_edits.c.status_id == row.id)
                .order_by(status_edits.c.id)
            )
        ]
        if not edits:
            edits = [
                Revision(
                    row.account_id,
                    row.content,
                    row.spoiler_text,
                    row.sensitive,
                    _media_ids(conn, row.id),
                    _poll_titles(conn, row.poll_id),
                    row.created_at,
                )
            ]
        wanted = {i for e in edits for i in e.media_ids}
        media: dict[int, Row] = {}
        if wanted:
            for m in conn.execute(sa.select(*COLUMNS).where(media_attachments.c.id.in_(wanted))):
                media[m.id] = m
        bundle = Bundle()
        load_accounts(conn, {row.account_id}, bundle)
        return History(edits, bundle.accounts, media)

    return db.read(unit)


def source(db: Database, viewer: Viewer, status_id: int) -> Row:
    """The source of a status the viewer may see (NotFound otherwise, as Mastodon)."""

    def unit(conn: Connection) -> Row:
        row = conn.execute(
            sa.select(statuses).where(statuses.c.id == status_id, visible_to(viewer.account_id))
        ).first()
        if row is None:
            raise NotFound("Record not found")
        return row

    return db.read(unit)
