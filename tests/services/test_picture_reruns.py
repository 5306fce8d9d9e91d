"""Setting and removing an avatar or header is safe to run twice (issue 14).

`TwiceDatabase` (tests/services/test_follow_request_reruns.py) commits every unit and runs
it again, as `Database.write` does after a commit it could not confirm, on a real SQLite
file and a real PostgreSQL. A picture set twice is one stored picture under one URL, the
one it replaced is gone, and removing twice leaves the default.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from aloft.services import accounts, pictures
from aloft.storage.database import Database
from aloft.storage.schema import media_attachments, media_files
from tests.services.test_follow_request_reruns import _count, _user, db

__all__ = ["db"]  # the fixture: a TwiceDatabase per engine


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 90)).save(out, "PNG")
    return out.getvalue()


def _stored(db: Database, account_id: int) -> list[tuple[int, str]]:
    query = sa.select(media_attachments.c.id, media_attachments.c.profile_part).where(
        media_attachments.c.account_id == account_id
    )
    return [(r.id, r.profile_part) for r in db.read(lambda conn: conn.execute(query).all())]


def test_setting_replacing_and_removing_pictures_twice(db: Database) -> None:
    alice = _user(db, "alice")
    assert alice.account_id is not None
    first = pictures.prepare(pictures.AVATAR, _png(500, 300))
    row = accounts.update_credentials(
        db,
        alice,
        "http://x",
        "x",
        "Alice",
        None,
        extras=accounts.ProfileExtras(avatar_description="green"),
        new_pictures=[first],
    )
    assert row.avatar_path == first.path and row.avatar_description == "green"
    assert _stored(db, alice.account_id) == [(first.media_id, "avatar")]
    assert _count(db, media_files, media_id=first.media_id) == 1

    header = pictures.prepare(pictures.HEADER, _png(1600, 600))
    second = pictures.prepare(pictures.AVATAR, _png(64, 64))
    row = accounts.update_credentials(
        db, alice, "http://x", "x", None, None, new_pictures=[second, header]
    )
    assert (row.avatar_path, row.header_path) == (second.path, header.path)
    assert sorted(_stored(db, alice.account_id)) == sorted(
        [(second.media_id, "avatar"), (header.media_id, "header")]
    )
    assert _count(db, media_files, media_id=first.media_id) == 0

    row = pictures.remove(db, alice, pictures.AVATAR)
    assert row.avatar_path is None and row.avatar_description == ""
    assert _stored(db, alice.account_id) == [(header.media_id, "header")]
    assert _count(db, media_files) == 1
