"""toot's poll and pin commands against a real `aloft serve` (issue 13, items 4 and 8):
post a poll, vote in it and show it; pin and unpin a status."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def test_toot_poll_vote_and_pin(server: Server, tmp_path: Path) -> None:
    pollster_id = create_account(server, "pollster", "pollster password 1")
    create_account(server, "voter", "voter password 1")
    pollster = log_in(server, tmp_path / "pollster", "pollster", "pollster password 1")
    voter = log_in(server, tmp_path / "voter", "voter", "voter password 1")

    out = pollster.run(
        "post",
        "tea or coffee?",
        "--poll-option",
        "tea",
        "--poll-option",
        "coffee",
        "--poll-expires-in",
        "1h",
    )
    posted = re.search(r"/@pollster/(\d+)", out)
    assert posted, out
    status = httpx.get(f"{server.url}/api/v1/statuses/{posted.group(1)}").json()
    poll_id = status["poll"]["id"]
    assert [o["title"] for o in status["poll"]["options"]] == ["tea", "coffee"]

    voter.run("polls", "vote", poll_id, "1")
    poll = httpx.get(f"{server.url}/api/v1/polls/{poll_id}").json()
    assert [o["votes_count"] for o in poll["options"]] == [0, 1]
    out = voter.run("polls", "show", poll_id)
    assert "coffee" in out and "tea" in out
    out = voter.run("polls", "vote", poll_id, "0", ok=False)
    assert "already voted" in out

    pollster.run("pin", posted.group(1))
    pinned = httpx.get(
        f"{server.url}/api/v1/accounts/{pollster_id}/statuses", params={"pinned": "true"}
    ).json()
    assert [s["id"] for s in pinned] == [posted.group(1)]
    pollster.run("unpin", posted.group(1))
    pinned = httpx.get(
        f"{server.url}/api/v1/accounts/{pollster_id}/statuses", params={"pinned": "true"}
    ).json()
    assert pinned == []
