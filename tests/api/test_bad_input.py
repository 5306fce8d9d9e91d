"""Bad input: a clear 4xx with Mastodon's `{"error": "..."}` body, no change, never a 500.

Each test checks three things: the status code, the error body, and that nothing changed,
both through the API (the author's statuses_count, the home timeline) and in every table
of the database (so a rejected request cannot have written anything anywhere).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from aloft.api.routes import TABLE
from aloft.app import create_app
from aloft.config import Settings
from aloft.storage.schema import metadata
from tests import pg
from tests.api import oauthflow
from tests.api.handlerparams import parameters
from tests.conftest import Api, User

JSON = {"Content-Type": "application/json"}
SCOPE_ERROR = "This action is outside the authorized scopes"


def assert_error(r: httpx.Response, status: int) -> dict[str, Any]:
    """`r` is a `status` answer whose body is a JSON object with a non-empty "error"."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str), body
    assert body["error"].strip(), body
    assert "Traceback" not in r.text
    return body


def db_rows(client: TestClient) -> dict[str, list[str]]:
    """Every row of every table, to show that a rejected request wrote nothing."""
    db = client.app.state.db  # type: ignore[attr-defined]

    def unit(conn: sa.Connection) -> dict[str, list[str]]:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
            for table in metadata.sorted_tables
        }

    result: dict[str, list[str]] = db.read(unit)
    return result


@dataclass
class World:
    """Two users, a status, a follow and a notification: something to leave unchanged."""

    api: Api
    alice: User
    bob: User
    status: dict[str, Any]
    notification_id: str
    app_headers: dict[str, str]  # an app-only (client_credentials) token

    @property
    def client(self) -> TestClient:
        return self.api.client

    def state(self) -> tuple[int, list[str], dict[str, list[str]]]:
        """Alice's statuses_count and home timeline (through the API) and all the rows."""
        me = self.client.get("/api/v1/accounts/verify_credentials", headers=self.alice.headers)
        assert me.status_code == 200, me.text
        home = self.api.get("/api/v1/timelines/home", self.alice)
        assert home.status_code == 200, home.text
        return me.json()["statuses_count"], [s["id"] for s in home.json()], db_rows(self.client)


def make_world(api: Api) -> World:
    alice = api.register("alice")
    bob = api.register("bob")
    api.follow(bob, alice)
    status = api.post(alice, "hello @bob")
    notes = api.get("/api/v1/notifications", bob)
    assert notes.status_code == 200, notes.text
    mention = next(n for n in notes.json() if n["type"] == "mention")
    app_headers = {"Authorization": f"Bearer {api.app_token()}"}
    return World(api, alice, bob, status, mention["id"], app_headers)


@pytest.fixture
def world(api: Api) -> World:
    """A fresh world, for tests that change it."""
    return make_world(api)


@contextmanager
def module_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, label: str
) -> Iterator[World]:
    """A world on the engine `request.param` names, on a database of its own."""
    settings = Settings(data_dir=tmp_path_factory.mktemp(label) / "data", rate_limits=False)
    server: pg.PostgresServer | None = None
    name = f"aloft_{label}_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        server.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        settings = settings.with_overrides(database_url=server.url(name))
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as c:
        yield make_world(Api(c))
    if server is not None:
        server.psql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per database for the whole module (accounts are slow to make: argon2).
    Tests that use it may only add tokens; `unchanged` checks that the others change
    nothing at all."""
    with module_world(request, tmp_path_factory, "bad_input") as world:
        yield world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def garbage_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per database for the garbage sent to every route, which may change it
    (garbage that happens to be valid is served); a fresh one per route cost minutes."""
    with module_world(request, tmp_path_factory, "garbage") as world:
        yield world


@pytest.fixture
def unchanged(shared: World) -> Iterator[World]:
    """The shared world, checked afterwards to be exactly as it was before the test."""
    before = shared.state()
    yield shared
    count, home, rows = shared.state()
    assert (count, home) == before[:2]
    assert rows == before[2]


# --- malformed bodies -------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"status": "hi"',
    "not json": b"status=hi",
    "array": b'["status", "hi"]',
    "string": b'"status"',
    "number": b"42",
    "null": b"null",
    "bad utf-8": b'{"status": "\xff\xfe"}',
    "lone surrogate": b'{"status": "\\ud800"}',
}


def _credentials(w: World, path: str) -> dict[str, str]:
    if path == "/api/v1/statuses":
        return w.alice.headers
    if path == "/api/v1/accounts":
        return w.app_headers
    return {}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=list(MALFORMED))
@pytest.mark.parametrize(
    "path", ["/api/v1/statuses", "/api/v1/apps", "/oauth/token", "/api/v1/accounts"]
)
def test_malformed_json_body_is_400(unchanged: World, path: str, body: bytes) -> None:
    headers = {**_credentials(unchanged, path), **JSON}
    assert_error(unchanged.client.post(path, content=body, headers=headers), 400)


CUT = b"--xyz\r\nContent-Disposition: form-data; name=status\r\n\r\nhi"


@pytest.mark.parametrize(
    "body,ctype,status",
    [
        (b"garbage", "multipart/form-data", 400),  # no boundary
        (b"garbage", "multipart/form-data; boundary=xyz", 400),
        (CUT, "multipart/form-data; boundary=xyz", 422),  # the unfinished field is lost
        (b"status=\xff\xfe", "application/x-www-form-urlencoded", 400),
    ],
    ids=["multipart without boundary", "multipart garbage", "multipart cut", "form bad utf-8"],
)
def test_malformed_form_body_is_4xx(unchanged: World, body: bytes, ctype: str, status: int) -> None:
    headers = {**unchanged.alice.headers, "Content-Type": ctype}
    r = unchanged.client.post("/api/v1/statuses", content=body, headers=headers)
    assert_error(r, status)


def test_file_upload_to_a_form_endpoint_is_400(unchanged: World) -> None:
    r = unchanged.client.post(
        "/api/v1/statuses",
        headers=unchanged.alice.headers,
        data={"status": "with a file"},
        files={"file": ("a.txt", b"hello")},
    )
    assert_error(r, 400)


# --- values of the wrong type -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    json: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    params: dict[str, Any] | None = None

    def send(self, w: World, user: User | None = None) -> httpx.Response:
        ids = {"status": w.status["id"], "alice": w.alice.id, "note": w.notification_id}
        path = self.path.format(**ids)
        headers = (user or w.alice).headers
        if self.json is not None:
            return w.client.request(
                self.method, path, headers=headers, json=self.json, params=self.params
            )
        return w.client.request(
            self.method, path, headers=headers, data=self.data, params=self.params
        )


POST = "POST"
GET = "GET"
STATUSES = "/api/v1/statuses"

WRONG_TYPES = {
    "status is a list": Case(POST, STATUSES, json={"status": ["a", "b"]}),
    "status is an object": Case(POST, STATUSES, json={"status": {"text": "hi"}}),
    "status is true": Case(POST, STATUSES, json={"status": True}),
    "status is empty list": Case(POST, STATUSES, json={"status": []}),
    "sensitive=maybe (json)": Case(POST, STATUSES, json={"status": "x", "sensitive": "maybe"}),
    "sensitive=maybe (form)": Case(POST, STATUSES, data={"status": "x", "sensitive": "maybe"}),
    "sensitive is a list": Case(POST, STATUSES, json={"status": "x", "sensitive": [True]}),
    "in_reply_to_id=abc": Case(POST, STATUSES, data={"status": "x", "in_reply_to_id": "abc"}),
    "in_reply_to_id=-5": Case(POST, STATUSES, data={"status": "x", "in_reply_to_id": "-5"}),
    "in_reply_to_id too big": Case(
        POST, STATUSES, data={"status": "x", "in_reply_to_id": "9" * 30}
    ),
    "in_reply_to_id is an object": Case(
        POST, STATUSES, json={"status": "x", "in_reply_to_id": {"id": "1"}}
    ),
    "visibility=everyone": Case(POST, STATUSES, data={"status": "x", "visibility": "everyone"}),
    "visibility is a number": Case(POST, STATUSES, json={"status": "x", "visibility": 0}),
    "spoiler_text is a list": Case(POST, STATUSES, json={"status": "x", "spoiler_text": ["a"]}),
    "language=not a code": Case(POST, STATUSES, data={"status": "x", "language": "not a code"}),
    "limit=abc on home": Case(GET, "/api/v1/timelines/home", params={"limit": "abc"}),
    "limit=-1 on public": Case(GET, "/api/v1/timelines/public", params={"limit": "-1"}),
    "limit=abc on account statuses": Case(
        GET, "/api/v1/accounts/{alice}/statuses", params={"limit": "abc"}
    ),
    "max_id=abc on notifications": Case(GET, "/api/v1/notifications", params={"max_id": "abc"}),
    "since_id=1.5 on favourites": Case(GET, "/api/v1/favourites", params={"since_id": "1.5"}),
    "min_id too big on bookmarks": Case(GET, "/api/v1/bookmarks", params={"min_id": "9" * 25}),
    "exclude_replies=perhaps": Case(
        GET, "/api/v1/accounts/{alice}/statuses", params={"exclude_replies": "perhaps"}
    ),
    "ids[] not numbers": Case(GET, "/api/v1/accounts/relationships", params={"id[]": ["1", "x"]}),
    "ids[] superscript digit": Case(GET, "/api/v1/accounts/relationships", params={"id[]": "²"}),
    "ids[] negative": Case(GET, "/api/v1/accounts/relationships", params={"id[]": "-1"}),
    "ids[] objects (json)": Case(GET, "/api/v1/accounts/relationships", json={"id": [{"id": "1"}]}),
    "account_id=abc": Case(GET, "/api/v1/notifications", params={"account_id": "abc"}),
    "locked=sometimes": Case("PATCH", "/api/v1/accounts/update_credentials", data={"locked": "x"}),
    "display_name is a list": Case(
        "PATCH", "/api/v1/accounts/update_credentials", json={"display_name": ["a"]}
    ),
}


@pytest.mark.parametrize("case", WRONG_TYPES.values(), ids=list(WRONG_TYPES))
def test_wrong_type_is_422(unchanged: World, case: Case) -> None:
    assert_error(case.send(unchanged), 422)


def test_number_as_status_text_is_taken_as_text(world: World) -> None:
    # Mastodon (Rails) turns a JSON number into its text; a client's number is not lost.
    r = world.client.post(STATUSES, headers=world.alice.headers, json={"status": 1234})
    assert r.status_code == 200, r.text
    assert "1234" in r.json()["content"]


def test_in_reply_to_unknown_status_is_404(unchanged: World) -> None:
    case = Case(POST, STATUSES, data={"status": "x", "in_reply_to_id": "12345"})
    assert_error(case.send(unchanged), 404)


# --- unknown and non-numeric IDs --------------------------------------------------------

# The admin routes answer a non-admin's token 403 before looking at the id (as Mastodon's
# scope check does); tests/api/test_reports.py checks their ids with an admin's token.
ID_ROUTES = [
    (path, methods[0])
    for path, methods, _ in TABLE
    if "{id}" in path and not path.startswith("/api/v1/admin/")
]
# Dismissing an unknown notification succeeds (so that a retried dismiss does too).
UNKNOWN_ID_ROUTES = [(p, m) for p, m in ID_ROUTES if not p.endswith("/dismiss")]
NOT_IDS = ["abc", "-1", "1.5", "0x10", "²", "１２", "9" * 25, "1e3", "%00", "%20", "1%0A"]


@pytest.mark.parametrize(
    "path,method", UNKNOWN_ID_ROUTES, ids=[f"{m} {p}" for p, m in UNKNOWN_ID_ROUTES]
)
def test_unknown_id_is_404(unchanged: World, path: str, method: str) -> None:
    r = unchanged.client.request(method, path.format(id="12345"), headers=unchanged.bob.headers)
    assert_error(r, 404)


@pytest.mark.parametrize("path,method", ID_ROUTES, ids=[f"{m} {p}" for p, m in ID_ROUTES])
def test_non_numeric_id_is_404(unchanged: World, path: str, method: str) -> None:
    for junk in NOT_IDS:
        r = unchanged.client.request(method, path.format(id=junk), headers=unchanged.bob.headers)
        assert_error(r, 404)


def test_another_users_notification_is_404(unchanged: World) -> None:
    path = f"/api/v1/notifications/{unchanged.notification_id}"
    assert_error(unchanged.client.get(path, headers=unchanged.alice.headers), 404)
    assert unchanged.client.get(path, headers=unchanged.bob.headers).status_code == 200
    # Dismissing it as alice answers like dismissing an unknown one, and `unchanged`
    # checks that bob's notification is still there.
    r = unchanged.client.post(f"{path}/dismiss", headers=unchanged.alice.headers)
    assert r.status_code == 200, r.text


# --- size limits ------------------------------------------------------------------------

LIMIT = 2048


@pytest.fixture
def small(settings: Settings) -> Iterator[World]:
    """A world on a server that accepts request bodies of at most LIMIT bytes."""
    app = create_app(settings.with_overrides(max_body_bytes=LIMIT))
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        api = Api(c)
        alice = api.register("alice")
        status = api.post(alice, "hello")
        app_headers = {"Authorization": f"Bearer {api.app_token()}"}
        yield World(api, alice, alice, status, "0", app_headers)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    "path", ["/api/v1/statuses", "/api/v1/apps", "/oauth/token", "/api/v1/accounts"]
)
def test_body_over_the_limit_is_413(small: World, path: str, streamed: bool) -> None:
    headers = {**_credentials(small, path), "Content-Type": "application/x-www-form-urlencoded"}
    body = b"status=" + b"a" * LIMIT + b"&client_name=x&grant_type=password&username=x"
    before = small.state()
    content: Any = iter([body[:1000], body[1000:]]) if streamed else body
    r = small.client.post(path, content=content, headers=headers)
    body_json = assert_error(r, 413)
    assert str(LIMIT) in body_json["error"]
    assert small.state() == before


def test_body_at_the_limit_is_fine(small: World) -> None:
    body = b"status=" + b"b" * 400 + b"&x=" + b"y" * (LIMIT - 410)
    assert len(body) == LIMIT
    headers = {**small.alice.headers, "Content-Type": "application/x-www-form-urlencoded"}
    r = small.client.post(STATUSES, content=body, headers=headers)
    assert r.status_code == 200, r.text


# --- status text rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"status": ""},
        {"status": "   \n\t "},
        {},
        {"status": "a" * 501},
        {"status": "a" * 490, "spoiler_text": "b" * 11},
        {"status": "é" * 501},
    ],
    ids=["empty", "blank", "missing", "501 chars", "text + spoiler over 500", "501 accented"],
)
def test_empty_or_too_long_status_is_422(unchanged: World, fields: dict[str, str]) -> None:
    r = unchanged.client.post(STATUSES, headers=unchanged.alice.headers, data=fields)
    assert_error(r, 422)


def test_status_of_exactly_500_characters_is_fine(world: World) -> None:
    r = world.client.post(STATUSES, headers=world.alice.headers, data={"status": "é" * 500})
    assert r.status_code == 200, r.text


# --- NUL characters ---------------------------------------------------------------------


NUL_CASES = {
    "status (form)": Case(POST, STATUSES, data={"status": "a\x00b"}),
    "status (json)": Case(POST, STATUSES, json={"status": "a\x00b"}),
    "spoiler_text": Case(POST, STATUSES, data={"status": "x", "spoiler_text": "\x00"}),
    "visibility": Case(POST, STATUSES, data={"status": "x", "visibility": "public\x00"}),
    "display_name": Case(
        "PATCH", "/api/v1/accounts/update_credentials", data={"display_name": "a\x00"}
    ),
    "note (json)": Case("PATCH", "/api/v1/accounts/update_credentials", json={"note": "\x00"}),
    "acct": Case(GET, "/api/v1/accounts/lookup", params={"acct": "alice\x00"}),
    "types[]": Case(GET, "/api/v1/notifications", json={"types": ["mention\x00"]}),
    "client_name": Case(POST, "/api/v1/apps", data={"client_name": "x\x00y"}),
    "redirect_uris": Case(
        POST, "/api/v1/apps", data={"client_name": "x", "redirect_uris": "https://a\x00b"}
    ),
    "scopes": Case(POST, "/api/v1/apps", json={"client_name": "x", "scopes": "read\x00"}),
    "password grant": Case(
        POST,
        "/oauth/token",
        data={"grant_type": "password", "username": "alice\x00", "password": "x"},
    ),
}


@pytest.mark.parametrize("case", NUL_CASES.values(), ids=list(NUL_CASES))
def test_nul_character_is_422(unchanged: World, case: Case) -> None:
    assert_error(case.send(unchanged), 422)


def test_registration_with_nul_creates_no_account(unchanged: World) -> None:
    world = unchanged
    headers = world.app_headers
    before = db_rows(world.client)
    for field_name in ("username", "email", "password"):
        fields = {
            "username": "carol",
            "email": "carol@example.org",
            "password": "correct horse battery",
            "agreement": "true",
        }
        fields[field_name] = fields[field_name][:3] + "\x00" + fields[field_name][3:]
        r = world.client.post("/api/v1/accounts", headers=headers, data=fields)
        assert_error(r, 422)
    assert db_rows(world.client) == before
    assert_error(world.api.get("/api/v1/accounts/lookup", acct="carol"), 404)


# --- authentication and scopes ----------------------------------------------------------

NEEDS_TOKEN = [
    ("POST", "/api/v1/statuses"),
    ("DELETE", "/api/v1/statuses/{status}"),
    ("POST", "/api/v1/statuses/{status}/favourite"),
    ("POST", "/api/v1/statuses/{status}/reblog"),
    ("POST", "/api/v1/statuses/{status}/bookmark"),
    ("GET", "/api/v1/timelines/home"),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/notifications/{note}"),
    ("POST", "/api/v1/notifications/clear"),
    ("GET", "/api/v1/favourites"),
    ("GET", "/api/v1/bookmarks"),
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("PATCH", "/api/v1/accounts/update_credentials"),
    ("GET", "/api/v1/accounts/relationships"),
    ("POST", "/api/v1/accounts/{alice}/follow"),
    ("POST", "/api/v1/accounts/{alice}/unfollow"),
    ("POST", "/api/v1/accounts"),
    ("GET", "/api/v1/apps/verify_credentials"),
]


def _fill(w: World, path: str) -> str:
    return path.format(status=w.status["id"], alice=w.alice.id, note=w.notification_id)


@pytest.mark.parametrize("method,path", NEEDS_TOKEN, ids=[f"{m} {p}" for m, p in NEEDS_TOKEN])
def test_missing_token_is_401(unchanged: World, method: str, path: str) -> None:
    r = unchanged.client.request(method, _fill(unchanged, path), data={"status": "sneaky"})
    assert_error(r, 401)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer " + "x" * 5000, "bearer  wrong ", "Bearer \x7f"],
    ids=["unknown", "huge", "odd spacing", "control character"],
)
@pytest.mark.parametrize(
    "method,path",
    [("GET", "/api/v1/timelines/public"), ("GET", "/api/v1/timelines/home"), ("POST", STATUSES)],
)
def test_invalid_token_is_401_everywhere(
    unchanged: World, method: str, path: str, authorization: str
) -> None:
    r = unchanged.client.request(
        method, path, headers={"Authorization": authorization}, data={"status": "sneaky"}
    )
    assert_error(r, 401)


def test_revoked_token_is_401(world: World) -> None:
    token = world.api.token_with("alice", "read write")
    app = world.api.default_app()
    r = world.client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token},
    )
    assert r.status_code == 200, r.text
    r = world.client.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 401)


SCOPE_CASES = {
    "read token posts": ("read", Case(POST, STATUSES, data={"status": "sneaky"})),
    "read:accounts token reads home": ("read:accounts", Case(GET, "/api/v1/timelines/home")),
    "write:statuses token reads notifications": (
        "write:statuses",
        Case(GET, "/api/v1/notifications"),
    ),
    "read token favourites": ("read", Case(POST, "/api/v1/statuses/{status}/favourite")),
    "read token deletes": ("read", Case("DELETE", "/api/v1/statuses/{status}")),
    "write:favourites token reblogs": (
        "write:favourites",
        Case(POST, "/api/v1/statuses/{status}/reblog"),
    ),
    "read token follows": ("read", Case(POST, "/api/v1/accounts/{alice}/follow")),
    "read token clears notifications": ("read", Case(POST, "/api/v1/notifications/clear")),
    "write token reads bookmarks": ("write", Case(GET, "/api/v1/bookmarks")),
    "read:statuses token verifies credentials": (
        "read:statuses",
        Case(GET, "/api/v1/accounts/verify_credentials"),
    ),
}


@pytest.mark.parametrize("scope,case", SCOPE_CASES.values(), ids=list(SCOPE_CASES))
def test_token_without_the_scope_is_403(shared: World, scope: str, case: Case) -> None:
    world = shared
    token = world.api.token_with("bob", scope)
    bob = User(world.bob.id, "bob", token, {"Authorization": f"Bearer {token}"})
    before = world.state()
    body = assert_error(case.send(world, bob), 403)
    assert body == {"error": SCOPE_ERROR}
    assert world.state() == before


def test_the_right_granular_scope_is_enough(shared: World) -> None:
    world = shared
    token = world.api.token_with("bob", "read:statuses")
    r = world.client.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert world.status["id"] in [s["id"] for s in r.json()]


APP_ONLY = [
    ("POST", STATUSES),
    ("GET", "/api/v1/timelines/home"),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("POST", "/api/v1/accounts/{alice}/follow"),
    ("POST", "/api/v1/statuses/{status}/favourite"),
    ("GET", "/api/v1/favourites"),
]


@pytest.mark.parametrize("method,path", APP_ONLY, ids=[f"{m} {p}" for m, p in APP_ONLY])
def test_app_token_on_a_user_endpoint_is_422(unchanged: World, method: str, path: str) -> None:
    world = unchanged
    headers = world.app_headers
    before = world.state()
    r = world.client.request(method, _fill(world, path), headers=headers, data={"status": "x"})
    assert_error(r, 422)
    assert world.state() == before


# --- OAuth errors -----------------------------------------------------------------------


def assert_oauth_error(r: httpx.Response, status: int, code: str) -> None:
    body = assert_error(r, status)
    assert body["error"] == code
    assert isinstance(body.get("error_description"), str) and body["error_description"]


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_wrong_client_secret_is_401(unchanged: World, grant: str) -> None:
    app = unchanged.api.default_app()
    for client_id, secret in [
        (app["client_id"], "wrong"),
        (app["client_id"], ""),
        ("no-such-client", app["client_secret"]),
        (app["client_id"], app["client_secret"] + "x"),
    ]:
        r = unchanged.client.post(
            "/oauth/token",
            data={
                "grant_type": grant,
                "client_id": client_id,
                "client_secret": secret,
                "username": "alice",
                "password": "correct horse battery",
            },
        )
        assert_oauth_error(r, 401, "invalid_client")


@pytest.mark.parametrize(
    "authorization",
    ["Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Basic "],
    ids=["not base64", "not utf-8", "empty"],
)
def test_malformed_basic_auth_is_401(unchanged: World, authorization: str) -> None:
    r = unchanged.client.post(
        "/oauth/token",
        headers={"Authorization": authorization},
        data={"grant_type": "client_credentials"},
    )
    assert_oauth_error(r, 401, "invalid_client")


@pytest.mark.parametrize("grant", ["implicit", "refresh_token", "", "PASSWORD", None])
def test_unknown_grant_type_is_400(unchanged: World, grant: str | None) -> None:
    app = unchanged.api.default_app()
    data = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    if grant is not None:
        data["grant_type"] = grant
    r = unchanged.client.post("/oauth/token", data=data)
    assert_oauth_error(r, 400, "unsupported_grant_type")


def test_wrong_password_and_unknown_scope_are_400(unchanged: World) -> None:
    app = unchanged.api.default_app()
    base = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": "alice",
    }
    r = unchanged.client.post("/oauth/token", data={**base, "password": "wrong password"})
    assert_oauth_error(r, 400, "invalid_grant")
    r = unchanged.client.post(
        "/oauth/token",
        data={**base, "password": "correct horse battery", "scope": "read admin:everything"},
    )
    assert_oauth_error(r, 400, "invalid_scope")


@pytest.mark.parametrize(
    "field,value",
    [("login", ["alice"]), ("password", {"a": 1}), ("login", True), ("password", "a\x00b")],
    ids=["login is a list", "password is an object", "login is true", "password with NUL"],
)
def test_sign_in_form_with_a_value_that_is_not_text_is_4xx(
    shared: World, field: str, value: Any
) -> None:
    """The consent form read login and password outside its error handling: a JSON body
    whose login was not a string (or a password with NUL) was a 500 (found by test_fuzz)."""
    app = oauthflow.make_app(shared.api)
    form: dict[str, Any] = dict(oauthflow.consent_form(shared.api, app))
    form.update(login="alice", password=oauthflow.PASSWORD)
    form[field] = value
    before = db_rows(shared.client)
    r = shared.client.post("/oauth/authorize", json=form, follow_redirects=False)
    assert 400 <= r.status_code < 500, r.text
    assert "Traceback" not in r.text
    assert db_rows(shared.client) == before


@pytest.mark.parametrize(
    "name", ["%00", "a%00b", "x" * 101, "%F0%9F%A6%8B", "%20"], ids=str.__str__
)
def test_a_hashtag_no_status_can_have_is_an_empty_timeline(unchanged: World, name: str) -> None:
    """A NUL in the hashtag was sent to PostgreSQL, which refuses it in text: a 500 there
    (found by test_fuzz). A name no status text can make a hashtag of has no statuses."""
    for headers in ({}, unchanged.alice.headers):
        r = unchanged.client.get(f"/api/v1/timelines/tag/{name}", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == []


# --- routing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v3/instance",
        "/api/v1/statuses/1/2/3",
        "/api/v1/timelines/tag/",
        "/api/v1/accounts/1/nothing",
        "/api/v1/" + "x" * 3000,
        "/api/v1/%00",
    ],
)
def test_unknown_route_is_404_json(unchanged: World, path: str) -> None:
    assert_error(unchanged.client.get(path, headers=unchanged.alice.headers), 404)
    assert_error(unchanged.client.post(path, headers=unchanged.alice.headers), 404)


@pytest.mark.parametrize(
    "method,path",
    [
        ("PUT", STATUSES),
        ("DELETE", STATUSES),
        ("DELETE", "/api/v1/timelines/home"),
        ("GET", "/api/v1/apps"),
        ("GET", "/oauth/token"),
        ("POST", "/api/v1/instance"),
        ("PATCH", "/api/v1/statuses/{status}"),
        ("GET", "/api/v1/statuses/{status}/favourite"),
        ("DELETE", "/api/v1/accounts/{alice}"),
    ],
)
def test_wrong_method_is_405_json(unchanged: World, method: str, path: str) -> None:
    r = unchanged.client.request(method, _fill(unchanged, path), headers=unchanged.alice.headers)
    assert_error(r, 405)


# --- every route, with garbage ----------------------------------------------------------

# Every parameter any route reads, found in the handlers (tests/api/handlerparams.py), so a
# new one is in the garbage as soon as a handler reads it.
PARAM_NAMES = sorted({name for _, _, handler in TABLE for name in parameters(handler)})
JUNK_STRINGS = ["abc", "-1", "²", "\x00", "9" * 40, "", " ", "1e999", "%s%n", "' OR 1=1 --"]
JUNK_JSON: list[Any] = [None, True, -1, 1e308, 2**63, [], [[]], {}, {"a": [1]}, "\x00", "x" * 600]
PATH_FILLERS = ["abc", "9" * 30]


def _garbage_requests(w: World) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """(headers, request kwargs) for many kinds of nonsense."""
    token = w.bob.headers
    yield {}, {}
    yield {}, {"data": {"status": "x"}}
    yield {"Authorization": "Bearer nope"}, {}
    yield token, {}
    for junk in JUNK_STRINGS:
        params = {name: junk for name in PARAM_NAMES}
        params.update({f"{name}[]": junk for name in ("id", "types", "redirect_uris")})
        yield token, {"params": params}
        yield token, {"data": params}
    yield token, {"data": {"status": "x"}, "files": {"f": ("f.txt", b"x")}}
    for junk in JUNK_JSON:
        yield token, {"json": {name: junk for name in PARAM_NAMES}}
    for raw in MALFORMED.values():
        yield {**token, **JSON}, {"content": raw}
    yield {**token, "Content-Type": "multipart/form-data"}, {"content": b"--"}
    yield {**token, "Content-Type": "text/plain"}, {"content": b"\x00\xff" * 100}


ROUTE_IDS = [f"{methods[0]} {path}" for path, methods, _ in TABLE]


@pytest.mark.parametrize("path,methods", [(p, m) for p, m, _ in TABLE], ids=ROUTE_IDS)
def test_every_route_survives_garbage(garbage_world: World, path: str, methods: list[str]) -> None:
    world = garbage_world
    if "/statuses/{id}" in path:
        real = world.status["id"]
    elif "/notifications/{id}" in path:
        real = world.notification_id
    else:
        real = "hello" if "{hashtag}" in path else world.alice.id
    fillers = [real, *PATH_FILLERS] if re.search(r"\{[^}]+\}", path) else ["-"]
    for filler in fillers:
        url = re.sub(r"\{[^}]+\}", filler, path)
        for headers, kwargs in _garbage_requests(world):
            r = world.client.request(methods[0], url, headers=headers, **kwargs)
            described = f"{methods[0]} {url} {headers} {json.dumps(kwargs, default=str)[:200]}"
            assert r.status_code < 500, f"{described}: {r.status_code} {r.text}"
            if r.status_code >= 400:
                assert_error(r, r.status_code)
