"""Registration, profiles, lookup, follows and relationships."""

from pathlib import Path

from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests.conftest import Api


def test_registration_rules(api: Api) -> None:
    api.register("alice")
    headers = {"Authorization": f"Bearer {api.app_token()}"}
    base = {"email": "new@example.org", "password": "long enough pw", "agreement": "true"}
    cases = [
        (
            {**base, "username": "ALICE", "email": "x@example.org"},
            "Username has already been taken",
        ),
        (
            {**base, "username": "newbie", "email": "ALICE@example.org"},
            "Email has already been taken",
        ),
        ({**base, "username": "bad name"}, "Username"),
        ({**base, "username": "newbie", "password": "short"}, "Password"),
        ({**base, "username": "newbie", "email": "not-an-email"}, "Email"),
        ({**base, "username": "newbie", "agreement": "false"}, "Agreement"),
    ]
    for data, message in cases:
        r = api.client.post("/api/v1/accounts", headers=headers, data=data)
        assert r.status_code == 422, (data, r.text)
        assert message in r.json()["error"]
    assert api.get("/api/v1/accounts/lookup", acct="newbie").status_code == 404


def test_registration_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limits=False, registrations=False)
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        r = client.post(
            "/api/v1/accounts",
            headers={"Authorization": f"Bearer {api.app_token()}"},
            data={
                "username": "x",
                "email": "x@example.org",
                "password": "long enough",
                "agreement": "1",
            },
        )
        assert r.status_code == 403 and "closed" in r.json()["error"]
        assert client.get("/api/v2/instance").json()["registrations"]["enabled"] is False


def test_profile_update_and_lookup(api: Api) -> None:
    alice = api.register("alice")
    r = api.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        data={"display_name": "Alice A.", "note": "I like #tea"},
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Alice A." and "hashtag" in me["note"]
    assert me["source"]["note"] == "I like #tea"
    too_long = api.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        data={"display_name": "x" * 31},
    )
    assert too_long.status_code == 422
    for acct in ("alice", "@Alice", "alice@127.0.0.1:8080"):
        found = api.get("/api/v1/accounts/lookup", acct=acct)
        assert found.status_code == 200 and found.json()["display_name"] == "Alice A."
    assert api.get("/api/v1/accounts/lookup", acct="alice@elsewhere.org").status_code == 404
    assert api.get(f"/api/v1/accounts/{alice.id}").json()["acct"] == "alice"


def test_follow_unfollow_counts_lists_and_relationships(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    r = api.client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    assert r.json()["following"] is True and r.json()["followed_by"] is False
    api.follow(alice, bob)  # again: nothing changes
    api.follow(carol, bob)
    api.follow(bob, alice)
    bob_now = api.get(f"/api/v1/accounts/{bob.id}").json()
    assert bob_now["followers_count"] == 2 and bob_now["following_count"] == 1
    followers = api.get(f"/api/v1/accounts/{bob.id}/followers").json()
    assert [a["id"] for a in followers] == [carol.id, alice.id]
    page = api.get(f"/api/v1/accounts/{bob.id}/followers", limit=1)
    assert [a["id"] for a in page.json()] == [carol.id] and 'rel="next"' in page.headers["link"]
    following = api.get(f"/api/v1/accounts/{alice.id}/following").json()
    assert [a["id"] for a in following] == [bob.id]
    rels = api.client.get(
        "/api/v1/accounts/relationships",
        headers=alice.headers,
        params={"id[]": [bob.id, carol.id, "999"]},
    ).json()
    assert [(x["id"], x["following"], x["followed_by"]) for x in rels] == [
        (bob.id, True, True),
        (carol.id, False, False),
    ]
    self_follow = api.client.post(f"/api/v1/accounts/{alice.id}/follow", headers=alice.headers)
    assert self_follow.status_code == 403
    for _ in range(2):
        r = api.client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
        assert r.status_code == 200 and r.json()["following"] is False
    assert api.get(f"/api/v1/accounts/{bob.id}").json()["followers_count"] == 1
