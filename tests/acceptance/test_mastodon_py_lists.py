"""Mastodon.py against `aloft serve` for issue 13's item 5: a list made, members added,
its timeline read, the list changed (exclusive: its members leave home) and deleted."""

from __future__ import annotations

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from tests.acceptance.test_mastodon_py import App, app, register

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py

pytestmark = pytest.mark.acceptance


def test_list_create_add_and_timeline(app: App) -> None:
    reader, friend, other = register(app, "reader"), register(app, "friend"), register(app, "other")
    r = reader.api
    r.account_follow(friend.id)
    r.account_follow(other.id)
    made = r.list_create("friends", replies_policy="followed")
    assert made.title == "friends" and made.replies_policy == "followed"
    assert made.exclusive is False
    r.list_accounts_add(made.id, [friend.id])
    assert [str(a.id) for a in r.list_accounts(made.id)] == [friend.id]
    assert [str(x.id) for x in r.account_lists(friend.id)] == [str(made.id)]
    assert [str(x.id) for x in r.lists()] == [str(made.id)]

    hello = friend.api.status_post("hello, list")
    elsewhere = other.api.status_post("not on the list")
    shown = [str(s.id) for s in r.timeline_list(made.id)]
    assert shown == [str(hello.id)]
    assert str(elsewhere.id) in [str(s.id) for s in r.timeline_home()]

    # Only followed accounts may be added (Mastodon answers 422).
    stranger = register(app, "stranger")
    with pytest.raises(MastodonAPIError):
        r.list_accounts_add(made.id, [stranger.id])

    # Exclusive: the list's members leave home.
    changed = r.list_update(made.id, "friends", replies_policy="list", exclusive=True)
    assert changed.exclusive is True and changed.replies_policy == "list"
    assert str(hello.id) not in [str(s.id) for s in r.timeline_home()]
    assert str(hello.id) in [str(s.id) for s in r.timeline_list(made.id)]

    # Unfollowing takes the account off the list.
    r.account_unfollow(friend.id)
    assert r.list_accounts(made.id) == []
    r.list_delete(made.id)
    with pytest.raises(MastodonNotFoundError):
        r.list(made.id)
    # Someone else's list is not found either.
    other_list = other.api.list_create("mine")
    with pytest.raises(MastodonNotFoundError):
        r.timeline_list(other_list.id)
