"""Who may see a status, checked everywhere a status can be read or acted on.

* public, unlisted: everyone (unlisted stays off the public and tag timelines);
* private: the author, the author's followers and the accounts it mentions;
* direct: the author and the accounts it mentions.

The cast: alice writes; bob follows her; carol is mentioned but does not follow her; dave
is a stranger; and `None` is an anonymous reader (no token).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests import pg
from tests.conftest import Api, User

PEOPLE = ["alice", "bob", "carol", "dave", None]

# alice's statuses: key -> (text, visibility). All carry #topic.
POSTS = {
    "pub": ("public #topic", "public"),
    "unl": ("unlisted #topic", "unlisted"),
    "priv": ("private #topic", "private"),
    "priv_carol": ("private for @carol #topic", "private"),
    "dm_carol": ("direct to @carol #topic", "direct"),
    "dm_bob": ("direct to @bob #topic", "direct"),
}

# Who sees which of alice's statuses.
SEES = {
    "alice": set(POSTS),
    "bob": {"pub", "unl", "priv", "priv_carol", "dm_bob"},  # follower; mentioned in dm_bob
    "carol": {"pub", "unl", "priv_carol", "dm_carol"},  # mentioned, not a follower
    "dave": {"pub", "unl"},
    None: {"pub", "unl"},
}
HIDDEN = [(who, key) for who in PEOPLE for key in POSTS if key not in SEES[who]]
SHOWN = [(who, key) for who in PEOPLE for key in sorted(SEES[who])]


@dataclass
class Scene:
    api: Api
    users: dict[str, User]
    ids: dict[str, str]  # alice's statuses and the thread, by key

    @property
    def client(self) -> TestClient:
        return self.api.client

    def headers(self, who: str | None) -> dict[str, str]:
        return self.users[who].headers if who else {}

    def get(self, path: str, who: str | None, **params: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(who), params=params)

    def keys(self, statuses: list[dict[str, Any]]) -> set[str]:
        """The keys of the scene's statuses among `statuses` (others are ignored)."""
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[s["id"]] for s in statuses if s["id"] in by_id}

    def counts(self, key: str) -> tuple[int, int, int]:
        """favourites, reblogs and replies count of a status, as its author sees it."""
        r = self.get(f"/api/v1/statuses/{self.ids[key]}", "alice")
        assert r.status_code == 200, r.text
        s = r.json()
        return s["favourites_count"], s["reblogs_count"], s["replies_count"]

    def statuses_count(self, who: str) -> int:
        r = self.get("/api/v1/accounts/verify_credentials", who)
        assert r.status_code == 200, r.text
        return int(r.json()["statuses_count"])


def reply(api: Api, user: User, to: str, text: str, visibility: str = "public") -> str:
    return str(api.post(user, text, in_reply_to_id=to, visibility=visibility)["id"])


def make_scene(api: Api) -> Scene:
    users = {name: api.register(name) for name in ("alice", "bob", "carol", "dave")}
    api.follow(users["bob"], users["alice"])
    ids = {
        key: str(api.post(users["alice"], text, visibility=vis)["id"])
        for key, (text, vis) in POSTS.items()
    }
    # A thread: t0 public; t1 private reply (alice); t2 public reply to t1 (bob, a
    # follower, sees t1); t3 direct reply to t0 for carol; t4 public reply to t3 (carol).
    a, b, c = users["alice"], users["bob"], users["carol"]
    ids["t0"] = str(api.post(a, "thread start")["id"])
    ids["t1"] = reply(api, a, ids["t0"], "private reply", "private")
    ids["t2"] = reply(api, b, ids["t1"], "public reply to a private one")
    ids["t3"] = reply(api, a, ids["t0"], "@carol direct reply", "direct")
    ids["t4"] = reply(api, c, ids["t3"], "public reply to a direct one")
    return Scene(api, users, ids)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """One scene per database for the read-only tests (accounts are slow to make)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("visibility") / "data", rate_limits=False)
    server: pg.PostgresServer | None = None
    name = f"aloft_visibility_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        server.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        settings = settings.with_overrides(database_url=server.url(name))
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        yield make_scene(Api(c))
    if server is not None:
        server.psql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def scene(api: Api) -> Scene:
    """A fresh scene, for tests that change it."""
    return make_scene(api)


def assert_not_found(r: httpx.Response) -> None:
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "Record not found"}


def label(who: str | None) -> str:
    return who or "anonymous"


# --- reading one status -----------------------------------------------------------------


@pytest.mark.parametrize("who,key", SHOWN, ids=[f"{label(w)}-{k}" for w, k in SHOWN])
def test_visible_status_is_shown(shared: Scene, who: str | None, key: str) -> None:
    r = shared.get(f"/api/v1/statuses/{shared.ids[key]}", who)
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == POSTS[key][1]


@pytest.mark.parametrize("who,key", HIDDEN, ids=[f"{label(w)}-{k}" for w, k in HIDDEN])
def test_invisible_status_is_404_everywhere(shared: Scene, who: str | None, key: str) -> None:
    status_id = shared.ids[key]
    for suffix in ("", "/context", "/favourited_by", "/reblogged_by"):
        assert_not_found(shared.get(f"/api/v1/statuses/{status_id}{suffix}", who))


# --- timelines and lists ----------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE, ids=label)
def test_account_statuses_show_only_what_the_viewer_may_see(shared: Scene, who: str | None) -> None:
    r = shared.get(f"/api/v1/accounts/{shared.users['alice'].id}/statuses", who, limit=40)
    assert r.status_code == 200, r.text
    assert shared.keys(r.json()) - {"t0", "t1", "t3"} == SEES[who]


@pytest.mark.parametrize(
    "who,expected",
    [
        ("alice", set(POSTS)),
        ("bob", SEES["bob"]),  # follows alice: what he may see of hers
        ("carol", set()),  # mentioned but not following: home is for followed accounts
        ("dave", set()),
    ],
)
def test_home_timeline(shared: Scene, who: str, expected: set[str]) -> None:
    r = shared.get("/api/v1/timelines/home", who, limit=40)
    assert r.status_code == 200, r.text
    assert shared.keys(r.json()) - {f"t{i}" for i in range(5)} == expected


@pytest.mark.parametrize("who", PEOPLE, ids=label)
def test_public_timeline_has_only_public_statuses(shared: Scene, who: str | None) -> None:
    for params in ({}, {"local": "true"}):
        r = shared.get("/api/v1/timelines/public", who, limit=40, **params)
        assert r.status_code == 200, r.text
        assert {s["visibility"] for s in r.json()} == {"public"}
        assert shared.keys(r.json()) == {"pub", "t0"}


@pytest.mark.parametrize("who", PEOPLE, ids=label)
def test_tag_timeline_has_only_public_statuses(shared: Scene, who: str | None) -> None:
    for tag in ("topic", "TOPIC"):
        r = shared.get(f"/api/v1/timelines/tag/{tag}", who, limit=40)
        assert r.status_code == 200, r.text
        assert shared.keys(r.json()) == {"pub"}


# --- threads ----------------------------------------------------------------------------

# For each viewer: descendants of t0; ancestors of t2 (reply to a private status) and of
# t4 (reply to a direct one).
THREADS = {
    "alice": ({"t1", "t2", "t3", "t4"}, ["t0", "t1"], ["t0", "t3"]),
    "bob": ({"t1", "t2", "t4"}, ["t0", "t1"], ["t0"]),
    "carol": ({"t2", "t3", "t4"}, ["t0"], ["t0", "t3"]),
    "dave": ({"t2", "t4"}, ["t0"], ["t0"]),
    None: ({"t2", "t4"}, ["t0"], ["t0"]),
}


@pytest.mark.parametrize("who", PEOPLE, ids=label)
def test_context_filters_ancestors_and_descendants(shared: Scene, who: str | None) -> None:
    descendants, up_from_t2, up_from_t4 = THREADS[who]
    ids = shared.ids
    by_id = {v: k for k, v in ids.items()}

    r = shared.get(f"/api/v1/statuses/{ids['t0']}/context", who)
    assert r.status_code == 200, r.text
    assert r.json()["ancestors"] == []
    assert {by_id[s["id"]] for s in r.json()["descendants"]} == descendants

    for leaf, ancestors in (("t2", up_from_t2), ("t4", up_from_t4)):
        r = shared.get(f"/api/v1/statuses/{ids[leaf]}/context", who)
        assert r.status_code == 200, r.text
        assert [by_id[s["id"]] for s in r.json()["ancestors"]] == ancestors
        assert r.json()["descendants"] == []


# --- acting on a status -----------------------------------------------------------------

ACTIONS = ["favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark"]
HIDDEN_FROM_USERS = [(who, key) for who, key in HIDDEN if who is not None]


@pytest.mark.parametrize(
    "who,key", HIDDEN_FROM_USERS, ids=[f"{w}-{k}" for w, k in HIDDEN_FROM_USERS]
)
def test_actions_on_an_invisible_status_are_404(shared: Scene, who: str, key: str) -> None:
    status_id = shared.ids[key]
    before = shared.counts(key), shared.statuses_count(who)
    for action in ACTIONS:
        r = shared.client.post(
            f"/api/v1/statuses/{status_id}/{action}", headers=shared.headers(who)
        )
        assert_not_found(r)
    r = shared.client.post(
        "/api/v1/statuses",
        headers=shared.headers(who),
        data={"status": "a reply", "in_reply_to_id": status_id},
    )
    assert_not_found(r)
    assert (shared.counts(key), shared.statuses_count(who)) == before
    for listing in ("/api/v1/favourites", "/api/v1/bookmarks"):
        r = shared.get(listing, who)
        assert r.status_code == 200, r.text
        assert status_id not in [s["id"] for s in r.json()]


@pytest.mark.parametrize(
    "who,key",
    [
        ("bob", "priv"),
        ("bob", "priv_carol"),
        ("carol", "priv_carol"),
        ("carol", "dm_carol"),
        ("bob", "dm_bob"),
        ("alice", "dm_bob"),
    ],
)
def test_private_and_direct_statuses_cannot_be_reblogged(shared: Scene, who: str, key: str) -> None:
    before = shared.counts(key), shared.statuses_count(who)
    r = shared.client.post(
        f"/api/v1/statuses/{shared.ids[key]}/reblog", headers=shared.headers(who)
    )
    assert r.status_code == 403, r.text
    assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert (shared.counts(key), shared.statuses_count(who)) == before
    r = shared.get(f"/api/v1/statuses/{shared.ids[key]}/reblogged_by", who)
    assert r.status_code == 200, r.text
    assert r.json() == []


def test_visible_private_status_can_be_favourited_and_bookmarked(scene: Scene) -> None:
    key = "priv_carol"
    for who in ("bob", "carol"):
        for action in ("favourite", "bookmark"):
            r = scene.client.post(
                f"/api/v1/statuses/{scene.ids[key]}/{action}", headers=scene.headers(who)
            )
            assert r.status_code == 200, r.text
    assert scene.counts(key)[0] == 2
    r = scene.get(f"/api/v1/statuses/{scene.ids[key]}/favourited_by", "bob")
    assert r.status_code == 200, r.text
    assert {a["username"] for a in r.json()} == {"bob", "carol"}
    # Still nothing to see for a stranger, not even who favourited it.
    assert_not_found(scene.get(f"/api/v1/statuses/{scene.ids[key]}/favourited_by", "dave"))


def test_reblogging_public_and_unlisted_statuses_works(scene: Scene) -> None:
    for key in ("pub", "unl"):
        r = scene.client.post(
            f"/api/v1/statuses/{scene.ids[key]}/reblog", headers=scene.headers("dave")
        )
        assert r.status_code == 200, r.text
        assert r.json()["visibility"] == POSTS[key][1]
        assert scene.counts(key)[1] == 1
    # dave's reblogs show on his profile to everyone, the unlisted one included.
    r = scene.get(f"/api/v1/accounts/{scene.users['dave'].id}/statuses", None)
    assert r.status_code == 200, r.text
    reblogged = {s["reblog"]["id"] for s in r.json() if s["reblog"]}
    assert reblogged == {scene.ids["pub"], scene.ids["unl"]}


# --- following changes what one sees ----------------------------------------------------


def test_unfollowing_hides_private_statuses_again(scene: Scene) -> None:
    priv = scene.ids["priv"]
    r = scene.client.post(f"/api/v1/statuses/{priv}/bookmark", headers=scene.headers("bob"))
    assert r.status_code == 200, r.text
    r = scene.client.post(
        f"/api/v1/accounts/{scene.users['alice'].id}/unfollow", headers=scene.headers("bob")
    )
    assert r.status_code == 200, r.text

    assert_not_found(scene.get(f"/api/v1/statuses/{priv}", "bob"))
    r = scene.get("/api/v1/bookmarks", "bob")
    assert r.status_code == 200, r.text
    assert priv not in [s["id"] for s in r.json()]
    r = scene.get(f"/api/v1/accounts/{scene.users['alice'].id}/statuses", "bob", limit=40)
    assert scene.keys(r.json()) - {"t0", "t1", "t3"} == {"pub", "unl", "dm_bob"}

    # ...and following shows them again (to a new follower too).
    for who in ("bob", "dave"):
        r = scene.client.post(
            f"/api/v1/accounts/{scene.users['alice'].id}/follow", headers=scene.headers(who)
        )
        assert r.status_code == 200, r.text
        assert scene.get(f"/api/v1/statuses/{priv}", who).status_code == 200
        r = scene.get("/api/v1/timelines/home", who, limit=40)
        assert "priv" in scene.keys(r.json())
        assert "dm_carol" not in scene.keys(r.json())


# --- deleting ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["pub", "priv", "dm_bob"])
def test_only_the_author_can_delete(scene: Scene, key: str) -> None:
    status_id = scene.ids[key]
    count = scene.statuses_count("alice")
    for who in ("bob", "carol", "dave"):
        r = scene.client.delete(f"/api/v1/statuses/{status_id}", headers=scene.headers(who))
        assert_not_found(r)
    r = scene.client.delete(f"/api/v1/statuses/{status_id}")
    assert r.status_code == 401, r.text
    assert scene.get(f"/api/v1/statuses/{status_id}", "alice").status_code == 200
    assert scene.statuses_count("alice") == count
    r = scene.get("/api/v1/timelines/home", "alice", limit=40)
    assert key in scene.keys(r.json())

    r = scene.client.delete(f"/api/v1/statuses/{status_id}", headers=scene.headers("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == status_id
    for viewer in PEOPLE:
        assert_not_found(scene.get(f"/api/v1/statuses/{status_id}", viewer))
    # A direct post was never in statuses_count (as Mastodon counts), so nothing moves.
    assert scene.statuses_count("alice") == count - (0 if POSTS[key][1] == "direct" else 1)
    r = scene.get("/api/v1/timelines/home", "alice", limit=40)
    assert key not in scene.keys(r.json())


def test_a_reblog_is_deleted_only_by_its_reblogger(scene: Scene) -> None:
    r = scene.client.post(
        f"/api/v1/statuses/{scene.ids['pub']}/reblog", headers=scene.headers("bob")
    )
    assert r.status_code == 200, r.text
    reblog_id = r.json()["id"]
    assert_not_found(
        scene.client.delete(f"/api/v1/statuses/{reblog_id}", headers=scene.headers("alice"))
    )
    assert scene.counts("pub")[1] == 1
    r = scene.client.delete(f"/api/v1/statuses/{reblog_id}", headers=scene.headers("bob"))
    assert r.status_code == 200, r.text
    assert scene.counts("pub")[1] == 0
    assert scene.get(f"/api/v1/statuses/{scene.ids['pub']}", None).status_code == 200
