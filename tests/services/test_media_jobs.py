"""The media job on real databases (SQLite and PostgreSQL): a pending video left by an app
that died is finished by another once its claim runs out; two workers claiming at once
never get the same row; a row whose jobs keep dying is failed after MAX_ATTEMPTS claims.

Each `Database` here stands for one app replica's data layer; no app is started, so no
other job thread takes the rows first.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from aloft import ids
from aloft.config import Settings
from aloft.errors import Invalid
from aloft.services import media
from aloft.services.auth import Viewer, now
from aloft.storage.database import Database
from aloft.storage.migrate import upgrade
from aloft.storage.schema import accounts, media_attachments, media_files


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def viewer(db: Database) -> Viewer:
    account_id = ids.new_id()
    db.write(
        lambda c: c.execute(
            sa.insert(accounts).values(
                id=account_id,
                username="jobs",
                username_lower="jobs",
                email="jobs@example.org",
                password_hash="-",
                created_at=now(),
            )
        )
    )
    return Viewer(account_id=account_id, scopes=frozenset({"write"}), app_id=None)


def gif() -> bytes:
    frames = [Image.new("RGB", (64, 48), (i * 60, 0, 255 - i * 60)) for i in range(4)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def need_ffmpeg() -> None:
    from tests.api.test_media import need_ffmpeg as check

    check()


def _expire_claims(db: Database) -> None:
    db.write(
        lambda c: c.execute(
            sa.update(media_attachments).values(claimed_until=now() - timedelta(seconds=1))
        )
    )


def _state(db: Database, media_id: int) -> str:
    return str(
        db.read(
            lambda c: c.execute(
                sa.select(media_attachments.c.state).where(media_attachments.c.id == media_id)
            ).scalar()
        )
    )


def test_a_pending_video_of_a_dead_app_is_finished_by_another(
    db: Database, viewer: Viewer, settings: Settings
) -> None:
    need_ffmpeg()
    # The uploading app stored it claimed for itself (POST /api/v1/media) and then died.
    row = media.upload(db, viewer, media.Upload("a.gif", "image/gif", gif()), claim_for_caller=True)
    assert row.state == media.PROCESSING
    other = Database.from_settings(settings)
    try:
        assert media.process_next(other) is False  # its claim still holds: nobody takes it
        _expire_claims(db)
        assert media.process_next(other) is True
        assert _state(db, row.id) == media.READY
        variants = db.read(
            lambda c: set(
                c.execute(
                    sa.select(media_files.c.variant).where(media_files.c.media_id == row.id)
                ).scalars()
            )
        )
        assert variants == {"original", "small"}  # the upload's bytes are gone
        assert media.process_next(other) is False
    finally:
        other.dispose()


def test_two_workers_never_claim_the_same_upload(db: Database, viewer: Viewer) -> None:
    need_ffmpeg()
    rows = [media.upload(db, viewer, media.Upload("a.gif", "image/gif", gif())) for _ in range(4)]
    claimed: list[int | None] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        got = media.claim(db)
        with lock:
            claimed.append(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [c for c in claimed if c is not None]
    assert len(taken) == len(set(taken))
    assert set(taken) <= {r.id for r in rows}
    assert taken, "nobody claimed anything"


def test_an_upload_whose_jobs_keep_dying_fails(db: Database, viewer: Viewer) -> None:
    need_ffmpeg()
    row = media.upload(db, viewer, media.Upload("a.gif", "image/gif", gif()))
    for _ in range(media.MAX_ATTEMPTS):
        assert media.claim(db) == row.id  # claimed, and the job "dies" here
        _expire_claims(db)
    assert media.claim(db) is None
    assert _state(db, row.id) == media.FAILED
    with pytest.raises(Invalid):
        media.get(db, viewer, row.id)  # GET /api/v1/media/:id answers 422, as Mastodon
