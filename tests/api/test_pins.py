"""Pins and conversation mutes (issue 13, item 8); both engines."""

from __future__ import annotations

from typing import Any

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _act(api: Api, user: User, status_id: str, action: str) -> Any:
    return api.client.post(f"/api/v1/statuses/{status_id}/{action}", headers=user.headers)


def test_pin_unpin_and_pinned_listing(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    first = api.post(alice, "one")
    second = api.post(alice, "two", visibility="private")
    api.post(alice, "not pinned")
    r = _act(api, alice, first["id"], "pin")
    assert r.status_code == 200 and r.json()["pinned"] is True
    assert_conforms("Status", r.json())
    assert _act(api, alice, first["id"], "pin").status_code == 200
    assert _act(api, alice, second["id"], "pin").status_code == 200
    path = f"/api/v1/accounts/{alice.id}/statuses"
    pinned = api.get(path, alice, pinned="true").json()
    assert sorted(s["id"] for s in pinned) == sorted([first["id"], second["id"]])
    assert all(s["pinned"] for s in pinned)
    assert len(api.get(path, alice).json()) == 3
    # Others see the pinned ones they may see, without `pinned` (not theirs).
    seen = api.get(path, bob, pinned="true").json()
    assert [s["id"] for s in seen] == [first["id"]] and "pinned" not in seen[0]
    assert api.get(path, None, pinned="true").json()[0]["id"] == first["id"]
    # Unpin, twice: the second changes nothing.
    for _ in range(2):
        r = _act(api, alice, first["id"], "unpin")
        assert r.status_code == 200 and r.json()["pinned"] is False
    assert [s["id"] for s in api.get(path, alice, pinned="true").json()] == [second["id"]]


def test_pin_rules(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    others = api.post(bob, "bob's")
    assert _act(api, alice, others["id"], "pin").status_code == 422
    direct = api.post(alice, "@bob psst", visibility="direct")
    r = _act(api, alice, direct["id"], "pin")
    assert r.status_code == 422 and "error" in r.json()
    reblog = api.client.post(f"/api/v1/statuses/{others['id']}/reblog", headers=alice.headers)
    assert _act(api, alice, reblog.json()["id"], "pin").status_code == 422
    hidden = api.post(bob, "bob only", visibility="private")
    assert _act(api, alice, hidden["id"], "pin").status_code == 404
    assert _act(api, alice, "999", "pin").status_code == 404
    posts = [api.post(alice, f"post {i}") for i in range(6)]
    for p in posts[:5]:
        assert _act(api, alice, p["id"], "pin").status_code == 200
    sixth = _act(api, alice, posts[5]["id"], "pin")
    assert sixth.status_code == 422 and "maximum" in sixth.json()["error"]
    assert (
        api.get("/api/v2/instance").json()["configuration"]["accounts"]["max_pinned_statuses"] == 5
    )


def test_account_statuses_refuses_what_it_does_not_honour(api: Api) -> None:
    alice = api.register("alice")
    r = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice, pinned="perhaps")
    assert r.status_code == 422 and "pinned" in r.json()["error"]


def test_conversation_mute_stops_notifications_from_the_thread(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    root = api.post(alice, "a thread")
    reply = api.post(bob, "@alice a reply", in_reply_to_id=root["id"])
    r = _act(api, alice, reply["id"], "mute")  # any status of the thread mutes all of it
    assert r.status_code == 200 and r.json()["muted"] is True
    assert api.get(f"/api/v1/statuses/{root['id']}", alice).json()["muted"] is True
    api.post(carol, "@alice me too", in_reply_to_id=reply["id"])
    api.client.post(f"/api/v1/statuses/{root['id']}/favourite", headers=carol.headers)
    api.client.post(f"/api/v1/statuses/{root['id']}/reblog", headers=carol.headers)
    notes = api.get("/api/v1/notifications", alice).json()
    assert {n["account"]["id"] for n in notes} == {bob.id}  # bob's mention came before
    # Elsewhere alice is still told; and unmuting (twice) lets the thread through again.
    other = api.post(alice, "another thread")
    api.client.post(f"/api/v1/statuses/{other['id']}/favourite", headers=carol.headers)
    for _ in range(2):
        r = _act(api, alice, root["id"], "unmute")
        assert r.status_code == 200 and r.json()["muted"] is False
    api.client.post(f"/api/v1/statuses/{root['id']}/unfavourite", headers=carol.headers)
    api.client.post(f"/api/v1/statuses/{reply['id']}/favourite", headers=carol.headers)
    kinds = {(n["type"], n["status"]["id"]) for n in api.get("/api/v1/notifications", alice).json()}
    assert ("favourite", other["id"]) in kinds
    assert _act(api, alice, "999", "mute").status_code == 404


def test_conversation_mute_is_per_account(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    root = api.post(alice, "thread")
    _act(api, bob, root["id"], "mute")
    assert api.get(f"/api/v1/statuses/{root['id']}", bob).json()["muted"] is True
    assert api.get(f"/api/v1/statuses/{root['id']}", alice).json()["muted"] is False
    api.client.post(f"/api/v1/statuses/{root['id']}/favourite", headers=bob.headers)
    assert len(api.get("/api/v1/notifications", alice).json()) == 1


def test_a_muted_conversation_hides_edits_too(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    status = api.post(alice, "original")
    api.client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
    _act(api, bob, status["id"], "mute")
    edit = api.client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, data={"status": "edited"}
    )
    assert edit.status_code == 200
    # Mastodon drops every notification about a status in a muted conversation.
    assert api.get("/api/v1/notifications", bob, **{"types[]": "update"}).json() == []
