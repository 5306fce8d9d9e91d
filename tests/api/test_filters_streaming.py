"""Filters on the streams (issue 13, item 6), on a real `aloft serve` with both engines:
`filters_changed` (no payload) reaches the owner's `user` stream after every change, over
WebSocket and Server-Sent Events, and no one else's; a `hide` filter keeps its matches off
the owner's streams of its contexts; updates carry `filtered`. As in test_streaming,
absence is checked against a later marker post, never by sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import websockets

from tests.api.test_streaming import WAIT, Site, Socket, is_update_of, payload, person, ready
from tests.api.test_streaming import site as site  # the fixture, shared

CHANGED = {"stream": ["user"], "event": "filters_changed"}


def _is_changed(message: dict[str, Any]) -> bool:
    return message.get("event") == "filters_changed"


def test_filters_changed_reaches_the_owners_user_stream_only(site: Site) -> None:
    alice, bob = person(site), person(site)
    bob.api.account_follow(alice.id)

    async def run() -> None:
        async with (
            websockets.connect(site.ws, subprotocols=[alice.token]) as mine,  # type: ignore[list-item]
            websockets.connect(site.ws, subprotocols=[bob.token]) as theirs,  # type: ignore[list-item]
        ):
            sock, other = Socket(mine), Socket(theirs)
            for stream in ("user", "public"):
                await sock.subscribe(stream)
            await other.subscribe("user")
            await ready(sock)
            await ready(other)
            made = await asyncio.to_thread(
                alice.api.create_filter_v2,
                "words",
                ["home"],
                "warn",
                keywords_attributes=[{"keyword": "spoiler", "whole_word": True}],
            )
            # No payload at all, as Mastodon sends it; on `user` only, once.
            assert await sock.next() == CHANGED
            keyword = await asyncio.to_thread(
                alice.api.add_filter_keyword_v2, made.id, "ending", False
            )
            assert await sock.next() == CHANGED
            await asyncio.to_thread(alice.api.delete_filter_keyword_v2, keyword.id)
            assert await sock.next() == CHANGED
            await asyncio.to_thread(alice.api.delete_filter_v2, made.id)
            assert await sock.next() == CHANGED
            # bob, who follows alice, gets her post and none of her filter changes.
            marker = await asyncio.to_thread(alice.api.status_post, "marker")
            seen = await other.until(is_update_of(str(marker.id)))
            assert not [m for m in seen if _is_changed(m)], seen
            seen = await sock.until(is_update_of(str(marker.id), ["user"]))
            assert not [m for m in seen if _is_changed(m)], seen

    asyncio.run(run())


def test_filters_changed_over_sse(site: Site) -> None:
    alice = person(site)
    with httpx.stream(
        "GET", f"{site.url}/api/v1/streaming/user", headers=alice.headers, timeout=WAIT
    ) as r:
        lines = r.iter_lines()
        assert next(lines) == ":)"
        alice.api.filter_create("nope", ["home"])  # v1 makes a filter too
        event = data = None
        for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
                break
        assert (event, data) == ("filters_changed", "undefined")


def test_hide_keeps_matches_off_the_streams_of_its_contexts(site: Site) -> None:
    alice, bob = person(site), person(site)
    alice.api.account_follow(bob.id)
    alice.api.create_filter_v2(
        "hidden at home",
        ["home", "notifications"],
        "hide",
        keywords_attributes=[{"keyword": "football", "whole_word": True}],
    )
    warned = alice.api.create_filter_v2(
        "warned", ["home"], "warn", keywords_attributes=[{"keyword": "rugby", "whole_word": True}]
    )

    async def run() -> None:
        async with websockets.connect(site.ws, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
            sock = Socket(ws)
            for stream in ("user", "public"):
                await sock.subscribe(stream)
            await ready(sock)
            hidden = await asyncio.to_thread(bob.api.status_post, "football tonight")
            mention = await asyncio.to_thread(bob.api.status_post, f"@{alice.username} football?")
            rugby = await asyncio.to_thread(bob.api.status_post, "rugby tonight")
            marker = await asyncio.to_thread(bob.api.status_post, "marker")
            seen = await sock.until(is_update_of(str(marker.id), ["user"]))
            updates = [(m["stream"], payload(m)["id"]) for m in seen if m["event"] == "update"]
            # Hidden at home, still on public (the filter is not for public timelines).
            assert (["user"], str(hidden.id)) not in updates
            assert (["public"], str(hidden.id)) in updates
            notes = [payload(m) for m in seen if m["event"] == "notification"]
            assert not [n for n in notes if n["status"]["id"] == str(mention.id)], notes
            (shown,) = [
                payload(m)
                for m in seen
                if m["stream"] == ["user"]
                and m["event"] == "update"
                and payload(m)["id"] == str(rugby.id)
            ]
            assert [r["filter"]["id"] for r in shown["filtered"]] == [str(warned.id)]
            assert shown["filtered"][0]["keyword_matches"] == ["rugby"]

    asyncio.run(run())
