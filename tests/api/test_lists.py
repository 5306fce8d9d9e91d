"""Lists (issue 13, item 5): CRUD, members, the list timeline, exclusive lists and home,
membership ending with the follow; both engines."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _new_list(api: Api, user: User, title: str = "friends", **fields: Any) -> dict[str, Any]:
    r = api.client.post("/api/v1/lists", headers=user.headers, data={"title": title, **fields})
    assert r.status_code == 200, r.text
    assert_conforms("List", r.json())
    return r.json()


def _add(api: Api, user: User, list_id: str, *members: User) -> httpx.Response:
    return api.client.post(
        f"/api/v1/lists/{list_id}/accounts",
        headers=user.headers,
        data={"account_ids[]": [m.id for m in members]},
    )


def _member_ids(api: Api, user: User, list_id: str, **params: Any) -> list[str]:
    r = api.get(f"/api/v1/lists/{list_id}/accounts", user, **params)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()]


def _timeline(api: Api, user: User, list_id: str, **params: Any) -> list[str]:
    r = api.get(f"/api/v1/timelines/list/{list_id}", user, **params)
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()]


def _home(api: Api, user: User) -> list[str]:
    return [s["id"] for s in api.get("/api/v1/timelines/home", user).json()]


def test_create_show_update_delete(api: Api) -> None:
    alice = api.register("alice")
    made = _new_list(api, alice)
    assert made["title"] == "friends"
    assert made["replies_policy"] == "list" and made["exclusive"] is False
    other = _new_list(api, alice, "work", replies_policy="none", exclusive="true")
    assert other["replies_policy"] == "none" and other["exclusive"] is True
    r = api.get("/api/v1/lists", alice)
    assert r.status_code == 200
    assert_conforms("List", r.json(), many=True)
    assert [x["id"] for x in r.json()] == [made["id"], other["id"]]
    assert api.get(f"/api/v1/lists/{made['id']}", alice).json() == made
    # PUT sets what it is given (JSON here, as Elk and Phanpy send) and keeps the rest.
    r = api.client.put(
        f"/api/v1/lists/{made['id']}",
        headers=alice.headers,
        json={"title": "close friends", "replies_policy": "followed"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {**made, "title": "close friends", "replies_policy": "followed"}
    r = api.client.put(
        f"/api/v1/lists/{made['id']}", headers=alice.headers, json={"exclusive": True}
    )
    assert r.json()["exclusive"] is True and r.json()["title"] == "close friends"
    r = api.client.delete(f"/api/v1/lists/{made['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {}
    assert api.get(f"/api/v1/lists/{made['id']}", alice).status_code == 404
    assert [x["id"] for x in api.get("/api/v1/lists", alice).json()] == [other["id"]]


def test_bad_input_changes_nothing(api: Api) -> None:
    alice = api.register("alice")
    for data in ({}, {"title": "   "}):
        r = api.client.post("/api/v1/lists", headers=alice.headers, data=data)
        assert r.status_code == 422, r.text
        assert [d for d in r.json()["details"]] == ["title"]
    r = api.client.post(
        "/api/v1/lists", headers=alice.headers, data={"title": "x", "replies_policy": "some"}
    )
    assert r.status_code == 422 and "replies_policy" in r.json()["details"]
    r = api.client.post(
        "/api/v1/lists", headers=alice.headers, data={"title": "x", "exclusive": "maybe"}
    )
    assert r.status_code == 422 and "exclusive" in r.json()["details"]
    assert api.get("/api/v1/lists", alice).json() == []
    made = _new_list(api, alice)
    path = f"/api/v1/lists/{made['id']}"
    r = api.client.put(path, headers=alice.headers, data={"replies_policy": "everyone"})
    assert r.status_code == 422 and "replies_policy" in r.json()["details"]
    r = api.client.put(path, headers=alice.headers, data={"title": ""})
    assert r.status_code == 422 and "title" in r.json()["details"]
    assert api.get(path, alice).json() == made
    # Unknown lists, and ids that are not ids, are 404 everywhere.
    for bad in ("999", "abc"):
        assert api.get(f"/api/v1/lists/{bad}", alice).status_code == 404
        assert api.get(f"/api/v1/lists/{bad}/accounts", alice).status_code == 404
        assert api.get(f"/api/v1/timelines/list/{bad}", alice).status_code == 404
        assert api.client.delete(f"/api/v1/lists/{bad}", headers=alice.headers).status_code == 404
        assert _add(api, alice, bad, alice).status_code == 404
        # The list is looked for first: no account_ids is still 404, as Mastodon answers.
        path = f"/api/v1/lists/{bad}/accounts"
        assert api.client.post(path, headers=alice.headers).status_code == 404
        assert api.client.request("DELETE", path, headers=alice.headers).status_code == 404


def test_someone_elses_list_is_not_found(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    made = _new_list(api, alice)
    path = f"/api/v1/lists/{made['id']}"
    assert api.get(path, bob).status_code == 404
    assert api.client.put(path, headers=bob.headers, data={"title": "mine"}).status_code == 404
    assert api.client.delete(path, headers=bob.headers).status_code == 404
    assert api.get(f"{path}/accounts", bob).status_code == 404
    assert _add(api, bob, made["id"], bob).status_code == 404
    assert api.get(f"/api/v1/timelines/list/{made['id']}", bob).status_code == 404
    assert api.get("/api/v1/lists", bob).json() == []
    assert api.get(path, alice).json() == made


def test_scopes(api: Api) -> None:
    alice = api.register("alice")
    made = _new_list(api, alice)
    reader = {"Authorization": f"Bearer {api.token_with('alice', 'read:lists')}"}
    assert api.client.get("/api/v1/lists", headers=reader).status_code == 200
    assert api.client.get(f"/api/v1/timelines/list/{made['id']}", headers=reader).status_code == 200
    r = api.client.post("/api/v1/lists", headers=reader, data={"title": "no"})
    assert r.status_code == 403
    writer = {"Authorization": f"Bearer {api.token_with('alice', 'write:lists')}"}
    assert api.client.get("/api/v1/lists", headers=writer).status_code == 403
    assert api.client.post("/api/v1/lists", headers=writer, data={"title": "ok"}).status_code == 200
    statuses_only = {"Authorization": f"Bearer {api.token_with('alice', 'read:statuses')}"}
    r = api.client.get(f"/api/v1/timelines/list/{made['id']}", headers=statuses_only)
    assert r.status_code == 403
    assert api.client.get("/api/v1/lists").status_code == 401


def test_members_add_remove_and_page(api: Api) -> None:
    alice = api.register("alice")
    others = [api.register(f"user{i}") for i in range(5)]
    for other in others:
        api.follow(alice, other)
    made = _new_list(api, alice)
    r = _add(api, alice, made["id"], *others)
    assert r.status_code == 200 and r.json() == {}
    # Adding again changes nothing (a retried or replayed request is safe).
    assert _add(api, alice, made["id"], others[0]).status_code == 200
    newest_first = sorted((o.id for o in others), key=int, reverse=True)
    assert _member_ids(api, alice, made["id"]) == newest_first
    r = api.get(f"/api/v1/lists/{made['id']}/accounts", alice, limit=2)
    assert_conforms("Account", r.json(), many=True)
    assert [a["id"] for a in r.json()] == newest_first[:2]
    assert 'rel="next"' in r.headers["link"]
    following = r.headers["link"].split(">")[0].lstrip("<")
    r2 = api.client.get(following, headers=alice.headers)
    assert [a["id"] for a in r2.json()] == newest_first[2:4]
    assert _member_ids(api, alice, made["id"], since_id=newest_first[2]) == newest_first[:2]
    assert _member_ids(api, alice, made["id"], min_id=newest_first[2]) == newest_first[:2]
    # limit=0: every member, no Link header (as Mastodon).
    r = api.get(f"/api/v1/lists/{made['id']}/accounts", alice, limit=0)
    assert [a["id"] for a in r.json()] == newest_first and "link" not in r.headers
    # The lists an account is on, as the caller sees them.
    assert [x["id"] for x in api.get(f"/api/v1/accounts/{others[0].id}/lists", alice).json()] == [
        made["id"]
    ]
    assert api.get(f"/api/v1/accounts/{others[0].id}/lists", others[1]).json() == []
    assert api.get("/api/v1/accounts/999/lists", alice).status_code == 404
    # Removing, with what is not on the list passed over.
    r = api.client.request(
        "DELETE",
        f"/api/v1/lists/{made['id']}/accounts",
        headers=alice.headers,
        data={"account_ids[]": [others[0].id, alice.id]},
    )
    assert r.status_code == 200, r.text
    assert others[0].id not in _member_ids(api, alice, made["id"])
    assert api.get(f"/api/v1/accounts/{others[0].id}/lists", alice).json() == []


def test_only_followed_accounts_may_be_added(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, carol)
    made = _new_list(api, alice)
    r = _add(api, alice, made["id"], bob)
    assert r.status_code == 422, r.text
    assert "followed" in r.json()["error"] and "account_id" in r.json()["details"]
    # All or none: carol (followed) does not slip in with bob.
    assert _add(api, alice, made["id"], carol, bob).status_code == 422
    assert _member_ids(api, alice, made["id"]) == []
    r = api.client.post(
        f"/api/v1/lists/{made['id']}/accounts",
        headers=alice.headers,
        data={"account_ids[]": [carol.id, "999"]},
    )
    assert r.status_code == 404
    r = api.client.post(f"/api/v1/lists/{made['id']}/accounts", headers=alice.headers)
    assert r.status_code == 422 and "account_ids" in r.json()["details"]
    r = api.client.post(
        f"/api/v1/lists/{made['id']}/accounts",
        headers=alice.headers,
        data={"account_ids[]": "carol"},
    )
    assert r.status_code == 422 and "account_ids" in r.json()["details"]
    assert _member_ids(api, alice, made["id"]) == []
    # A pending follow request is not a follow.
    dave = api.register("dave")
    api.client.patch(
        "/api/v1/accounts/update_credentials", headers=dave.headers, data={"locked": "true"}
    )
    api.follow(alice, dave)
    assert _add(api, alice, made["id"], dave).status_code == 422
    # The owner may put itself on its list, as Mastodon allows.
    assert _add(api, alice, made["id"], alice, carol).status_code == 200
    assert sorted(_member_ids(api, alice, made["id"])) == sorted([alice.id, carol.id])


def test_unfollow_and_block_take_the_account_off_lists(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, bob)
    api.follow(alice, carol)
    first, second = _new_list(api, alice, "one"), _new_list(api, alice, "two")
    for made in (first, second):
        assert _add(api, alice, made["id"], bob, carol).status_code == 200
    # Someone else's list with bob on it is not touched by alice's unfollow.
    api.follow(carol, bob)
    carols = _new_list(api, carol, "carol's")
    assert _add(api, carol, carols["id"], bob).status_code == 200
    api.client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    for made in (first, second):
        assert _member_ids(api, alice, made["id"]) == [carol.id]
    assert _member_ids(api, carol, carols["id"]) == [bob.id]
    # A block by the member ends the follow both ways, and the membership with it.
    api.client.post(f"/api/v1/accounts/{alice.id}/block", headers=carol.headers)
    for made in (first, second):
        assert _member_ids(api, alice, made["id"]) == []


def test_list_timeline_shows_members_as_the_owner_may_see(api: Api) -> None:
    alice, bob, carol, dave = (api.register(n) for n in ("alice", "bob", "carol", "dave"))
    for other in (bob, carol, dave):
        api.follow(alice, other)
    made = _new_list(api, alice)
    assert _add(api, alice, made["id"], bob, carol).status_code == 200
    from_bob = api.post(bob, "bob public")
    bob_private = api.post(bob, "bob followers only", visibility="private")
    api.post(dave, "dave is not on the list")
    from_carol = api.post(carol, "carol public")
    erin = api.register("erin")
    erin_post = api.post(erin, "erin's")
    reblog = api.client.post(f"/api/v1/statuses/{erin_post['id']}/reblog", headers=carol.headers)
    assert _timeline(api, alice, made["id"]) == [
        reblog.json()["id"],
        from_carol["id"],
        bob_private["id"],
        from_bob["id"],
    ]
    # Paging like the home timeline.
    r = api.get(f"/api/v1/timelines/list/{made['id']}", alice, limit=2)
    assert_conforms("Status", r.json(), many=True)
    assert 'rel="next"' in r.headers["link"]
    assert _timeline(api, alice, made["id"], max_id=from_carol["id"]) == [
        bob_private["id"],
        from_bob["id"],
    ]
    assert _timeline(api, alice, made["id"], min_id=from_bob["id"], limit=1) == [bob_private["id"]]
    # A direct post that does not mention alice is not hers to see.
    api.post(bob, "@carol psst", visibility="direct")
    # Muting carol hides her (and her reblogs); blocking by bob hides bob.
    api.client.post(f"/api/v1/accounts/{carol.id}/mute", headers=alice.headers)
    assert _timeline(api, alice, made["id"]) == [bob_private["id"], from_bob["id"]]
    api.client.post(f"/api/v1/accounts/{carol.id}/unmute", headers=alice.headers)
    # A muted author reblogged by a member is hidden too.
    api.client.post(f"/api/v1/accounts/{erin.id}/mute", headers=alice.headers)
    assert reblog.json()["id"] not in _timeline(api, alice, made["id"])
    api.client.post(f"/api/v1/accounts/{alice.id}/block", headers=bob.headers)
    assert from_bob["id"] not in _timeline(api, alice, made["id"])


def test_replies_policy(api: Api) -> None:
    alice, bob, carol, dave = (api.register(n) for n in ("alice", "bob", "carol", "dave"))
    stranger = api.register("stranger")
    api.follow(alice, bob)
    api.follow(alice, carol)
    api.follow(alice, dave)
    root_carol = api.post(carol, "carol's")
    root_dave = api.post(dave, "dave's")
    root_stranger = api.post(stranger, "stranger's")
    root_alice = api.post(alice, "alice's")
    root_bob = api.post(bob, "bob's")
    made = _new_list(api, alice)
    assert _add(api, alice, made["id"], bob, carol).status_code == 200
    to_member = api.post(bob, "@carol yes", in_reply_to_id=root_carol["id"])
    to_followed = api.post(bob, "@dave yes", in_reply_to_id=root_dave["id"])
    to_stranger = api.post(bob, "@stranger yes", in_reply_to_id=root_stranger["id"])
    to_owner = api.post(bob, "@alice yes", in_reply_to_id=root_alice["id"])
    to_self = api.post(bob, "and more", in_reply_to_id=root_bob["id"])
    always = {root_carol["id"], root_bob["id"], to_owner["id"], to_self["id"]}
    expected = {
        "list": always | {to_member["id"]},
        "followed": always | {to_member["id"], to_followed["id"]},
        "none": always,
    }
    for policy, shown in expected.items():
        r = api.client.put(
            f"/api/v1/lists/{made['id']}", headers=alice.headers, data={"replies_policy": policy}
        )
        assert r.status_code == 200
        assert set(_timeline(api, alice, made["id"])) == shown, policy
    assert to_stranger["id"] not in _timeline(api, alice, made["id"])


def test_exclusive_list_members_leave_home(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, bob)
    api.follow(alice, carol)
    from_bob = api.post(bob, "bob")
    from_carol = api.post(carol, "carol")
    own = api.post(alice, "mine")
    plain = _new_list(api, alice, "plain")
    assert _add(api, alice, plain["id"], bob, alice).status_code == 200
    assert _home(api, alice) == [own["id"], from_carol["id"], from_bob["id"]]
    exclusive = _new_list(api, alice, "exclusive", exclusive="true")
    assert _add(api, alice, exclusive["id"], bob, alice).status_code == 200
    # bob's posts are read in the list now; alice's own stay home.
    assert _home(api, alice) == [own["id"], from_carol["id"]]
    assert _timeline(api, alice, exclusive["id"]) == [own["id"], from_bob["id"]]
    # Someone else's exclusive list changes nothing for alice.
    api.follow(carol, bob)
    carols = _new_list(api, carol, "carol's", exclusive="true")
    assert _add(api, carol, carols["id"], bob).status_code == 200
    assert from_bob["id"] not in _home(api, carol)
    r = api.client.put(
        f"/api/v1/lists/{exclusive['id']}", headers=alice.headers, data={"exclusive": "false"}
    )
    assert r.json()["exclusive"] is False
    assert _home(api, alice) == [own["id"], from_carol["id"], from_bob["id"]]


def test_at_most_fifty_lists(api: Api) -> None:
    alice = api.register("alice")
    for i in range(50):
        _new_list(api, alice, f"list {i}")
    r = api.client.post("/api/v1/lists", headers=alice.headers, data={"title": "one more"})
    assert r.status_code == 422 and "maximum" in r.json()["error"]
    assert len(api.get("/api/v1/lists", alice).json()) == 50
