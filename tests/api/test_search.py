"""/api/v2/search: accounts, hashtags, and statuses through each engine's full-text index."""

from tests.conftest import Api


def _search(api: Api, user, **params) -> dict:
    r = api.get("/api/v2/search", user, **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_statuses_are_found_by_their_words(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    tea = api.post(alice, "Green tea in the morning")
    both = api.post(bob, "Morning coffee, evening TEA")
    api.post(alice, "coffee only")
    hidden = api.post(bob, "secret tea party", visibility="private")
    found = _search(api, alice, q="tea", type="statuses")["statuses"]
    assert [s["id"] for s in found] == [both["id"], tea["id"]], "newest first, visible only"
    assert hidden["id"] not in {s["id"] for s in found}
    assert [s["id"] for s in _search(api, alice, q="morning tea")["statuses"]] == [
        both["id"],
        tea["id"],
    ]
    assert _search(api, alice, q="tea coffee")["statuses"][0]["id"] == both["id"]
    assert len(_search(api, alice, q='tea" (*')["statuses"]) == 2, "punctuation is not syntax"
    api.client.delete(f"/api/v1/statuses/{tea['id']}", headers=alice.headers)
    assert [s["id"] for s in _search(api, alice, q="green")["statuses"]] == []


def test_statuses_need_a_signed_in_viewer(api: Api) -> None:
    alice = api.register("alice")
    api.post(alice, "findable words")
    assert _search(api, None, q="findable")["statuses"] == []
    assert len(_search(api, alice, q="findable")["statuses"]) == 1


def test_accounts_and_hashtags(api: Api) -> None:
    alice = api.register("alice")
    api.register("alicia")
    api.post(alice, "#Gardening rocks")
    found = _search(api, alice, q="ali", type="accounts")["accounts"]
    assert [a["acct"] for a in found] == ["alice", "alicia"]
    assert [h["name"] for h in _search(api, alice, q="#garden")["hashtags"]] == ["gardening"]
    assert api.get("/api/v2/search", alice).status_code == 400
