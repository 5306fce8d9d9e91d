"""Home, public and tag timelines, account statuses, and Mastodon pagination."""

import re

from tests.conftest import Api


def _links(response) -> dict[str, str]:
    header = response.headers.get("link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


def test_home_has_own_and_followed_posts_and_reblogs(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(alice, bob)
    own = api.post(alice, "mine")
    bobs = api.post(bob, "bob's")
    api.post(carol, "carol's, not followed")
    carols = api.post(carol, "carol's, reblogged by bob")
    reblog = api.client.post(f"/api/v1/statuses/{carols['id']}/reblog", headers=bob.headers).json()
    assert _ids(api.get("/api/v1/timelines/home", alice)) == [reblog["id"], bobs["id"], own["id"]]
    api.client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert _ids(api.get("/api/v1/timelines/home", alice)) == [own["id"]]


def test_pagination_walks_every_item_once_with_link_headers(api: Api) -> None:
    alice = api.register("alice")
    posted = [api.post(alice, f"post {i}")["id"] for i in range(7)]
    newest_first = list(reversed(posted))
    seen: list[str] = []
    r = api.get("/api/v1/timelines/home", alice, limit=3)
    while True:
        page = _ids(r)
        if not page:
            break
        seen += page
        links = _links(r)
        assert list(links) == ["next", "prev"], "next first, then prev"
        assert f"max_id={page[-1]}" in links["next"] and f"min_id={page[0]}" in links["prev"]
        assert "limit=3" in links["next"]
        r = api.client.get(
            links["next"].replace("http://127.0.0.1:8080", ""), headers=alice.headers
        )
    assert seen == newest_first
    assert "link" not in r.headers


def test_since_id_and_min_id(api: Api) -> None:
    alice = api.register("alice")
    ids = [api.post(alice, f"p{i}")["id"] for i in range(6)]
    since = _ids(api.get("/api/v1/timelines/home", alice, since_id=ids[1], limit=2))
    assert since == [ids[5], ids[4]], "since_id gives the newest items above it"
    after = _ids(api.get("/api/v1/timelines/home", alice, min_id=ids[1], limit=2))
    assert after == [ids[3], ids[2]], "min_id gives the items just above it, newest first"
    between = _ids(api.get("/api/v1/timelines/home", alice, max_id=ids[4], since_id=ids[1]))
    assert between == [ids[3], ids[2]]


def test_limit_is_clamped(api: Api) -> None:
    alice = api.register("alice")
    for i in range(45):
        api.post(alice, f"p{i}")
    assert len(_ids(api.get("/api/v1/timelines/home", alice))) == 20
    assert len(_ids(api.get("/api/v1/timelines/home", alice, limit=100))) == 40
    assert len(_ids(api.get("/api/v1/timelines/home", alice, limit=0))) == 1


def test_public_timeline_has_no_reblogs_or_replies_to_others(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    root = api.post(alice, "root")
    api.post(bob, "reply to alice", in_reply_to_id=root["id"])
    self_reply = api.post(alice, "thread", in_reply_to_id=root["id"])
    api.client.post(f"/api/v1/statuses/{root['id']}/reblog", headers=bob.headers)
    api.post(alice, "quiet", visibility="unlisted")
    expected = [self_reply["id"], root["id"]]
    assert _ids(api.get("/api/v1/timelines/public")) == expected
    assert _ids(api.get("/api/v1/timelines/public", local="true")) == expected
    assert _ids(api.get("/api/v1/timelines/public", remote="true")) == []


def test_tag_timeline(api: Api) -> None:
    alice = api.register("alice")
    tagged = api.post(alice, "about #Python")
    api.post(alice, "about nothing")
    api.post(alice, "quiet #python", visibility="unlisted")
    assert _ids(api.get("/api/v1/timelines/tag/python")) == [tagged["id"]]
    assert _ids(api.get("/api/v1/timelines/tag/PYTHON")) == [tagged["id"]]
    assert _ids(api.get("/api/v1/timelines/tag/nothing")) == []


def test_account_statuses_filters(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    bobs = api.post(bob, "bob")
    plain = api.post(alice, "plain")
    reply = api.post(alice, "reply", in_reply_to_id=bobs["id"])
    reblog = api.client.post(f"/api/v1/statuses/{bobs['id']}/reblog", headers=alice.headers).json()
    path = f"/api/v1/accounts/{alice.id}/statuses"
    assert _ids(api.get(path)) == [reblog["id"], reply["id"], plain["id"]]
    assert _ids(api.get(path, exclude_replies="true")) == [reblog["id"], plain["id"]]
    assert _ids(api.get(path, exclude_reblogs="true")) == [reply["id"], plain["id"]]
    assert api.get("/api/v1/accounts/999/statuses").status_code == 404


def test_trailing_slash_paths_answer_too(api: Api) -> None:
    alice = api.register("alice")
    api.post(alice, "x")
    assert len(_ids(api.get("/api/v1/timelines/home/", alice))) == 1
    r = api.client.post("/api/v1/statuses/", headers=alice.headers, data={"status": "slash"})
    assert r.status_code == 200
