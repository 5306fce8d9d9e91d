"""Honest version claims (issue 10, item 7): what the instance endpoints promise is there.

Aloft says Mastodon 4.3.0 and `api_versions.mastodon: 2`. Apps read these to decide what to
call (docs/ARCHITECTURE.md, "Version claims"): Phanpy, for instance, uses grouped
notifications only with api_versions.mastodon >= 2 and, from 4.3 on, the notification policy
and requests and GET /api/v1/statuses?id[]. Each promised endpoint is checked here to answer
(not 404/405) for a signed-in user."""

from __future__ import annotations

from tests.conftest import Api

# What the claims promise to the apps that read them, each as Phanpy/Elk/Tusky call it.
PROMISED = [
    ("GET", "/api/v2/notifications"),  # api_versions.mastodon 2 (4.3.0)
    ("GET", "/api/v2/notifications/unread_count"),
    ("GET", "/api/v2/notifications/policy"),  # 4.3.0: filtered notifications
    ("GET", "/api/v1/notifications/policy"),
    ("GET", "/api/v1/notifications/requests"),
    ("GET", "/api/v1/notifications/unread_count"),
    ("GET", "/api/v1/statuses?id[]=1"),  # 4.3.0: fetch multiple statuses
    ("GET", "/api/v1/markers?timeline[]=home"),  # 3.0
    ("GET", "/api/v1/follow_requests"),  # 1.x
    ("GET", "/api/v1/accounts/search?q=a"),  # 2.x
    ("GET", "/api/v2/filters"),  # 4.0: filters v2 (none here: an empty list)
]


def test_claims(api: Api) -> None:
    v1 = api.get("/api/v1/instance").json()
    v2 = api.get("/api/v2/instance").json()
    assert v1["version"].startswith("4.3.0 (compatible; Aloft ")
    assert v2["version"] == v1["version"]
    assert v2["api_versions"] == {"mastodon": 2}


def test_every_promised_endpoint_answers(api: Api) -> None:
    alice = api.register("alice")
    for method, path in PROMISED:
        r = api.client.request(method, path, headers=alice.headers)
        assert r.status_code == 200, (method, path, r.status_code, r.text)


def test_fetch_multiple_statuses(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    public = api.post(alice, "for all")
    private = api.post(alice, "for followers", visibility="private")
    ids = [private["id"], public["id"], "999", public["id"]]
    r = api.client.get("/api/v1/statuses", params={"id[]": ids}, headers=bob.headers)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()] == [public["id"]], "visible ones, once, in the order asked"
    mine = api.client.get("/api/v1/statuses", params={"id[]": ids}, headers=alice.headers)
    assert [s["id"] for s in mine.json()] == [private["id"], public["id"]]
    assert (
        api.client.get("/api/v1/statuses", params={"id[]": [public["id"]]}).json()[0]["id"]
        == public["id"]
    )
    assert api.client.get("/api/v1/statuses").json() == []
    too_many = [str(i) for i in range(1, 22)]
    r = api.client.get("/api/v1/statuses", params={"id[]": too_many})
    assert r.status_code == 422 and "error" in r.json()
    r = api.client.get("/api/v1/statuses", params={"id[]": ["x"]})
    assert r.status_code == 422
