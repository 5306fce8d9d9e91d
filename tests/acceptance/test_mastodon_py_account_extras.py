"""Mastodon.py against `aloft serve` for issue 13's item 12: profile fields and posting
defaults through account_update_credentials, preferences, a private note, endorsing
(account_pin), and removing a follower."""

from __future__ import annotations

import pytest
from mastodon import MastodonAPIError

from tests.acceptance.test_mastodon_py import App, app, register

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py


def test_profile_fields_and_posting_defaults(app: App) -> None:
    alice, bob = register(app, "fielder"), register(app, "reader")
    me = alice.api.account_update_credentials(
        fields=[("Home", "https://example.org"), ("Pronouns", "they/them")],
        default_privacy="private",
        default_sensitive=True,
        default_language="nl",
        discoverable=False,
    )
    assert [(f.name, f.value) for f in me.source.fields] == [
        ("Home", "https://example.org"),
        ("Pronouns", "they/them"),
    ]
    assert (me.source.privacy, me.source.sensitive, me.source.language) == ("private", True, "nl")
    seen = bob.api.account(alice.id)
    assert seen.fields[0].name == "Home" and 'href="https://example.org"' in seen.fields[0].value
    assert seen.discoverable is False
    prefs = alice.api.preferences()
    assert prefs["posting:default:visibility"] == "private"
    assert prefs["posting:default:language"] == "nl"
    assert prefs["posting:default:sensitive"] is True
    post = alice.api.status_post("with my defaults")
    assert post.visibility == "private" and post.language == "nl"
    with pytest.raises(MastodonAPIError):
        alice.api.account_update_credentials(fields=[(f"n{i}", "v") for i in range(5)])


def test_note_endorse_and_remove_from_followers(app: App) -> None:
    alice, bob = register(app, "noter"), register(app, "noted")
    rel = alice.api.account_note_set(bob.id, "knows about zeppelins")
    assert rel.note == "knows about zeppelins"
    assert alice.api.account_relationships(bob.id)[0].note == "knows about zeppelins"
    with pytest.raises(MastodonAPIError):  # not following yet
        alice.api.account_pin(bob.id)
    alice.api.account_follow(bob.id)
    assert alice.api.account_pin(bob.id).endorsed is True
    assert [str(a.id) for a in alice.api.endorsements()] == [bob.id]
    assert alice.api.account_unpin(bob.id).endorsed is False
    assert alice.api.endorsements() == []

    bob.api.account_follow(alice.id)
    assert alice.api.account_relationships(bob.id)[0].followed_by is True
    rel = alice.api.account_remove_from_followers(bob.id)
    assert rel.followed_by is False
    assert [str(a.id) for a in alice.api.account_followers(alice.id)] == []
