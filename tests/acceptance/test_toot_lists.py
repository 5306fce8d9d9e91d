"""toot's list commands against a real `aloft serve` (issue 13, item 5): create a list, add
an account, show its accounts and its timeline, remove the account, delete the list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.acceptance.test_toot import create_account, log_in
from tests.conftest import Server

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def test_toot_lists(server: Server, tmp_path: Path) -> None:
    create_account(server, "lister", "lister password 1")
    create_account(server, "listed", "listed password 1")
    lister = log_in(server, tmp_path / "lister", "lister", "lister password 1")
    listed = log_in(server, tmp_path / "listed", "listed", "listed password 1")

    lister.run("lists", "create", "neighbours", "--replies-policy", "list")
    assert "neighbours" in lister.run("lists", "list")
    # Not followed yet: refused, and toot says why.
    out = lister.run("lists", "add", "neighbours", "listed", ok=False)
    assert "follow" in out
    lister.run("follow", "listed")
    lister.run("lists", "add", "neighbours", "listed")
    assert "listed" in lister.run("lists", "accounts", "neighbours")

    out = listed.run("post", "news from next door")
    assert re.search(r"/@listed/(\d+)", out), out
    out = lister.run("timeline", "--list", "neighbours", "--once")
    assert "news from next door" in out

    lister.run("lists", "remove", "neighbours", "listed")
    assert "listed" not in lister.run("lists", "accounts", "neighbours")
    lister.run("lists", "delete", "neighbours")
    assert "neighbours" not in lister.run("lists", "list")
