"""Media through failover-shaped faults on a real PostgreSQL 15 (as tests/storage/
test_failover.py injects them): an upload and a status that attaches media are each written
exactly once when a commit's outcome is lost or the server dies mid-transaction, and the
rerun answers with what the first attempt stored.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from PIL import Image

from aloft.services import accounts, media, statuses
from aloft.services.auth import Viewer
from aloft.storage.database import Database, Policy
from tests import pg

SITE = statuses.Site("http://test.example", "test.example")


@pytest.fixture
def server() -> Iterator[pg.PostgresServer]:
    with pg.running("aloft") as srv:
        yield srv


def _db(server: pg.PostgresServer, **policy: float) -> Database:
    return Database.from_url(server.url("aloft"), Policy(**{"write_deadline": 30.0, **policy}))


def _viewer(db: Database) -> Viewer:
    row = accounts.create(db, accounts.NewAccount("media", "media@example.org", "long enough pw"))
    return Viewer(row.id, frozenset({"write"}), None)


def _picture() -> media.Upload:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return media.Upload("p.jpg", "image/jpeg", out.getvalue())


def _count(server: pg.PostgresServer, sql: str) -> int:
    return int(server.psql(sql, db="aloft"))


def _ambiguous_commits_for(server: pg.PostgresServer, seconds: float) -> None:
    """Commits wait for a synchronous standby that does not exist, for `seconds`."""
    server.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    pg.reload(server)
    threading.Timer(
        seconds,
        lambda: (
            server.psql("ALTER SYSTEM RESET synchronous_standby_names"),
            pg.reload(server),
        ),
    ).start()


def test_a_status_with_media_whose_commit_was_ambiguous_is_written_once(
    server: pg.PostgresServer,
) -> None:
    db = _db(server, attempt_timeout=1.0)
    viewer = _viewer(db)
    picture = media.upload(db, viewer, _picture(), description="red")
    _ambiguous_commits_for(server, 3.0)
    row, bundle = statuses.create(
        db, viewer, SITE, statuses.NewStatus("with a picture", media_ids=(picture.id,))
    )
    db.dispose()
    assert any("deadline" in reason for reason in db.stats.retries), db.stats.retries
    assert _count(server, "SELECT count(*) FROM statuses") == 1
    assert [m.id for m in bundle.media[row.id]] == [picture.id]
    attached = f"SELECT status_id FROM media_attachments WHERE id = {picture.id}"
    assert _count(server, attached) == row.id


def test_an_upload_whose_commit_was_ambiguous_is_stored_once(server: pg.PostgresServer) -> None:
    db = _db(server, attempt_timeout=1.0)
    viewer = _viewer(db)
    _ambiguous_commits_for(server, 3.0)
    row = media.upload(db, viewer, _picture())
    db.dispose()
    assert any("deadline" in reason for reason in db.stats.retries), db.stats.retries
    assert _count(server, "SELECT count(*) FROM media_attachments") == 1
    assert _count(server, f"SELECT count(*) FROM media_files WHERE media_id = {row.id}") == 2


def test_an_upload_killed_mid_transaction_lands_exactly_once(server: pg.PostgresServer) -> None:
    db = _db(server)
    viewer = _viewer(db)
    crashed = threading.Event()

    def crash_on_files(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO media_files") and not crashed.is_set():
            crashed.set()
            server.stop("immediate")  # the INSERT now meets a dead server
            threading.Timer(1.0, server.start).start()

    sa.event.listen(db.engine, "before_cursor_execute", crash_on_files)
    row = media.upload(db, viewer, _picture())
    db.dispose()
    assert crashed.is_set()
    assert row.state == media.READY
    assert _count(server, "SELECT count(*) FROM media_attachments") == 1
    assert _count(server, "SELECT count(*) FROM media_files") == 2
