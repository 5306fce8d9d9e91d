"""An edit reaches the streams as `status.update` (issue 13, item 3), on both engines,
through a real server and a WebSocket; Mastodon.py edits, votes and pins as an app would."""

from __future__ import annotations

import asyncio
from typing import Any

import websockets

from tests.api.test_streaming import Site, Socket, is_update_of, payload, person, ready
from tests.api.test_streaming import site as site  # the fixture, shared


def test_an_edit_is_streamed_as_status_update(site: Site) -> None:
    alice, bob = person(site), person(site)
    alice.api.account_follow(bob.id)

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            await sock.subscribe("user")
            await sock.subscribe("public")
            await ready(sock)
            status = await asyncio.to_thread(bob.api.status_post, "before the edit")
            sid = str(status.id)
            await sock.until(is_update_of(sid, ["public"]))
            await asyncio.to_thread(bob.api.status_update, sid, "after the edit")

            def edited(m: dict[str, Any]) -> bool:
                return m.get("event") == "status.update" and payload(m)["id"] == sid

            seen = await sock.until(edited)
            entity = payload(seen[-1])
            assert "after the edit" in entity["content"] and entity["edited_at"]
            more = [seen[-1], await sock.next()]
            assert sorted(m["stream"] for m in more if m["event"] == "status.update") == [
                ["public"],
                ["user"],
            ]

    asyncio.run(run())


def test_mastodon_py_edit_poll_vote_pin(site: Site) -> None:
    alice, bob = person(site), person(site)
    poll = alice.api.make_poll(["red", "blue"], expires_in=600)
    status = alice.api.status_post("favourite colour?", poll=poll)
    assert [o.title for o in status.poll.options] == ["red", "blue"]
    voted = bob.api.poll_vote(status.poll.id, [1])
    assert voted.own_votes == [1] and voted.votes_count == 1
    assert bob.api.poll(status.poll.id).voted is True
    edited = alice.api.status_update(status.id, "favourite colour, really?", poll=poll)
    assert edited.edited_at is not None
    history = alice.api.status_history(status.id)
    assert len(history) == 2 and "really" in history[-1].content
    assert alice.api.status_source(status.id).text == "favourite colour, really?"
    assert alice.api.status_pin(status.id).pinned is True
    pinned = bob.api.account_statuses(alice.id, pinned=True)
    assert [s.id for s in pinned] == [status.id]
    assert alice.api.status_unpin(status.id).pinned is False
    assert bob.api.status_mute(status.id).muted is True
    assert bob.api.status_unmute(status.id).muted is False
