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
