"""Blocks and mutes on the streams (issue 13, item 1), on a real `aloft serve` with both
engines: a muted or blocked account's posts, and reblogs of them, never arrive on `user`
or `public`; a muted account's notifications arrive only when the mute leaves them; a
blocker's posts never reach the account it blocks. As in test_streaming, absence is
checked against a later marker post, never by sleeping."""

from __future__ import annotations

import asyncio

import websockets

from tests.api.test_streaming import Site, Socket, is_update_of, payload, person, ready
from tests.api.test_streaming import site as site  # the fixture, shared


def test_muted_and_blocked_accounts_never_arrive(site: Site) -> None:
    alice, muted, blocked, blocker, friend = (person(site) for _ in range(5))
    for other in (muted, blocked, friend):
        alice.api.account_follow(other.id)
    alice.api.account_mute(muted.id)
    alice.api.account_block(blocked.id)
    blocker.api.account_block(alice.id)

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            for stream in ("user", "public"):
                await sock.subscribe(stream)
            await ready(sock)
            hidden = []
            for who in (muted, blocked, blocker):
                hidden.append(await asyncio.to_thread(who.api.status_post, "you cannot see me"))
            reblog = await asyncio.to_thread(friend.api.status_reblog, hidden[0].id)
            await asyncio.to_thread(muted.api.status_post, f"@{alice.username} psst")
            marker = await asyncio.to_thread(friend.api.status_post, "marker")
            seen = await sock.until(is_update_of(str(marker.id), ["public"]))
            got = {payload(m)["id"] for m in seen if m.get("event") == "update"}
            assert not got & {str(s.id) for s in hidden}, got
            assert str(reblog.id) not in got
            notes = [payload(m) for m in seen if m.get("event") == "notification"]
            assert not [n for n in notes if n["account"]["id"] == muted.id], notes

            # A mute that leaves notifications alone: the mention arrives, the post not.
            await asyncio.to_thread(alice.api.account_mute, muted.id, notifications=False)
            mention = await asyncio.to_thread(muted.api.status_post, f"@{alice.username} hey")
            seen = await sock.until(
                lambda m: (
                    m.get("event") == "notification"
                    and payload(m)["status"]["id"] == str(mention.id)
                )
            )
            assert not [
                m
                for m in seen
                if m.get("event") == "update" and payload(m)["id"] == str(mention.id)
            ]

    asyncio.run(run())
