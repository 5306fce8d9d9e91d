"""Avatars and headers (issue 14) against a real `aloft serve`, on SQLite and PostgreSQL.

Mastodon.py sets them (`account_update_credentials(avatar=…, header=…)`) and deletes them
(`account_delete_avatar`, `account_delete_header`); httpx where the status code is the
point. Served files are read back with Pillow. The database is opened directly only to
count what was stored and to age it for the cleanup of unused uploads.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mastodon import MastodonAPIError
from PIL import Image

from aloft.api import entities
from aloft.services import media
from aloft.storage.schema import media_attachments, media_files
from tests.api.test_entities import assert_conforms
from tests.api.test_media import (
    REFUSED,
    Person,
    Site,
    animated_gif,
    fetch,
    jpeg_with_orientation_and_gps,
    person,
    png,
    site,
)
from tests.api.test_reports import _admin
from tests.conftest import Api

__all__ = ["site"]  # the fixture, a server per engine, shared with the media tests

UPDATE = "/api/v1/accounts/update_credentials"


def _served(url: str) -> Image.Image:
    r = fetch(url)
    assert r.status_code == 200, (url, r.status_code)
    image = Image.open(io.BytesIO(r.content))
    image.load()
    return image


def _me(site: Site, who: Person) -> dict[str, Any]:
    r = httpx.get(f"{site.url}/api/v1/accounts/verify_credentials", headers=who.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _update(site: Site, who: Person, **kw: Any) -> httpx.Response:
    return httpx.patch(f"{site.url}{UPDATE}", headers=who.headers, timeout=60, **kw)


def _stored(site: Site) -> tuple[int, int]:
    return site.count(media_attachments), site.count(media_files)


def test_avatar_and_header_are_cropped_served_and_shown_everywhere(site: Site) -> None:
    alice, bob = person(site), person(site)
    default = _me(site, alice)
    me = alice.api.account_update_credentials(
        avatar=io.BytesIO(jpeg_with_orientation_and_gps(1200, 800)),
        avatar_mime_type="image/jpeg",
        header=io.BytesIO(png(3000, 600)),
        header_mime_type="image/png",
        avatar_description="A grey square with a red corner",
        header_description="A blue band",
    )
    assert me.avatar != default["avatar"] and me.header != default["header"]
    assert me.avatar_static == me.avatar and me.header_static == me.header
    assert me.avatar_description == "A grey square with a red corner"
    assert me.header_description == "A blue band"
    avatar, header = _served(me.avatar), _served(me.header)
    assert avatar.size == (400, 400) and avatar.format == "JPEG"
    assert header.size == (1500, 500) and header.format == "PNG"
    assert "exif" not in avatar.info  # stripped like any uploaded image
    assert fetch(me.avatar).headers["content-type"] == "image/jpeg"
    # The JSON of the answer, as the schema says.
    shown = _me(site, alice)
    assert_conforms("CredentialAccount", shown)
    assert shown["avatar"] == me.avatar
    # Everywhere the account is shown: its profile, its statuses, a notification, search.
    status = alice.api.status_post("with a face")
    seen = bob.api.status(status)
    assert seen.account.avatar == me.avatar and seen.account.header == me.header
    profile = httpx.get(f"{site.url}/api/v1/accounts/{alice.id}", headers=bob.headers).json()
    assert_conforms("Account", profile)
    assert profile["avatar"] == me.avatar and profile["avatar_description"].startswith("A grey")
    alice.api.account_follow(bob.id)
    follow = bob.api.notifications(types=["follow"])[0]
    assert follow.account.avatar == me.avatar
    grouped = httpx.get(
        f"{site.url}/api/v2/notifications",
        headers=bob.headers,
        params={"expand_accounts": "partial_avatars"},
    ).json()
    assert [a["avatar"] for a in grouped["accounts"]] == [me.avatar]
    found = bob.api.account_search(alice.api.me().username)
    assert [a.avatar for a in found] == [me.avatar]
    # Something else changed leaves them alone.
    again = alice.api.account_update_credentials(note="still me")
    assert again.avatar == me.avatar and again.header == me.header


def test_a_new_avatar_replaces_the_old_one_and_delete_puts_the_default_back(site: Site) -> None:
    alice = person(site)
    default = _me(site, alice)
    before = _stored(site)
    first = alice.api.account_update_credentials(
        avatar=io.BytesIO(png(50, 80)), avatar_mime_type="image/png"
    )
    assert _served(first.avatar).size == (400, 400)  # a small picture is scaled up to fill
    second = alice.api.account_update_credentials(
        avatar=io.BytesIO(png(900, 900)), avatar_mime_type="image/png", avatar_description="x"
    )
    assert second.avatar != first.avatar
    assert fetch(first.avatar).status_code == 404  # the replaced file is gone
    assert _stored(site) == (before[0] + 1, before[1] + 1)
    gone = alice.api.account_delete_avatar()
    assert gone.avatar == default["avatar"] and gone.avatar_static == default["avatar"]
    assert gone.avatar_description == ""
    assert fetch(second.avatar).status_code == 404
    assert _stored(site) == before
    # Deleting again (a replay) answers the same.
    assert alice.api.account_delete_avatar().avatar == default["avatar"]
    header = alice.api.account_update_credentials(
        header=io.BytesIO(png(1600, 400)), header_mime_type="image/png"
    )
    r = httpx.delete(f"{site.url}/api/v1/profile/header", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert_conforms("CredentialAccount", r.json())
    assert r.json()["header"] == default["header"]
    assert fetch(header.header).status_code == 404


def test_an_animated_gif_keeps_its_first_frame(site: Site) -> None:
    alice = person(site)
    me = alice.api.account_update_credentials(
        avatar=io.BytesIO(animated_gif()), avatar_mime_type="image/gif"
    )
    avatar = _served(me.avatar)
    assert avatar.format == "PNG" and avatar.size == (400, 400)
    assert not getattr(avatar, "is_animated", False)
    assert me.avatar_static == me.avatar
    first = Image.open(io.BytesIO(animated_gif())).convert("RGB").getpixel((60, 45))
    assert avatar.convert("RGB").getpixel((200, 200)) == first


def _too_big() -> bytes:
    """A real PNG over 8 MB (stored without compression)."""
    out = io.BytesIO()
    Image.new("RGB", (1800, 1800), (200, 10, 10)).save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) > 8 * 1024 * 1024
    return data


BAD = {
    kind: REFUSED[kind]
    for kind in ("svg", "text", "html", "truncated", "bomb", "pixels", "fake video")
} | {"too big": (_too_big, "image/png")}


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("field", ["avatar", "header"])
def test_a_bad_file_is_refused_by_name_and_changes_nothing(
    site: Site, field: str, kind: str
) -> None:
    alice = person(site)
    kept = alice.api.account_update_credentials(
        avatar=io.BytesIO(png(40, 40)), avatar_mime_type="image/png"
    )
    before = (_me(site, alice), _stored(site))
    make, ctype = BAD[kind]
    r = _update(
        site,
        alice,
        files={field: ("f", make(), ctype)},
        data={"display_name": "Changed", f"{field}_description": "changed"},
    )
    assert r.status_code == 422, (kind, r.text)
    assert field in r.json()["details"], r.text
    assert (_me(site, alice), _stored(site)) == before
    assert _me(site, alice)["avatar"] == kept.avatar


def test_a_description_too_long_or_a_text_avatar_is_refused(site: Site) -> None:
    alice = person(site)
    r = _update(site, alice, data={"avatar_description": "x" * 1501})
    assert r.status_code == 422 and "avatar_description" in r.json()["details"], r.text
    r = _update(site, alice, data={"avatar": "not a file"})
    assert r.status_code == 422 and "avatar" in r.json()["details"], r.text
    with pytest.raises(MastodonAPIError):
        alice.api.account_update_credentials(
            header=io.BytesIO(b"plain words"), header_mime_type="image/png"
        )


def test_pictures_are_not_uploads_to_attach_or_clean_up(site: Site) -> None:
    alice = person(site)
    me = alice.api.account_update_credentials(
        avatar=io.BytesIO(png(60, 60)), avatar_mime_type="image/png"
    )
    media_id = me.avatar.split("/media/")[1].split("/")[0]
    # Not the owner's upload to show or attach to a post.
    r = httpx.get(f"{site.url}/api/v1/media/{media_id}", headers=alice.headers)
    assert r.status_code == 404
    r = httpx.post(
        f"{site.url}/api/v1/statuses",
        headers=alice.headers,
        data={"status": "steal my own avatar", "media_ids[]": media_id},
    )
    assert r.status_code == 422, r.text
    # Not removed with the uploads never attached, even when every one of them goes.
    db = site.db()
    try:
        media.remove_unattached(db, older_than=timedelta(seconds=-60))
    finally:
        db.dispose()
    assert fetch(me.avatar).status_code == 200


def test_a_suspended_account_shows_the_default_pictures(api: Api) -> None:
    mallory, bob, root = api.register("mallory"), api.register("bob"), _admin(api)
    r = api.client.patch(
        UPDATE,
        headers=mallory.headers,
        files={"avatar": ("a.png", png(40, 40), "image/png")},
        data={"avatar_description": "me"},
    )
    assert r.status_code == 200 and "/media/" in r.json()["avatar"], r.text
    r = api.client.post(
        f"/api/v1/admin/accounts/{mallory.id}/action",
        headers=root.headers,
        data={"type": "suspend"},
    )
    assert r.status_code == 200, r.text
    shown = api.get(f"/api/v1/accounts/{mallory.id}", bob).json()
    assert shown["suspended"] is True
    assert shown["avatar"].endswith(entities.AVATAR_PATH) and shown["avatar_description"] == ""
