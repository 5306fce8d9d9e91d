"""The authorization matrix: a token without a read scope reads nothing private.

Generated from the route table (`aloft.api.routes.TABLE`), so a new GET route is in it
without anyone remembering to add it: for every GET route, every viewer of alice's scene
(author, follower, mentioned, stranger) and every scope that grants no reading, the answer
holds no private or direct status, whichever of the scene's IDs fills the path. Mastodon
requires `read:statuses` (or `read`) wherever a token is used to read statuses; a token
without it is refused with 403 rather than served.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from aloft.api.routes import TABLE
from aloft.app import create_app
from aloft.config import Settings
from tests import pg
from tests.api.test_visibility import POSTS, Scene, make_scene
from tests.conftest import Api

VIEWERS = ["alice", "bob", "carol", "dave"]
# Scopes that grant no reading of statuses.
NO_READ = ["write", "push", "follow", "write:favourites", "write:statuses", "write:follows"]
GET_PATHS = sorted({path for path, methods, _ in TABLE if "GET" in methods})
HIDDEN_VISIBILITIES = {"private", "direct"}
# The parameters a route may need: enough for it to find something to show.
QUERY = {"q": "topic", "acct": "alice", "limit": "40", "id[]": "1"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Scene, dict[tuple[str, str], dict[str, str]]]]:
    """alice's scene and, per (viewer, scope), the headers of a token with just that scope."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("matrix") / "data", rate_limits=False)
    server: pg.PostgresServer | None = None
    name = f"aloft_matrix_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        server.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        settings = settings.with_overrides(database_url=server.url(name))
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        api = Api(c)
        scene = make_scene(api)
        tokens = {
            (who, scope): {"Authorization": f"Bearer {api.token_with(who, scope)}"}
            for who in VIEWERS
            for scope in [*NO_READ, "read"]
        }
        yield scene, tokens
    if server is not None:
        server.psql(f"DROP DATABASE {name} WITH (FORCE)")


def concrete_paths(scene: Scene, path: str) -> list[str]:
    """The route's path with every way the scene can fill its parameters. A parameter this
    test does not know fails the test: a new route must say what it takes."""
    names = re.findall(r"\{(\w+)\}", path)
    if not names:
        return [path]
    known = (["id"], ["hashtag"], ["group_key"])
    assert names in known, f"teach the matrix the parameters of {path}"
    if names == ["hashtag"]:
        return [path.replace("{hashtag}", "topic")]
    ids = [scene.ids[k] for k in scene.ids] + [u.id for u in scene.users.values()]
    if names == ["group_key"]:
        keys = [f"ungrouped-{i}" for i in ids] + [f"favourite-{i}-0" for i in ids] + ["follow-0"]
        return [path.replace("{group_key}", k) for k in keys]
    return [path.replace("{id}", i) for i in ids]


def hidden_statuses(body: Any) -> list[str]:
    """The IDs of every private or direct status anywhere in a JSON body."""
    found: list[str] = []
    if isinstance(body, dict):
        if body.get("visibility") in HIDDEN_VISIBILITIES:
            found.append(str(body.get("id")))
        for value in body.values():
            found += hidden_statuses(value)
    elif isinstance(body, list):
        for value in body:
            found += hidden_statuses(value)
    return found


@pytest.mark.parametrize("path", GET_PATHS)
@pytest.mark.parametrize("scope", NO_READ)
def test_a_token_without_read_scope_sees_no_private_status(
    matrix: tuple[Scene, dict[tuple[str, str], dict[str, str]]], path: str, scope: str
) -> None:
    scene, tokens = matrix
    for who in VIEWERS:
        for concrete in concrete_paths(scene, path):
            r = scene.client.get(concrete, headers=tokens[who, scope], params=QUERY)
            assert r.status_code < 500, (who, concrete, r.text)
            if r.headers.get("content-type", "").startswith("application/json"):
                leaked = hidden_statuses(r.json())
                assert not leaked, f"{who} with {scope!r} read {leaked} from {concrete}"
            if r.status_code == 403:
                assert r.json() == {"error": "This action is outside the authorized scopes"}


# The endpoints the audit reproduced the leak on, each refused by name.
READERS = [
    "/api/v1/statuses/{dm}",
    "/api/v1/statuses/{dm}/context",
    "/api/v1/accounts/{alice}/statuses",
    "/api/v2/search?q=topic",
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/topic",
]


@pytest.mark.parametrize("template", READERS)
@pytest.mark.parametrize("scope", NO_READ)
def test_reading_with_a_token_needs_a_read_scope(
    matrix: tuple[Scene, dict[tuple[str, str], dict[str, str]]], template: str, scope: str
) -> None:
    scene, tokens = matrix
    path = template.format(dm=scene.ids["dm_carol"], alice=scene.users["alice"].id)
    r = scene.client.get(path, headers=tokens["carol", scope])
    assert r.status_code == 403, r.text
    assert r.json() == {"error": "This action is outside the authorized scopes"}
    # Without a token the same route is open (public posts only); with `read`, it serves.
    assert scene.client.get(path).status_code in (200, 404)
    assert scene.client.get(path, headers=tokens["carol", "read"]).status_code == 200


@pytest.mark.parametrize("who", VIEWERS)
def test_the_matrix_can_see_what_a_read_token_may(
    matrix: tuple[Scene, dict[tuple[str, str], dict[str, str]]], who: str
) -> None:
    """The matrix is not vacuous: with `read`, a viewer's private posts do show."""
    scene, tokens = matrix
    r = scene.client.get(
        f"/api/v1/accounts/{scene.users['alice'].id}/statuses",
        headers=tokens[who, "read"],
        params={"limit": 40},
    )
    assert r.status_code == 200, r.text
    seen = {k for k in scene.keys(r.json()) if k in POSTS}
    expected = {"alice": 6, "bob": 5, "carol": 4, "dave": 2}[who]
    assert len(seen) == expected
