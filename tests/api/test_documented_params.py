"""No parameter silently dropped (issue 13, item 13): every documented parameter of an
implemented operation is either read by its handler or refused with a 422 that names it.

The walk: each route of `aloft.api.routes.TABLE` whose method and path the Mastodon API
description (tests/data/mastodon-openapi) documents is an operation; its documented
parameters are the query parameters and the request body's properties (an object
property with properties of its own stands for its keys, `source[privacy]`…); the ones
its handler reads are found in the handler's source (tests/api/handlerparams.py). What is
documented and not read must be in `aloft.api.unsupported.REFUSED`, and nothing else may
be. Then a real `aloft serve` is asked: each refused parameter is answered 422 naming it,
with nothing written; each read one, and a parameter nobody documents (a cache buster),
is not refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from aloft.api import routes, unsupported
from tests.api.handlerparams import object_keys, parameters
from tests.conftest import Server, register_http

DESCRIPTION = Path(__file__).parent.parent / "data" / "mastodon-openapi" / "schema.json"
SCOPES = "read write follow push admin:read admin:write"
# Written by every request (the rate limits' shared counts), whatever it answers.
ALWAYS_WRITTEN = {"rate_counts"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as our route table writes it
    documented: frozenset[str]
    read: frozenset[str]

    @property
    def refused(self) -> frozenset[str]:
        return self.documented - self.read


@cache
def _description() -> dict[str, Any]:
    return json.loads(DESCRIPTION.read_text())


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = _description()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A body schema's properties, through $ref, allOf, oneOf and anyOf."""
    schema = _resolve(schema)
    found = dict(schema.get("properties", {}))
    for combined in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(combined, []):
            found.update(_properties(part))
    return found


def documented(op: dict[str, Any]) -> frozenset[str]:
    names = {
        _resolve(p)["name"].removesuffix("[]")
        for p in op.get("parameters", [])
        if _resolve(p)["in"] == "query"
    }
    for content in op.get("requestBody", {}).get("content", {}).values():
        for name, prop in _properties(content["schema"]).items():
            keys = _properties(prop)
            if keys:
                names.update(f"{name}[{key}]" for key in keys)
            else:
                names.add(name.removesuffix("[]"))
    return frozenset(names)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def operations() -> list[Operation]:
    paths = {_shape(p): ops for p, ops in _description()["paths"].items()}
    found = []
    for path, methods, handler in routes.TABLE:
        for method in methods:
            op = paths.get(_shape(path), {}).get(method.lower())
            if op is None:
                continue
            read = parameters(handler) | object_keys(handler)
            found.append(Operation(method, path, documented(op), read))
    return found


def _entry(op: Operation) -> str:
    names = ", ".join(f'"{n}"' for n in sorted(op.refused))
    return f'    ("{op.method}", "{op.path}"): frozenset({{{names}}}),'


def test_refusal_table_matches_the_description_and_the_handlers() -> None:
    ops = {(op.method, op.path): op for op in operations()}
    assert len(ops) > 50, "the walk found too few operations: is the description there?"
    expected = {key: op.refused for key, op in ops.items() if op.refused}
    wrong = [
        _entry(ops[key])
        for key in sorted(expected)
        if unsupported.REFUSED.get(key) != expected[key]
    ]
    stale = [f"    {key!r}" for key in sorted(unsupported.REFUSED) if key not in expected]
    message = []
    if wrong:
        message.append(
            "These routes' handlers do not read documented parameters; honour them in the "
            "handler, or refuse them by name: set these entries in "
            "aloft.api.unsupported.REFUSED:\n" + "\n".join(wrong)
        )
    if stale:
        message.append(
            "These entries of aloft.api.unsupported.REFUSED refuse nothing that is "
            "documented and unread any more (or their route is gone); remove them:\n"
            + "\n".join(stale)
        )
    assert not message, "\n\n".join(message)


# --- against a real server -------------------------------------------------------------


@dataclass
class Session:
    client: httpx.Client
    headers: dict[str, str]
    data_dir: Path


@pytest.fixture(scope="module")
def session(server: Server) -> Iterator[Session]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = register_http(client, "walker", scopes=SCOPES)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        yield Session(client, {"Authorization": f"Bearer {token}"}, server.data_dir)


def _send(s: Session, method: str, path: str, params: dict[str, str]) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", "1", path)
    if method in ("GET", "DELETE"):
        return s.client.request(method, url, headers=s.headers, params=params)
    return s.client.request(method, url, headers=s.headers, data=params)


def _refused(r: httpx.Response) -> bool:
    return r.status_code == 422 and "unsupported parameter" in r.json().get("error", "")


def _snapshot(data_dir: Path) -> str:
    """A digest of every table's rows but those every request writes."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{data_dir / 'aloft.db'}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(set(tables) - ALWAYS_WRITTEN):
            rows = sorted(repr(row) for row in db.execute(f'SELECT * FROM "{table}"'))
            digest.update(f"{table}:{rows}".encode())
    return digest.hexdigest()


def test_refused_parameters_are_refused_by_name_and_change_nothing(session: Session) -> None:
    before = _snapshot(session.data_dir)
    failures = []
    for (method, path), names in sorted(unsupported.REFUSED.items()):
        for name in sorted(names):
            r = _send(session, method, path, {name: "1"})
            if not (_refused(r) and name in r.json().get("details", {})):
                failures.append(f"{method} {path} {name}: {r.status_code} {r.text[:200]}")
    assert not failures, "not refused by name:\n" + "\n".join(failures)
    assert _snapshot(session.data_dir) == before, "a refused request changed the database"


def test_read_and_undocumented_parameters_are_not_refused(session: Session) -> None:
    failures = []
    for op in operations():
        for name in [*sorted(op.read & op.documented), "_"]:
            r = _send(session, op.method, op.path, {name: "1"})
            if _refused(r):
                failures.append(f"{op.method} {op.path} {name}: {r.text[:200]}")
    assert not failures, "refused though honoured or undocumented:\n" + "\n".join(failures)


def test_a_refused_key_of_an_object_or_a_file_is_named(session: Session) -> None:
    path = "/api/v1/accounts/update_credentials"
    if ("PATCH", path) not in unsupported.REFUSED:
        pytest.skip("update_credentials refuses nothing")
    me = session.client.get("/api/v1/accounts/verify_credentials", headers=session.headers)
    r = session.client.patch(
        path, headers=session.headers, json={"note": "new", "source": {"quote_policy": "public"}}
    )
    assert r.status_code == 422 and "source[quote_policy]" in r.json()["details"], r.text
    # A refused parameter in a multipart body is named before its files are looked at
    # (the avatar is honoured since issue 14, and stays as it was).
    r = session.client.patch(
        path,
        headers=session.headers,
        data={"attribution_domains[]": "example.org"},
        files={"avatar": ("a.png", b"\x89PNG", "image/png")},
    )
    assert r.status_code == 422 and "attribution_domains" in r.json()["details"], r.text
    assert "avatar" not in r.json()["details"], r.text
    after = session.client.get("/api/v1/accounts/verify_credentials", headers=session.headers)
    assert after.json()["source"]["note"] == me.json()["source"]["note"] != "new"
    assert after.json()["avatar"] == me.json()["avatar"]
