"""Grouped notifications (issue 10, item 4): GET /api/v2/notifications and its group
endpoints, unread counts after the notifications marker, the notification policy and
requests, and unknown types, as Mastodon 4.3 does them."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, User


def _fav(api: Api, user: User, status: dict[str, Any]) -> None:
    r = api.client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=user.headers)
    assert r.status_code == 200, r.text


def _reblog(api: Api, user: User, status: dict[str, Any]) -> None:
    r = api.client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=user.headers)
    assert r.status_code == 200, r.text


def _world(api: Api) -> dict[str, Any]:
    alice = api.register("alice")
    bob, carol, dave, erin = (api.register(n) for n in ("bob", "carol", "dave", "erin"))
    s1, s2 = api.post(alice, "first"), api.post(alice, "second")
    for user in (bob, carol, dave):
        _fav(api, user, s1)
    _reblog(api, bob, s1)
    _fav(api, carol, s2)
    for user in (bob, carol, dave):
        api.follow(user, alice)
    mention = api.post(erin, "hello @alice")
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "erin": erin,
        "s1": s1,
        "s2": s2,
        "mention": mention,
    }


def _v2(api: Api, user: User, **params: Any) -> dict[str, Any]:
    r = api.client.get("/api/v2/notifications", headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_groups_as_mastodon_makes_them(api: Api) -> None:
    w = _world(api)
    body = _v2(api, w["alice"])
    groups = body["notification_groups"]
    summary = [(g["type"], g["notifications_count"], g.get("status_id")) for g in groups]
    assert summary == [
        ("mention", 1, w["mention"]["id"]),
        ("follow", 3, None),
        ("favourite", 1, w["s2"]["id"]),
        ("reblog", 1, w["s1"]["id"]),
        ("favourite", 3, w["s1"]["id"]),
    ]
    ids = {n: w[n].id for n in ("bob", "carol", "dave", "erin")}
    assert groups[0]["group_key"].startswith("ungrouped-")
    assert groups[1]["group_key"].startswith("follow-")
    assert groups[4]["group_key"].startswith(f"favourite-{w['s1']['id']}-")
    assert groups[1]["sample_account_ids"] == [ids["dave"], ids["carol"], ids["bob"]]
    assert groups[4]["sample_account_ids"] == [ids["dave"], ids["carol"], ids["bob"]]
    # Every account and status once; groups point at them by id.
    assert sorted(a["id"] for a in body["accounts"]) == sorted(ids.values())
    assert {s["id"] for s in body["statuses"]} == {w["s1"]["id"], w["s2"]["id"], w["mention"]["id"]}
    assert "partial_accounts" not in body
    # The v1 list has every notification, and the newest of a group is its most recent.
    v1 = api.get("/api/v1/notifications", w["alice"], limit=40).json()
    assert len(v1) == 9
    follows = [n for n in v1 if n["type"] == "follow"]
    assert groups[1]["most_recent_notification_id"] == follows[0]["id"]
    assert groups[1]["page_max_id"] == follows[0]["id"]
    assert groups[1]["page_min_id"] == follows[-1]["id"]
    assert groups[1]["latest_page_notification_at"] == follows[0]["created_at"]
    # v1 notifications (and streamed ones) carry the key of the group they are in.
    assert {n["group_key"] for n in follows} == {groups[1]["group_key"]}
    mention = next(n for n in v1 if n["type"] == "mention")
    assert mention["group_key"] == groups[0]["group_key"] == f"ungrouped-{mention['id']}"


def test_grouped_types_and_unknown_types(api: Api) -> None:
    w = _world(api)
    alice = w["alice"]
    only_favs = _v2(api, alice, **{"grouped_types[]": ["favourite", "collection_update"]})
    kinds = [g["type"] for g in only_favs["notification_groups"]]
    assert kinds.count("follow") == 3 and kinds.count("favourite") == 2
    assert all(
        g["group_key"].startswith("ungrouped-")
        for g in only_favs["notification_groups"]
        if g["type"] != "favourite"
    )
    # Unknown types are ignored, as Mastodon does: naming only unknown ones finds nothing,
    # excluding them excludes nothing. The same on v1 (it answered 422 before).
    assert _v2(api, alice, **{"types[]": "collection_update"})["notification_groups"] == []
    assert (
        len(_v2(api, alice, **{"exclude_types[]": "collection_update"})["notification_groups"]) == 5
    )
    mixed = _v2(api, alice, **{"types[]": ["follow", "collection_update"]})
    assert [g["type"] for g in mixed["notification_groups"]] == ["follow"]
    for params in ({"types[]": "collection_update"}, {"exclude_types[]": "quote"}):
        r = api.get("/api/v1/notifications", alice, **params)
        assert r.status_code == 200, r.text
    assert api.get("/api/v1/notifications", alice, **{"types[]": "nonsense"}).json() == []
    without = _v2(api, alice, **{"exclude_types[]": ["favourite", "reblog"]})
    assert [g["type"] for g in without["notification_groups"]] == ["mention", "follow"]
    by_bob = _v2(api, alice, account_id=w["bob"].id)
    assert [g["type"] for g in by_bob["notification_groups"]] == ["follow", "reblog", "favourite"]


def test_partial_avatars(api: Api) -> None:
    alice, bob, carol, dave = (api.register(n) for n in ("alice", "bob", "carol", "dave"))
    post = api.post(alice, "popular")
    for user in (bob, carol, dave):
        _fav(api, user, post)
    body = _v2(api, alice, expand_accounts="partial_avatars")
    # Only each group's newest account in full; the others as partial accounts.
    assert [a["id"] for a in body["accounts"]] == [dave.id]
    partial = body["partial_accounts"]
    assert [a["id"] for a in partial] == [carol.id, bob.id]
    assert set(partial[0]) >= {"id", "acct", "locked", "bot", "url", "avatar", "avatar_static"}
    assert "note" not in partial[0]
    assert len(_v2(api, alice, expand_accounts="full")["accounts"]) == 3
    r = api.get("/api/v2/notifications", alice, expand_accounts="everything")
    assert r.status_code == 422 and "expand_accounts" in r.json()["error"]


def test_pages_of_groups(api: Api) -> None:
    w = _world(api)
    alice = w["alice"]
    r = api.client.get("/api/v2/notifications", headers=alice.headers, params={"limit": 2})
    first = r.json()["notification_groups"]
    assert [g["type"] for g in first] == ["mention", "follow"]
    link = r.headers["link"]
    next_url = link.split(">")[0].lstrip("<")
    assert "max_id=" in next_url and "limit=2" in next_url
    second = api.client.get(next_url, headers=alice.headers).json()["notification_groups"]
    # As in Mastodon, the next page starts below the last group's newest notification, so
    # the rest of that group comes again (clients merge by group_key); page_min_id says
    # which of its notifications a page covered.
    assert [g["type"] for g in second] == ["follow", "favourite"]
    assert second[0]["group_key"] == first[1]["group_key"]
    assert first[1]["page_min_id"] == first[1]["page_max_id"]
    assert first[1]["notifications_count"] == 3 and second[0]["notifications_count"] == 2
    assert second[0]["page_max_id"] < first[1]["page_min_id"]
    # Paging up from the oldest notification gives the groups just after it, newest first.
    oldest = api.get("/api/v1/notifications", alice, limit=40).json()[-1]["id"]
    up = _v2(api, alice, min_id=oldest, limit=2)["notification_groups"]
    assert [g["type"] for g in up] == ["reblog", "favourite"]
    assert up[0]["status_id"] == up[1]["status_id"] == w["s1"]["id"]
    since = _v2(api, alice, since_id=first[1]["most_recent_notification_id"])
    assert [g["type"] for g in since["notification_groups"]] == ["mention"]
    for bad in ({"limit": "x"}, {"max_id": "abc"}, {"account_id": "-5"}, {"limit": "-1"}):
        r = api.get("/api/v2/notifications", alice, **bad)
        assert r.status_code == 422 and "error" in r.json(), bad


def test_one_group_its_accounts_and_dismiss(api: Api) -> None:
    w = _world(api)
    alice, bob = w["alice"], w["bob"]
    groups = _v2(api, alice)["notification_groups"]
    follow_key = groups[1]["group_key"]
    one = api.get(f"/api/v2/notifications/{follow_key}", alice)
    assert one.status_code == 200, one.text
    (group,) = one.json()["notification_groups"]
    assert group["notifications_count"] == 3 and "page_min_id" not in group
    assert len(one.json()["accounts"]) == 3
    accounts = api.get(f"/api/v2/notifications/{follow_key}/accounts", alice)
    assert [a["id"] for a in accounts.json()] == group["sample_account_ids"]
    mention_key = groups[0]["group_key"]
    assert api.get(f"/api/v2/notifications/{mention_key}", alice).status_code == 200
    # Someone else's group, an unknown key, or a malformed one: 404.
    for key in (
        "ungrouped-1",
        "follow-1",
        "ungrouped-x",
        "ungrouped-99999999999999999999",
        "x" * 300,
        "%00",  # a NUL reached PostgreSQL, which refuses it in text: a 500 (found by test_fuzz)
        "follow-%00",
    ):
        r = api.get(f"/api/v2/notifications/{key}", alice)
        assert r.status_code == 404 and "error" in r.json(), key
        assert api.get(f"/api/v2/notifications/{key}/accounts", alice).status_code == 404
    assert api.get(f"/api/v2/notifications/{follow_key}", bob).status_code == 404

    r = api.client.post(f"/api/v2/notifications/{follow_key}/dismiss", headers=bob.headers)
    assert r.status_code == 200  # not his: nothing happens
    assert api.get(f"/api/v2/notifications/{follow_key}", alice).status_code == 200
    for _ in range(2):  # dismissing again succeeds
        r = api.client.post(f"/api/v2/notifications/{follow_key}/dismiss", headers=alice.headers)
        assert r.status_code == 200 and r.json() == {}
    kinds = [g["type"] for g in _v2(api, alice)["notification_groups"]]
    assert "follow" not in kinds and len(kinds) == 4
    assert not [n for n in api.get("/api/v1/notifications", alice).json() if n["type"] == "follow"]


def test_unread_counts_after_the_marker(api: Api) -> None:
    w = _world(api)
    alice = w["alice"]
    assert api.get("/api/v1/notifications/unread_count", alice).json() == {"count": 9}
    assert api.get("/api/v2/notifications/unread_count", alice).json() == {"count": 5}
    assert api.get("/api/v1/notifications/unread_count", alice, limit=4).json() == {"count": 4}
    grouped_favs = {"grouped_types[]": "favourite"}
    assert api.get("/api/v2/notifications/unread_count", alice, **grouped_favs).json() == {
        "count": 7
    }
    newest = api.get("/api/v1/notifications", alice).json()[0]["id"]
    r = api.client.post(
        "/api/v1/markers", headers=alice.headers, json={"notifications": {"last_read_id": newest}}
    )
    assert r.status_code == 200
    assert api.get("/api/v1/notifications/unread_count", alice).json() == {"count": 0}
    assert api.get("/api/v2/notifications/unread_count", alice).json() == {"count": 0}
    s3 = api.post(alice, "third")
    for user in (w["bob"], w["carol"]):
        _fav(api, user, s3)
    assert api.get("/api/v1/notifications/unread_count", alice).json() == {"count": 2}
    assert api.get("/api/v2/notifications/unread_count", alice).json() == {"count": 1}
    excluded = api.get(
        "/api/v1/notifications/unread_count", alice, **{"exclude_types[]": "favourite"}
    )
    assert excluded.json() == {"count": 0}
    assert api.get("/api/v1/notifications/unread_count", alice, limit="x").status_code == 422


def test_policy_and_requests(api: Api) -> None:
    alice = api.register("alice")
    policy = api.get("/api/v2/notifications/policy", alice).json()
    assert (
        policy["for_not_following"] == "accept" and policy["summary"]["pending_requests_count"] == 0
    )
    v1 = api.get("/api/v1/notifications/policy", alice).json()
    assert v1["filter_not_following"] is False
    r = api.client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, json={"for_not_following": "accept"}
    )
    assert r.status_code == 200 and r.json() == policy
    # What we cannot honour is refused by name, and changes nothing.
    r = api.client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, json={"for_new_accounts": "filter"}
    )
    assert r.status_code == 422 and "for_new_accounts" in r.json()["error"]
    r = api.client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, data={"for_new_accounts": "maybe"}
    )
    assert r.status_code == 422 and "for_new_accounts" in r.json()["error"]
    r = api.client.patch(
        "/api/v1/notifications/policy", headers=alice.headers, data={"filter_not_followers": "true"}
    )
    assert r.status_code == 422 and "filter_not_followers" in r.json()["error"]
    r = api.client.patch(
        "/api/v1/notifications/policy",
        headers=alice.headers,
        data={"filter_not_followers": "false"},
    )
    assert r.status_code == 200
    assert api.get("/api/v1/notifications/requests", alice).json() == []
    assert api.get("/api/v1/notifications/requests/merged", alice).json() == {"merged": True}


def test_a_private_post_reaches_only_those_who_may_see_it(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(carol, alice)
    secret = api.post(alice, "@bob just between us", visibility="direct")
    followers = api.post(alice, "@bob followers and bob", visibility="private")
    got = _v2(api, bob)
    assert {s["id"] for s in got["statuses"]} == {secret["id"], followers["id"]}
    for v2 in (_v2(api, carol), _v2(api, carol, **{"types[]": "mention"})):
        assert v2["statuses"] == [] and v2["notification_groups"] == []
    # carol favourites the followers-only post she may see; after she stops following,
    # alice still sees her own post's notification, carol nothing of it.
    _fav(api, carol, followers)
    assert [g["type"] for g in _v2(api, alice)["notification_groups"]] == ["favourite", "follow"]
    assert api.get(f"/api/v1/statuses/{secret['id']}", carol).status_code == 404


def test_scopes_and_anonymous(api: Api) -> None:
    alice = api.register("alice")
    for path in (
        "/api/v2/notifications",
        "/api/v2/notifications/unread_count",
        "/api/v1/notifications/unread_count",
        "/api/v2/notifications/policy",
        "/api/v1/notifications/requests",
    ):
        assert api.client.get(path).status_code == 401, path
    token = api.token_with("alice", "read:statuses")
    r = api.client.get("/api/v2/notifications", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    writer = api.token_with("alice", "read:notifications")
    r = api.client.post(
        "/api/v2/notifications/follow-1/dismiss", headers={"Authorization": f"Bearer {writer}"}
    )
    assert r.status_code == 403
    assert alice


def test_a_page_of_groups_is_a_bounded_number_of_queries(api: Api) -> None:
    """Two queries for every group's count and sample, one walk, one batch load of the
    statuses and accounts (with the viewer's filters): the count does not grow with the
    number of groups."""
    from tests.api.test_queries import counting

    alice = api.register("alice")
    fans = [api.register(f"fan{i}") for i in range(3)]
    for i in range(12):
        post = api.post(alice, f"post {i}")
        for fan in fans[: 1 + i % 3]:
            _fav(api, fan, post)

    def queries(limit: int) -> int:
        with counting(api) as seen:
            body = _v2(api, alice, limit=limit)
            assert len(body["notification_groups"]) == limit
        return len(seen)

    small, large = queries(2), queries(12)
    assert small == large <= 17, (small, large)


def test_batches_of_any_size_give_the_same_pages(api: Api, monkeypatch: Any) -> None:
    """The walk reads notifications in batches and leaves out the groups it has picked;
    with batches of one row (every group spans many batches) the pages and counts are the
    same as with the usual size. WALK_BATCH is a tuning constant, not a component."""
    from aloft.services import notifications

    w = _world(api)
    alice = w["alice"]
    oldest = api.get("/api/v1/notifications", alice, limit=40).json()[-1]["id"]
    variants: list[dict[str, Any]] = [
        {},
        {"limit": 2},
        {"limit": 3, "grouped_types[]": "favourite"},
        {"min_id": oldest, "limit": 2},
        {"exclude_types[]": "mention", "limit": 2},
    ]

    def answers() -> list[Any]:
        pages = [_v2(api, alice, **v) for v in variants]
        counts = [
            api.get("/api/v2/notifications/unread_count", alice, **v).json()
            for v in ({}, {"grouped_types[]": "follow"})
        ]
        return [pages, counts]

    usual = answers()
    monkeypatch.setattr(notifications, "WALK_BATCH", 1)
    assert answers() == usual
