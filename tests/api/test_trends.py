"""Trends (issue 13, item 11): tags, statuses and links from recent public activity, with
their ranking, history, paging and the viewer's blocks and mutes; both engines."""

from __future__ import annotations

from typing import Any

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _names(api: Api, path: str, user: User | None = None, **params: Any) -> list[str]:
    r = api.get(path, user, **params)
    assert r.status_code == 200, r.text
    return [t["name"] for t in r.json()]


def _act(api: Api, user: User, status: dict[str, Any], action: str) -> None:
    r = api.client.post(f"/api/v1/statuses/{status['id']}/{action}", headers=user.headers)
    assert r.status_code == 200, r.text


def test_trending_tags(api: Api) -> None:
    a, b, c, d, viewer = (api.register(n) for n in ("amy", "bea", "cat", "dan", "viewer"))
    for user in (a, b, c):
        api.post(user, "#Alpha is popular")
    for user in (a, b):
        api.post(user, "#beta too")
    for _ in range(5):
        api.post(d, "#gamma only by me")  # one account: not a trend
    for user in (a, b, c):
        api.post(user, "#hidden", visibility="private")  # not public: not counted
        api.post(user, "#quiet", visibility="unlisted")
    assert _names(api, "/api/v1/trends/tags") == ["alpha", "beta"]
    assert _names(api, "/api/v1/trends") == ["alpha", "beta"]  # the older path

    r = api.get("/api/v1/trends/tags", viewer)
    tags = r.json()
    assert_conforms("Tag", tags, many=True)
    assert tags[0]["following"] is False
    history = tags[0]["history"]
    assert len(history) == 7
    assert history[0]["uses"] == "3" and history[0]["accounts"] == "3"
    assert all(d["uses"] == "0" and d["accounts"] == "0" for d in history[1:])
    assert all(isinstance(d["day"], str) and int(d["day"]) % 86400 == 0 for d in history)

    # limit and offset, with Mastodon's Link header.
    r = api.get("/api/v1/trends/tags", None, limit="1")
    assert [t["name"] for t in r.json()] == ["alpha"]
    assert 'rel="next"' in r.headers["link"] and "offset=1" in r.headers["link"]
    assert _names(api, "/api/v1/trends/tags", None, limit="1", offset="1") == ["beta"]
    assert _names(api, "/api/v1/trends/tags", None, offset="2") == []
    for bad in ({"offset": "-1"}, {"limit": "-3"}, {"limit": "many"}):
        r = api.get("/api/v1/trends/tags", None, **bad)
        assert r.status_code == 422 and "error" in r.json(), (bad, r.text)

    # The viewer's blocks and mutes take those accounts' uses away, for the viewer only.
    assert api.client.post(f"/api/v1/accounts/{a.id}/block", headers=viewer.headers).is_success
    assert api.client.post(f"/api/v1/accounts/{b.id}/mute", headers=viewer.headers).is_success
    assert _names(api, "/api/v1/trends/tags", viewer) == []  # alpha: 1 account; beta: none
    assert _names(api, "/api/v1/trends/tags", c) == ["alpha", "beta"]


def test_trending_statuses(api: Api) -> None:
    a, b, c, fan1, fan2, viewer = (
        api.register(n) for n in ("amy", "bea", "cat", "fan1", "fan2", "viewer")
    )
    top = api.post(a, "the most liked")
    second = api.post(b, "liked once")
    quiet = api.post(c, "nobody cares")
    cw = api.post(a, "behind a warning", spoiler_text="cw")
    private = api.post(a, "followers only", visibility="private")
    api.follow(fan1, a)
    for fan in (fan1, fan2):
        _act(api, fan, top, "favourite")
        _act(api, fan, cw, "favourite")
        _act(api, fan, second, "favourite")
    _act(api, fan1, top, "reblog")
    _act(api, fan1, private, "favourite")
    reply = api.post(fan1, "a reply", in_reply_to_id=quiet["id"])
    _act(api, fan2, reply, "favourite")  # replies do not trend
    r = api.get("/api/v1/trends/statuses", viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("Status", body, many=True)
    # quiet has a reply now (one interaction): it trends, below the others.
    assert [s["id"] for s in body] == [top["id"], second["id"], quiet["id"]]
    assert body[0]["favourited"] is False
    assert [s["id"] for s in api.get("/api/v1/trends/statuses", None, limit="1").json()] == [
        top["id"]
    ]
    later = api.get("/api/v1/trends/statuses", None, limit="2", offset="2").json()
    assert [s["id"] for s in later] == [quiet["id"]]
    assert api.client.post(f"/api/v1/accounts/{a.id}/block", headers=viewer.headers).is_success
    shown = [s["id"] for s in api.get("/api/v1/trends/statuses", viewer).json()]
    assert shown == [second["id"], quiet["id"]]
    # A token without read:statuses is refused, as everywhere a token reads statuses.
    token = api.token_with("viewer", "write")
    r = api.client.get("/api/v1/trends/statuses", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


def test_trending_links(api: Api) -> None:
    a, b, c, viewer = (api.register(n) for n in ("amy", "bea", "cat", "viewer"))
    for user in (a, b, c):
        api.post(user, "read https://example.org/c today")
    for user in (a, b):
        api.post(user, "see https://example.org/a, and https://example.org/a again")
    api.post(c, "only me: https://example.org/b")
    api.post(c, "https://example.org/secret", visibility="private")
    api.post(a, "https://example.org/secret", visibility="private")
    r = api.get("/api/v1/trends/links")
    assert r.status_code == 200, r.text
    links = r.json()
    for link in links:  # one at a time: the known deviations are named per entity
        assert_conforms("TrendsLink", link)
    assert [link["url"] for link in links] == ["https://example.org/c", "https://example.org/a"]
    today = links[0]["history"][0]
    assert today["uses"] == "3" and today["accounts"] == "3" and len(links[0]["history"]) == 7
    # Two in one status count as one use.
    assert links[1]["history"][0]["uses"] == "2" and links[0]["type"] == "link"
    assert api.client.post(f"/api/v1/accounts/{a.id}/block", headers=viewer.headers).is_success
    shown = [link["url"] for link in api.get("/api/v1/trends/links", viewer).json()]
    assert shown == ["https://example.org/c"]


def test_link_timeline(api: Api) -> None:
    """GET /api/v1/timelines/link: the statuses of a trending link (Phanpy opens it)."""
    a, b, c, viewer = (api.register(n) for n in ("amy", "bea", "cat", "viewer"))
    posts = [api.post(user, "read https://example.org/c_1 today") for user in (a, b, c)]
    api.post(a, "a longer one https://example.org/c_10")  # not the same link
    api.post(c, "https://example.org/c_1", visibility="private")
    lonely = api.post(c, "only me: https://example.org/b")
    r = api.get("/api/v1/timelines/link", viewer, url="https://example.org/c_1")
    assert r.status_code == 200, r.text
    assert_conforms("Status", r.json(), many=True)
    assert [s["id"] for s in r.json()] == [p["id"] for p in reversed(posts)]
    r = api.get("/api/v1/timelines/link", viewer, url="https://example.org/c_1", limit="1")
    assert [s["id"] for s in r.json()] == [posts[2]["id"]] and 'rel="next"' in r.headers["link"]
    assert api.client.post(f"/api/v1/accounts/{a.id}/block", headers=viewer.headers).is_success
    shown = api.get("/api/v1/timelines/link", viewer, url="https://example.org/c_1").json()
    assert [s["id"] for s in shown] == [posts[2]["id"], posts[1]["id"]]
    r = api.get("/api/v1/timelines/link", viewer, url="https://example.org/b")
    assert r.status_code == 404 and lonely["id"] not in r.text  # not trending
    assert api.get("/api/v1/timelines/link", viewer).status_code == 400
