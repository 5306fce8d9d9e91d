"""Blocks, mutes and domain blocks (issue 13, item 1), on both engines: the endpoints, the
relationship fields, and every read path leaving blocked and muted accounts out as
Mastodon does (home, public and tag timelines, threads, search, notifications); a block
cutting follows both ways; a timed mute expiring with nothing to run; bad input."""

from __future__ import annotations

import time
from typing import Any

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _ok(api: Api, user: User, path: str, **data: Any) -> Any:
    r = api.client.post(path, headers=user.headers, data=data)
    assert r.status_code == 200, r.text
    return r.json()


def _rel(api: Api, user: User, other: User) -> dict[str, Any]:
    r = api.get("/api/v1/accounts/relationships", user, **{"id[]": other.id})
    assert r.status_code == 200, r.text
    return dict(r.json()[0])


def _ids(api: Api, path: str, user: User | None, **params: Any) -> list[str]:
    r = api.get(path, user, **params)
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()]


def _seen(
    api: Api, viewer: User, status: dict[str, Any], reply: dict[str, Any], tag: str = ""
) -> dict[str, bool]:
    """Where `viewer` is shown `status` (a post with "zebra" and #`tag`) and its author's
    `reply` in a thread (reading every path that lists statuses)."""
    sid = status["id"]
    context = api.get(f"/api/v1/statuses/{reply['in_reply_to_id']}/context", viewer)
    return {
        "home": sid in _ids(api, "/api/v1/timelines/home", viewer),
        "public": sid in _ids(api, "/api/v1/timelines/public", viewer),
        "tag": bool(tag) and sid in _ids(api, f"/api/v1/timelines/tag/{tag}", viewer),
        "context": context.status_code == 200
        and reply["id"] in [s["id"] for s in context.json()["descendants"]],
        "search": sid
        in [
            s["id"]
            for s in api.get("/api/v2/search", viewer, q="zebra", type="statuses").json()[
                "statuses"
            ]
        ],
        "by id": api.get(f"/api/v1/statuses/{sid}", viewer).status_code == 200,
        "profile": sid in _ids(api, f"/api/v1/accounts/{status['account']['id']}/statuses", viewer),
    }


def test_block_hides_both_ways_and_cuts_follows(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, bob)
    api.follow(bob, alice)
    root = api.post(carol, "a thread")
    bobs = api.post(bob, "zebra from bob #zoo")
    bobs_reply = api.post(bob, "a reply", in_reply_to_id=root["id"])
    alices = api.post(alice, "zebra from alice #zoo")
    alices_reply = api.post(alice, "a reply", in_reply_to_id=root["id"])
    everywhere = {"home", "public", "tag", "context", "search", "by id", "profile"}
    assert {k for k, v in _seen(api, alice, bobs, bobs_reply, "zoo").items() if v} == everywhere

    for _ in range(2):  # blocking twice is one block
        rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/block")
        assert_conforms("Relationship", rel)
        assert rel["blocking"] is True and rel["following"] is False
        assert rel["followed_by"] is False
    assert _rel(api, bob, alice)["blocked_by"] is True
    assert _rel(api, bob, alice)["following"] is False
    for who in (alice, bob):
        me = api.get("/api/v1/accounts/verify_credentials", who).json()
        assert me["followers_count"] == 0 and me["following_count"] == 0

    # The blocker no longer sees the blocked account's posts in any listing (by id and on
    # the profile still, as Mastodon), and the blocked account sees the blocker's nowhere.
    assert {k for k, v in _seen(api, alice, bobs, bobs_reply, "zoo").items() if v} == {
        "by id",
        "profile",
    }
    assert not any(_seen(api, bob, alices, alices_reply, "zoo").values())
    # …nor can follow, favourite, reblog or reply to the blocker.
    assert (
        api.client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers).status_code
        == 403
    )
    assert (
        api.client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers).status_code
        == 403
    )
    path = f"/api/v1/statuses/{alices['id']}"
    assert api.client.post(f"{path}/favourite", headers=bob.headers).status_code == 404
    assert api.client.post(f"{path}/reblog", headers=bob.headers).status_code == 404
    reply = api.client.post(
        "/api/v1/statuses",
        headers=bob.headers,
        data={"status": "@alice hi", "in_reply_to_id": alices["id"]},
    )
    assert reply.status_code == 404
    # A mention by the blocked account notifies nobody; earlier ones are hidden.
    api.post(bob, "@alice are you there?")
    kinds = [
        (n["type"], n["account"]["id"]) for n in api.get("/api/v1/notifications", alice).json()
    ]
    assert bob.id not in [who for _, who in kinds], kinds
    found = api.get("/api/v1/accounts/search", bob, q="alice").json()
    assert alice.id not in [a["id"] for a in found]

    listed = api.get("/api/v1/blocks", alice)
    assert [a["id"] for a in listed.json()] == [bob.id]
    assert_conforms("Account", listed.json(), many=True)
    assert 'rel="next"' in listed.headers["link"]

    for _ in range(2):
        rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/unblock")
        assert rel["blocking"] is False
    assert api.get("/api/v1/blocks", alice).json() == []
    assert _seen(api, alice, bobs, bobs_reply, "zoo")["public"] is True
    api.follow(bob, alice)  # following is possible again


def test_block_removes_pending_follow_requests_both_ways(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    r = api.client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, data={"locked": "true"}
    )
    assert r.status_code == 200
    api.follow(bob, alice)
    assert _rel(api, alice, bob)["requested_by"] is True
    _ok(api, alice, f"/api/v1/accounts/{bob.id}/block")
    assert api.get("/api/v1/follow_requests", alice).json() == []
    assert [n["type"] for n in api.get("/api/v1/notifications", alice).json()] == []
    assert _rel(api, bob, alice)["requested"] is False


def test_mute_hides_listings_and_optionally_notifications(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, bob)
    api.follow(alice, carol)
    root = api.post(carol, "a thread")
    bobs = api.post(bob, "zebra muted #zoo")
    bobs_reply = api.post(bob, "a reply", in_reply_to_id=root["id"])
    # carol's reblog of bob's post is hidden from alice's home too
    reblog = _ok(api, carol, f"/api/v1/statuses/{bobs['id']}/reblog")

    rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/mute")
    assert rel["muting"] is True and rel["muting_notifications"] is True
    assert rel["following"] is True  # a mute keeps the follow
    assert_conforms("Relationship", rel)
    assert {k for k, v in _seen(api, alice, bobs, bobs_reply, "zoo").items() if v} == {
        "by id",
        "profile",
    }
    assert reblog["id"] not in _ids(api, "/api/v1/timelines/home", alice)
    api.post(bob, "@alice hello")
    _ok(api, bob, f"/api/v1/statuses/{root['id']}/favourite")  # not alice's: no notification
    assert [n["account"]["id"] for n in api.get("/api/v1/notifications", alice).json()] == []

    listed = api.get("/api/v1/mutes", alice).json()
    assert [a["id"] for a in listed] == [bob.id]
    assert listed[0]["mute_expires_at"] is None
    assert_conforms("MutedAccount", listed, many=True)

    # notifications=false: posts stay hidden, notifications come again.
    rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/mute", notifications="false")
    assert rel["muting"] is True and rel["muting_notifications"] is False
    mention = api.post(bob, "@alice again")
    notes = api.get("/api/v1/notifications", alice).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", mention["id"])]
    assert mention["id"] not in _ids(api, "/api/v1/timelines/home", alice)

    for _ in range(2):
        rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/unmute")
        assert rel["muting"] is False and rel["muting_notifications"] is False
    assert api.get("/api/v1/mutes", alice).json() == []
    assert _seen(api, alice, bobs, bobs_reply, "zoo")["home"] is True


def test_a_timed_mute_expires_without_a_job(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    post = api.post(bob, "zebra soon back")
    rel = _ok(api, alice, f"/api/v1/accounts/{bob.id}/mute", duration="2")
    assert rel["muting"] is True
    listed = api.get("/api/v1/mutes", alice).json()
    assert listed[0]["mute_expires_at"] is not None
    assert post["id"] not in _ids(api, "/api/v1/timelines/public", alice)
    time.sleep(2.5)
    assert post["id"] in _ids(api, "/api/v1/timelines/public", alice)
    assert _rel(api, alice, bob)["muting"] is False
    assert api.get("/api/v1/mutes", alice).json() == []


def test_domain_blocks_are_stored_and_listed(api: Api) -> None:
    alice = api.register("alice")
    for _ in range(2):
        r = api.client.post(
            "/api/v1/domain_blocks", headers=alice.headers, data={"domain": "Spam.Example"}
        )
        assert r.status_code == 200 and r.json() == {}
    api.client.post("/api/v1/domain_blocks", headers=alice.headers, data={"domain": "b.example"})
    listed = api.get("/api/v1/domain_blocks", alice)
    assert listed.json() == ["b.example", "spam.example"]
    assert 'rel="next"' in listed.headers["link"]
    r = api.client.request(
        "DELETE", "/api/v1/domain_blocks", headers=alice.headers, params={"domain": "spam.example"}
    )
    assert r.status_code == 200 and r.json() == {}
    assert api.get("/api/v1/domain_blocks", alice).json() == ["b.example"]


def test_bad_input(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")

    def post(path: str, **data: Any) -> Any:
        return api.client.post(path, headers=alice.headers, data=data)

    for data in ({"duration": "-1"}, {"duration": "soon"}, {"notifications": "maybe"}):
        r = post(f"/api/v1/accounts/{bob.id}/mute", **data)
        assert r.status_code == 422, (data, r.text)
        assert "error" in r.json()
    assert _rel(api, alice, bob)["muting"] is False
    for action in ("block", "unblock", "mute", "unmute"):
        r = post(f"/api/v1/accounts/99999999/{action}")
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    for action in ("block", "mute"):
        assert post(f"/api/v1/accounts/{alice.id}/{action}").status_code == 403
    for domain in ("", "not a domain", "x" * 300, "a..b"):
        r = post("/api/v1/domain_blocks", domain=domain)
        assert r.status_code == 422, (domain, r.text)
        assert "domain" in r.json()["details"]
    assert api.get("/api/v1/domain_blocks", alice).json() == []
    # No token, or one without the scope.
    assert api.client.post(f"/api/v1/accounts/{bob.id}/block").status_code == 401
    reader = api.token_with("alice", "read")
    r = api.client.post(
        f"/api/v1/accounts/{bob.id}/block", headers={"Authorization": f"Bearer {reader}"}
    )
    assert r.status_code == 403


def test_grouped_notifications_leave_out_blocked_accounts(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    post = api.post(alice, "like me")
    for fan in (bob, carol):
        _ok(api, fan, f"/api/v1/statuses/{post['id']}/favourite")
    _ok(api, alice, f"/api/v1/accounts/{bob.id}/block")
    grouped = api.get("/api/v2/notifications", alice).json()
    groups = [(g["type"], g["notifications_count"], g["sample_account_ids"])
              for g in grouped["notification_groups"]]  # fmt: skip
    assert groups == [("favourite", 1, [carol.id])], groups
    assert bob.id not in [a["id"] for a in grouped["accounts"]]
