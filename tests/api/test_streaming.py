"""The streaming API with real clients against a real `aloft serve` (both engines).

A WebSocket client (the `websockets` package) and an SSE client (httpx streaming) listen;
other accounts act through Mastodon.py. Nothing here waits for the *absence* of an event
by sleeping: where an event must not arrive, a later public "marker" status is posted and
everything received before the marker is checked (one process hands events to a
connection in commit order).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from mastodon import Mastodon
from websockets.exceptions import InvalidStatus

from tests import pg
from tests.conftest import Server, start_server, stop_server

PASSWORD = "correct horse battery"
WAIT = 20.0  # generous: only a failing test ever waits this long
_names = itertools.count()


@dataclass
class Site:
    server: Server
    client_id: str
    client_secret: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/streaming"


@dataclass
class Person:
    api: Mastodon
    token: str
    id: str
    username: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _new_database(request: pytest.FixtureRequest, prefix: str) -> tuple[dict[str, str], Any]:
    postgres: pg.PostgresServer = request.getfixturevalue("postgres")
    name = f"aloft_{prefix}_{os.getpid()}_{next(_names)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
    return {"ALOFT_DATABASE_URL": postgres.url(name)}, lambda: postgres.psql(
        f"DROP DATABASE {name} WITH (FORCE)"
    )


def _register_app(url: str) -> tuple[str, str]:
    return Mastodon.create_app(
        "streaming tests",
        scopes=["read", "write", "follow"],
        api_base_url=url,
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    env: dict[str, str] = {"ALOFT_LOG_LEVEL": "debug"}  # the log must keep tokens out anyway
    drop = None
    if request.param == "postgresql":
        more, drop = _new_database(request, "streaming")
        env.update(more)
    server = start_server(tmp_path_factory.mktemp("streaming") / "data", env)
    try:
        yield Site(server, *_register_app(server.url))
    finally:
        stop_server(server)
        if drop is not None:
            drop()


def person(
    site: Site, url: str | None = None, scopes: tuple[str, ...] = ("read", "write", "follow")
) -> Person:
    name = f"s{next(_names)}"
    api = Mastodon(
        client_id=site.client_id,
        client_secret=site.client_secret,
        api_base_url=url or site.url,
        version_check_mode="none",
        request_timeout=60,
    )
    token = api.create_account(
        name, PASSWORD, f"{name}@example.org", agreement=True, scopes=list(scopes)
    )
    me = str(api.me().id) if "read" in scopes else ""
    return Person(api, token, me, name)


class Socket:
    """A WebSocket streaming client: subscribe, then read messages in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def subscribe(self, stream: str, **params: str) -> None:
        await self.ws.send(json.dumps({"type": "subscribe", "stream": stream, **params}))

    async def next(self) -> dict[str, Any]:
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), WAIT)))

    async def until(self, predicate: Any) -> list[dict[str, Any]]:
        """Every message up to and including the first that satisfies `predicate`."""
        seen = []
        while True:
            message = await self.next()
            seen.append(message)
            if predicate(message):
                return seen


def payload(message: dict[str, Any]) -> Any:
    return (
        json.loads(message["payload"]) if message.get("event") != "delete" else message["payload"]
    )


def is_update_of(status_id: str, stream: list[str] | None = None) -> Any:
    def check(m: dict[str, Any]) -> bool:
        return (
            m.get("event") == "update"
            and payload(m)["id"] == status_id
            and (stream is None or m["stream"] == stream)
        )

    return check


async def ready(sock: Socket) -> None:
    """Subscriptions are handled in order: once an error for a bad one comes back, every
    subscription sent before it is in place."""
    await sock.subscribe("no-such-stream")
    assert await sock.next() == {"error": "Unknown stream type", "status": 400}


def test_websocket_user_and_hashtag_update_then_delete(site: Site) -> None:
    alice, bob = person(site), person(site)
    alice.api.account_follow(bob.id)

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == alice.token  # echoed, as browsers require
            sock = Socket(ws)
            await sock.subscribe("user")
            await sock.subscribe("hashtag", tag="StreamCats")
            await ready(sock)
            status = await asyncio.to_thread(bob.api.status_post, "hello #streamcats")
            sid = str(status.id)
            first = await sock.next()
            second = await sock.next()
            streams = sorted([first["stream"], second["stream"]])
            assert streams == [["hashtag", "StreamCats"], ["user"]]
            for message in (first, second):
                assert message["event"] == "update"
                entity = payload(message)
                assert entity["id"] == sid and entity["account"]["id"] == bob.id
                assert entity["favourited"] is False  # rendered for the viewer
            await asyncio.to_thread(bob.api.status_delete, sid)
            deletes = [await sock.next(), await sock.next()]
            assert sorted(d["stream"] for d in deletes) == [["hashtag", "StreamCats"], ["user"]]
            assert all(d["event"] == "delete" and d["payload"] == sid for d in deletes)

    asyncio.run(run())


def test_media_streams(site: Site) -> None:
    """public:media carries only posts with media; public:remote is accepted and empty (an
    error on a shared connection would end every masto.js subscription on it)."""
    import io

    from PIL import Image

    alice, bob = person(site), person(site)
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(png, "PNG")

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await sock.subscribe("public:media")
            await sock.subscribe("public:remote")
            await ready(sock)
            await asyncio.to_thread(bob.api.status_post, "no picture")
            media = await asyncio.to_thread(
                bob.api.media_post, io.BytesIO(png.getvalue()), mime_type="image/png"
            )
            pictured = await asyncio.to_thread(bob.api.status_post, "a picture", media_ids=[media])
            message = await sock.next()
            assert message["stream"] == ["public:media"]
            assert payload(message)["id"] == str(pictured.id)
            assert payload(message)["media_attachments"][0]["id"] == str(media.id)

    asyncio.run(run())


def test_a_reblog_and_its_undo_reach_followers(site: Site) -> None:
    alice, bob, carol = person(site), person(site), person(site)
    alice.api.account_follow(bob.id)
    original = carol.api.status_post("worth sharing")

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await sock.subscribe("user")
            await ready(sock)
            reblog = await asyncio.to_thread(bob.api.status_reblog, original.id)
            update = await sock.next()
            assert update["event"] == "update" and payload(update)["id"] == str(reblog.id)
            assert payload(update)["reblog"]["id"] == str(original.id)
            await asyncio.to_thread(bob.api.status_unreblog, original.id)
            assert await sock.next() == {
                "stream": ["user"],
                "event": "delete",
                "payload": str(reblog.id),
            }

    asyncio.run(run())


def test_private_and_direct_reach_only_those_who_may_see_them(site: Site) -> None:
    alice, bob, carol, dave = (person(site) for _ in range(4))
    alice.api.account_follow(bob.id)

    async def run() -> None:
        async with (
            websockets.connect(site.ws, subprotocols=[alice.token]) as wa,
            websockets.connect(  # type: ignore[list-item]
                site.ws,
                subprotocols=[dave.token],  # type: ignore[list-item]
            ) as wd,
        ):
            a, d = Socket(wa), Socket(wd)
            for sock in (a, d):
                for stream in ("user", "public", "public:local", "direct"):
                    await sock.subscribe(stream)
                await sock.subscribe("hashtag", tag="secret")
                await ready(sock)
            # carol is followed by nobody: her private post reaches no one else's stream
            await asyncio.to_thread(carol.api.status_post, "private #secret", visibility="private")
            # bob's private post reaches his follower alice (user) and not dave
            bobs = await asyncio.to_thread(
                bob.api.status_post, "for followers", visibility="private"
            )
            # bob's direct message to alice: a conversation on alice's direct (never the
            # status itself, as Mastodon), and an update on user (she follows bob)
            dm = await asyncio.to_thread(
                bob.api.status_post, f"@{alice.username} just you", visibility="direct"
            )
            marker = await asyncio.to_thread(carol.api.status_post, "marker")
            mid = str(marker.id)
            for sock, who in ((a, "alice"), (d, "dave")):
                seen = await sock.until(is_update_of(mid, ["public"]))
                updates = [
                    (m["stream"], payload(m)["id"]) for m in seen if m.get("event") == "update"
                ]
                ids = {i for _, i in updates}
                talks = [
                    payload(m)["last_status"]["id"]
                    for m in seen
                    if m.get("event") == "conversation" and m["stream"] == ["direct"]
                ]
                if who == "alice":
                    assert (["user"], str(bobs.id)) in updates
                    assert talks == [str(dm.id)]
                    assert (["user"], str(dm.id)) in updates
                    assert not any(i == str(dm.id) for s, i in updates if s[0] != "user")
                else:
                    assert str(bobs.id) not in ids and str(dm.id) not in ids and not talks
                private_posts = {
                    payload(m)["id"]
                    for m in seen
                    if m.get("event") == "update"
                    and payload(m)["visibility"] == "private"
                    and payload(m)["account"]["id"] == carol.id
                }
                assert not private_posts, who

    asyncio.run(run())


def test_user_stream_carries_notifications_only_to_a_token_that_may_read_them(
    site: Site,
) -> None:
    alice, bob = person(site), person(site)
    alice.api.account_follow(bob.id)
    grant = httpx.post(
        f"{site.url}/oauth/token",
        data={
            "grant_type": "password",
            "client_id": site.client_id,
            "client_secret": site.client_secret,
            "username": alice.username,
            "password": PASSWORD,
            "scope": "read:statuses",
        },
    )
    assert grant.status_code == 200, grant.text
    statuses_only = grant.json()["access_token"]

    async def run() -> None:
        for token, notified in ((statuses_only, False), (alice.token, True)):
            post = await asyncio.to_thread(alice.api.status_post, "like me")
            async with websockets.connect(site.ws, subprotocols=[token]) as ws:  # type: ignore[list-item]
                sock = Socket(ws)
                await sock.subscribe("user")
                await ready(sock)
                await asyncio.to_thread(bob.api.status_favourite, post.id)
                await asyncio.to_thread(bob.api.status_unfavourite, post.id)
                marker = await asyncio.to_thread(bob.api.status_post, "marker")
                seen = await sock.until(is_update_of(str(marker.id), ["user"]))
                kinds = [m["event"] for m in seen]
                assert ("notification" in kinds) is notified, kinds

    asyncio.run(run())


def test_sse_notification(site: Site) -> None:
    alice, bob = person(site), person(site)
    post = alice.api.status_post("like me")
    with httpx.stream(
        "GET", f"{site.url}/api/v1/streaming/user/notification", headers=alice.headers, timeout=WAIT
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == ":)"  # the stream is open: subscribed before the favourite
        bob.api.status_favourite(post.id)
        event = data = None
        for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                break
        assert event == "notification"
        assert data is not None and data["type"] == "favourite"
        assert data["account"]["id"] == bob.id and data["status"]["id"] == str(post.id)


def test_sse_public_and_hashtag_paths(site: Site) -> None:
    alice, bob = person(site), person(site)
    for path, params in (("public", {}), ("public/local", {}), ("hashtag", {"tag": "Ssetag"})):
        with httpx.stream(
            "GET",
            f"{site.url}/api/v1/streaming/{path}",
            headers=alice.headers,
            params=params,
            timeout=WAIT,
        ) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines) == ":)"
            status = bob.api.status_post("public #ssetag")
            for line in lines:
                if line.startswith("data: "):
                    assert json.loads(line.removeprefix("data: "))["id"] == str(status.id)
                    break


def test_bad_token_is_refused(site: Site) -> None:
    for headers in ({"Authorization": "Bearer nope"}, {}):
        r = httpx.get(f"{site.url}/api/v1/streaming/user", headers=headers, timeout=WAIT)
        assert r.status_code == 401
        assert r.json()["error"] in ("Invalid access token", "Missing access token")
    r = httpx.get(
        f"{site.url}/api/v1/streaming/public", params={"access_token": "nope"}, timeout=WAIT
    )
    assert r.status_code == 401 and r.json() == {"error": "Invalid access token"}

    async def run() -> None:
        for kwargs in (
            {"subprotocols": ["nope"]},
            {},
            {"additional_headers": {"Authorization": "Bearer x"}},
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(site.ws, **kwargs):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 401
            assert refused.value.response.headers["X-Error-Message"] in (
                "Invalid access token",
                "Missing access token",
            )

    asyncio.run(run())


def test_unknown_stream_and_missing_tag(site: Site) -> None:
    alice = person(site)
    r = httpx.get(f"{site.url}/api/v1/streaming/nope", headers=alice.headers, timeout=WAIT)
    assert r.status_code == 400 and r.json() == {"error": "Unknown channel requested"}
    r = httpx.get(f"{site.url}/api/v1/streaming/hashtag", headers=alice.headers, timeout=WAIT)
    assert r.status_code == 400 and r.json() == {"error": "Missing tag name parameter"}
    r = httpx.get(f"{site.url}/api/v1/streaming/list", headers=alice.headers, params={"list": "1"})
    assert r.status_code == 401 and r.json() == {"error": "Not authorized to stream this list"}

    async def run() -> None:
        async with websockets.connect(f"{site.ws}?access_token={alice.token}") as ws:
            sock = Socket(ws)
            await sock.subscribe("nope")
            assert await sock.next() == {"error": "Unknown stream type", "status": 400}
            await sock.subscribe("hashtag")
            assert await sock.next() == {"error": "Missing tag name parameter", "status": 400}
            await ws.send("not json")
            assert await sock.next() == {"error": "Invalid JSON", "status": 400}
            await ws.send("[1, 2]")
            assert await sock.next() == {"error": "Invalid JSON", "status": 400}
            await sock.subscribe("hashtag", tag=["x"])  # type: ignore[arg-type]
            assert await sock.next() == {"error": "Missing tag name parameter", "status": 400}

    asyncio.run(run())


def test_scopes(site: Site) -> None:
    writer = person(site, scopes=("write",))
    r = httpx.get(f"{site.url}/api/v1/streaming/user", headers=writer.headers, timeout=WAIT)
    assert r.status_code == 401
    assert r.json() == {"error": "Access token does not have the required scopes"}


def test_advertised_url_works_and_health(site: Site) -> None:
    v1 = httpx.get(f"{site.url}/api/v1/instance").json()["urls"]["streaming_api"]
    v2 = httpx.get(f"{site.url}/api/v2/instance").json()["configuration"]["urls"]["streaming"]
    assert v1 == v2
    assert httpx.get(f"{v1.replace('ws', 'http', 1)}/api/v1/streaming/health").text == "OK"
    alice = person(site)

    async def run() -> None:
        async with websockets.connect(
            f"{v2}/api/v1/streaming?stream=public", subprotocols=[alice.token]
        ) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await ready(sock)
            status = await asyncio.to_thread(alice.api.status_post, "via the advertised URL")
            message = await sock.next()
            assert message["stream"] == ["public"] and payload(message)["id"] == str(status.id)

    asyncio.run(run())


def test_open_streams_are_limited_per_account(site: Site) -> None:
    from aloft.api.streaming import MAX_CONNECTIONS_PER_ACCOUNT

    alice = person(site)

    async def run() -> None:
        open_ = []
        try:
            for _ in range(MAX_CONNECTIONS_PER_ACCOUNT):
                open_.append(await websockets.connect(site.ws, subprotocols=[alice.token]))  # type: ignore[list-item]
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(site.ws, subprotocols=[alice.token])  # type: ignore[list-item]
            assert refused.value.response.status_code == 429
            assert "Too many open streams" in refused.value.response.headers["X-Error-Message"]
            r = await asyncio.to_thread(
                httpx.get, f"{site.url}/api/v1/streaming/user", headers=alice.headers
            )
            assert r.status_code == 429 and "Too many open streams" in r.json()["error"]
        finally:
            for ws in open_:
                await ws.close()

    asyncio.run(run())


def test_head_requests_do_not_hold_a_stream(site: Site) -> None:
    from aloft.api.streaming import MAX_CONNECTIONS_PER_ACCOUNT

    alice = person(site)
    for _ in range(MAX_CONNECTIONS_PER_ACCOUNT + 1):
        r = httpx.head(f"{site.url}/api/v1/streaming/user", headers=alice.headers, timeout=WAIT)
        assert r.status_code == 200
    with httpx.stream(
        "GET", f"{site.url}/api/v1/streaming/user", headers=alice.headers, timeout=WAIT
    ) as r:
        assert r.status_code == 200


def test_tokens_never_logged(site: Site) -> None:
    """Every test above ran against this server at debug level (handshake headers and
    request lines are logged): no token it was sent may be in its log."""
    alice = person(site)

    async def run() -> None:
        async with websockets.connect(f"{site.ws}?access_token={alice.token}&stream=user"):
            pass
        async with websockets.connect(site.ws, subprotocols=[alice.token]):  # type: ignore[list-item]
            pass
        async with websockets.connect(site.ws, additional_headers=alice.headers):
            pass

    asyncio.run(run())
    log = site.server.log.read_text()
    assert "/api/v1/streaming" in log and "[redacted]" in log
    assert alice.token not in log


def test_two_processes_on_one_postgresql(request: pytest.FixtureRequest, tmp_path: Any) -> None:
    """A client connected to process A receives what was posted through process B."""
    env, drop = _new_database(request, "streaming_two")
    first = start_server(tmp_path / "a", env)
    second = start_server(tmp_path / "b", env)
    try:
        client_id, client_secret = _register_app(first.url)
        site_a = Site(first, client_id, client_secret)
        alice = person(site_a)
        bob = person(site_a, url=second.url)
        alice.api.account_follow(bob.id)

        async def run() -> None:
            async with websockets.connect(site_a.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
                sock = Socket(ws)
                await sock.subscribe("user")
                await ready(sock)
                status = await asyncio.to_thread(bob.api.status_post, "through B")
                message = await sock.next()
                assert message["stream"] == ["user"] and payload(message)["id"] == str(status.id)

        asyncio.run(run())
    finally:
        stop_server(first)
        stop_server(second)
        drop()
