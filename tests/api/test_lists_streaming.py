"""The `list` stream and exclusive lists on the `user` stream (issue 13, item 5), on a real
`aloft serve` with both engines. As in test_streaming, absence is checked against a later
marker post, never by sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import websockets

from tests.api.test_streaming import WAIT, Site, Socket, is_update_of, payload, person, ready
from tests.api.test_streaming import site as site  # the fixture, shared


def test_list_stream_and_exclusive_home(site: Site) -> None:
    alice, bob, carol, dave = (person(site) for _ in range(4))
    for other in (bob, carol, dave):
        alice.api.account_follow(other.id)
    friends = alice.api.list_create("friends", replies_policy="none")
    alice.api.list_accounts_add(friends.id, [bob.id])
    quiet = alice.api.list_create("quiet", exclusive=True)
    alice.api.list_accounts_add(quiet.id, [carol.id])
    list_id = str(friends.id)

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await sock.subscribe("list", list=list_id)
            await sock.subscribe("user")
            await ready(sock)
            from_carol = await asyncio.to_thread(carol.api.status_post, "exclusive")
            from_dave = await asyncio.to_thread(dave.api.status_post, "not on the list")
            reply = await asyncio.to_thread(
                bob.api.status_post, "a reply", in_reply_to_id=from_dave.id
            )
            from_bob = await asyncio.to_thread(bob.api.status_post, "on the list")
            streams: set[tuple[str, ...]] = set()

            def both(message: dict[str, Any]) -> bool:  # on the list and home, in any order
                if is_update_of(str(from_bob.id))(message):
                    streams.add(tuple(message["stream"]))
                return len(streams) == 2

            seen = await sock.until(both)
            on_list = {payload(m)["id"] for m in seen if m.get("stream") == ["list", list_id]}
            # replies_policy none: bob's reply to dave stays off the list.
            assert on_list == {str(from_bob.id)}, on_list
            on_home = {payload(m)["id"] for m in seen if m.get("stream") == ["user"]}
            assert str(from_carol.id) not in on_home  # exclusive: read in its list
            assert {str(from_dave.id), str(reply.id)} <= on_home
            await asyncio.to_thread(bob.api.status_delete, from_bob.id)
            deleted = await sock.until(
                lambda m: m.get("event") == "delete" and m["stream"] == ["list", list_id]
            )
            assert deleted[-1]["payload"] == str(from_bob.id)

    asyncio.run(run())


def test_only_the_owner_streams_a_list(site: Site) -> None:
    alice, bob = person(site), person(site)
    made = alice.api.list_create("mine")
    url = f"{site.url}/api/v1/streaming/list"
    refused = {"error": "Not authorized to stream this list"}
    for who, list_id in ((bob, str(made.id)), (alice, "999"), (alice, "x")):
        r = httpx.get(url, headers=who.headers, params={"list": list_id}, timeout=WAIT)
        assert r.status_code == 401 and r.json() == refused
    r = httpx.get(url, headers=alice.headers, timeout=WAIT)
    assert r.status_code == 400 and r.json() == {"error": "Missing list name parameter"}

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[bob.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await sock.subscribe("list", list=str(made.id))
            assert await sock.next() == {**refused, "status": 401}

    asyncio.run(run())
