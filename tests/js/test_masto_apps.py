"""masto.js makes the REST calls Elk and Phanpy make on their first screens (issue 10, items
3-7): the instance's version claims, markers, grouped notifications and their unread count,
a locked account's follow requests, account search, the notification policy and requests.
Data is made through Mastodon.py; tests/js/apps.mjs reads it through masto.js."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from mastodon import Mastodon

from tests.conftest import Server, start_server, stop_server
from tests.js.test_masto import HERE, _person, _skip_reason


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    srv = start_server(tmp_path_factory.mktemp("masto-apps") / "data")
    yield srv
    stop_server(srv)


def test_first_screens_of_elk_and_phanpy(server: Server) -> None:
    client_id, client_secret = Mastodon.create_app(
        "masto.js apps test",
        scopes=["read", "write", "follow"],
        api_base_url=server.url,
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
    )
    alice, alice_token = _person(server.url, client_id, client_secret, "appalice")
    bob, _ = _person(server.url, client_id, client_secret, "appbob")
    carol, _ = _person(server.url, client_id, client_secret, "appcarol")
    alice.account_update_credentials(locked=True)
    bob.account_follow(alice.me().id)  # a follow request
    post = alice.status_post("like this")
    bob.status_favourite(post)
    carol.status_favourite(post)

    node = subprocess.run(
        ["node", str(HERE / "apps.mjs"), server.url, alice_token, "appca"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert node.returncode == 0, node.stdout + node.stderr
    out = json.loads(node.stdout.strip().splitlines()[-1])
    assert out["version"].startswith("4.3.0") and out["apiVersions"] == {"mastodon": 2}
    assert out["markersBefore"] == {}
    assert [(g["type"], g["count"]) for g in out["groups"]] == [
        ("favourite", 2),
        ("follow_request", 1),
    ]
    assert out["accounts"] == ["appbob", "appcarol"]
    assert out["unreadBefore"] == 2
    assert out["requests"] == ["appbob"]
    assert out["authorized"] == {"followedBy": True, "requestedBy": False}
    assert out["search"] == ["appcarol"]
    assert out["policy"] == "accept" and out["notificationRequests"] == 0
    assert out["marker"] == {"lastReadId": out["groups"][0]["mostRecent"], "version": 0}
    # Authorizing added a follow notification after the marker, and removed the request's.
    assert out["unreadAfter"] == 1
    assert out["oneGroup"] == 2
