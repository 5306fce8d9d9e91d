"""What the counters count, as Mastodon keeps them: a direct post is not in its author's
`statuses_count`, and only public and unlisted replies are in a status's `replies_count`.
Private and direct replies stay out, so the counts tell nobody that a hidden reply exists."""

from __future__ import annotations

from tests.conftest import Api, User


def replies(api: Api, status_id: str, who: User | None = None) -> int:
    r = api.get(f"/api/v1/statuses/{status_id}", who)
    assert r.status_code == 200, r.text
    return int(r.json()["replies_count"])


def statuses_count(api: Api, who: User, viewer: User | None = None) -> int:
    r = api.get(f"/api/v1/accounts/{who.id}", viewer)
    assert r.status_code == 200, r.text
    return int(r.json()["statuses_count"])


def test_replies_count_counts_only_public_and_unlisted_replies(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(bob, alice)
    root = api.post(alice, "root")["id"]
    kept = {}
    for who, vis in ((bob, "public"), (carol, "unlisted"), (bob, "private"), (carol, "direct")):
        text = "@alice reply" if vis == "direct" else "reply"
        kept[vis] = api.post(who, text, in_reply_to_id=root, visibility=vis)["id"]
    for viewer in (None, alice, bob, carol):
        assert replies(api, root, viewer) == 2
    # Deleting a hidden reply moves nothing; deleting a counted one takes it off.
    for vis, who in (("private", bob), ("direct", carol), ("public", bob)):
        r = api.client.delete(f"/api/v1/statuses/{kept[vis]}", headers=who.headers)
        assert r.status_code == 200, r.text
    assert replies(api, root) == 1


def test_statuses_count_leaves_out_direct_posts(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    api.post(alice, "public")
    api.post(alice, "for followers", visibility="private")
    dm = api.post(alice, "@bob direct", visibility="direct")["id"]
    for viewer in (None, alice, bob):
        assert statuses_count(api, alice, viewer) == 2
    r = api.client.delete(f"/api/v1/statuses/{dm}", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert statuses_count(api, alice) == 2
    me = api.get("/api/v1/accounts/verify_credentials", alice).json()
    assert me["statuses_count"] == 2
