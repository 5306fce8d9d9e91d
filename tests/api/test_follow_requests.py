"""Locked accounts and follow requests (issue 10, item 5): a follow of a locked account is a
request until the account authorizes or rejects it; the requester sees none of its private
posts meanwhile; every step is safe to repeat."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, User


def _lock(api: Api, user: User, locked: bool = True) -> dict[str, Any]:
    r = api.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=user.headers,
        data={"locked": "true" if locked else "false"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _rel(api: Api, user: User, other: User) -> dict[str, Any]:
    r = api.get("/api/v1/accounts/relationships", user, **{"id[]": other.id})
    assert r.status_code == 200, r.text
    return r.json()[0]


def _post(api: Api, user: User, path: str) -> Any:
    return api.client.post(path, headers=user.headers)


def test_follow_of_a_locked_account_is_a_request(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    me = _lock(api, alice)
    assert me["locked"] is True and me["source"]["follow_requests_count"] == 0
    secret = api.post(alice, "for followers only", visibility="private")

    for _ in range(2):  # asking twice is one request and one notification
        r = _post(api, bob, f"/api/v1/accounts/{alice.id}/follow")
        assert r.status_code == 200, r.text
        assert r.json()["requested"] is True and r.json()["following"] is False
    assert _rel(api, alice, bob)["requested_by"] is True
    assert api.get(f"/api/v1/accounts/{alice.id}").json()["followers_count"] == 0

    me = api.get("/api/v1/accounts/verify_credentials", alice).json()
    assert me["source"]["follow_requests_count"] == 1
    listed = api.get("/api/v1/follow_requests", alice)
    assert [a["id"] for a in listed.json()] == [bob.id]
    notes = api.get("/api/v1/notifications", alice).json()
    assert [(n["type"], n["account"]["id"]) for n in notes] == [("follow_request", bob.id)]

    # A requester is not a follower: the private post stays hidden from bob.
    assert api.get(f"/api/v1/statuses/{secret['id']}", bob).status_code == 404
    shown = api.get(f"/api/v1/accounts/{alice.id}/statuses", bob).json()
    assert secret["id"] not in [s["id"] for s in shown]
    assert secret["id"] not in [s["id"] for s in api.get("/api/v1/timelines/home", bob).json()]


def test_authorize(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    _lock(api, alice)
    secret = api.post(alice, "for followers only", visibility="private")
    _post(api, bob, f"/api/v1/accounts/{alice.id}/follow")

    for _ in range(2):  # a repeated authorize (a replay) answers the same
        r = _post(api, alice, f"/api/v1/follow_requests/{bob.id}/authorize")
        assert r.status_code == 200, r.text
        rel = r.json()
        assert rel["id"] == bob.id and rel["followed_by"] is True
        assert rel["requested_by"] is False
    assert _rel(api, bob, alice)["following"] is True
    assert _rel(api, bob, alice)["requested"] is False
    assert api.get("/api/v1/follow_requests", alice).json() == []
    assert api.get(f"/api/v1/accounts/{alice.id}").json()["followers_count"] == 1
    # As Mastodon: the request's notification goes, a follow notification comes.
    notes = api.get("/api/v1/notifications", alice).json()
    assert [(n["type"], n["account"]["id"]) for n in notes] == [("follow", bob.id)]
    assert api.get(f"/api/v1/statuses/{secret['id']}", bob).status_code == 200


def test_reject_and_withdraw(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    _lock(api, alice)
    _post(api, bob, f"/api/v1/accounts/{alice.id}/follow")
    _post(api, carol, f"/api/v1/accounts/{alice.id}/follow")

    r = _post(api, alice, f"/api/v1/follow_requests/{bob.id}/reject")
    assert r.status_code == 200, r.text
    assert r.json()["requested_by"] is False and r.json()["followed_by"] is False
    assert _rel(api, bob, alice)["requested"] is False
    assert _rel(api, bob, alice)["following"] is False
    # A second reject changes nothing and is not an error (a replay of a done rejection).
    assert _post(api, alice, f"/api/v1/follow_requests/{bob.id}/reject").status_code == 200

    # Unfollowing withdraws a pending request, and its notification.
    r = _post(api, carol, f"/api/v1/accounts/{alice.id}/unfollow")
    assert r.status_code == 200 and r.json()["requested"] is False
    assert api.get("/api/v1/follow_requests", alice).json() == []
    assert api.get("/api/v1/notifications", alice).json() == []


def test_unlocking_accepts_whoever_waits(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    _lock(api, alice)
    _post(api, bob, f"/api/v1/accounts/{alice.id}/follow")
    me = _lock(api, alice, locked=False)
    assert me["locked"] is False and me["source"]["follow_requests_count"] == 0
    assert _rel(api, bob, alice)["following"] is True
    # An unlocked account is followed at once.
    carol = api.register("carol")
    assert _post(api, carol, f"/api/v1/accounts/{alice.id}/follow").json()["following"] is True


def test_list_is_paged_with_link_headers(api: Api) -> None:
    alice = api.register("alice")
    _lock(api, alice)
    others = [api.register(f"user{i}") for i in range(3)]
    for other in others:
        _post(api, other, f"/api/v1/accounts/{alice.id}/follow")
    first = api.get("/api/v1/follow_requests", alice, limit=2)
    assert [a["id"] for a in first.json()] == [others[2].id, others[1].id]
    link = first.headers["link"]
    assert 'rel="next"' in link and 'rel="prev"' in link
    next_url = link.split(">")[0].lstrip("<")
    rest = api.client.get(next_url, headers=alice.headers)
    assert [a["id"] for a in rest.json()] == [others[0].id]


def test_bad_input(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    _lock(api, alice)
    # No request pending: authorize is 404; unknown or malformed accounts are 404.
    r = _post(api, alice, f"/api/v1/follow_requests/{bob.id}/authorize")
    assert r.status_code == 404 and "error" in r.json()
    for bad in ("999999999", "abc", "-1"):
        for action in ("authorize", "reject"):
            r = _post(api, alice, f"/api/v1/follow_requests/{bad}/{action}")
            assert r.status_code == 404 and "error" in r.json(), (bad, action, r.text)
    r = api.client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, data={"locked": "maybe"}
    )
    assert r.status_code == 422 and "error" in r.json()
    assert api.get("/api/v1/follow_requests", alice, limit="x").status_code == 422
    # Scopes: reading needs read:follows, answering write:follows.
    reader = api.token_with("alice", "read:accounts")
    r = api.client.get("/api/v1/follow_requests", headers={"Authorization": f"Bearer {reader}"})
    assert r.status_code == 403
    assert api.client.get("/api/v1/follow_requests").status_code == 401
