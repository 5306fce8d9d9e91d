"""toot sets an avatar and a header (`toot update_account --avatar … --header …`) on a real
`aloft serve`; the account then serves them cropped to Mastodon's sizes, and a bad file is
refused with the field named."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = pytest.mark.acceptance


def test_toot_sets_an_avatar_and_a_header(server: Server, tmp_path: Path) -> None:
    create_account(server, "painter", "painter password 1")
    painter = log_in(server, tmp_path / "painter", "painter", "painter password 1")
    avatar, header = tmp_path / "me.jpg", tmp_path / "band.png"
    Image.new("RGB", (900, 600), (40, 120, 250)).save(avatar, "JPEG")
    Image.new("RGB", (2000, 500), (250, 200, 40)).save(header, "PNG")

    out = painter.run("update_account", "--avatar", str(avatar), "--header", str(header), "--json")
    me = json.loads(out)
    for url, size in ((me["avatar"], (400, 400)), (me["header"], (1500, 500))):
        assert url.startswith(f"{server.url}/media/"), url
        served = httpx.get(url)
        assert served.status_code == 200
        assert Image.open(io.BytesIO(served.content)).size == size

    words = tmp_path / "words.png"
    words.write_text("not a picture")
    refused = painter.run("update_account", "--avatar", str(words), ok=False)
    assert "Avatar must be a JPEG, PNG, GIF or WebP image" in refused, refused
