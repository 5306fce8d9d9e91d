"""Every route, every parameter it reads, with non-ASCII, oversized and wrong-typed values.

Generated twice over, so that nothing new escapes it: the routes are the application's own
route list (the API table, the OAuth pages, the front page, health), and each route's
parameters are the names its handler passes to `Params`'s getters, found in the source
(`tests.api.handlerparams`). Each parameter gets, on top of a valid request for its route,
a seeded sample of every kind of junk below, each sent in one of the encodings it can
travel in (query string; and where the route takes a body: form, JSON, multipart), with
a token that holds every scope, and anonymously where the route is open. Path parameters
get their own junk. Every answer must be below 500; a 4xx from the API must be a JSON
object with an "error" string; and a refused request must change nothing: the row count
of every table after each refused write, and every row after a batch that was all refused.

`ALOFT_FUZZ_SAMPLE` (values per kind and parameter; `all` for every value) and
`ALOFT_FUZZ_SEED` widen a run; the defaults keep this file well under a minute per engine.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import orjson
import pytest
import sqlalchemy as sa
from starlette.routing import Route
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from aloft.services import scopes
from aloft.storage.schema import metadata
from tests import pg
from tests.api.handlerparams import UnreadableParameter, parameters
from tests.api.test_bad_input import World, db_rows, make_world
from tests.conftest import Api, User

SEED = int(os.environ.get("ALOFT_FUZZ_SEED", "9"))
_sample = os.environ.get("ALOFT_FUZZ_SAMPLE", "2")
SAMPLE = None if _sample == "all" else int(_sample)

QUERY, FORM, JSON, MULTIPART = "query", "form", "json", "multipart"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
OOB = "urn:ietf:wg:oauth:2.0:oob"
PASSWORD = "correct horse battery"


# --- the junk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Junk:
    """One bad value. `items` is how it travels in a query string, form or multipart body
    (raw bytes, several for a repeated `name[]`); `json` is its raw JSON text. A value that
    cannot travel one way has None there."""

    label: str
    items: tuple[bytes, ...] | None
    json: bytes | None
    suffix: str = ""  # "[]" for an array, "[x]" for a Rails-style hash

    def encodings(self, body: bool) -> list[str]:
        out = [QUERY] if self.items is not None else []
        if body:
            out += [FORM, MULTIPART] if self.items is not None else []
            out += [JSON] if self.json is not None else []
        return out


def text(label: str, value: str) -> Junk:
    return Junk(label, (value.encode("utf-8", "surrogatepass"),), orjson.dumps(value))


def raw_json(label: str, value: bytes) -> Junk:
    return Junk(label, None, value)


def raw_bytes(label: str, value: bytes) -> Junk:
    return Junk(label, (value,), None)


def number(label: str, value: str) -> Junk:
    """A number: as text in a form, as a bare number in JSON."""
    return Junk(label, (value.encode(),), value.encode())


NON_ASCII = [
    text("accents", "Ça élève naïve façade"),
    text("CJK", "漢字かなカナ한국어"),
    text("emoji", "🦋👩🏽‍💻🏳️‍🌈"),
    text("RTL marks", "\u202eevil\u202c \u200fעברית العربية\u200e"),
    text("NUL", "a\x00b"),
    text("control characters", "\x01\x02\x1b[2J\x07\x7f\x85\u2028\u2029"),
    text("zero-width and BOM", "\ufeff\u200b\u2060x"),
    text("combining marks", "e" + "\u0301" * 60),
    text("non-ASCII digits", "١٢٣²１２"),
    text("private use and noncharacters", "\ue000\uffff\U0010ffff"),
    raw_json("lone high surrogate", b'"\\ud800"'),
    raw_json("lone low surrogate", b'"a\\udfffb"'),
    raw_bytes("invalid UTF-8", b"\xff\xfe"),
    raw_bytes("Latin-1 byte", b"caf\xe9"),
    raw_bytes("UTF-8-encoded surrogate", b"\xed\xa0\x80"),
    raw_bytes("overlong UTF-8", b"\xc0\xaf"),
]

OVERSIZED = [
    text("100 KB", "x" * 102_400),
    text("100 KB accented", "é" * 51_200),
    Junk(
        "10,000 items",
        (b"x",) * 10_000,
        b"[" + b",".join([b'"x"'] * 10_000) + b"]",
        suffix="[]",
    ),
    Junk("10,000 numbers", (b"1",) * 10_000, b"[" + b",".join([b"1"] * 10_000) + b"]", "[]"),
    number("huge integer", "9" * 400),
    number("2**63", str(2**63)),
    number("2**64", str(2**64)),
    number("negative", "-1"),
    number("very negative", str(-(2**63) - 1)),
    number("1e309", "1e309"),
    number("-1e309", "-1e309"),
    number("1e18 as float", "1e18"),
    text("NaN", "NaN"),
    text("Infinity", "-Infinity"),
    raw_json("deeply nested array", b"[" * 5_000 + b"]" * 5_000),
    raw_json("nested array under the limit", b"[" * 500 + b"]" * 500),
    raw_json("deeply nested object", b'{"a":' * 600 + b"1" + b"}" * 600),
]

WRONG_TYPES = [
    raw_json("array of strings", b'["a", "b"]'),
    raw_json("empty array", b"[]"),
    raw_json("array of objects", b'[{"id": "1"}]'),
    raw_json("array of arrays", b'[["x"]]'),
    raw_json("object", b'{"a": "b"}'),
    raw_json("empty object", b"{}"),
    raw_json("true", b"true"),
    raw_json("false", b"false"),
    raw_json("null", b"null"),
    raw_json("fraction", b"1.5"),
    raw_json("zero", b"0"),
    Junk("repeated field", (b"a", b"b"), None, suffix="[]"),
    Junk("hash field", (b"v",), None, suffix="[x]"),
    Junk("empty array field", (b"",), None, suffix="[]"),
    text("empty", ""),
    text("blank", " \t\n"),
]

BOOLEAN_SPELLINGS = [
    text(f"boolean {word!r}", word)
    for word in [
        "true", "false", "True", "FALSE", "1", "0", "yes", "no", "on", "off",
        "t", "f", "y", "n", "T", " true ", "null", "nil", "undefined", "2",
    ]
]  # fmt: skip

KINDS: dict[str, list[Junk]] = {
    "non-ASCII": NON_ASCII,
    "oversized": OVERSIZED,
    "wrong type": WRONG_TYPES,
    "boolean spelling": BOOLEAN_SPELLINGS,
}

PATH_JUNK = [
    "é",
    "漢字",
    "🦋",
    "\u202e1",
    "%00",
    "%FF%FE",
    "9" * 40,
    str(2**63),
    str(2**64),
    "-1",
    str(-(2**63)),
    "0",
    "1e309",
    "0x10",
    "١٢٣",
    "%20 1",
    "..%2F..%2F",
    "..",
    "x" * 5_000,
]


# A path parameter: {id}, {hashtag}, {rest:path}…
PATH_PARAM = re.compile(r"\{[^}]+\}")


# --- the routes -------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    params: tuple[str, ...]

    @property
    def body(self) -> bool:
        return self.method in BODY_METHODS

    @property
    def page(self) -> bool:
        """A page for people: its errors are HTML, not JSON."""
        return not self.path.startswith(("/api/", "/oauth/token", "/oauth/revoke"))


def route_cases() -> list[RouteCase]:
    """Every method of every route the application serves (trailing-slash twins, HEAD and
    static files aside), with the parameters its handler reads."""
    app = create_app(Settings(), migrate=False)
    out: dict[tuple[str, str], RouteCase] = {}
    for route in app.routes:
        if not isinstance(route, Route) or (route.path.endswith("/") and route.path != "/"):
            continue
        names = tuple(sorted(parameters(route.endpoint)))
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out[method, route.path] = RouteCase(method, route.path, names)
    return list(out.values())


ROUTES = route_cases()


# --- the world --------------------------------------------------------------------------


@dataclass
class Fuzz:
    """The shared world plus what the fuzz needs: a token with every scope, an app."""

    world: World
    user: User  # bob, with every scope
    app: dict[str, Any]
    csrf: str = field(default_factory=lambda: "c" * 43)

    @property
    def client(self) -> TestClient:
        return self.world.client

    def counts(self) -> dict[str, int]:
        db = self.client.app.state.db  # type: ignore[attr-defined]
        query = sa.select(
            *[sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name)
              for t in metadata.sorted_tables]
        )  # fmt: skip

        def unit(conn: sa.Connection) -> dict[str, int]:
            return dict(conn.execute(query).one()._mapping)

        result: dict[str, int] = db.read(unit)
        return result


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzz]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz") / "data", rate_limits=False)
    server: pg.PostgresServer | None = None
    name = f"aloft_fuzz_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        server.psql(f"CREATE DATABASE {name} TEMPLATE aloft_template")
        settings = settings.with_overrides(database_url=server.url(name))
    # A server error is answered (and noted with the rest), not raised into the test.
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as c:
        api = Api(c)
        world = make_world(api)
        every = " ".join(sorted(scopes.KNOWN))
        everything = api.app(every)
        r = c.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": everything["client_id"],
                "client_secret": everything["client_secret"],
                "username": "bob",
                "password": PASSWORD,
                "scope": every,
            },
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        bob = User(world.bob.id, "bob", token, {"Authorization": f"Bearer {token}"})
        yield Fuzz(world, bob, everything)
    if server is not None:
        server.psql(f"DROP DATABASE {name} WITH (FORCE)")


Base = Callable[[Fuzz], dict[str, str]]


def _client(f: Fuzz) -> dict[str, str]:
    return {"client_id": f.app["client_id"], "client_secret": f.app["client_secret"]}


def _authorize(f: Fuzz) -> dict[str, str]:
    return {**_client(f), "redirect_uri": OOB, "response_type": "code", "scope": "read"}


# A valid request per route, so that a fuzzed parameter gets past the others. A route not
# named here is fuzzed from an empty request.
BASES: dict[tuple[str, str], list[Base]] = {
    ("POST", "/api/v1/statuses"): [lambda f: {"status": "fuzz"}],
    ("POST", "/api/v1/apps"): [lambda f: {"client_name": "fuzz", "redirect_uris": OOB}],
    ("POST", "/oauth/token"): [
        lambda f: {**_client(f), "grant_type": "client_credentials"},
        lambda f: {**_client(f), "grant_type": "password", "username": "bob", "password": "x"},
        lambda f: {**_client(f), "grant_type": "authorization_code", "code": "x"},
    ],
    ("POST", "/oauth/revoke"): [lambda f: {**_client(f), "token": "not-a-token"}],
    ("POST", "/api/v1/accounts"): [
        lambda f: {
            "username": "fuzzer",
            "email": "fuzzer@example.org",
            "password": PASSWORD,
            "agreement": "true",
        }
    ],
    ("GET", "/api/v1/accounts/lookup"): [lambda f: {"acct": "alice"}],
    ("GET", "/api/v2/search"): [lambda f: {"q": "hello"}],
    ("GET", "/oauth/authorize"): [_authorize],
    ("POST", "/oauth/authorize"): [lambda f: {**_authorize(f), "csrf_token": f.csrf}],
}


def real_path(f: Fuzz, path: str) -> str:
    """The route's path filled with IDs that exist."""
    w = f.world
    if path.startswith("/api/v1/statuses/"):
        real = w.status["id"]
    elif path.startswith("/api/v1/notifications/"):
        real = w.notification_id
    else:
        real = w.alice.id
    return PATH_PARAM.sub(real, path.replace("{hashtag}", "hello"))


# --- sending ----------------------------------------------------------------------------


# A URL longer than this is refused by the HTTP client itself (and by a real server's
# request-line limit); oversized values travel in bodies, and are cut to fit in URLs.
MAX_QUERY = 60_000


def _pairs(
    base: dict[str, str], name: str, junk: Junk | None, in_url: bool = False
) -> list[tuple[str, bytes]]:
    pairs = [(k, v.encode()) for k, v in base.items() if k != name]
    if junk is not None:
        assert junk.items is not None
        items = junk.items
        if in_url and len(items) > 1:
            items = items[: MAX_QUERY // (len(name) + 20)]
        elif in_url:
            items = (items[0][: MAX_QUERY // 3],)
        pairs += [(name + junk.suffix, item) for item in items]
    return pairs


def _urlencoded(pairs: list[tuple[str, bytes]]) -> bytes:
    return "&".join(
        f"{quote_from_bytes(k.encode(), safe='[]')}={quote_from_bytes(v, safe='')}"
        for k, v in pairs
    ).encode()


def _multipart(pairs: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "fuzz" + uuid.uuid4().hex
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), k.encode(), v)
        for k, v in pairs
    ]
    return b"".join(parts) + b"--%s--\r\n" % boundary.encode(), boundary


def _json(base: dict[str, str], name: str, junk: Junk | None) -> bytes:
    fields = [orjson.dumps(k) + b":" + orjson.dumps(v) for k, v in base.items() if k != name]
    if junk is not None:
        assert junk.json is not None
        fields.append(orjson.dumps(name) + b":" + junk.json)
    return b"{" + b",".join(fields) + b"}"


def send(
    f: Fuzz,
    case: RouteCase,
    path: str,
    headers: dict[str, str],
    base: dict[str, str],
    name: str = "",
    junk: Junk | None = None,
    encoding: str = QUERY,
) -> httpx.Response:
    headers = dict(headers)
    if case.path == "/oauth/authorize":
        headers["Cookie"] = f"aloft_csrf={f.csrf}"
    content: bytes | None = None
    if encoding == QUERY:
        query = _urlencoded(_pairs(base, name, junk, in_url=True))
        path = f"{path}?{query.decode()}" if query else path
    elif encoding == FORM:
        content = _urlencoded(_pairs(base, name, junk))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif encoding == MULTIPART:
        content, boundary = _multipart(_pairs(base, name, junk))
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    else:
        content = _json(base, name, junk)
        headers["Content-Type"] = "application/json"
    return f.client.request(case.method, path, headers=headers, content=content)


def problem(case: RouteCase, r: httpx.Response) -> str | None:
    """What is wrong with an answer, or None."""
    if r.status_code >= 500:
        return f"{r.status_code} {r.text[:300]}"
    if "Traceback" in r.text:
        return "a traceback in the body"
    ctype = r.headers.get("content-type", "")
    if case.page and not ctype.startswith("application/json"):
        return None
    if not ctype.startswith("application/json"):
        return f"{r.status_code} with content-type {ctype!r}"
    try:
        body = r.json()
    except ValueError:
        return f"{r.status_code} with a body that is not JSON: {r.text[:200]!r}"
    if r.status_code >= 400:
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return f"{r.status_code} without an error string: {r.text[:200]}"
        if not body["error"].strip():
            return f"{r.status_code} with an empty error"
    return None


@dataclass
class Run:
    """Sends requests and collects every problem, so one run reports them all."""

    f: Fuzz
    case: RouteCase
    problems: list[str] = field(default_factory=list)

    def check(self, label: str, path: str, headers: dict[str, str], *args: Any) -> bool:
        """Send (as `send` does); note any problem; True when the request was refused."""
        write = self.case.method != "GET"
        before = self.f.counts() if write else {}
        r = send(self.f, self.case, path, headers, *args)
        found = problem(self.case, r)
        if found:
            self.problems.append(f"{self.case.method} {self.case.path} {label}: {found}")
        refused = 400 <= r.status_code < 500
        if write and refused:
            after = self.f.counts()
            if after != before:
                changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
                self.problems.append(
                    f"{self.case.method} {self.case.path} {label}: refused with "
                    f"{r.status_code} but changed {changed}"
                )
        return refused


def sample(rng: random.Random, junk: list[Junk]) -> list[Junk]:
    return list(junk) if SAMPLE is None else rng.sample(junk, min(SAMPLE, len(junk)))


def viewers(f: Fuzz, case: RouteCase, path: str, base: dict[str, str]) -> list[tuple[str, dict]]:
    """The token with every scope; and no token at all where the route is open. Pages for
    people read no bearer token (a browser sends none), so they get only the latter."""
    if case.page:
        return [("anonymous", {})]
    out: list[tuple[str, dict[str, str]]] = [("token", f.user.headers)]
    if send(f, case, path, {}, base).status_code != 401:
        out.append(("anonymous", {}))
    return out


@pytest.mark.parametrize("case", ROUTES, ids=[f"{c.method} {c.path}" for c in ROUTES])
def test_every_parameter_survives_junk(fuzz: Fuzz, case: RouteCase) -> None:
    f = fuzz
    rng = random.Random(f"{SEED} {case.method} {case.path}")
    run = Run(f, case)
    path = real_path(f, case.path)
    bases = [make(f) for make in BASES.get((case.method, case.path), [lambda f: {}])]
    for who, headers in viewers(f, case, path, bases[0]):
        for name in case.params:
            rows = db_rows(f.client)
            all_refused = True
            for kind, junk_list in KINDS.items():
                for junk in sample(rng, junk_list):
                    encodings = junk.encodings(case.body)
                    if not encodings:
                        continue
                    encoding = rng.choice(encodings)
                    which = rng.randrange(len(bases))
                    base = bases[which]
                    label = f"{who} {name}={junk.label} ({kind}, {encoding}, base {which})"
                    all_refused &= run.check(label[:300], path, headers, base, name, junk, encoding)
            if all_refused and db_rows(f.client) != rows:
                run.problems.append(
                    f"{case.method} {case.path} {who} {name}: all refused, yet rows changed"
                )
    assert not run.problems, "\n".join(run.problems[:40])


PATH_ROUTES = [c for c in ROUTES if PATH_PARAM.search(c.path)]


@pytest.mark.parametrize("case", PATH_ROUTES, ids=[f"{c.method} {c.path}" for c in PATH_ROUTES])
def test_every_path_parameter_survives_junk(fuzz: Fuzz, case: RouteCase) -> None:
    f = fuzz
    run = Run(f, case)
    base = (BASES.get((case.method, case.path)) or [lambda f: {}])[0](f)
    for filler in PATH_JUNK:
        path = PATH_PARAM.sub(filler, case.path)
        for who, headers in [("token", f.user.headers), ("anonymous", {})]:
            run.check(f"{who} {path[:100]}", path, headers, base)
    assert not run.problems, "\n".join(run.problems[:40])


# --- the parameter finder finds what it must --------------------------------------------


def test_the_parameter_finder_follows_helpers() -> None:
    found = {(c.method, c.path): set(c.params) for c in ROUTES}
    # Read by the handler itself, by a helper of its module, by one of another module
    # (page_request), and through a module constant (the CSRF field).
    assert {"status", "visibility", "in_reply_to_id"} <= found["POST", "/api/v1/statuses"]
    assert {"client_id", "client_secret", "code_verifier"} <= found["POST", "/oauth/token"]
    assert {"limit", "max_id", "since_id", "min_id"} <= found["GET", "/api/v1/timelines/home"]
    assert {"csrf_token", "login", "code_challenge"} <= found["POST", "/oauth/authorize"]
    assert {"types", "exclude_types", "account_id"} <= found["GET", "/api/v1/notifications"]


def test_a_name_the_finder_cannot_read_is_an_error() -> None:
    def handler(ctx: Any) -> Any:
        name = "sta" + "tus"
        return ctx.params.string(name)

    with pytest.raises(UnreadableParameter):
        parameters(handler)


def test_the_finder_sees_a_handler_that_reads_the_query_string_itself() -> None:
    def handler(request: Any) -> Any:
        return request.query_params.get("stream"), request.query_params["list"]

    assert parameters(handler) == {"stream", "list"}
