"""Notifications: the four kinds, filters, one by id, dismiss and clear."""

from tests.conftest import Api


def _setup(api: Api):
    alice, bob = api.register("alice"), api.register("bob")
    s = api.post(alice, "hello")
    api.follow(bob, alice)
    api.client.post(f"/api/v1/statuses/{s['id']}/favourite", headers=bob.headers)
    api.client.post(f"/api/v1/statuses/{s['id']}/reblog", headers=bob.headers)
    api.post(bob, "hey @alice")
    return alice, bob, s


def test_each_kind_is_notified_once(api: Api) -> None:
    alice, bob, s = _setup(api)
    # Doing it all again notifies nobody twice.
    api.follow(bob, alice)
    api.client.post(f"/api/v1/statuses/{s['id']}/favourite", headers=bob.headers)
    r = api.get("/api/v1/notifications", alice)
    assert r.status_code == 200
    got = r.json()
    assert [n["type"] for n in got] == ["mention", "reblog", "favourite", "follow"]
    assert all(n["account"]["id"] == bob.id for n in got)
    assert got[1]["status"]["id"] == s["id"] and got[3]["status"] is None
    assert "hey" in got[0]["status"]["content"]
    assert api.get("/api/v1/notifications", bob).json() == [], "no notifications about oneself"


def test_filters(api: Api) -> None:
    alice, _bob, _ = _setup(api)
    only = api.client.get(
        "/api/v1/notifications", headers=alice.headers, params={"types[]": ["follow", "mention"]}
    )
    assert [n["type"] for n in only.json()] == ["mention", "follow"]
    without = api.client.get(
        "/api/v1/notifications", headers=alice.headers, params={"exclude_types[]": ["mention"]}
    )
    assert [n["type"] for n in without.json()] == ["reblog", "favourite", "follow"]
    # Unknown types are ignored as Mastodon ignores them (newer apps send types we lack).
    unknown = api.client.get(
        "/api/v1/notifications", headers=alice.headers, params={"types[]": ["nonsense"]}
    )
    assert unknown.status_code == 200 and unknown.json() == []
    page = api.get("/api/v1/notifications", alice, limit=2)
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["link"]


def test_get_dismiss_and_clear(api: Api) -> None:
    alice, bob, _ = _setup(api)
    first = api.get("/api/v1/notifications", alice).json()[0]
    one = api.get(f"/api/v1/notifications/{first['id']}", alice)
    assert one.status_code == 200 and one.json()["id"] == first["id"]
    assert api.get(f"/api/v1/notifications/{first['id']}", bob).status_code == 404
    r = api.client.post(f"/api/v1/notifications/{first['id']}/dismiss", headers=bob.headers)
    assert r.status_code == 200
    assert api.get(f"/api/v1/notifications/{first['id']}", alice).status_code == 200, (
        "bob can't dismiss alice's"
    )
    api.client.post(f"/api/v1/notifications/{first['id']}/dismiss", headers=alice.headers)
    assert len(api.get("/api/v1/notifications", alice).json()) == 3
    assert api.client.post("/api/v1/notifications/clear", headers=alice.headers).json() == {}
    assert api.get("/api/v1/notifications", alice).json() == []
