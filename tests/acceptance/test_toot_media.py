"""toot posts a picture with a description (`toot post --media … --description …`) to a
real `aloft serve`, and another person's home timeline shows it with its preview."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = pytest.mark.acceptance


def test_toot_posts_a_picture_with_a_description(server: Server, tmp_path: Path) -> None:
    create_account(server, "snapper", "snapper password 1")
    viewer_id = create_account(server, "looker", "looker password 1")
    snapper = log_in(server, tmp_path / "snapper", "snapper", "snapper password 1")
    looker = log_in(server, tmp_path / "looker", "looker", "looker password 1")
    looker.run("follow", "snapper")
    picture = tmp_path / "sunset.jpg"
    Image.new("RGB", (900, 600), (250, 120, 40)).save(picture, "JPEG")

    out = snapper.run("post", "a sunset", "--media", str(picture), "--description", "orange sky")
    posted = re.search(rf"Toot posted: {re.escape(server.url)}/@snapper/(\d+)", out)
    assert posted, out

    token = looker.config()["users"]  # the looker's own token, as toot stored it
    assert isinstance(token, dict)
    access = next(iter(token.values()))["access_token"]
    home = httpx.get(
        f"{server.url}/api/v1/timelines/home", headers={"Authorization": f"Bearer {access}"}
    ).json()
    shown = next(s for s in home if s["id"] == posted.group(1))
    assert shown["account"]["id"] != viewer_id
    (attachment,) = shown["media_attachments"]
    assert attachment["type"] == "image"
    assert attachment["description"] == "orange sky"
    preview = httpx.get(attachment["preview_url"])
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert attachment["meta"]["original"]["width"] == 900
