"""Media attachments: upload, describe, attach to a status, serve, process, clean up.

Where the bytes live: in the database (`media_files`), written in the same unit of work as
the attachment's row, so on PostgreSQL the synchronous standby holds them before an upload
is acknowledged, exactly like a post (docs/ARCHITECTURE.md, "Media").

Processing never runs inside a transaction:
* an image is processed (`transcoder.image`) in the request's worker thread, then stored
  `ready` in one write;
* a video or animated GIF is checked with ffprobe, stored `processing` together with the
  upload's bytes (variant "upload"), and finished by a job (`process_next`): any app replica
  claims it with a lease (`claimed_until`; `FOR UPDATE SKIP LOCKED` on PostgreSQL), converts
  it outside any transaction and stores the result. A claim whose app died runs out and the
  row is claimed again; after `MAX_ATTEMPTS` claims it is marked `failed`.

Every write here is safe to run twice: IDs and claim tokens are drawn before the first
attempt, rows are inserted with insert-if-absent, and state changes are guarded by the
state they expect.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import Invalid, NotFound
from aloft.services import transcoder
from aloft.services.auth import Viewer, now
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import media_attachments, media_files
from aloft.storage.statement import Statement

log = logging.getLogger("aloft.media")

PROCESSING, READY, FAILED = "processing", "ready", "failed"
LEASE = timedelta(seconds=transcoder.LIMITS.ffmpeg_seconds * 2 + 60)
MAX_ATTEMPTS = 3
UNATTACHED_FOR = timedelta(days=1)
CLEANUP_BATCH = 200
SERVED = ("original", "small")

NOT_PROCESSED = "Cannot attach files that have not finished processing. Try again in a moment!"
PROCESSING_FAILED = "Error processing thumbnail for uploaded media"

# Every column but the bytes: what entities and the loader need.
COLUMNS = [c for c in media_attachments.c]
# Built once: every page of statuses asks it (aloft.services.loader).
FOR_STATUSES = Statement(
    lambda among: (
        sa.select(*COLUMNS)
        .where(among(media_attachments.c.status_id, "ids"))
        .order_by(media_attachments.c.status_id, media_attachments.c.position)
    )
)


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _focus(raw: str | None) -> tuple[float, float] | None:
    """Mastodon's "x,y" focal point, each from -1.0 to 1.0."""
    if raw is None or not raw.strip():
        return None
    parts = raw.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise Invalid("focus must be two numbers from -1.0 to 1.0, as x,y") from None
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise Invalid("focus must be two numbers from -1.0 to 1.0, as x,y")
    return x, y


def _description(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > transcoder.LIMITS.description:
        limit = transcoder.LIMITS.description
        raise Invalid(f"Validation failed: Description is too long (maximum is {limit} characters)")
    return raw


def meta(row: Row) -> dict[str, object]:
    """The entity's `meta`: sizes from processing, plus the focal point if one is set."""
    data: dict[str, object] = json.loads(row.meta or "{}")
    if row.focus_x is not None:
        data["focus"] = {"x": row.focus_x, "y": row.focus_y}
    return data


def upload(
    db: Database,
    viewer: Viewer,
    file: Upload,
    description: str | None = None,
    focus: str | None = None,
    claim_for_caller: bool = False,
) -> Row:
    """Store an upload; an image is processed now (`ready`), a video or animated GIF is
    stored `processing` for the job. With `claim_for_caller` the new row is already claimed
    by the caller, who is to call `finish` itself (POST /api/v1/media waits for it)."""
    me = viewer.account_id
    assert me is not None
    text = _description(description)
    point = _focus(focus)
    content_type = transcoder.sniff(file.data)
    if content_type is None:
        raise Invalid(transcoder.BAD_TYPE)
    limit = transcoder.size_limit(content_type)
    if len(file.data) > limit:
        raise Invalid(f"Validation failed: File file size must be less than {limit} bytes")
    processed: transcoder.Processed | None = None
    kind = "video"
    if content_type in transcoder.IMAGE_TYPES and not (
        content_type == "image/gif" and transcoder.is_animated(file.data, content_type)
    ):
        processed = transcoder.image(file.data, content_type)
    else:
        missing = transcoder.ffmpeg_missing()
        if missing:
            raise Invalid(missing)
        if content_type == "image/gif":
            kind = "gifv"
        else:
            transcoder.check_video(file.data, content_type)
    media_id = ids.new_id()
    token = secrets.token_urlsafe(12)
    claim = secrets.token_hex(16)

    def unit(conn: Connection) -> Row:
        created = now()
        values = {
            "id": media_id,
            "account_id": me,
            "token": token,
            "description": text,
            "focus_x": point[0] if point else None,
            "focus_y": point[1] if point else None,
            "created_at": created,
        }
        if processed is not None:
            values |= {
                "type": processed.type,
                "state": READY,
                "ext": transcoder.EXTENSIONS[processed.files["original"].content_type],
                "blurhash": processed.blurhash,
                "meta": json.dumps(processed.meta),
            }
            files = {k: (v.content_type, v.data) for k, v in processed.files.items()}
        else:
            values |= {"type": kind, "state": PROCESSING}
            if claim_for_caller:
                values |= {"claimed_by": claim, "claimed_until": created + LEASE, "attempts": 1}
            files = {"upload": (content_type, file.data)}
        insert_ignore(conn, media_attachments, values)
        for variant, (ctype, data) in files.items():
            insert_ignore(
                conn,
                media_files,
                {"media_id": media_id, "variant": variant, "content_type": ctype, "data": data},
            )
        return _row(conn, media_id)

    return db.write(unit)


def _row(conn: Connection, media_id: int) -> Row:
    return conn.execute(sa.select(*COLUMNS).where(media_attachments.c.id == media_id)).one()


def _own_unattached(conn: Connection, me: int, media_id: int) -> Row:
    """As Mastodon: GET and PUT /api/v1/media/:id see only the caller's unattached media;
    once attached, a media is seen through its status and the status's visibility rules."""
    row = conn.execute(
        sa.select(*COLUMNS).where(
            media_attachments.c.id == media_id,
            media_attachments.c.account_id == me,
            media_attachments.c.status_id.is_(None),
            media_attachments.c.profile_part.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("Record not found")
    if row.state == FAILED:
        raise Invalid(PROCESSING_FAILED)
    return row


def get(db: Database, viewer: Viewer, media_id: int) -> Row:
    me = viewer.account_id
    assert me is not None
    # From the primary: the uploader polls this until processing is done.
    return db.read(lambda conn: _own_unattached(conn, me, media_id), prefer="primary")


def update(
    db: Database,
    viewer: Viewer,
    media_id: int,
    description: str | None,
    focus: str | None,
) -> Row:
    """Change the description and/or focal point; parameters not given stay as they are."""
    me = viewer.account_id
    assert me is not None
    text = _description(description)
    point = _focus(focus)

    def unit(conn: Connection) -> Row:
        _own_unattached(conn, me, media_id)
        values: dict[str, object] = {}
        if description is not None:
            values["description"] = text
        if point is not None:
            values |= {"focus_x": point[0], "focus_y": point[1]}
        if values:
            conn.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id == media_id)
                .values(**values)
            )
        return _row(conn, media_id)

    return db.write(unit)


# -- attaching (inside statuses.create's unit of work) ---------------------------------------


def check_media_ids(media_ids: Sequence[int]) -> list[int]:
    """The distinct IDs in the order given; more than the limit is refused before any write."""
    distinct = list(dict.fromkeys(media_ids))
    if len(distinct) > transcoder.LIMITS.attachments:
        raise Invalid(f"Cannot attach more than {transcoder.LIMITS.attachments} files")
    return distinct


def attach_to_status(conn: Connection, me: int, status_id: int, media_ids: list[int]) -> None:
    """Attach the poster's unattached, processed media to a new status, in order.

    Part of the status's unit of work: run again after an unknown commit it either finds
    the status already there (and never gets here) or the media still unattached. Two
    statuses racing for one media: the second UPDATE matches no row and is refused. Media
    reserved for a scheduled post are not free to take."""
    _take(conn, me, media_ids, media_attachments.c.status_id, status_id)


def reserve_for_scheduled(
    conn: Connection, me: int, scheduled_id: int, media_ids: list[int]
) -> None:
    """Reserve the poster's unattached, processed media for a scheduled post (the same
    rules as attaching): the cleanup of unattached uploads leaves them, and no other post
    takes them, until `release` (the post published or its schedule deleted)."""
    _take(conn, me, media_ids, media_attachments.c.scheduled_status_id, scheduled_id)


def release(conn: Connection, scheduled_id: int) -> None:
    """Free the media reserved for a scheduled post (inside the unit that removes it)."""
    conn.execute(
        sa.update(media_attachments)
        .where(media_attachments.c.scheduled_status_id == scheduled_id)
        .values(scheduled_status_id=None)
    )


def _take(
    conn: Connection, me: int, media_ids: list[int], column: sa.Column, owner_id: int
) -> None:
    if not media_ids:
        return
    free = sa.and_(
        media_attachments.c.status_id.is_(None),
        media_attachments.c.scheduled_status_id.is_(None),
        media_attachments.c.profile_part.is_(None),  # an avatar is no post's to take
    )
    rows = conn.execute(
        sa.select(
            media_attachments.c.id, media_attachments.c.type, media_attachments.c.state
        ).where(
            media_attachments.c.id.in_(media_ids),
            media_attachments.c.account_id == me,
            free,
        )
    ).all()
    found = {r.id: r for r in rows}
    missing = [str(i) for i in media_ids if i not in found]
    if missing:
        raise Invalid(f"Validation failed: media attachment not found: {', '.join(missing)}")
    if any(r.state != READY for r in rows):
        raise Invalid(NOT_PROCESSED)
    kinds = {r.type for r in rows}
    if len(rows) > 1 and kinds & {"video", "gifv"}:
        raise Invalid("Cannot attach a video to a post that already contains images")
    for position, media_id in enumerate(media_ids):
        taken = conn.execute(
            sa.update(media_attachments)
            .where(media_attachments.c.id == media_id, free)
            .values({column: owner_id, media_attachments.c.position: position})
        ).rowcount
        if taken != 1:
            raise Invalid(f"Validation failed: media attachment not found: {media_id}")


def for_scheduled(conn: Connection, scheduled_ids: Sequence[int]) -> dict[int, list[Row]]:
    """Media reserved for these scheduled posts, in their order: one query."""
    out: dict[int, list[Row]] = {}
    if not scheduled_ids:
        return out
    query = (
        sa.select(*COLUMNS)
        .where(media_attachments.c.scheduled_status_id.in_(scheduled_ids))
        .order_by(media_attachments.c.scheduled_status_id, media_attachments.c.position)
    )
    for row in conn.execute(query):
        out.setdefault(row.scheduled_status_id, []).append(row)
    return out


def by_status(rows: Iterable[Row]) -> dict[int, list[Row]]:
    """`FOR_STATUSES`' rows (parameter `ids`: the statuses), by status, in their order:
    the attachments of a page's statuses (`aloft.services.loader` runs it with its other
    batches)."""
    out: dict[int, list[Row]] = {}
    for row in rows:
        out.setdefault(row.status_id, []).append(row)
    return out


# -- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class File:
    content_type: str
    data: bytes


def file(db: Database, media_id: int, token: str, variant: str) -> File:
    """The bytes of one served variant. The random token in the URL is the permission: it
    is known only to those who were shown the entity (the uploader, and viewers of the
    status), as with Mastodon's unguessable file paths."""
    if variant not in SERVED:
        raise NotFound("Record not found")

    def unit(conn: Connection) -> File:
        row = conn.execute(
            sa.select(media_files.c.content_type, media_files.c.data)
            .join(media_attachments, media_attachments.c.id == media_files.c.media_id)
            .where(
                media_files.c.media_id == media_id,
                media_files.c.variant == variant,
                media_attachments.c.token == token,
            )
        ).first()
        if row is None:
            raise NotFound("Record not found")
        return File(row.content_type, bytes(row.data))

    try:
        return db.read(unit)
    except NotFound:
        # A file is often asked for right after its upload: a standby a moment behind
        # may not have it yet, the primary does.
        return db.read(unit, prefer="primary")


# -- the job: video and GIF ------------------------------------------------------------------


def pending(db: Database) -> bool:
    """Whether any processing row may be claimed now (a cheap read, before a claim)."""

    def unit(conn: Connection) -> bool:
        return conn.execute(_claimable(now()).limit(1)).first() is not None

    # The primary: a standby a moment behind would show work already claimed.
    return db.read(unit, prefer="primary")


def _claimable(at: object) -> sa.Select:
    return (
        sa.select(media_attachments.c.id, media_attachments.c.attempts)
        .where(
            media_attachments.c.state == PROCESSING,
            sa.or_(
                media_attachments.c.claimed_until.is_(None),
                media_attachments.c.claimed_until < at,
            ),
        )
        .order_by(media_attachments.c.id)
    )


def claim(db: Database) -> int | None:
    """Claim the oldest claimable processing media for `LEASE`; its ID, or None.

    Safe to run twice: the claim token is drawn once, and a rerun first finds the row an
    earlier attempt claimed with it. A row already claimed `MAX_ATTEMPTS` times (its jobs
    died, e.g. killed mid-conversion) is marked failed instead."""
    token = secrets.token_hex(16)

    def unit(conn: Connection) -> int | None:
        mine = conn.execute(
            sa.select(media_attachments.c.id).where(
                media_attachments.c.claimed_by == token,
                media_attachments.c.state == PROCESSING,
            )
        ).scalar()
        if mine is not None:
            return int(mine)
        at = now()
        query = _claimable(at).limit(1)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        if row.attempts >= MAX_ATTEMPTS:
            conn.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id == row.id)
                .values(state=FAILED, claimed_until=None)
            )
            conn.execute(sa.delete(media_files).where(media_files.c.media_id == row.id))
            log.warning("media %s failed: claimed %s times without finishing", row.id, row.attempts)
            return None
        conn.execute(
            sa.update(media_attachments)
            .where(media_attachments.c.id == row.id)
            .values(
                claimed_by=token,
                claimed_until=at + LEASE,
                attempts=media_attachments.c.attempts + 1,
            )
        )
        return int(row.id)

    return db.write(unit)


def finish(db: Database, media_id: int) -> Row | None:
    """Convert a claimed video or GIF and store the result (or mark it failed). Runs the
    conversion outside any transaction; returns the row as stored, None if it is gone."""

    def read(conn: Connection) -> tuple[str, bytes] | None:
        found = conn.execute(
            sa.select(media_files.c.content_type, media_files.c.data)
            .join(media_attachments, media_attachments.c.id == media_files.c.media_id)
            .where(
                media_attachments.c.id == media_id,
                media_attachments.c.state == PROCESSING,
                media_files.c.variant == "upload",
            )
        ).first()
        return (found.content_type, bytes(found.data)) if found is not None else None

    source = db.read(read, prefer="primary")
    if source is None:
        return db.read(lambda conn: _maybe_row(conn, media_id), prefer="primary")
    content_type, data = source
    try:
        processed: transcoder.Processed | None = transcoder.video(data, content_type)
        error = None
    except Invalid as exc:
        processed, error = None, exc.message

    def store(conn: Connection) -> Row | None:
        row = _maybe_row(conn, media_id)
        if row is None or row.state != PROCESSING:
            return row  # removed meanwhile, or an earlier attempt of this unit stored it
        if processed is None:
            conn.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id == media_id)
                .values(state=FAILED, claimed_until=None)
            )
        else:
            for variant, v in processed.files.items():
                insert_ignore(
                    conn,
                    media_files,
                    {
                        "media_id": media_id,
                        "variant": variant,
                        "content_type": v.content_type,
                        "data": v.data,
                    },
                )
            conn.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id == media_id)
                .values(
                    state=READY,
                    type=processed.type,
                    ext="mp4",
                    meta=json.dumps(processed.meta),
                    blurhash=processed.blurhash,
                    claimed_until=None,
                )
            )
        conn.execute(
            sa.delete(media_files).where(
                media_files.c.media_id == media_id, media_files.c.variant == "upload"
            )
        )
        return _maybe_row(conn, media_id)

    if error is not None:
        log.info("media %s failed: %s", media_id, error)
    return db.write(store)


def _maybe_row(conn: Connection, media_id: int) -> Row | None:
    return conn.execute(sa.select(*COLUMNS).where(media_attachments.c.id == media_id)).first()


def process_next(db: Database) -> bool:
    """Claim and finish one pending video or GIF; False when there was none to claim.
    A process without ffmpeg claims nothing: a replica that has it will."""
    if transcoder.ffmpeg_missing() or not pending(db):
        return False
    media_id = claim(db)
    if media_id is None:
        return False  # another replica took it (or a poisoned row was failed): next round
    finish(db, media_id)
    return True


# -- cleanup ---------------------------------------------------------------------------------


def remove_unattached(db: Database, older_than: timedelta = UNATTACHED_FOR) -> int:
    """Remove uploads never attached (or detached by a status's deletion) and older than
    `older_than`, with their files; the number removed. Idempotent, in batches of
    `CLEANUP_BATCH` per transaction, and safe with several replicas running it at once
    (a delete of what another already deleted removes nothing)."""
    cutoff = now() - older_than

    def unit(conn: Connection) -> int:
        # Media reserved for a scheduled post are not unattached: they wait for its time;
        # nor is an account's avatar or header (aloft.services.pictures).
        doomed = sa.select(media_attachments.c.id).where(
            media_attachments.c.status_id.is_(None),
            media_attachments.c.scheduled_status_id.is_(None),
            media_attachments.c.profile_part.is_(None),
            media_attachments.c.created_at < cutoff,
        )
        batch = list(conn.execute(doomed.limit(CLEANUP_BATCH)).scalars())
        if not batch:
            return 0
        # Files go with their row (ON DELETE CASCADE); a row a status took meanwhile
        # stays, files and all.
        return int(
            conn.execute(
                sa.delete(media_attachments).where(
                    media_attachments.c.id.in_(batch),
                    media_attachments.c.status_id.is_(None),
                    media_attachments.c.scheduled_status_id.is_(None),
                    media_attachments.c.profile_part.is_(None),
                )
            ).rowcount
        )

    removed = 0
    while True:
        count = db.write(unit)
        removed += count
        if count < CLEANUP_BATCH:
            return removed
