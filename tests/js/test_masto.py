"""masto.js (npm `masto`, pinned in tests/js/package-lock.json) streams from a real server.

`make test` installs it (`npm ci`); without Node.js or the installed package the test
skips and says why. The client connects to the URL the instance advertises, with the token
in Sec-WebSocket-Protocol, subscribes to `user` and `hashtag`, and must receive a status
posted by another account through Mastodon.py on both streams. It has no signal for "my
subscriptions are in place", so the poster posts again every half second until the client
reports one status on both streams (or a minute passes).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mastodon import Mastodon

from tests.conftest import Server, start_server, stop_server

HERE = Path(__file__).parent
PASSWORD = "correct horse battery"


def _skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed (make system installs Debian's nodejs when root)"
    if not (HERE / "node_modules" / "masto").is_dir():
        return "masto.js is not installed: run `npm ci` in tests/js (make test does)"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    srv = start_server(tmp_path_factory.mktemp("masto") / "data")
    yield srv
    stop_server(srv)


def _person(url: str, client_id: str, client_secret: str, name: str) -> tuple[Mastodon, str]:
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=url,
        version_check_mode="none",
    )
    token = api.create_account(
        name, PASSWORD, f"{name}@example.org", agreement=True, scopes=["read", "write", "follow"]
    )
    return api, token


def test_masto_js_receives_an_update_on_user_and_hashtag(server: Server) -> None:
    client_id, client_secret = Mastodon.create_app(
        "masto.js test",
        scopes=["read", "write", "follow"],
        api_base_url=server.url,
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
    )
    alice, alice_token = _person(server.url, client_id, client_secret, "jsalice")
    bob, _ = _person(server.url, client_id, client_secret, "jsbob")
    alice.account_follow(bob.me().id)
    streaming = httpx.get(f"{server.url}/api/v2/instance").json()["configuration"]["urls"][
        "streaming"
    ]
    node = subprocess.Popen(
        ["node", str(HERE / "stream.mjs"), streaming, alice_token, "JsCats"],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert node.stdout is not None
    try:
        assert json.loads(node.stdout.readline()) == {"started": True}
        posted: set[str] = set()
        deadline = time.monotonic() + 60
        while node.poll() is None and time.monotonic() < deadline:
            posted.add(str(bob.status_post("from Mastodon.py #jscats").id))
            time.sleep(0.5)
        out, err = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert node.returncode == 0, (lines, err)
    done = lines[-1]["done"]
    assert done in posted
    streams = {tuple(x["stream"]) for x in lines if x.get("id") == done}
    assert streams == {("user",), ("hashtag", "JsCats")}
    assert {x["acct"] for x in lines if "acct" in x} == {"jsbob"}
