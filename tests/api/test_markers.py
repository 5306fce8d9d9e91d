"""Markers (issue 10, item 3): GET/POST /api/v1/markers, the version counter, and retries."""

from __future__ import annotations

from tests.conftest import Api


def test_set_and_read(api: Api) -> None:
    alice = api.register("alice")
    assert api.get("/api/v1/markers", alice).json() == {}, "no timeline[] asked: nothing"
    r = api.client.post(
        "/api/v1/markers", headers=alice.headers, data={"home[last_read_id]": "1000"}
    )
    assert r.status_code == 200, r.text
    home = r.json()["home"]
    assert home["last_read_id"] == "1000" and home["version"] == 0 and home["updated_at"]
    assert "notifications" not in r.json()

    # JSON, as Mastodon.py and masto.js send it; both timelines at once.
    r = api.client.post(
        "/api/v1/markers",
        headers=alice.headers,
        json={"home": {"last_read_id": "2000"}, "notifications": {"last_read_id": 7}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["home"]["last_read_id"] == "2000" and r.json()["home"]["version"] == 1
    assert r.json()["notifications"] == {**r.json()["notifications"], "version": 0}

    got = api.client.get(
        "/api/v1/markers",
        headers=alice.headers,
        params={"timeline[]": ["home", "notifications", "lists"]},
    ).json()
    assert set(got) == {"home", "notifications"}
    assert got["home"]["last_read_id"] == "2000" and got["notifications"]["last_read_id"] == "7"
    only = api.get("/api/v1/markers", alice, **{"timeline[]": "notifications"}).json()
    assert set(only) == {"notifications"}

    # Markers are one's own.
    bob = api.register("bob")
    assert api.get("/api/v1/markers", bob, **{"timeline[]": "home"}).json() == {}


def test_same_position_again_is_not_a_new_version(api: Api) -> None:
    """A retried or replayed POST (the unit of work may run twice) changes nothing."""
    alice = api.register("alice")
    for _ in range(3):
        r = api.client.post(
            "/api/v1/markers", headers=alice.headers, json={"home": {"last_read_id": "5"}}
        )
        assert r.json()["home"]["version"] == 0
    r = api.client.post(
        "/api/v1/markers", headers=alice.headers, json={"home": {"last_read_id": "6"}}
    )
    assert r.json()["home"]["version"] == 1


def test_bad_input(api: Api) -> None:
    alice = api.register("alice")
    for body in (
        {"home": {"last_read_id": "abc"}},
        {"home": {"last_read_id": "-1"}},
        {"home": {"last_read_id": "99999999999999999999999"}},
        {"home": "12"},
        {"home": {"last_read_id": ["1"]}},
    ):
        r = api.client.post("/api/v1/markers", headers=alice.headers, json=body)
        assert r.status_code == 422 and "error" in r.json(), (body, r.text)
    for body in ({}, {"lists": {"last_read_id": "1"}}, {"home": {}}):
        r = api.client.post("/api/v1/markers", headers=alice.headers, json=body)
        assert r.status_code == 400 and "error" in r.json(), (body, r.text)
    assert api.get("/api/v1/markers", alice, **{"timeline[]": "home"}).json() == {}
    # Scopes as Mastodon: read:statuses to read, write:statuses to save.
    token = api.token_with("alice", "read:notifications")
    r = api.client.get("/api/v1/markers", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert (
        api.client.post("/api/v1/markers", json={"home": {"last_read_id": "1"}}).status_code == 401
    )
