"""Account extras (issue 13, item 12): profile fields, posting defaults, profile flags,
preferences, private notes, remove_from_followers, endorsements; both engines."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_entities import assert_conforms
from tests.api.test_reports import _admin
from tests.conftest import Api, User

UPDATE = "/api/v1/accounts/update_credentials"


def _update(api: Api, user: User, **kw: Any) -> httpx.Response:
    return api.client.patch(UPDATE, headers=user.headers, **kw)


def _me(api: Api, user: User) -> dict[str, Any]:
    return api.get("/api/v1/accounts/verify_credentials", user).json()


def test_profile_fields_are_stored_escaped_and_linkified(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    r = _update(
        api,
        alice,
        data={
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://example.org/me",
            "fields_attributes[1][name]": "<b>Pronouns</b>",
            "fields_attributes[1][value]": "she & her #tag",
            "fields_attributes[2][name]": "",
            "fields_attributes[2][value]": "",
        },
    )
    assert r.status_code == 200, r.text
    assert_conforms("CredentialAccount", r.json())
    source = r.json()["source"]["fields"]
    assert [(f["name"], f["value"]) for f in source] == [
        ("Site", "https://example.org/me"),
        ("<b>Pronouns</b>", "she & her #tag"),
    ]
    shown = api.get(f"/api/v1/accounts/{alice.id}", bob).json()
    assert_conforms("Account", shown)
    site, pronouns = shown["fields"]
    assert site["name"] == "Site" and site["verified_at"] is None
    assert '<a href="https://example.org/me"' in site["value"] and 'rel="me' in site["value"]
    assert pronouns["name"] == "&lt;b&gt;Pronouns&lt;/b&gt;"
    assert pronouns["value"].startswith("she &amp; her ") and "/tags/tag" in pronouns["value"]
    # Fields in a JSON body (a list of objects) replace the ones there.
    r = _update(api, alice, json={"fields_attributes": [{"name": "Only", "value": "one"}]})
    assert [f["name"] for f in r.json()["source"]["fields"]] == ["Only"]
    # Something else changed leaves the fields alone.
    assert [f["name"] for f in _update(api, alice, data={"note": "hi"}).json()["fields"]] == [
        "Only"
    ]


def test_profile_fields_bad_input_changes_nothing(api: Api) -> None:
    alice = api.register("alice")
    _update(
        api, alice, data={"fields_attributes[0][name]": "Kept", "fields_attributes[0][value]": "x"}
    )
    five = {f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}
    long_value = {"fields_attributes[0][name]": "n", "fields_attributes[0][value]": "v" * 256}
    for bad in (five, long_value):
        r = _update(api, alice, data=bad)
        assert r.status_code == 422 and "fields_attributes" in r.json()["details"], r.text
    r = _update(api, alice, json={"fields_attributes": "nope"})
    assert r.status_code == 422 and "fields_attributes" in r.json()["details"]
    r = _update(api, alice, json={"fields_attributes": [{"name": ["x"]}]})
    assert r.status_code == 422
    assert [f["name"] for f in _me(api, alice)["fields"]] == ["Kept"]
    # Four, each 255 characters, is the limit and is accepted.
    four = {}
    for i in range(4):
        four[f"fields_attributes[{i}][name]"] = "n" * 255
        four[f"fields_attributes[{i}][value]"] = "v" * 255
    assert _update(api, alice, data=four).status_code == 200


def test_source_defaults_apply_to_new_posts(api: Api) -> None:
    alice = api.register("alice")
    r = _update(
        api,
        alice,
        data={"source[privacy]": "unlisted", "source[sensitive]": "true", "source[language]": "de"},
    )
    assert r.status_code == 200, r.text
    source = r.json()["source"]
    assert (source["privacy"], source["sensitive"], source["language"]) == ("unlisted", True, "de")
    prefs = api.get("/api/v1/preferences", alice).json()
    assert_conforms("Preferences", prefs)
    assert prefs == {
        "posting:default:visibility": "unlisted",
        "posting:default:sensitive": True,
        "posting:default:language": "de",
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }
    plain = api.post(alice, "no visibility given")
    assert (plain["visibility"], plain["language"], plain["sensitive"]) == ("unlisted", "de", False)
    chosen = api.post(alice, "chosen", visibility="public", language="fr", sensitive="false")
    assert (chosen["visibility"], chosen["language"]) == ("public", "fr")
    # JSON, and a blank language clears the default.
    r = _update(api, alice, json={"source": {"privacy": "private", "language": ""}})
    assert r.status_code == 200 and r.json()["source"]["language"] is None
    post = api.post(alice, "now private")
    assert post["visibility"] == "private" and post["language"] is None


def test_source_bad_input_is_refused_by_name(api: Api) -> None:
    alice = api.register("alice")
    for data, field in (
        ({"source[privacy]": "direct"}, "source[privacy]"),
        ({"source[privacy]": "everyone"}, "source[privacy]"),
        ({"source[language]": "not a language"}, "source[language]"),
        ({"source[sensitive]": "perhaps"}, "source[sensitive]"),
    ):
        r = _update(api, alice, data=data)
        assert r.status_code == 422 and field in r.json()["details"], (data, r.text)
    assert _me(api, alice)["source"]["privacy"] == "public"


def test_profile_flags(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(bob, alice)
    api.follow(alice, carol)
    r = _update(
        api, alice, data={"discoverable": "false", "indexable": "false", "hide_collections": "true"}
    )
    assert r.status_code == 200, r.text
    shown = api.get(f"/api/v1/accounts/{alice.id}", bob).json()
    assert (shown["discoverable"], shown["indexable"], shown["hide_collections"]) == (
        False,
        False,
        True,
    )
    # hide_collections: others see empty lists, the owner sees them.
    for kind in ("followers", "following"):
        assert api.get(f"/api/v1/accounts/{alice.id}/{kind}", bob).json() == []
        assert len(api.get(f"/api/v1/accounts/{alice.id}/{kind}", alice).json()) == 1
    # indexable false: her statuses are found in search by herself only.
    api.post(alice, "zeppelins are lovely")
    found = api.get("/api/v2/search", bob, q="zeppelins", type="statuses").json()
    assert found["statuses"] == []
    mine = api.get("/api/v2/search", alice, q="zeppelins", type="statuses").json()
    assert len(mine["statuses"]) == 1
    assert _update(api, alice, data={"bot": "maybe"}).status_code == 422


def test_private_notes(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    r = api.client.post(
        f"/api/v1/accounts/{bob.id}/note", headers=alice.headers, data={"comment": "met at <conf>"}
    )
    assert r.status_code == 200, r.text
    assert_conforms("Relationship", r.json())
    assert r.json()["note"] == "met at <conf>"
    rel = api.get("/api/v1/accounts/relationships", alice, **{"id[]": bob.id}).json()[0]
    assert rel["note"] == "met at <conf>"
    # Private: bob's relationship to alice has no note.
    assert (
        api.get("/api/v1/accounts/relationships", bob, **{"id[]": alice.id}).json()[0]["note"] == ""
    )
    too_long = api.client.post(
        f"/api/v1/accounts/{bob.id}/note", headers=alice.headers, data={"comment": "x" * 2001}
    )
    assert too_long.status_code == 422 and "comment" in too_long.json()["details"]
    assert (
        api.client.post(
            "/api/v1/accounts/999/note", headers=alice.headers, data={"comment": "x"}
        ).status_code
        == 404
    )
    cleared = api.client.post(f"/api/v1/accounts/{bob.id}/note", headers=alice.headers)
    assert cleared.status_code == 200 and cleared.json()["note"] == ""


def test_remove_from_followers(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    api.follow(bob, alice)
    path = f"/api/v1/accounts/{bob.id}/remove_from_followers"
    for _ in range(2):  # the second finds nothing to remove and changes nothing
        r = api.client.post(path, headers=alice.headers)
        assert r.status_code == 200, r.text
        assert_conforms("Relationship", r.json())
        assert r.json()["followed_by"] is False
    assert _me(api, alice)["followers_count"] == 0
    assert api.get(f"/api/v1/accounts/{bob.id}", bob).json()["following_count"] == 0
    assert (
        api.client.post(
            "/api/v1/accounts/999/remove_from_followers", headers=alice.headers
        ).status_code
        == 404
    )


def test_endorsements(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    # Only an account you follow may be endorsed.
    r = api.client.post(f"/api/v1/accounts/{bob.id}/pin", headers=alice.headers)
    assert r.status_code == 422 and "following" in r.json()["error"]
    assert (
        api.client.post(f"/api/v1/accounts/{alice.id}/pin", headers=alice.headers).status_code
        == 422
    )
    assert api.client.post("/api/v1/accounts/999/pin", headers=alice.headers).status_code == 404
    api.follow(alice, bob)
    api.follow(alice, carol)
    for target in (bob, carol, bob):  # twice for bob: idempotent
        r = api.client.post(f"/api/v1/accounts/{target.id}/pin", headers=alice.headers)
        assert r.status_code == 200 and r.json()["endorsed"] is True
    assert_conforms("Relationship", r.json())
    mine = api.get("/api/v1/endorsements", alice)
    assert [a["id"] for a in mine.json()] == [carol.id, bob.id]
    assert_conforms("Account", mine.json(), many=True)
    # Paged: one at a time, with a Link header to the next.
    first = api.get("/api/v1/endorsements", alice, limit=1)
    assert [a["id"] for a in first.json()] == [carol.id] and 'rel="next"' in first.headers["link"]
    # Anyone may see whom alice endorses.
    assert [a["id"] for a in api.get(f"/api/v1/accounts/{alice.id}/endorsements").json()] == [
        carol.id,
        bob.id,
    ]
    assert api.get("/api/v1/accounts/999/endorsements").status_code == 404
    r = api.client.post(f"/api/v1/accounts/{carol.id}/unpin", headers=alice.headers)
    assert r.status_code == 200 and r.json()["endorsed"] is False
    assert (
        api.client.post(f"/api/v1/accounts/{carol.id}/unendorse", headers=alice.headers).status_code
        == 200
    )
    # Unfollowing takes the endorsement with it.
    api.client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert api.get("/api/v1/endorsements", alice).json() == []
    # The 4.4 names do the same.
    api.follow(alice, carol)
    assert api.client.post(f"/api/v1/accounts/{carol.id}/endorse", headers=alice.headers).json()[
        "endorsed"
    ]
    # A read-only token cannot endorse; no token cannot list one's own.
    read_only = api.token_with("alice", "read")
    r = api.client.post(
        f"/api/v1/accounts/{carol.id}/pin", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert r.status_code == 403
    assert api.get("/api/v1/endorsements").status_code == 401


def test_follow_honours_the_defaults_and_refuses_other_values_by_name(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    path = f"/api/v1/accounts/{bob.id}/follow"
    for data, name in (
        ({"notify": "true"}, "notify"),
        ({"reblogs": "false"}, "reblogs"),
        ({"languages[]": "en"}, "languages"),
    ):
        r = api.client.post(path, headers=alice.headers, data=data)
        assert r.status_code == 422 and name in r.json()["details"], r.text
    assert api.get(f"/api/v1/accounts/{bob.id}", alice).json()["followers_count"] == 0
    # What Mastodon.py sends on every follow: the values this server does anyway.
    r = api.client.post(path, headers=alice.headers, data={"reblogs": "true", "notify": "false"})
    assert r.status_code == 200 and r.json()["following"] is True


def test_search_and_relationships_parameters(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    r = api.get("/api/v2/search", alice, q="bob", following="true")
    assert r.status_code == 422 and "following" in r.json()["details"], r.text
    ok = api.get("/api/v2/search", alice, q="bob", resolve="true", following="false")
    assert ok.status_code == 200 and [a["id"] for a in ok.json()["accounts"]] == [bob.id]
    # No hashtag is held back for review here, so either value finds the same (Mastodon.py
    # sends exclude_unreviewed=true on every search).
    for value in ("true", "false"):
        ok = api.get("/api/v2/search", alice, q="bob", exclude_unreviewed=value)
        assert ok.status_code == 200 and [a["id"] for a in ok.json()["accounts"]] == [bob.id]
    r = api.get("/api/v2/search", alice, q="bob", account_id=bob.id)
    assert r.status_code == 422 and "account_id" in r.json()["details"]
    # A suspended account is left out of relationships unless with_suspended=true.
    root = _admin(api)
    r = api.client.post(
        f"/api/v1/admin/accounts/{bob.id}/action", headers=root.headers, data={"type": "suspend"}
    )
    assert r.status_code == 200, r.text
    path = "/api/v1/accounts/relationships"
    assert api.get(path, alice, **{"id[]": bob.id}).json() == []
    found = api.get(path, alice, **{"id[]": bob.id, "with_suspended": "true"}).json()
    assert [r["id"] for r in found] == [bob.id]
