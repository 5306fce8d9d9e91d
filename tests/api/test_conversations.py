"""Conversations (issue 13, item 10), both engines: one per participant and thread of direct
posts, unread for the recipients of a new post and moved to the top, read and removed by
their owner only, blocks and mutes applied, a deleted post giving way to the previous one;
and the `conversation` events of the `direct` stream, with real WebSocket and SSE clients
against a real `aloft serve`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from tests.api.test_entities import assert_conforms
from tests.api.test_streaming import WAIT, Site, Socket, person, ready, site  # noqa: F401
from tests.conftest import Api, User

CONVERSATIONS = "/api/v1/conversations"


def dm(api: Api, user: User, text: str, **fields: Any) -> dict[str, Any]:
    return api.post(user, text, visibility="direct", **fields)


def listed(api: Api, user: User, **params: Any) -> list[dict[str, Any]]:
    r = api.get(CONVERSATIONS, user, **params)
    assert r.status_code == 200, r.text
    return list(r.json())


def test_a_direct_thread_is_one_conversation_for_each_participant(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    first = dm(api, alice, "@bob hello")
    mine, bobs = listed(api, alice), listed(api, bob)
    assert_conforms("Conversation", mine, many=True)
    assert len(mine) == len(bobs) == 1
    assert mine[0]["unread"] is False and bobs[0]["unread"] is True
    assert [a["username"] for a in mine[0]["accounts"]] == ["bob"]
    assert [a["username"] for a in bobs[0]["accounts"]] == ["alice"]
    assert mine[0]["last_status"]["id"] == bobs[0]["last_status"]["id"] == first["id"]
    assert listed(api, carol) == []

    # alice talks to carol too; then bob answers in the first thread: it comes back on top,
    # unread for alice, read for bob
    other = dm(api, alice, "@carol hi")
    assert [c["last_status"]["id"] for c in listed(api, alice)] == [other["id"], first["id"]]
    reply = dm(api, bob, "@alice hi back", in_reply_to_id=first["id"])
    mine = listed(api, alice)
    assert [c["last_status"]["id"] for c in mine] == [reply["id"], other["id"]]
    assert mine[0]["unread"] is True and mine[0]["id"] == listed(api, alice)[0]["id"]
    bobs = listed(api, bob)
    assert len(bobs) == 1 and bobs[0]["unread"] is False
    assert bobs[0]["last_status"]["id"] == reply["id"]

    # paged by the last status, with Link headers
    page = api.get(CONVERSATIONS, alice, limit=1)
    assert [c["id"] for c in page.json()] == [mine[0]["id"]]
    assert f"max_id={reply['id']}" in page.headers["link"]
    rest = api.get(CONVERSATIONS, alice, limit=1, max_id=reply["id"]).json()
    assert [c["id"] for c in rest] == [mine[1]["id"]]

    # public posts make no conversation
    api.post(alice, "@bob in public")
    assert len(listed(api, bob)) == 1


def test_adding_someone_makes_another_conversation(api: Api) -> None:
    alice, carol = api.register("alice"), api.register("carol")
    api.register("bob")
    first = dm(api, alice, "@bob one")
    dm(api, alice, "@bob @carol two", in_reply_to_id=first["id"])
    mine = listed(api, alice)
    assert sorted(sorted(a["username"] for a in c["accounts"]) for c in mine) == [
        ["bob"],
        ["bob", "carol"],
    ]
    carols = listed(api, carol)
    assert [sorted(a["username"] for a in c["accounts"]) for c in carols] == [["alice", "bob"]]


def test_read_and_remove_are_the_owners_alone(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    dm(api, alice, "@bob psst")
    conversation = listed(api, bob)[0]
    path = f"{CONVERSATIONS}/{conversation['id']}"
    assert api.client.post(f"{path}/read", headers=alice.headers).status_code == 404
    assert api.client.delete(path, headers=alice.headers).status_code == 404
    read = api.client.post(f"{path}/read", headers=bob.headers)
    assert read.status_code == 200, read.text
    assert_conforms("Conversation", read.json())
    assert read.json()["unread"] is False
    assert listed(api, bob)[0]["unread"] is False
    gone = api.client.delete(path, headers=bob.headers)
    assert gone.status_code == 200 and gone.json() == {}
    assert listed(api, bob) == []
    assert api.client.delete(path, headers=bob.headers).status_code == 404
    assert api.client.post(f"{CONVERSATIONS}/12345/read", headers=bob.headers).status_code == 404
    assert api.client.post(f"{CONVERSATIONS}/abc/read", headers=bob.headers).status_code == 404
    assert len(listed(api, alice)) == 1  # alice's own is untouched
    # a new post in the thread brings it back, unread
    dm(api, alice, "@bob still there?")
    again = listed(api, bob)
    assert len(again) == 1 and again[0]["unread"] is True


def test_deleting_a_post_gives_way_to_the_previous_one(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    first = dm(api, alice, "@bob one")
    second = dm(api, bob, "@alice two", in_reply_to_id=first["id"])
    api.client.delete(f"/api/v1/statuses/{second['id']}", headers=bob.headers)
    for who in (alice, bob):
        assert [c["last_status"]["id"] for c in listed(api, who)] == [first["id"]]
    api.client.delete(f"/api/v1/statuses/{first['id']}", headers=alice.headers)
    assert listed(api, alice) == [] and listed(api, bob) == []


def test_blocks_and_mutes(api: Api) -> None:
    alice, bob, carol, dave = (api.register(n) for n in ("alice", "bob", "carol", "dave"))
    api.client.post(f"/api/v1/accounts/{alice.id}/block", headers=bob.headers)
    api.client.post(f"/api/v1/accounts/{alice.id}/mute", headers=carol.headers)
    dm(api, alice, "@bob @carol @dave hello all")
    # bob blocked alice and carol muted her (with notifications, the default): as Mastodon
    # adds a conversation with the mention notification, they get none
    assert listed(api, bob) == [] and listed(api, carol) == []
    assert len(listed(api, dave)) == 1
    # dave blocks alice afterwards: her conversation leaves his list
    api.client.post(f"/api/v1/accounts/{alice.id}/block", headers=dave.headers)
    assert listed(api, dave) == []
    # and alice's own list still shows hers (bob's block hides bob's posts from her, not hers)
    assert len(listed(api, alice)) == 1


def test_scopes(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    dm(api, alice, "@bob x")
    conversation = listed(api, bob)[0]
    token = api.token_with("bob", "read:statuses")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get(CONVERSATIONS, headers=headers).status_code == 200
    read = api.client.post(f"{CONVERSATIONS}/{conversation['id']}/read", headers=headers)
    assert read.status_code == 403
    writer = api.token_with("bob", "write:conversations")
    headers = {"Authorization": f"Bearer {writer}"}
    assert api.client.get(CONVERSATIONS, headers=headers).status_code == 403
    read = api.client.post(f"{CONVERSATIONS}/{conversation['id']}/read", headers=headers)
    assert read.status_code == 200


# -- the direct stream ---------------------------------------------------------------------


def test_the_direct_stream_carries_conversation_events(site: Site) -> None:  # noqa: F811
    alice, bob, carol = person(site), person(site), person(site)

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[bob.token]) as wb:  # type: ignore[list-item]
            b = Socket(wb)
            await b.subscribe("direct")
            await b.subscribe("public")
            await ready(b)
            async with (
                httpx.AsyncClient(timeout=WAIT) as http,
                http.stream(
                    "GET", f"{site.url}/api/v1/streaming/direct", headers=bob.headers
                ) as sse,
            ):
                lines = sse.aiter_lines()
                assert (await asyncio.wait_for(lines.__anext__(), WAIT)).startswith(":")
                first = await asyncio.to_thread(
                    alice.api.status_post, f"@{bob.username} secret", visibility="direct"
                )
                # carol's public post, then alice's second direct post: bob's socket
                # sees exactly two conversation events, in order, and no `update` of
                # a direct post on `direct`
                await asyncio.to_thread(carol.api.status_post, "marker")
                second = await asyncio.to_thread(
                    alice.api.status_post,
                    f"@{bob.username} more",
                    visibility="direct",
                    in_reply_to_id=first.id,
                )
                seen = await b.until(
                    lambda m: (
                        m.get("event") == "conversation"
                        and json.loads(m["payload"])["last_status"]["id"] == str(second.id)
                    )
                )
                on_direct = [m for m in seen if m.get("stream") == ["direct"]]
                assert [m["event"] for m in on_direct] == ["conversation", "conversation"]
                payloads = [json.loads(m["payload"]) for m in on_direct]
                for p in payloads:
                    assert_conforms("Conversation", p)
                    assert p["unread"] is True
                    assert [a["id"] for a in p["accounts"]] == [alice.id]
                assert payloads[0]["last_status"]["id"] == str(first.id)
                assert payloads[0]["id"] == payloads[1]["id"]
                # the same on SSE
                events = []
                async for line in lines:
                    if line.startswith("event:"):
                        events.append(line.split(":", 1)[1].strip())
                    if line.startswith("data:") and events[-1] == "conversation":
                        data = json.loads(line.split(":", 1)[1])
                        if data["last_status"]["id"] == str(second.id):
                            break
                assert events == ["conversation", "conversation"]

    asyncio.run(run())
