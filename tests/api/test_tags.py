"""Hashtags (issue 13, item 9): a tag by name, following tags (and their statuses in the
home timeline), followed_tags paging, featured tags; both engines."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _post(api: Api, user: User, path: str, **data: Any) -> httpx.Response:
    return api.client.post(path, headers=user.headers, data=data)


def _home_ids(api: Api, user: User) -> list[str]:
    r = api.get("/api/v1/timelines/home", user, limit="40")
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()]


def test_show_follow_unfollow(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    api.post(bob, "hello #Cats and #cats again")
    r = api.get("/api/v1/tags/CATS", alice)
    assert r.status_code == 200, r.text
    tag = r.json()
    assert_conforms("Tag", tag)
    assert tag["name"] == "cats" and tag["following"] is False
    assert tag["url"].endswith("/tags/cats") and tag["id"]
    assert len(tag["history"]) == 7
    assert tag["history"][0]["uses"] == "1" and tag["history"][0]["accounts"] == "1"
    assert all(d["uses"] == "0" for d in tag["history"][1:])
    days = [int(d["day"]) for d in tag["history"]]
    assert days == sorted(days, reverse=True) and all(d % 86400 == 0 for d in days)
    # Without a token there is no `following`.
    assert "following" not in api.get("/api/v1/tags/cats").json()

    for _ in range(2):  # following twice changes nothing
        r = _post(api, alice, "/api/v1/tags/%23Cats/follow")
        assert r.status_code == 200, r.text
        assert r.json()["following"] is True and r.json()["name"] == "cats"
    assert api.get("/api/v1/tags/cats", alice).json()["following"] is True
    assert api.get("/api/v1/tags/cats", bob).json()["following"] is False
    for _ in range(2):  # and unfollowing twice
        r = _post(api, alice, "/api/v1/tags/cats/unfollow")
        assert r.status_code == 200 and r.json()["following"] is False


def test_names_are_normalized_and_bad_ones_not_found(api: Api) -> None:
    alice = api.register("alice")
    # Fullwidth letters are the same tag (NFKC), whatever the case.
    api.post(alice, "#Ｃａｔｓ")
    assert api.get("/api/v1/tags/cats", alice).json()["history"][0]["uses"] == "1"
    r = _post(api, alice, "/api/v1/tags/ＣＡＴＳ/follow")
    assert r.status_code == 200 and r.json()["name"] == "cats"
    # A tag nobody used yet is shown (not stored) and can be followed, which stores it.
    r = api.get("/api/v1/tags/brandnew", alice)
    assert r.status_code == 200 and r.json()["id"] == "" and r.json()["following"] is False
    assert_conforms("Tag", r.json())
    followed = _post(api, alice, "/api/v1/tags/brandnew/follow").json()
    assert followed["id"] and followed["following"] is True
    for bad in ["123", "no-dash", "a%20b", "x" * 101]:
        for path in (f"/api/v1/tags/{bad}", f"/api/v1/tags/{bad}/follow"):
            r = api.get(path, alice) if path.endswith(bad) else _post(api, alice, path)
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert "error" in r.json()


def test_followed_tags_paging(api: Api) -> None:
    alice = api.register("alice")
    names = [f"tag{i}x" for i in range(5)]
    for name in names:
        assert _post(api, alice, f"/api/v1/tags/{name}/follow").status_code == 200
    r = api.get("/api/v1/followed_tags", alice, limit="2")
    assert r.status_code == 200, r.text
    assert_conforms("Tag", r.json(), many=True)
    assert [t["name"] for t in r.json()] == ["tag4x", "tag3x"]  # newest follow first
    seen = [t["name"] for t in r.json()]
    while 'rel="next"' in r.headers.get("link", ""):
        next_url = r.headers["link"].split(">")[0].lstrip("<")
        r = api.client.get(next_url, headers=alice.headers)
        seen += [t["name"] for t in r.json()]
    assert seen == names[::-1]
    assert all(t["following"] for t in api.get("/api/v1/followed_tags", alice).json())
    # Scopes: reading needs read:follows, following write:follows.
    token = api.token_with("alice", "read:statuses")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/followed_tags", headers=headers).status_code == 403
    assert api.client.post("/api/v1/tags/cats/follow", headers=headers).status_code == 403
    assert api.client.post("/api/v1/tags/cats/follow").status_code == 401


def test_followed_tag_statuses_reach_home(api: Api) -> None:
    alice, bob, carol, dave = (api.register(n) for n in ("alice", "bob", "carol", "dave"))
    _post(api, alice, "/api/v1/tags/birds/follow")
    public = api.post(bob, "a #birds post")
    unlisted = api.post(bob, "an unlisted #birds post", visibility="unlisted")
    private = api.post(bob, "a private #birds post", visibility="private")
    untagged = api.post(bob, "no tag here")
    blocked = api.post(carol, "#birds from someone alice blocks")
    muted = api.post(dave, "#birds from someone alice mutes")
    assert _post(api, alice, f"/api/v1/accounts/{carol.id}/block").status_code == 200
    assert _post(api, alice, f"/api/v1/accounts/{dave.id}/mute").status_code == 200
    home = _home_ids(api, alice)
    assert public["id"] in home
    for other in (unlisted, private, untagged, blocked, muted):
        assert other["id"] not in home
    # Mixed with the followed accounts' statuses in id order, and paged across both.
    api.follow(alice, bob)
    newer = api.post(bob, "followed, no tag")
    tagged_again = api.post(carol, "#birds again (blocked)")
    last = api.post(api.register("erin"), "#Birds by a stranger")
    home = _home_ids(api, alice)
    assert home[:2] == [last["id"], newer["id"]] and tagged_again["id"] not in home
    assert private["id"] in home  # now as a follower's private post
    ids: list[str] = []
    r = api.get("/api/v1/timelines/home", alice, limit="2")
    while r.json():
        ids += [s["id"] for s in r.json()]
        r = api.client.get(r.headers["link"].split(">")[0].lstrip("<"), headers=alice.headers)
    assert ids == home
    # Unfollowing the tag takes the stranger's post away again.
    _post(api, alice, "/api/v1/tags/birds/unfollow")
    assert last["id"] not in _home_ids(api, alice)


def test_featured_tags(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    api.post(alice, "#Rust one")
    api.post(alice, "#rust two", visibility="unlisted")
    api.post(alice, "#rust three", visibility="private")  # not counted
    api.post(alice, "#python once")
    api.post(bob, "#rust by bob")  # someone else's: not counted
    r = _post(api, alice, "/api/v1/featured_tags", name="#Rust")
    assert r.status_code == 200, r.text
    rust = r.json()
    assert_conforms("FeaturedTag", rust)
    assert rust["name"] == "Rust" and rust["statuses_count"] == "2"
    assert rust["url"].endswith("/@alice/tagged/rust")
    assert len(rust["last_status_at"]) == 10  # a date
    again = _post(api, alice, "/api/v1/featured_tags", name="rust")
    assert again.status_code == 422 and "taken" in again.json()["error"]
    assert again.json()["details"]["name"][0]["error"] == "ERR_TAKEN"
    for bad in ["", "no spaces", "123", "#"]:
        r = _post(api, alice, "/api/v1/featured_tags", name=bad)
        assert r.status_code in (400, 422) and "error" in r.json(), (bad, r.text)
    never = _post(api, alice, "/api/v1/featured_tags", name="neverused").json()
    assert never["statuses_count"] == "0" and never["last_status_at"] is None

    mine = api.get("/api/v1/featured_tags", alice).json()
    assert [f["name"] for f in mine] == ["Rust", "neverused"]  # the most used first
    shown = api.get(f"/api/v1/accounts/{alice.id}/featured_tags").json()
    assert shown == mine
    assert_conforms("FeaturedTag", shown, many=True)
    assert api.get("/api/v1/accounts/999/featured_tags").status_code == 404

    suggestions = api.get("/api/v1/featured_tags/suggestions", alice).json()
    assert_conforms("Tag", suggestions, many=True)
    assert [t["name"] for t in suggestions] == ["python"]  # rust is featured already

    r = api.client.delete(f"/api/v1/featured_tags/{rust['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {}
    r = api.client.delete(f"/api/v1/featured_tags/{rust['id']}", headers=alice.headers)
    assert r.status_code == 404
    r = api.client.delete(f"/api/v1/featured_tags/{never['id']}", headers=bob.headers)
    assert r.status_code == 404  # someone else's
    assert [f["name"] for f in api.get("/api/v1/featured_tags", alice).json()] == ["neverused"]

    # Ten at most; scopes as Mastodon's (write:accounts to feature).
    for i in range(9):
        assert _post(api, alice, "/api/v1/featured_tags", name=f"t{i}x").status_code == 200
    r = _post(api, alice, "/api/v1/featured_tags", name="eleventh")
    assert r.status_code == 422 and "maximum" in r.json()["error"]
    token = api.token_with("bob", "read")
    r = api.client.post(
        "/api/v1/featured_tags", headers={"Authorization": f"Bearer {token}"}, data={"name": "x1"}
    )
    assert r.status_code == 403
    assert (
        api.get("/api/v2/instance").json()["configuration"]["accounts"]["max_featured_tags"] == 10
    )


def test_account_statuses_tagged(api: Api) -> None:
    """What apps open from a featured tag: the account's statuses with it."""
    alice, bob = api.register("alice"), api.register("bob")
    first = api.post(alice, "#Rust one")
    api.post(alice, "no tag")
    second = api.post(alice, "#rust two")
    api.post(bob, "#rust by bob")
    path = f"/api/v1/accounts/{alice.id}/statuses"
    for name in ("rust", "RUST", "#rust"):
        r = api.get(path, bob, tagged=name)
        assert r.status_code == 200, r.text
        assert [s["id"] for s in r.json()] == [second["id"], first["id"]]
    assert api.get(path, bob, tagged="python").json() == []
    assert api.get(path, bob, tagged="no-such tag").json() == []
