"""Mastodon.py against `aloft serve` for issue 10's items 3-7: markers, grouped notifications
and unread counts, a locked account's follow requests, account search, with Mastodon.py's
own version checks on (`version_check_mode="created"`), so every call below is one the
server's version claim lets a client make."""

from __future__ import annotations

from mastodon import Mastodon

from tests.acceptance.test_mastodon_py import App, Person, app, register
from tests.conftest import Server

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py


def checked(app: App, person: Person) -> Mastodon:
    """A client for `person` that checks the server's version before each call."""
    return Mastodon(
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=person.api.access_token,
        api_base_url=app.url,
        version_check_mode="created",
        request_timeout=10,
    )


def test_version_claim(app: App, server: Server) -> None:
    person = register(app, "claims")
    api = checked(app, person)
    assert api.retrieve_mastodon_version().startswith("4.3.0")
    assert api.verify_minimum_version("4.3.0", cached=True)


def test_markers(app: App) -> None:
    alice = register(app, "marker")
    api = checked(app, alice)
    status = api.status_post("where I stopped")
    assert api.markers_get(["home", "notifications"]) == {}
    saved = api.markers_set(["home", "notifications"], [status, 5])
    assert str(saved["home"].last_read_id) == str(status.id) and saved["home"].version == 0
    again = api.markers_set("home", status)
    assert again["home"].version == 0, "the same position is not a new version"
    got = api.markers_get("notifications")
    assert list(got) == ["notifications"] and str(got["notifications"].last_read_id) == "5"


def test_follow_requests_and_grouped_notifications(app: App) -> None:
    alice, bob, carol = register(app, "locked"), register(app, "asker"), register(app, "fan")
    a, b, c = checked(app, alice), checked(app, bob), checked(app, carol)
    me = a.account_update_credentials(locked=True)
    assert me.locked is True
    secret = a.status_post("followers only", visibility="private")
    rel = b.account_follow(alice.id)
    assert rel.requested is True and rel.following is False
    assert [str(acc.id) for acc in a.follow_requests()] == [bob.id]
    assert a.notifications_unread_count().count == 1
    rel = a.follow_request_authorize(bob.id)
    assert rel.followed_by is True
    assert b.account_relationships(alice.id)[0].following is True
    assert str(b.status(secret).id) == str(secret.id)

    dave = register(app, "quiet")
    post = a.status_post("like me")
    checked(app, dave).status_favourite(post)
    b.status_favourite(post)
    c.status_favourite(post)
    grouped = a.grouped_notifications()
    kinds = [(g.type, g.notifications_count) for g in grouped.notification_groups]
    assert kinds == [("favourite", 3), ("follow", 1)], kinds
    fav = grouped.notification_groups[0]
    assert [str(i) for i in fav.sample_account_ids] == [carol.id, bob.id, dave.id]
    # partial_avatars (Mastodon.py's default): each group's newest account in full, the
    # others partial unless in full elsewhere (bob is the follow group's newest)
    assert [str(acc.id) for acc in grouped.partial_accounts] == [dave.id]
    one = a.grouped_notification(fav.group_key)
    assert one.notification_groups[0].notifications_count == 3
    accounts = a.grouped_notification_accounts(fav.group_key)
    assert [str(acc.id) for acc in accounts] == [carol.id, bob.id, dave.id]
    assert a.unread_grouped_notifications_count() == 2
    newest = a.notifications()[0]
    a.markers_set("notifications", newest.id)
    assert a.unread_grouped_notifications_count() == 0
    assert a.notifications_unread_count().count == 0
    a.dismiss_grouped_notification(fav.group_key)
    assert [g.type for g in a.grouped_notifications().notification_groups] == ["follow"]
    policy = a.notifications_policy()
    assert policy.for_not_following == "accept"


def test_account_search(app: App) -> None:
    seeker = register(app, "seeker")
    target = register(app, "findable")
    api = checked(app, seeker)
    found = api.account_search("findab")
    assert [str(acc.id) for acc in found] == [target.id]
    assert api.account_search("findab", following=True) == []
    api.account_follow(target.id)
    assert [str(acc.id) for acc in api.account_search("findab", following=True)] == [target.id]
