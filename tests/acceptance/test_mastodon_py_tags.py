"""Mastodon.py against `aloft serve` for issue 13's items 9 and 11: follow a hashtag and see
its posts at home, list followed tags, feature a tag on a profile, read the trends."""

from __future__ import annotations

from tests.acceptance.test_mastodon_py import App, app, register

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py


def test_tags_featured_and_trends(app: App) -> None:
    alice, bob, carol = register(app, "tagfan"), register(app, "tagger"), register(app, "other")
    a = alice.api
    tag = a.tag_follow("Gardening")
    assert tag.name == "gardening" and tag.following is True
    assert [t.name for t in a.followed_tags()] == ["gardening"]
    assert a.tag("gardening").following is True

    post = bob.api.status_post("tomatoes are in #gardening")
    carol.api.status_post("me too #Gardening https://example.org/tomatoes")
    bob.api.status_post("look https://example.org/tomatoes")
    home = [str(s.id) for s in a.timeline_home()]
    assert str(post.id) in home  # bob is not followed: the tag brought it

    trending = a.trending_tags()
    assert [t.name for t in trending] == ["gardening"]
    assert trending[0].history[0].accounts == "2"
    assert [link.url for link in a.trending_links()] == ["https://example.org/tomatoes"]
    a.status_favourite(post.id)
    assert [str(s.id) for s in a.trending_statuses()] == [str(post.id)]

    featured = bob.api.featured_tag_create("Gardening")
    assert featured.name == "Gardening" and str(featured.statuses_count) == "1"
    assert [f.name for f in a.account_featured_tags(bob.id)] == ["Gardening"]
    assert [f.name for f in bob.api.featured_tags()] == ["Gardening"]
    bob.api.featured_tag_delete(featured.id)
    assert bob.api.featured_tags() == []

    a.tag_unfollow("gardening")
    assert a.followed_tags() == []
    assert str(post.id) not in [str(s.id) for s in a.timeline_home()]
