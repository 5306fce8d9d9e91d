"""toot's tag commands against a real `aloft serve` (issue 13, item 9): follow, list
followed, show, unfollow; feature, list featured, unfeature."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def test_toot_tags(server: Server, tmp_path: Path) -> None:
    account_id = create_account(server, "hashtagger", "hashtagger password 1")
    me = log_in(server, tmp_path / "me", "hashtagger", "hashtagger password 1")

    me.run("tags", "follow", "#Birdwatching")
    out = me.run("tags", "followed")
    assert "birdwatching" in out
    me.run("post", "a heron today #birdwatching")
    out = me.run("tags", "info", "birdwatching")
    assert "birdwatching" in out
    me.run("tags", "unfollow", "birdwatching")
    assert "birdwatching" not in me.run("tags", "followed")

    me.run("tags", "feature", "Birdwatching")
    featured = httpx.get(f"{server.url}/api/v1/accounts/{account_id}/featured_tags").json()
    assert [(f["name"], f["statuses_count"]) for f in featured] == [("Birdwatching", "1")]
    assert "Birdwatching" in me.run("tags", "featured")
    me.run("tags", "unfeature", "Birdwatching")
    assert httpx.get(f"{server.url}/api/v1/accounts/{account_id}/featured_tags").json() == []
