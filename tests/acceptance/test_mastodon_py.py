"""Mastodon.py (2.x), the reference Python client, against a real `aloft serve` process.

Each test drives the server the way an app would: register an app, create accounts
through the API, sign in with a password, then post, follow, page through timelines and
read notifications, checking the values that come back rather than only that no
exception was raised.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonIllegalArgumentError,
    MastodonNotFoundError,
)

from tests.conftest import Server

pytestmark = pytest.mark.acceptance

PASSWORD = "correct horse battery staple"
SCOPES = ["read", "write", "follow", "push"]
_names = itertools.count(1)


@dataclass
class App:
    url: str
    client_id: str
    client_secret: str

    def client(self, token: str | None = None) -> Mastodon:
        return Mastodon(
            client_id=self.client_id,
            client_secret=self.client_secret,
            access_token=token,
            api_base_url=self.url,
            version_check_mode="none",
            request_timeout=10,
        )


@dataclass
class Person:
    username: str
    email: str
    api: Mastodon
    id: str


@pytest.fixture(scope="module")
def app(server: Server) -> App:
    client_id, client_secret = Mastodon.create_app(
        "aloft acceptance",
        scopes=SCOPES,
        api_base_url=server.url,
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        website="https://example.org/aloft",
    )
    assert client_id and client_secret
    return App(server.url, client_id, client_secret)


def register(app: App, prefix: str = "user") -> Person:
    """Create an account the way an app's sign-up screen does, then log in with it."""
    username = f"{prefix}{next(_names)}"
    email = f"{username}@example.org"
    signup = app.client()
    token = signup.create_account(username, PASSWORD, email, agreement=True, scopes=SCOPES)
    assert isinstance(token, str) and token
    me = signup.account_verify_credentials()
    assert me.username == username
    return Person(username, email, signup, str(me.id))


@pytest.fixture
def people(app: App) -> Iterator[tuple[Person, Person]]:
    yield register(app, "alice"), register(app, "bob")


def test_instance_and_version_check(app: App) -> None:
    # "created" is the strict mode: every call checks the server's version first
    client = Mastodon(api_base_url=app.url, version_check_mode="created", request_timeout=10)
    assert client.retrieve_mastodon_version() == "4.3.0"
    assert client.verify_minimum_version("4.0.0", cached=True)
    v1 = client.instance_v1()
    assert "Aloft" in v1.version
    assert v1.uri == app.url.split("://", 1)[1]
    assert v1.configuration.statuses.max_characters == 500
    v2 = client.instance()
    assert v2.domain == v1.uri
    assert v2.title == "Aloft"
    info = client.instance_nodeinfo()
    assert info.software.name == "aloft"
    assert "password" in client.oauth_authorization_server_info().grant_types_supported
    users = v1.stats.user_count
    register(app, "counted")
    assert client.instance_v1().stats.user_count == users + 1


def test_create_app_and_verify_it(app: App) -> None:
    name = f"appcheck{next(_names)}"
    token = app.client().create_account(name, PASSWORD, f"{name}@example.org", agreement=True)
    verified = app.client(token).app_verify_credentials()
    assert verified.name == "aloft acceptance"
    assert verified.website == "https://example.org/aloft"
    assert verified.get("client_secret") is None


def test_create_account_log_in_by_email_and_username(app: App) -> None:
    alice = register(app, "login")
    # log in from a fresh client, first with the email address (what Mastodon expects)...
    by_email = app.client()
    token = by_email.log_in(alice.email, PASSWORD, scopes=SCOPES, allow_http=True)
    assert token and token != alice.api.access_token
    me = by_email.me()
    assert me.username == alice.username
    assert me.acct == alice.username
    assert str(me.id) == alice.id
    assert me.source.privacy == "public"
    # ...and with the username, which Aloft accepts too.
    by_username = app.client()
    by_username.log_in(alice.username, PASSWORD, scopes=SCOPES, allow_http=True)
    assert str(by_username.me().id) == alice.id
    # a wrong password is refused
    with pytest.raises(MastodonIllegalArgumentError, match="Invalid user name, password"):
        app.client().log_in(alice.email, "not the password", scopes=SCOPES, allow_http=True)
    # the account is visible to anyone
    public = app.client().account(alice.id)
    assert public.username == alice.username
    assert public.statuses_count == 0


def test_post_reply_context_and_delete(people: tuple[Person, Person]) -> None:
    alice, bob = people
    root = alice.api.status_post("Hello from Mastodon.py")
    assert root.content == "<p>Hello from Mastodon.py</p>"
    assert str(root.account.id) == alice.id
    assert root.visibility == "public"
    assert root.in_reply_to_id is None
    reply = bob.api.status_post(f"@{alice.username} hi back", in_reply_to_id=root.id)
    assert str(reply.in_reply_to_id) == str(root.id)
    assert str(reply.in_reply_to_account_id) == alice.id
    assert [m.username for m in reply.mentions] == [alice.username]
    nested = alice.api.status_reply(reply, "and a nested reply")
    assert str(nested.in_reply_to_id) == str(reply.id)
    # status_reply mentions everyone in the thread except yourself
    assert [m.username for m in nested.mentions] == [bob.username]
    assert f"@{bob.username}" in nested.content

    context = bob.api.status_context(root.id)
    assert context.ancestors == []
    assert [str(s.id) for s in context.descendants] == [str(reply.id), str(nested.id)]
    middle = alice.api.status_context(reply.id)
    assert [str(s.id) for s in middle.ancestors] == [str(root.id)]
    assert [str(s.id) for s in middle.descendants] == [str(nested.id)]

    fetched = bob.api.status(root.id)
    assert fetched.replies_count == 1
    assert fetched.content == root.content

    deleted = bob.api.status_delete(reply.id)
    assert str(deleted.id) == str(reply.id)
    assert deleted.text == f"@{alice.username} hi back"  # the source, for "delete & redraft"
    with pytest.raises(MastodonNotFoundError):
        alice.api.status(reply.id)
    # someone else's status cannot be deleted
    with pytest.raises(MastodonAPIError):
        bob.api.status_delete(root.id)
    assert alice.api.status(root.id).replies_count == 0


def test_follow_and_relationships(people: tuple[Person, Person]) -> None:
    alice, bob = people
    # find the other person first, as an app's search box does
    found = alice.api.search_v2(f"@{bob.username}", resolve=True, result_type="accounts")
    assert [str(a.id) for a in found.accounts] == [bob.id]
    assert found.statuses == []
    domain = alice.api.api_base_url.split("://", 1)[1]
    found = alice.api.search_v2(f"{bob.username}@{domain}", result_type="accounts")
    assert [a.acct for a in found.accounts] == [bob.username]
    assert alice.api.search_v2(f"{bob.username}@elsewhere.example").accounts == []
    before = alice.api.account_relationships(bob.id)
    assert len(before) == 1
    assert str(before[0].id) == bob.id
    assert before[0].following is False
    assert before[0].followed_by is False

    rel = alice.api.account_follow(bob.id)
    assert rel.following is True
    assert str(rel.id) == bob.id

    both = bob.api.account_relationships([alice.id])
    assert both[0].followed_by is True
    assert both[0].following is False
    followers = alice.api.account_followers(bob.id)
    assert [a.username for a in followers] == [alice.username]
    following = bob.api.account_following(alice.id)
    assert [a.username for a in following] == [bob.username]
    assert alice.api.account(bob.id).followers_count == 1
    assert alice.api.me().following_count == 1

    rel = alice.api.account_unfollow(bob.id)
    assert rel.following is False
    assert alice.api.account(bob.id).followers_count == 0


def test_home_timeline_pages(people: tuple[Person, Person]) -> None:
    alice, bob = people
    alice.api.account_follow(bob.id)
    posted = [bob.api.status_post(f"bob post {i}") for i in range(5)]
    mine = alice.api.status_post("alice's own post")
    expected = [str(s.id) for s in [mine, *reversed(posted)]]  # newest first

    first = alice.api.timeline_home(limit=2)
    assert [str(s.id) for s in first] == expected[:2]
    seen = [str(s.id) for s in first]
    page = first
    pages = 1
    while True:
        page = alice.api.fetch_next(page)
        if not page:
            break
        pages += 1
        assert len(page) <= 2
        seen.extend(str(s.id) for s in page)
        assert pages < 10, "pagination never ends"
    assert seen == expected
    assert len(set(seen)) == len(seen)

    # back from the oldest page towards the newest: fetch_previous gives the newer items
    last = alice.api.timeline_home(limit=2, max_id=expected[3])
    assert [str(s.id) for s in last] == expected[4:6]
    newer = alice.api.fetch_previous(last)
    assert [str(s.id) for s in newer] == expected[2:4]
    newest = alice.api.fetch_previous(newer)
    assert [str(s.id) for s in newest] == expected[0:2]
    # nothing newer than the newest
    assert not alice.api.fetch_previous(newest)

    # since_id / min_id directly
    assert [str(s.id) for s in alice.api.timeline_home(since_id=expected[1])] == [expected[0]]
    assert [str(s.id) for s in alice.api.timeline_home(min_id=expected[2], limit=1)] == [
        expected[1]
    ]


def test_favourite_reblog_bookmark_and_notifications(people: tuple[Person, Person]) -> None:
    alice, bob = people
    bob.api.account_follow(alice.id)
    post = alice.api.status_post("something worth sharing")
    mention = bob.api.status_post(f"hey @{alice.username}, look")

    faved = bob.api.status_favourite(post.id)
    assert faved.favourited is True
    assert faved.favourites_count == 1
    reblog = bob.api.status_reblog(post.id)
    assert reblog.reblog is not None
    assert str(reblog.reblog.id) == str(post.id)
    assert reblog.reblog.reblogged is True
    assert reblog.reblog.reblogs_count == 1
    assert str(reblog.account.id) == bob.id
    marked = bob.api.status_bookmark(post.id)
    assert marked.bookmarked is True

    assert [str(s.id) for s in bob.api.favourites()] == [str(post.id)]
    assert [str(s.id) for s in bob.api.bookmarks()] == [str(post.id)]
    assert [a.username for a in alice.api.status_favourited_by(post.id)] == [bob.username]
    assert [a.username for a in alice.api.status_reblogged_by(post.id)] == [bob.username]
    seen_by_alice = alice.api.status(post.id)
    assert seen_by_alice.favourites_count == 1
    assert seen_by_alice.reblogs_count == 1
    assert seen_by_alice.favourited is False
    assert seen_by_alice.bookmarked is False

    notes = alice.api.notifications()
    by_type = {n.type: n for n in notes}
    assert set(by_type) == {"mention", "follow", "favourite", "reblog"}
    assert len(notes) == 4
    for n in notes:
        assert str(n.account.id) == bob.id
    assert str(by_type["mention"].status.id) == str(mention.id)
    assert str(by_type["favourite"].status.id) == str(post.id)
    assert str(by_type["reblog"].status.id) == str(post.id)
    assert by_type["follow"].status is None
    # newest first
    assert [n.type for n in notes] == ["reblog", "favourite", "mention", "follow"]
    only_mentions = alice.api.notifications(types=["mention"])
    assert [n.type for n in only_mentions] == ["mention"]
    one = alice.api.notifications(id=by_type["favourite"].id)
    assert one.type == "favourite"
    # bob gets nothing for his own actions
    assert bob.api.notifications() == []

    # undo
    assert bob.api.status_unfavourite(post.id).favourited is False
    assert bob.api.status_unreblog(post.id).reblogged is False
    assert bob.api.status_unbookmark(post.id).bookmarked is False
    assert bob.api.favourites() == []
    assert bob.api.bookmarks() == []
    alice.api.notifications_dismiss(by_type["mention"].id)
    assert "mention" not in {n.type for n in alice.api.notifications()}
    alice.api.notifications_clear()
    assert alice.api.notifications() == []


def test_account_statuses(people: tuple[Person, Person]) -> None:
    alice, bob = people
    first = alice.api.status_post("first")
    bob_post = bob.api.status_post("bob's")
    reply = alice.api.status_post("a reply to bob", in_reply_to_id=bob_post.id)
    boost = alice.api.status_reblog(bob_post.id)
    latest = alice.api.status_post("latest")

    listed = alice.api.account_statuses(alice.id)
    assert [str(s.id) for s in listed] == [
        str(latest.id),
        str(boost.id),
        str(reply.id),
        str(first.id),
    ]
    no_replies = bob.api.account_statuses(alice.id, exclude_replies=True)
    assert str(reply.id) not in {str(s.id) for s in no_replies}
    no_reblogs = bob.api.account_statuses(alice.id, exclude_reblogs=True)
    assert str(boost.id) not in {str(s.id) for s in no_reblogs}
    paged = alice.api.account_statuses(alice.id, limit=2)
    assert [str(s.id) for s in paged] == [str(latest.id), str(boost.id)]
    rest = alice.api.fetch_next(paged)
    assert [str(s.id) for s in rest] == [str(reply.id), str(first.id)]
    assert alice.api.account(alice.id).statuses_count == 4  # as in Mastodon, reblogs count


def test_idempotency_key_gives_one_status(people: tuple[Person, Person]) -> None:
    alice, _ = people
    before = alice.api.me().statuses_count
    first = alice.api.status_post("only once, please", idempotency_key="retry-123")
    again = alice.api.status_post("only once, please", idempotency_key="retry-123")
    assert str(first.id) == str(again.id)
    assert again.content == first.content
    assert alice.api.me().statuses_count == before + 1
    assert [str(s.id) for s in alice.api.account_statuses(alice.id)] == [str(first.id)]
    # a different key is a different status
    other = alice.api.status_post("only once, please", idempotency_key="retry-456")
    assert str(other.id) != str(first.id)
    assert alice.api.me().statuses_count == before + 2
