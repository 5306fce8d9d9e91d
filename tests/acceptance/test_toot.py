"""toot, the Mastodon command-line client, against a real `aloft serve` process.

A new user's session: an operator creates accounts with `aloft accounts create`, then each
person signs in with `toot login_cli` (password on stdin), posts, reads timelines and
notifications, follows, replies, favourites and boosts. toot keeps its config under
XDG_CONFIG_HOME, which each person here gets in a temporary directory of their own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

BIN = Path(sys.executable).parent
TOOT = BIN / "toot"


@dataclass
class Toot:
    """toot as one person runs it, with their own config directory."""

    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "XDG_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            COLUMNS="100",
            NO_COLOR="1",
        )
        return env

    def run(self, *args: str, stdin: str = "", ok: bool = True) -> str:
        done = subprocess.run(
            [str(TOOT), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=60,
        )
        if ok:
            assert done.returncode == 0, f"toot {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    def config(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(
            (self.home / ".config" / "toot" / "config.json").read_text()
        )
        return data


def create_account(server: Server, username: str, password: str) -> str:
    """`aloft accounts create`, as the operator runs it on the server's data directory."""
    done = subprocess.run(
        [str(BIN / "aloft"), "accounts", "create", username, "--email", f"{username}@example.org"],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        env={**os.environ, "ALOFT_DATA_DIR": str(server.data_dir)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    match = re.fullmatch(rf"created @{username} \(id (\d+)\)\n", done.stdout.split(": ")[-1])
    assert match, done.stdout
    return match.group(1)


def log_in(server: Server, home: Path, username: str, password: str) -> Toot:
    toot = Toot(home)
    out = toot.run(
        "login_cli", "--instance", server.url, "--email", f"{username}@example.org", stdin=password
    )
    assert "Successfully logged in" in out
    domain = server.url.split("://", 1)[1]
    config = toot.config()
    assert config["active_user"] == f"{username}@{domain}"
    return toot


def test_toot_session(server: Server, tmp_path: Path) -> None:
    tootie_id = create_account(server, "tootie", "tootie password 1")
    create_account(server, "bobby", "bobby password 1")
    tootie = log_in(server, tmp_path / "tootie", "tootie", "tootie password 1")
    bobby = log_in(server, tmp_path / "bobby", "bobby", "bobby password 1")

    # a wrong password is refused, and nothing is saved
    stranger = Toot(tmp_path / "stranger")
    out = stranger.run(
        "login_cli", "-i", server.url, "-e", "tootie@example.org", stdin="nope nope", ok=False
    )
    assert "Successfully" not in out
    assert "Error: Login failed" in out, out
    assert not stranger.config().get("users")  # toot keeps the app it registered, no user

    # post, and find the post where toot said it is
    out = tootie.run("post", "hello from toot")
    posted = re.search(rf"Toot posted: {re.escape(server.url)}/@tootie/(\d+)", out)
    assert posted, out
    hello_id = posted.group(1)
    status = httpx.get(f"{server.url}/api/v1/statuses/{hello_id}").json()
    assert status["content"] == "<p>hello from toot</p>"
    assert status["account"]["id"] == tootie_id

    out = tootie.run("timeline")
    assert "hello from toot" in out
    assert f"ID {hello_id}" in out
    out = tootie.run("whoami")
    assert "@tootie" in out
    assert f"ID: {tootie_id}" in out
    assert "Statuses: 1" in out
    assert "You have no notifications" in tootie.run("notifications")

    # the other person follows, replies, favourites and boosts
    assert "You are now following tootie" in bobby.run("follow", "tootie")
    assert "@tootie" in bobby.run("following", "bobby")
    out = bobby.run("post", "--reply-to", hello_id, "@tootie hi from bobby")
    reply = re.search(r"/@bobby/(\d+)", out)
    assert reply, out
    assert "Status favourited" in bobby.run("favourite", hello_id)
    assert "Status reblogged" in bobby.run("reblog", hello_id)

    out = tootie.run("notifications")
    assert [line for line in out.splitlines() if re.match(r"@bobby [a-z]", line)] == [
        "@bobby boosted your status",
        "@bobby favourited your status",
        "@bobby mentioned you",
        "@bobby now follows you",
    ]
    out = tootie.run("thread", hello_id)
    assert out.index("hello from toot") < out.index("@tootie hi from bobby")
    assert f"In reply to {hello_id}" in out
    out = tootie.run("whois", "bobby")
    assert "Following: 1" in out
    assert "Statuses: 2" in out  # the reply and the boost
