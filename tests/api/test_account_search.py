"""GET /api/v1/accounts/search (issue 10, item 6): mention autocomplete."""

from __future__ import annotations

from tests.conftest import Api


def test_prefix_of_username_or_display_name(api: Api) -> None:
    alice = api.register("alice")
    alicia, bob, carol = api.register("alicia"), api.register("bob"), api.register("carol")
    r = api.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=carol.headers,
        data={"display_name": "Carol Aliberti"},
    )
    assert r.status_code == 200
    r = api.get("/api/v1/accounts/search", bob, q="ali")
    assert r.status_code == 200, r.text
    found = [a["id"] for a in r.json()]
    assert set(found) == {alice.id, alicia.id, carol.id}
    # An exact username first; accounts the viewer follows before the others.
    exact = api.get("/api/v1/accounts/search", bob, q="alicia").json()
    assert exact[0]["id"] == alicia.id
    api.follow(bob, carol)
    assert api.get("/api/v1/accounts/search", bob, q="ali").json()[0]["id"] == carol.id
    followed = api.get("/api/v1/accounts/search", bob, q="ali", following="true").json()
    assert [a["id"] for a in followed] == [carol.id]
    assert [a["username"] for a in api.get("/api/v1/accounts/search", bob, q="@ALI").json()]
    domain = api.get("/api/v1/instance").json()["uri"]
    local = api.get("/api/v1/accounts/search", bob, q=f"alice@{domain}", resolve="true").json()
    assert [a["id"] for a in local] == [alice.id]
    assert api.get("/api/v1/accounts/search", bob, q="alice@elsewhere.example").json() == []
    page = api.get("/api/v1/accounts/search", bob, q="ali", limit=1, offset=1).json()
    ordered = [a["id"] for a in api.get("/api/v1/accounts/search", bob, q="ali").json()]
    assert [a["id"] for a in page] == ordered[1:2]
    assert api.get("/api/v1/accounts/search", bob, q="%").json() == []
    assert api.get("/api/v1/accounts/search", bob, q="zzz").json() == []


def test_bad_input_and_scopes(api: Api) -> None:
    bob = api.register("bob")
    assert api.get("/api/v1/accounts/search", bob).status_code == 400
    for bad in ({"limit": "x"}, {"offset": "-1"}, {"following": "perhaps"}, {"resolve": "2x"}):
        r = api.get("/api/v1/accounts/search", bob, q="bo", **bad)
        assert r.status_code == 422 and "error" in r.json(), bad
    assert api.client.get("/api/v1/accounts/search", params={"q": "bo"}).status_code == 401
    token = api.token_with("bob", "read:statuses")
    r = api.client.get(
        "/api/v1/accounts/search",
        params={"q": "bo"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403


def test_familiar_followers(api: Api) -> None:
    """GET /api/v1/accounts/familiar_followers (a fixed path before /accounts/{id}): the
    accounts I follow that follow each account asked about."""
    from tests.api.test_entities import assert_conforms

    me, alice, bob, carol = (api.register(n) for n in ("me", "alice", "bob", "carol"))
    api.follow(me, alice)
    api.follow(me, bob)
    api.follow(alice, carol)
    api.follow(bob, carol)
    api.follow(carol, alice)
    r = api.client.get(
        "/api/v1/accounts/familiar_followers",
        headers=me.headers,
        params={"id[]": [carol.id, alice.id, bob.id, "99999"]},
    )
    assert r.status_code == 200, r.text
    got = {f["id"]: [a["id"] for a in f["accounts"]] for f in r.json()}
    assert [f["id"] for f in r.json()] == [carol.id, alice.id, bob.id, "99999"]
    assert sorted(got[carol.id]) == sorted([alice.id, bob.id])
    assert got[alice.id] == [] and got[bob.id] == [] and got["99999"] == []
    assert_conforms("FamiliarFollowers", r.json(), many=True)
    assert api.get("/api/v1/accounts/familiar_followers", me).json() == []
    bad = api.get("/api/v1/accounts/familiar_followers", me, **{"id[]": "x"})
    assert bad.status_code == 422
    assert api.client.get("/api/v1/accounts/familiar_followers").status_code == 401
