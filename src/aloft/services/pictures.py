"""An account's pictures, its avatar and header: checked, cropped, stored as media.

They are stored the way media attachments are (`aloft.services.media`), so a failover keeps
them like any post's image: one `media_attachments` row, marked with its `profile_part`
("avatar" or "header"; such a row is never attached to a post, shown by GET
/api/v1/media/:id or cleaned up as an unused upload), and its one file in `media_files`,
served by the media route (`/media/<id>/<token>/original.<ext>`). The account row keeps
that path (`accounts.avatar_path`, `header_path`) and the alt text, so an Account entity is
drawn from the account row alone, with no query of its own.

As Mastodon: JPEG, PNG, GIF or WebP, at most 8 MB as uploaded; cropped about the centre to
fill 400×400 (avatar) or 1500×500 (header). An animated GIF keeps its first frame only
(stored as PNG), so `avatar_static` is the same file as `avatar`.

Every write is safe to run twice: the picture's ID and token are drawn before the first
attempt, its rows are inserted if absent, and the pictures it replaces are deleted by
"this account's, not this one".
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid
from aloft.services import transcoder
from aloft.services.auth import Viewer, now
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import accounts, media_attachments, media_files

MB = 1024 * 1024
SIZE_LIMIT = 8 * MB


@dataclass(frozen=True)
class Part:
    """Which picture: its parameter's name (also the row's `profile_part`) and its size."""

    name: str
    size: tuple[int, int]

    @property
    def path_column(self) -> str:
        return f"{self.name}_path"

    @property
    def description_column(self) -> str:
        return f"{self.name}_description"


AVATAR = Part("avatar", (400, 400))
HEADER = Part("header", (1500, 500))
PARTS = {p.name: p for p in (AVATAR, HEADER)}


@dataclass(frozen=True)
class Picture:
    """An uploaded picture, checked and cropped, with the ID and token it will be stored
    under (drawn now, before any write)."""

    part: Part
    media_id: int
    token: str
    file: transcoder.Variant

    @property
    def path(self) -> str:
        """Its path under /media, as the media route serves it."""
        ext = transcoder.EXTENSIONS[self.file.content_type]
        return f"{self.media_id}/{self.token}/original.{ext}"


def _invalid(part: Part, description: str) -> Invalid:
    return Invalid.on(part.name, "ERR_INVALID", description)


def prepare(part: Part, data: bytes) -> Picture:
    """Check and crop an upload (no database): Invalid naming the part when it is not a
    JPEG, PNG, GIF or WebP image, is larger than SIZE_LIMIT, has more pixels than an image
    may, or cannot be read."""
    content_type = transcoder.sniff(data)
    if content_type not in transcoder.IMAGE_TYPES:
        raise _invalid(part, "must be a JPEG, PNG, GIF or WebP image")
    if len(data) > SIZE_LIMIT:
        raise _invalid(part, f"must be less than {SIZE_LIMIT // MB} MB")
    try:
        cropped = transcoder.cropped(data, content_type, part.size)
    except Invalid as exc:
        raise _invalid(part, exc.message.removeprefix("Validation failed: ")) from None
    return Picture(part, ids.new_id(), secrets.token_urlsafe(12), cropped)


def description(part: Part, text: str) -> str:
    """Alt text within the media descriptions' limit, else Invalid naming it."""
    limit = transcoder.LIMITS.description
    if len(text) > limit:
        name = part.description_column
        raise Invalid.on(name, "ERR_TOO_LONG", f"is too long (maximum is {limit} characters)")
    return text


def store(conn: Connection, me: int, picture: Picture) -> None:
    """Inside a unit of work: make `picture` the account's, replacing the one it had."""
    part = picture.part
    width, height = part.size
    insert_ignore(
        conn,
        media_attachments,
        {
            "id": picture.media_id,
            "account_id": me,
            "token": picture.token,
            "type": "image",
            "state": "ready",
            "ext": transcoder.EXTENSIONS[picture.file.content_type],
            "meta": json.dumps({"original": transcoder.geometry(width, height)}),
            "created_at": now(),
            "profile_part": part.name,
        },
    )
    insert_ignore(
        conn,
        media_files,
        {
            "media_id": picture.media_id,
            "variant": "original",
            "content_type": picture.file.content_type,
            "data": picture.file.data,
        },
    )
    _drop(conn, me, part, keep=picture.media_id)
    conn.execute(
        sa.update(accounts).where(accounts.c.id == me).values({part.path_column: picture.path})
    )


def _drop(conn: Connection, me: int, part: Part, keep: int | None = None) -> None:
    """Delete the account's stored `part` (but `keep`); its file goes with it (CASCADE)."""
    doomed = sa.delete(media_attachments).where(
        media_attachments.c.account_id == me,
        media_attachments.c.profile_part == part.name,
    )
    if keep is not None:
        doomed = doomed.where(media_attachments.c.id != keep)
    conn.execute(doomed)


def clear(conn: Connection, me: int, part: Part) -> None:
    """Inside a unit of work: put the default `part` back; the stored file and its alt
    text are gone. Nothing to clear is no error."""
    _drop(conn, me, part)
    conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == me)
        .values({part.path_column: None, part.description_column: ""})
    )


def remove(db: Database, viewer: Viewer, part: Part) -> Row:
    """DELETE /api/v1/profile/avatar|header, as Mastodon: the default `part` back, and the
    account row as it is then."""
    me = viewer.account_id
    assert me is not None

    def unit(conn: Connection) -> Row:
        clear(conn, me, part)
        return conn.execute(sa.select(accounts).where(accounts.c.id == me)).one()

    return db.write(unit)
