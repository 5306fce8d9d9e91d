"""Media attachments against a real `aloft serve` process, on SQLite and on PostgreSQL.

Uploads go through Mastodon.py (`media_post`, `media_update`, `status_post(media_ids=…)`)
where it fits and httpx where the status code or a header is the point. Every image and
video is made here (Pillow, ffmpeg); served files are read back with Pillow. The database
is opened directly only to look at what was stored and to age an upload for the cleanup.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon, MastodonAPIError
from PIL import Image

from aloft.services import media
from aloft.storage.database import Database
from aloft.storage.schema import media_attachments, media_files
from tests import pg
from tests.api.test_entities import assert_conforms
from tests.conftest import Server, start_server, stop_server

PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


# -- a server per engine ---------------------------------------------------------------------


@dataclass
class Site:
    server: Server
    database_url: str
    client_id: str
    client_secret: str

    @property
    def url(self) -> str:
        return self.server.url

    def db(self) -> Database:
        return Database.from_url(self.database_url)

    def count(self, table: sa.Table) -> int:
        db = self.db()
        try:
            return int(
                db.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(table)).scalar())
            )
        finally:
            db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("media") / "data"
    env: dict[str, str] = {}
    name = None
    if request.param == "postgresql":
        postgres: pg.PostgresServer = request.getfixturevalue("postgres")
        name = f"aloft_media_{os.getpid()}"
        postgres.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        env["ALOFT_DATABASE_URL"] = postgres.url(name)
    server = start_server(data, env)
    url = env.get("ALOFT_DATABASE_URL") or f"sqlite:///{(data / 'aloft.db').resolve()}"
    try:
        client_id, client_secret = Mastodon.create_app(
            "media tests",
            scopes=["read", "write", "follow"],
            api_base_url=server.url,
            redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        )
        yield Site(server, url, client_id, client_secret)
    finally:
        stop_server(server)
        if name is not None:
            request.getfixturevalue("postgres").psql(f"DROP DATABASE {name} WITH (FORCE)")


@dataclass
class Person:
    api: Mastodon
    token: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(site: Site, scopes: tuple[str, ...] = ("read", "write", "follow")) -> Person:
    name = f"m{next(_names)}"
    api = Mastodon(
        client_id=site.client_id,
        client_secret=site.client_secret,
        api_base_url=site.url,
        version_check_mode="none",
        request_timeout=60,
    )
    token = api.create_account(
        name, PASSWORD, f"{name}@example.org", agreement=True, scopes=list(scopes)
    )
    return Person(api, token, str(api.me().id))


# -- files made here -------------------------------------------------------------------------


def jpeg_with_orientation_and_gps(width: int = 1200, height: int = 800) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90° clockwise to show" (orientation 6) and
    carries a GPS position; a red block marks its top-left corner."""
    image = Image.new("RGB", (width, height), (240, 240, 240))
    image.paste((255, 0, 0), (0, 0, width // 6, height // 6))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (51.0, 28.0, 40.0), 3: "W", 4: (0.0, 0.0, 5.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=92)
    return out.getvalue()


def png(width: int = 640, height: int = 480, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 120, 200, 255) if mode == "RGBA" else 0).save(out, "PNG")
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 90), (i * 50, 255 - i * 50, 40)) for i in range(5)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def need_ffmpeg() -> None:
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return
    if os.geteuid() == 0:
        pytest.fail("ffmpeg is not installed: `make system` installs it (Debian's ffmpeg)")
    pytest.skip("ffmpeg is not installed and we are not root to install it (make system)")


def short_video(path: Path) -> bytes:
    need_ffmpeg()
    source = "testsrc=duration=1:size=320x240:rate=15"
    argv = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source]
    argv += ["-f", "lavfi", "-i", "sine=duration=1", "-shortest", "-c:v", "libx264"]
    argv += ["-c:a", "aac", "-metadata", "title=secret place", str(path)]
    subprocess.run(
        argv,
        check=True,
        timeout=60,
    )
    return path.read_bytes()


# -- helpers ---------------------------------------------------------------------------------


def upload(
    site: Site, who: Person, data: bytes, name: str, ctype: str, **fields: str
) -> httpx.Response:
    return httpx.post(
        f"{site.url}/api/v2/media",
        headers=who.headers,
        files={"file": (name, data, ctype)},
        data=fields,
        timeout=60,
    )


def fetch(url: str, **headers: str) -> httpx.Response:
    r = httpx.get(url, headers=headers, timeout=30)
    return r


def wait_processed(site: Site, who: Person, media_id: str) -> dict[str, Any]:
    """Poll GET /api/v1/media/:id while it answers 206 (processing), as apps do."""
    deadline = time.monotonic() + 120
    while True:
        r = httpx.get(f"{site.url}/api/v1/media/{media_id}", headers=who.headers, timeout=30)
        if r.status_code != 206:
            assert r.status_code == 200, r.text
            return dict(r.json())
        assert r.json()["url"] is None
        assert time.monotonic() < deadline, "processing did not finish in 120 s"
        time.sleep(0.2)


def post(site: Site, who: Person, **data: Any) -> httpx.Response:
    return httpx.post(f"{site.url}/api/v1/statuses", headers=who.headers, data=data, timeout=30)


# -- images ----------------------------------------------------------------------------------


def test_jpeg_is_oriented_stripped_resized_with_preview_and_blurhash(site: Site) -> None:
    alice = person(site)
    attachment = alice.api.media_post(
        io.BytesIO(jpeg_with_orientation_and_gps()),
        mime_type="image/jpeg",
        description="a red corner",
    )
    assert attachment.type == "image"
    assert attachment.description == "a red corner"
    assert isinstance(attachment.blurhash, str) and len(attachment.blurhash) >= 6
    served = fetch(attachment.url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    original = Image.open(io.BytesIO(served.content))
    # Orientation 6 applied: the landscape photo is stored portrait, its red corner now at
    # the top right, and the EXIF (orientation, GPS) is gone.
    assert original.size == (800, 1200)
    assert original.convert("RGB").getpixel((790, 10))[0] > 200
    assert original.convert("RGB").getpixel((10, 10))[1] > 200
    exif = original.getexif()
    assert 0x8825 not in exif and 0x0112 not in exif
    assert b"Exif" not in served.content[:4096]
    preview = Image.open(io.BytesIO(fetch(attachment.preview_url).content))
    assert preview.width * preview.height < original.width * original.height
    assert preview.width * preview.height <= 230_400
    meta = attachment.meta
    assert (meta.original.width, meta.original.height) == original.size
    assert (meta.small.width, meta.small.height) == preview.size
    assert meta.original.size == "800x1200"
    assert meta.original.aspect == pytest.approx(800 / 1200)


def test_png_upload_and_the_file_headers(site: Site) -> None:
    alice = person(site)
    r = upload(site, alice, png(), "pic.png", "image/png")
    assert r.status_code == 200, r.text
    entity = r.json()
    assert_conforms("MediaAttachment", entity)
    assert entity["url"].startswith(site.url + "/media/")
    served = fetch(entity["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served.content)).size == (640, 480)
    again = fetch(entity["url"], **{"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    part = fetch(entity["url"], Range="bytes=0-7")
    assert part.status_code == 206
    assert part.content == b"\x89PNG\r\n\x1a\n"
    assert part.headers["content-range"] == f"bytes 0-7/{len(served.content)}"
    # the token in the path is the permission: another token, or none, finds nothing
    media_id = entity["id"]
    assert fetch(f"{site.url}/media/{media_id}/wrongtoken/original.png").status_code == 404
    folder = entity["url"].rsplit("/", 1)[0]
    assert fetch(f"{folder}/upload.png").status_code == 404


def test_media_update_description_and_focus(site: Site) -> None:
    alice, bob = person(site), person(site)
    attachment = alice.api.media_post(io.BytesIO(png(200, 100)), mime_type="image/png")
    updated = alice.api.media_update(attachment, description="blue", focus=(0.5, -0.25))
    assert updated.description == "blue"
    assert (updated.meta.focus.x, updated.meta.focus.y) == (0.5, -0.25)
    assert alice.api.media(attachment).description == "blue"
    url = f"{site.url}/api/v1/media/{attachment.id}"
    assert httpx.put(url, headers=bob.headers, data={"description": "x"}).status_code == 404
    assert httpx.get(url, headers=bob.headers).status_code == 404
    for bad in ({"focus": "2,0"}, {"focus": "left"}, {"description": "x" * 1501}):
        r = httpx.put(url, headers=alice.headers, data=bad)
        assert r.status_code == 422, (bad, r.text)
    assert alice.api.media(attachment).description == "blue"


# -- video and GIF ---------------------------------------------------------------------------


def test_gif_and_video_are_processed_in_the_background(site: Site, tmp_path: Path) -> None:
    need_ffmpeg()
    alice = person(site)
    for data, name, ctype, kind in [
        (animated_gif(), "a.gif", "image/gif", "gifv"),
        (short_video(tmp_path / "v.mp4"), "v.mp4", "video/mp4", "video"),
    ]:
        r = upload(site, alice, data, name, ctype, description=kind)
        assert r.status_code == 202, r.text
        assert r.json()["url"] is None and r.json()["type"] == kind
        done = wait_processed(site, alice, r.json()["id"])
        assert_conforms("MediaAttachment", done)
        assert done["type"] == kind
        served = fetch(done["url"])
        assert served.headers["content-type"] == "video/mp4"
        assert served.content[4:8] == b"ftyp"
        assert b"secret place" not in served.content  # metadata dropped
        preview = fetch(done["preview_url"])
        assert preview.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(preview.content)).size == (
            done["meta"]["small"]["width"],
            done["meta"]["small"]["height"],
        )
        assert done["meta"]["original"]["width"] in (120, 320)
        assert done["blurhash"]
    # Mastodon.py uploads the video and waits for it, then posts it
    video = alice.api.media_post(
        io.BytesIO((tmp_path / "v.mp4").read_bytes()), mime_type="video/mp4", synchronous=True
    )
    assert video.url.endswith(".mp4")
    status = alice.api.status_post("a film", media_ids=[video])
    assert [m.id for m in status.media_attachments] == [video.id]


def test_v1_upload_answers_when_the_video_is_ready(site: Site, tmp_path: Path) -> None:
    alice = person(site)
    r = httpx.post(
        f"{site.url}/api/v1/media",
        headers=alice.headers,
        files={"file": ("v.mp4", short_video(tmp_path / "v.mp4"), "video/mp4")},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert r.json()["url"].endswith("/original.mp4")
    assert fetch(r.json()["url"]).headers["content-type"] == "video/mp4"


def test_a_status_with_media_still_processing_is_refused(site: Site) -> None:
    alice = person(site)
    attachment = alice.api.media_post(io.BytesIO(png(50, 50)), mime_type="image/png")
    db = site.db()
    try:
        # As a video waiting for its job: processing and claimed by a job that is still on it.
        db.write(
            lambda c: c.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id == int(attachment.id))
                .values(state="processing", claimed_until=media.now() + timedelta(hours=1))
            )
        )
        r = post(site, alice, status="too soon", **{"media_ids[]": [attachment.id]})
        assert r.status_code == 422
        assert r.json()["error"].startswith("Cannot attach files that have not finished processing")
        assert (
            httpx.get(f"{site.url}/api/v1/media/{attachment.id}", headers=alice.headers).status_code
            == 206
        )
    finally:
        db.dispose()


# -- refused uploads -------------------------------------------------------------------------


def _bomb() -> bytes:
    """20,000 x 20,000 pixels (400 million) in about 50 KB."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


def _too_many_pixels() -> bytes:
    """40 million pixels: under Pillow's own bomb limit, over ours."""
    out = io.BytesIO()
    Image.new("1", (10_000, 4_000)).save(out, "PNG")
    return out.getvalue()


# An HLS playlist behind an MP4 signature: ffmpeg must not follow it to a local file.
PLAYLIST = (
    b"\x00\x00\x00\x18ftypmp42#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n"
    b"file:///etc/passwd\n#EXT-X-ENDLIST\n"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "svg": (lambda: SVG, "image/svg+xml"),
    "text": (lambda: b"just some words\n", "text/plain"),
    "html": (lambda: b"<html><body>hi</body></html>", "image/png"),
    "truncated": (lambda: jpeg_with_orientation_and_gps()[:3000], "image/jpeg"),
    "bomb": (_bomb, "image/png"),
    "pixels": (_too_many_pixels, "image/png"),
    "fake video": (lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "video/mp4"),
    "playlist as video": (lambda: PLAYLIST, "video/mp4"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_refused_uploads_store_nothing(site: Site, kind: str) -> None:
    if "video" in kind:
        need_ffmpeg()
    alice = person(site)
    before = (site.count(media_attachments), site.count(media_files))
    make, ctype = REFUSED[kind]
    data = make()
    for path in ("/api/v2/media", "/api/v1/media"):
        r = httpx.post(
            f"{site.url}{path}",
            headers=alice.headers,
            files={"file": ("f", data, ctype)},
            timeout=60,
        )
        assert r.status_code == 422, (kind, r.text)
        assert r.json()["error"].startswith("Validation failed"), r.text
    assert (site.count(media_attachments), site.count(media_files)) == before


def test_upload_without_a_file_or_with_a_thumbnail_is_refused(site: Site) -> None:
    alice = person(site)
    r = httpx.post(f"{site.url}/api/v2/media", headers=alice.headers, data={"description": "x"})
    assert r.status_code == 422, r.text
    r = httpx.post(
        f"{site.url}/api/v2/media",
        headers=alice.headers,
        files={
            "file": ("a.png", png(10, 10), "image/png"),
            "thumbnail": ("t.png", png(5, 5), "image/png"),
        },
    )
    assert r.status_code in (400, 422), r.text  # one file per upload; thumbnails are not taken
    r = httpx.post(
        f"{site.url}/api/v2/media",
        headers={"Authorization": alice.headers["Authorization"]},
        files={"file": ("a.png", png(10, 10), "image/png")},
        data={"thumbnail": "x"},
    )
    assert r.status_code == 422 and "thumbnail" in r.json()["error"], r.text


# -- media_ids on statuses -------------------------------------------------------------------


def test_media_ids_rules(site: Site) -> None:
    alice, bob = person(site), person(site)
    mine = [
        alice.api.media_post(io.BytesIO(png(20 + i, 20)), mime_type="image/png") for i in range(5)
    ]
    theirs = bob.api.media_post(io.BytesIO(png(30, 30)), mime_type="image/png")
    statuses_before = alice.api.me().statuses_count
    cases = {
        "someone else's": [theirs.id],
        "more than 4": [m.id for m in mine],
        "unknown": ["12345"],
        "not an id": ["abc"],
    }
    for why, ids in cases.items():
        r = post(site, alice, status=why, **{"media_ids[]": ids})
        assert r.status_code == 422, (why, r.text)
    assert alice.api.me().statuses_count == statuses_before
    first = alice.api.status_post("four pictures", media_ids=mine[:4])
    assert [m.id for m in first.media_attachments] == [m.id for m in mine[:4]]
    r = post(site, alice, status="again", **{"media_ids[]": [mine[0].id]})
    assert r.status_code == 422, r.text  # already attached
    with pytest.raises(MastodonAPIError):
        alice.api.media(mine[0])  # attached media are seen through their status only
    # text may be empty when there is media
    only_media = alice.api.status_post("", media_ids=[mine[4]])
    assert [m.id for m in only_media.media_attachments] == [mine[4].id]


def test_statuses_show_their_media_everywhere(site: Site) -> None:
    alice, bob = person(site), person(site)
    bob.api.account_follow(alice.id)
    pictures = [
        alice.api.media_post(io.BytesIO(png(64, 48)), mime_type="image/png", description="one"),
        alice.api.media_post(
            io.BytesIO(jpeg_with_orientation_and_gps(300, 200)), mime_type="image/jpeg"
        ),
    ]
    status = alice.api.status_post("two pictures #aloftmedia", media_ids=pictures)
    bob.api.status_reblog(status)
    expected = [p.id for p in pictures]
    raw = httpx.get(f"{site.url}/api/v1/statuses/{status.id}", timeout=30).json()
    assert_conforms("Status", raw)
    for m in raw["media_attachments"]:
        assert_conforms("MediaAttachment", m)
    assert [m["id"] for m in raw["media_attachments"]] == expected
    views = {
        "home": httpx.get(f"{site.url}/api/v1/timelines/home", headers=bob.headers).json(),
        "public": httpx.get(f"{site.url}/api/v1/timelines/public").json(),
        "tag": httpx.get(f"{site.url}/api/v1/timelines/tag/aloftmedia").json(),
        "account": httpx.get(f"{site.url}/api/v1/accounts/{alice.id}/statuses").json(),
    }
    for name, timeline in views.items():
        assert_conforms("Status", timeline, many=True)
        shown = [s for s in timeline if s["id"] == status.id] or [
            s["reblog"] for s in timeline if s["reblog"] and s["reblog"]["id"] == status.id
        ]
        assert shown, name
        assert [m["id"] for m in shown[0]["media_attachments"]] == expected, name
    wrapper = [s for s in views["home"] if s["reblog"]]
    assert wrapper and wrapper[0]["media_attachments"] == []
    assert wrapper[0]["reblog"]["media_attachments"][0]["description"] == "one"


def test_private_post_media_follow_the_status_rules(site: Site) -> None:
    alice, follower, stranger = person(site), person(site), person(site)
    follower.api.account_follow(alice.id)
    picture = alice.api.media_post(io.BytesIO(png(40, 40)), mime_type="image/png")
    status = alice.api.status_post("followers only", media_ids=[picture], visibility="private")
    seen = httpx.get(f"{site.url}/api/v1/statuses/{status.id}", headers=follower.headers).json()
    assert [m["id"] for m in seen["media_attachments"]] == [picture.id]
    for who in (stranger, None):
        headers = who.headers if who else {}
        r = httpx.get(f"{site.url}/api/v1/statuses/{status.id}", headers=headers)
        assert r.status_code == 404
    for who in (stranger, follower, alice):
        r = httpx.get(f"{site.url}/api/v1/media/{picture.id}", headers=who.headers)
        assert r.status_code == 404  # an attached media is not shown by its own ID
    # the file URL carries a random token nobody is shown but viewers of the status
    token = picture.url.split("/")[-2]
    assert len(token) >= 16
    assert (
        fetch(
            picture.url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
        ).status_code
        == 404
    )


def test_deleting_a_status_detaches_its_media_for_redraft(site: Site) -> None:
    alice = person(site)
    picture = alice.api.media_post(io.BytesIO(png(30, 20)), mime_type="image/png")
    status = alice.api.status_post("first draft", media_ids=[picture])
    deleted = alice.api.status_delete(status)
    assert [m.id for m in deleted.media_attachments] == [picture.id]
    redraft = alice.api.status_post("second draft", media_ids=[picture])
    assert [m.id for m in redraft.media_attachments] == [picture.id]


# -- cleanup and instance --------------------------------------------------------------------


def test_unattached_uploads_older_than_a_day_are_removed(site: Site) -> None:
    alice = person(site)
    old, fresh, old_attached = (
        alice.api.media_post(io.BytesIO(png(10 + i, 10)), mime_type="image/png") for i in range(3)
    )
    alice.api.status_post("keeps its picture", media_ids=[old_attached])
    db = site.db()
    try:
        two_days_ago = media.now() - timedelta(days=2)
        db.write(
            lambda c: c.execute(
                sa.update(media_attachments)
                .where(media_attachments.c.id.in_([int(old.id), int(old_attached.id)]))
                .values(created_at=two_days_ago)
            )
        )
        assert media.remove_unattached(db) >= 1
        assert media.remove_unattached(db) == 0  # idempotent
        left = db.read(
            lambda c: set(
                c.execute(
                    sa.select(media_files.c.media_id).where(
                        media_files.c.media_id.in_(
                            [int(old.id), int(fresh.id), int(old_attached.id)]
                        )
                    )
                ).scalars()
            )
        )
    finally:
        db.dispose()
    assert left == {int(fresh.id), int(old_attached.id)}
    assert fetch(old.url).status_code == 404
    assert fetch(fresh.url).status_code == 200
    assert fetch(old_attached.url).status_code == 200


def test_instance_reports_the_limits(site: Site) -> None:
    v2 = httpx.get(f"{site.url}/api/v2/instance").json()["configuration"]
    assert v2["statuses"]["max_media_attachments"] == 4
    limits = v2["media_attachments"]
    assert limits["image_size_limit"] == 16 * 1024 * 1024
    assert limits["video_size_limit"] == 40 * 1024 * 1024
    assert "image/jpeg" in limits["supported_mime_types"]
    assert "image/svg+xml" not in limits["supported_mime_types"]
    v1 = httpx.get(f"{site.url}/api/v1/instance").json()["configuration"]
    assert v1["media_attachments"] == limits


def test_size_limits(site: Site) -> None:
    alice = person(site)
    before = site.count(media_attachments)
    # A JPEG header on 17 MB: over the image limit (16 MB), under the body limit.
    too_big = b"\xff\xd8\xff\xe0" + os.urandom(17 * 1024 * 1024)
    r = upload(site, alice, too_big, "big.jpg", "image/jpeg")
    assert r.status_code == 422 and "size" in r.json()["error"], r.text
    # More than a video may be, plus room for the form: refused before it is all read.
    r = upload(site, alice, b"\x1a\x45\xdf\xa3" + bytes(42 * 1024 * 1024), "big.webm", "video/webm")
    assert r.status_code == 413, r.text
    assert site.count(media_attachments) == before


def test_only_media(site: Site) -> None:
    alice = person(site)
    picture = alice.api.media_post(io.BytesIO(png(16, 16)), mime_type="image/png")
    with_media = alice.api.status_post("#onlymedia with", media_ids=[picture])
    alice.api.status_post("#onlymedia without")
    for path in (
        f"/api/v1/accounts/{alice.id}/statuses",
        "/api/v1/timelines/public",
        "/api/v1/timelines/tag/onlymedia",
    ):
        everything = httpx.get(f"{site.url}{path}").json()
        assert len([s for s in everything if "onlymedia" in s["content"]]) == 2, path
        only = httpx.get(f"{site.url}{path}", params={"only_media": "true"}).json()
        assert only and all(s["media_attachments"] for s in only), path
        assert with_media.id in [s["id"] for s in only], path
