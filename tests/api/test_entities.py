"""Real responses of the app, validated against the community OpenAPI description of Mastodon.

The schemas are the `components.schemas` of `shared/mastodon-openapi/schema.json` (generated
from the official Mastodon documentation). Every instance below comes from a request to the
running app through the `api`/`client` fixtures; nothing is mocked or written by hand.

`$ref`s such as `#/components/schemas/Account` resolve inside the whole OpenAPI document,
which is registered with `referencing` as one Draft 2020-12 resource. Formats are checked
with jsonschema's built-in checkers plus small `date-time` and `uri` checks of our own
(the optional packages that would provide those are not installed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests.conftest import Api, User

# The description is kept with the tests (tests/data/mastodon-openapi, with its provenance and
# license); ALOFT_MASTODON_OPENAPI points at another copy, e.g. a newer one being tried.
SCHEMA_PATH = Path(
    os.environ.get("ALOFT_MASTODON_OPENAPI")
    or Path(__file__).resolve().parents[1] / "data/mastodon-openapi/schema.json"
)
SCHEMA_URI = "urn:mastodon-openapi:schema.json"

if not SCHEMA_PATH.exists():
    pytest.skip(
        f"Mastodon OpenAPI description not found at {SCHEMA_PATH} (ALOFT_MASTODON_OPENAPI)",
        allow_module_level=True,
    )

# Where the schema is wrong about what Mastodon actually sends, the error is accepted:
# (schema name, start of the error as `describe` writes it) -> one-line reason.
KNOWN_SCHEMA_DEVIATIONS: dict[tuple[str, str], str] = {
    ("Instance", "$.contact.email: '' is not a 'email'"): (
        "Mastodon sends its site_contact_email setting, '' until an admin sets one"
    ),
    ("V1Instance", "$.email: '' is not a 'email'"): (
        "Mastodon sends its site_contact_email setting, '' until an admin sets one"
    ),
    **{
        ("TrendsLink", f"$.{field}: '' is not a 'uri'"): (
            "Mastodon's preview cards hold '' (the column default) for what a page did not say"
        )
        for field in ("author_url", "provider_url", "embed_url")
    },
}

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

format_checker = FormatChecker()


@format_checker.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    """RFC 3339 (`2019-11-23T19:44:00.124Z`), and a real date and time."""
    if not isinstance(instance, str):
        return True
    if not RFC3339.match(instance):
        return False
    datetime.fromisoformat(instance.upper())  # raises ValueError for 2019-02-30 or 25:00
    return True


@format_checker.checks("uri")
def _is_uri(instance: object) -> bool:
    """An absolute URI: a scheme and something after it (so `urn:ietf:wg:oauth:2.0:oob` counts)."""
    if not isinstance(instance, str):
        return True
    parts = urlsplit(instance)
    has_scheme = re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme) is not None
    return has_scheme and bool(parts.netloc or parts.path) and not re.search(r"\s", instance)


@cache
def registry() -> Registry:
    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(SCHEMA_URI, resource)


@cache
def validator(name: str, many: bool = False) -> Draft202012Validator:
    document = registry().contents(SCHEMA_URI)
    assert name in document["components"]["schemas"], f"no component schema {name!r}"
    ref = {"$ref": f"{SCHEMA_URI}#/components/schemas/{name}"}
    schema = {"type": "array", "items": ref} if many else ref
    return Draft202012Validator(schema, registry=registry(), format_checker=format_checker)


def json_path(error: ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def describe(error: ValidationError) -> str:
    """The innermost, most relevant error: oneOf/anyOf failures are followed into the branch.

    Branches that fail only because the value is of another type (`{"type": "null"}` beside
    `{"$ref": ".../Status"}`) are passed over, so the error names the field that is wrong.
    """
    while error.context:
        candidates = [e for e in error.context if e.relative_path or e.validator != "type"]
        inner = best_match(candidates or error.context)
        if inner is None:
            break
        error = inner
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    return f"{json_path(error)}: {message} [schema: {schema_path}]"


def conformance_errors(
    name: str, instance: Any, many: bool = False, deviations: bool = True
) -> list[str]:
    """Readable errors of `instance` against the schema `name`, known deviations left out."""
    errors = sorted(
        validator(name, many).iter_errors(instance), key=lambda e: list(map(str, e.path))
    )
    found = [describe(e) for e in errors]
    if not deviations:
        return found
    return [
        e
        for e in found
        if not any(name == n and e.startswith(start) for n, start in KNOWN_SCHEMA_DEVIATIONS)
    ]


def assert_conforms(name: str, instance: Any, many: bool = False, deviations: bool = True) -> None:
    errors = conformance_errors(name, instance, many, deviations)
    if errors:
        shown = json.dumps(instance, indent=1)[:3000]
        pytest.fail(
            f"response does not conform to {name}{'[]' if many else ''}"
            f" ({len(errors)} error(s)):\n  " + "\n  ".join(errors) + f"\nresponse:\n{shown}",
            pytrace=False,
        )


# --- one small world, built through the API ------------------------------------------------


@dataclass
class World:
    api: Api
    alice: User
    bob: User
    post: dict[str, Any]  # alice's plain post
    reply: dict[str, Any]  # bob's reply to it
    mention: dict[str, Any]  # bob's post with @alice and #hashtag
    reblog: dict[str, Any]  # bob's reblog of alice's post (the wrapper)

    def ok(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        headers = user.headers if user else {}
        r = self.api.client.request(method, path, headers=headers, **kw)
        assert r.status_code == 200, f"{method} {path} -> {r.status_code}: {r.text}"
        return r.json()


@pytest.fixture
def world(api: Api) -> World:
    alice = api.register("alice")
    bob = api.register("bob")
    api.follow(bob, alice)  # follow notification for alice
    post = api.post(alice, "Just a plain post")
    reply = api.post(bob, "@alice a reply", in_reply_to_id=post["id"])
    mention = api.post(bob, "Hello @alice, have a look at #aloft")
    r = api.client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=bob.headers)
    assert r.status_code == 200, r.text
    r = api.client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=bob.headers)
    assert r.status_code == 200, r.text
    return World(api, alice, bob, post, reply, mention, r.json())


# --- Account and CredentialAccount ---------------------------------------------------------


def test_account(world: World) -> None:
    account = world.ok("GET", f"/api/v1/accounts/{world.alice.id}")
    assert account["id"] == world.alice.id
    assert_conforms("Account", account)


def test_account_with_a_status_and_followers(world: World) -> None:
    """After posting and being followed: last_status_at and the counts are set."""
    account = world.ok("GET", f"/api/v1/accounts/{world.alice.id}", world.bob)
    assert account["last_status_at"] is not None
    assert account["followers_count"] == 1
    assert_conforms("Account", account)


def test_accounts_inside_statuses(world: World) -> None:
    statuses = world.ok("GET", f"/api/v1/accounts/{world.bob.id}/statuses", world.alice)
    assert statuses
    for status in statuses:
        assert_conforms("Account", status["account"])


def test_credential_account_verify_credentials(world: World) -> None:
    me = world.ok("GET", "/api/v1/accounts/verify_credentials", world.alice)
    assert "source" in me and "role" in me
    assert_conforms("CredentialAccount", me)


def test_credential_account_update_credentials(world: World) -> None:
    me = world.ok(
        "PATCH",
        "/api/v1/accounts/update_credentials",
        world.alice,
        data={"display_name": "Alice", "note": "I write *tests*", "locked": "false"},
    )
    assert me["display_name"] == "Alice"
    assert me["source"]["note"] == "I write *tests*"
    assert_conforms("CredentialAccount", me)


# --- Status ---------------------------------------------------------------------------------


def test_status_plain_post(world: World) -> None:
    assert world.post["in_reply_to_id"] is None
    assert_conforms("Status", world.post)


def test_status_reply(world: World) -> None:
    assert world.reply["in_reply_to_id"] == world.post["id"]
    assert world.reply["in_reply_to_account_id"] == world.alice.id
    assert_conforms("Status", world.reply)


def test_status_with_mention_and_hashtag(world: World) -> None:
    assert [m["id"] for m in world.mention["mentions"]] == [world.alice.id]
    assert [t["name"] for t in world.mention["tags"]] == ["aloft"]
    assert_conforms("Status", world.mention)


def test_status_reblog_wrapper(world: World) -> None:
    wrapper = world.reblog
    assert isinstance(wrapper["reblog"], dict), "the reblog response must nest the original"
    assert wrapper["reblog"]["id"] == world.post["id"]
    assert wrapper["reblogged"] is True
    assert_conforms("Status", wrapper)
    assert_conforms("Status", wrapper["reblog"])


def test_status_read_anonymously(world: World) -> None:
    status = world.ok("GET", f"/api/v1/statuses/{world.post['id']}")
    assert "favourited" not in status
    assert_conforms("Status", status)


def test_status_read_by_a_viewer(world: World) -> None:
    status = world.ok("GET", f"/api/v1/statuses/{world.post['id']}", world.bob)
    assert status["favourited"] is True
    assert status["reblogged"] is True
    assert status["bookmarked"] is False
    assert_conforms("Status", status)


def test_status_delete_response(world: World) -> None:
    deleted = world.ok("DELETE", f"/api/v1/statuses/{world.mention['id']}", world.bob)
    assert isinstance(deleted["text"], str) and "#aloft" in deleted["text"]
    assert_conforms("Status", deleted)


def test_statuses_in_home_timeline(world: World) -> None:
    home = world.ok("GET", "/api/v1/timelines/home", world.bob)
    assert len(home) >= 3
    assert_conforms("Status", home, many=True)


# --- Context --------------------------------------------------------------------------------


def test_context_descendants(world: World) -> None:
    context = world.ok("GET", f"/api/v1/statuses/{world.post['id']}/context", world.alice)
    assert [s["id"] for s in context["descendants"]] == [world.reply["id"]]
    assert_conforms("Context", context)


def test_context_ancestors(world: World) -> None:
    context = world.ok("GET", f"/api/v1/statuses/{world.reply['id']}/context")
    assert [s["id"] for s in context["ancestors"]] == [world.post["id"]]
    assert_conforms("Context", context)


# --- Notification ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mention", "follow", "favourite", "reblog"])
def test_notification(world: World, kind: str) -> None:
    notes = world.ok("GET", "/api/v1/notifications", world.alice)
    of_kind = [n for n in notes if n["type"] == kind]
    assert of_kind, f"no {kind} notification among {[n['type'] for n in notes]}"
    for note in of_kind:
        assert note["account"]["id"] == world.bob.id
        assert (note["status"] is None) == (kind == "follow")
        assert_conforms("Notification", note)


# --- Relationship ---------------------------------------------------------------------------


def test_relationships(world: World) -> None:
    rels = world.ok(
        "GET", "/api/v1/accounts/relationships", world.bob, params={"id[]": [world.alice.id]}
    )
    assert [r["id"] for r in rels] == [world.alice.id]
    assert rels[0]["following"] is True
    assert_conforms("Relationship", rels, many=True)


def test_relationship_from_follow(world: World) -> None:
    rel = world.ok("POST", f"/api/v1/accounts/{world.bob.id}/follow", world.alice)
    assert rel["following"] is True and rel["followed_by"] is True
    assert_conforms("Relationship", rel)


# --- Instance -------------------------------------------------------------------------------


INSTANCE_CASES = [("/api/v2/instance", "Instance"), ("/api/v1/instance", "V1Instance")]


@pytest.mark.parametrize(("path", "name"), INSTANCE_CASES)
def test_instance(world: World, path: str, name: str) -> None:
    assert_conforms(name, world.ok("GET", path))


@pytest.mark.parametrize(("path", "name"), INSTANCE_CASES)
def test_instance_with_contact_email(settings: Settings, path: str, name: str) -> None:
    """A configured server, so the known deviation of an empty contact email does not apply."""
    configured = settings.with_overrides(contact_email="admin@example.org")
    with TestClient(create_app(configured), base_url="http://127.0.0.1:8080") as client:
        r = client.get(path)
    assert r.status_code == 200, r.text
    assert "admin@example.org" in r.text
    assert_conforms(name, r.json(), deviations=False)


# --- Application, CredentialApplication, Token ----------------------------------------------


def test_credential_application(api: Api) -> None:
    app = api.app()
    assert app["client_id"] and app["client_secret"]
    assert_conforms("CredentialApplication", app)


def test_credential_application_with_website_and_two_redirect_uris(api: Api) -> None:
    r = api.client.post(
        "/api/v1/apps",
        data={
            "client_name": "two uris",
            "redirect_uris": "https://app.example/callback\nurn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write",
            "website": "https://app.example",
        },
    )
    assert r.status_code == 200, r.text
    app = r.json()
    assert len(app["redirect_uris"]) == 2
    assert_conforms("CredentialApplication", app)


def test_application_verify_credentials(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.app_token()}"}
    r = api.client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert r.status_code == 200, r.text
    app = r.json()
    assert "client_secret" not in app
    assert_conforms("Application", app)


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_token_from_oauth(api: Api, grant: str) -> None:
    api.register("carol")
    app = api.default_app()
    data = {"client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "read"}
    if grant == "password":
        data |= {"username": "carol", "password": "correct horse battery"}
    r = api.client.post("/oauth/token", data={"grant_type": grant, **data})
    assert r.status_code == 200, r.text
    assert_conforms("Token", r.json())


def test_token_from_registration(api: Api) -> None:
    r = api.client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {api.app_token()}"},
        data={
            "username": "dave",
            "email": "dave@example.org",
            "password": "correct horse battery",
            "agreement": "true",
        },
    )
    assert r.status_code == 200, r.text
    assert_conforms("Token", r.json())


# --- Error ----------------------------------------------------------------------------------


ErrorCase = Callable[[Api], Any]


def _unauthenticated(api: Api) -> Any:
    return api.client.get("/api/v1/accounts/verify_credentials")


def _bad_client_secret(api: Api) -> Any:
    app = api.default_app()
    return api.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": "wrong",
        },
    )


def _unknown_status(api: Api) -> Any:
    return api.client.get("/api/v1/statuses/999999")


def _empty_status(api: Api) -> Any:
    user = api.register("erin")
    return api.client.post("/api/v1/statuses", headers=user.headers, data={"status": ""})


def _taken_username(api: Api) -> Any:
    api.register("frank")
    return api.client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {api.app_token()}"},
        data={
            "username": "frank",
            "email": "frank2@example.org",
            "password": "correct horse battery",
            "agreement": "true",
        },
    )


@pytest.mark.parametrize(
    ("status_code", "make"),
    [
        pytest.param(401, _unauthenticated, id="401-no-token"),
        pytest.param(401, _bad_client_secret, id="401-oauth-invalid-client"),
        pytest.param(404, _unknown_status, id="404-unknown-status"),
        pytest.param(422, _empty_status, id="422-empty-status"),
        pytest.param(422, _taken_username, id="422-taken-username"),
    ],
)
def test_error(api: Api, status_code: int, make: ErrorCase) -> None:
    r = make(api)
    assert r.status_code == status_code, r.text
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert_conforms("Error", body)
    if status_code == 422:  # Mastodon's ValidationError: `details` is required
        assert_conforms("ValidationError", body)


def _registration(api: Api, **fields: str) -> Any:
    data = {
        "username": "gina",
        "email": "gina@example.org",
        "password": "correct horse battery",
        "agreement": "true",
    }
    return api.client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {api.app_token()}"},
        data={**data, **fields},
    )


def _long_status(api: Api) -> Any:
    user = api.register("hank")
    return api.client.post("/api/v1/statuses", headers=user.headers, data={"status": "x" * 501})


def _app_token_posts(api: Api) -> Any:
    headers = {"Authorization": f"Bearer {api.app_token()}"}
    return api.client.post("/api/v1/statuses", headers=headers, data={"status": "hi"})


def _api_registration(**fields: str) -> ErrorCase:
    return lambda api: _registration(api, **fields)


@pytest.mark.parametrize(
    ("make", "details"),
    [
        pytest.param(
            _taken_username,
            {"username": [{"error": "ERR_TAKEN", "description": "has already been taken"}]},
            id="taken-username",
        ),
        pytest.param(
            _api_registration(username="bad name", email="nope", password="short"),
            {
                "username": [
                    {
                        "error": "ERR_INVALID",
                        "description": "must contain only letters, numbers and underscores",
                    }
                ],
                "email": [{"error": "ERR_INVALID", "description": "is invalid"}],
                "password": [
                    {"error": "ERR_TOO_SHORT", "description": "is too short (minimum is 8)"}
                ],
            },
            id="three-bad-fields",
        ),
        pytest.param(
            _api_registration(agreement="false"),
            {"agreement": [{"error": "ERR_ACCEPTED", "description": "must be accepted"}]},
            id="no-agreement",
        ),
        pytest.param(
            _empty_status,
            {"status": [{"error": "ERR_BLANK", "description": "can't be blank"}]},
            id="empty-status",
        ),
        pytest.param(
            _long_status,
            {
                "status": [
                    {"error": "ERR_TOO_LONG", "description": "character limit of 500 exceeded"}
                ]
            },
            id="long-status",
        ),
        pytest.param(
            lambda api: api.client.get("/api/v1/timelines/public", params={"limit": "many"}),
            {"limit": [{"error": "ERR_INVALID", "description": "must be a whole number"}]},
            id="parameter-of-the-wrong-type",
        ),
        pytest.param(_app_token_posts, {}, id="no-field-to-name"),
    ],
)
def test_validation_error_details(
    api: Api, make: ErrorCase, details: dict[str, list[dict[str, str]]]
) -> None:
    """Every 422 carries `details` (Mastodon's ValidationError), naming the fields at fault
    with Mastodon's ERR_* codes where the server knows them, and `{}` where it does not."""
    r = make(api)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["details"] == details, body

    assert_conforms("ValidationError", body)


# --- the checker itself ---------------------------------------------------------------------


def test_validation_catches_broken_shapes(world: World) -> None:
    """Guard against a vacuous check: refs resolve, and wrong shapes are reported with paths."""
    broken = json.loads(json.dumps(world.reblog))
    del broken["account"]["id"]
    broken["reblog"]["favourites_count"] = "1"
    broken["created_at"] = "yesterday"
    errors = conformance_errors("Status", broken)
    assert any(e.startswith("$.account: 'id' is a required property") for e in errors), errors
    assert any(e.startswith("$.reblog.favourites_count: '1' is not of type") for e in errors), (
        errors
    )
    assert any(e.startswith("$.created_at: 'yesterday' is not a 'date-time'") for e in errors), (
        errors
    )
