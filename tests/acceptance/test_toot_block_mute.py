"""toot's block and mute commands against a real `aloft serve` (issue 13, item 1): block and
mute by account name, list them, undo them; what the server then shows follows each step."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def _public_authors(server: Server, token: str) -> set[str]:
    answer = httpx.get(
        f"{server.url}/api/v1/timelines/public",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return {s["account"]["acct"] for s in answer.json()}


def test_toot_block_and_mute(server: Server, tmp_path: Path) -> None:
    for name in ("reader", "loud", "rude"):
        create_account(server, name, f"{name} password 1")
    reader = log_in(server, tmp_path / "reader", "reader", "reader password 1")
    loud = log_in(server, tmp_path / "loud", "loud", "loud password 1")
    rude = log_in(server, tmp_path / "rude", "rude", "rude password 1")
    loud.run("post", "so much to say")
    rude.run("post", "something rude")
    users = reader.config()["users"]  # the reader's own token, as toot stored it
    assert isinstance(users, dict)
    token = next(iter(users.values()))["access_token"]
    assert {"loud", "rude"} <= _public_authors(server, token)

    out = reader.run("mute", "loud")
    assert "loud" in out, out
    assert "loud" in reader.run("muted")
    out = reader.run("block", "rude")
    assert "rude" in out, out
    assert "rude" in reader.run("blocked")
    authors = _public_authors(server, token)
    assert "loud" not in authors and "rude" not in authors

    reader.run("unmute", "loud")
    reader.run("unblock", "rude")
    assert "loud" not in reader.run("muted")
    assert "rude" not in reader.run("blocked")
    assert {"loud", "rude"} <= _public_authors(server, token)
