"""One mapping from domain errors to HTTP (aloft.api.errors), used by the JSON API and the
web pages alike: every error class has exactly one status, and a page answers the status
and headers the API would (404, 503 with Retry-After, 429 with Retry-After)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aloft import errors
from aloft.api.errors import STATUS, http_error
from aloft.app import create_app
from aloft.config import Settings
from tests.api import oauthflow
from tests.conftest import Api, free_port


def _subclasses(cls: type[errors.AloftError]) -> list[type[errors.AloftError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _instance(cls: type[errors.AloftError]) -> errors.AloftError:
    if cls is errors.RateLimited:
        return errors.RateLimited("slow down", 7, {"X-RateLimit-Limit": "300"})
    return cls("something")


def test_every_error_has_exactly_one_status() -> None:
    """A new error class cannot be forgotten: each one the services can raise has its own
    row (looked up by exact class, so no row is inherited), and families that are never
    raised (OAuthError) have none."""
    classes = _subclasses(errors.AloftError)
    assert errors.InvalidClient in classes and errors.Conflict in classes
    for cls in classes:
        if cls in errors.FAMILIES:
            assert cls not in STATUS, f"{cls.__name__} is never raised and has no status"
            continue
        assert cls in STATUS, f"{cls.__name__} has no HTTP status in aloft.api.errors.STATUS"
        assert 400 <= STATUS[cls] < 600
        assert http_error(_instance(cls)).status == STATUS[cls]
    assert set(STATUS) <= set(classes), "a row for a class that is not an AloftError"


@pytest.mark.parametrize(
    ("exc", "status", "headers"),
    [
        (errors.NotFound("Record not found"), 404, {}),
        (errors.Unavailable("down", retry_after=5), 503, {"Retry-After": "5"}),
        (
            errors.RateLimited("slow", 42, {"X-RateLimit-Remaining": "0"}),
            429,
            {"Retry-After": "42", "X-RateLimit-Remaining": "0"},
        ),
        (errors.InvalidClient("who?"), 401, {}),
        (errors.InvalidGrant("no"), 400, {}),
        (errors.UnsupportedGrantType("no"), 400, {}),
    ],
)
def test_status_and_headers(exc: errors.AloftError, status: int, headers: dict[str, str]) -> None:
    mapped = http_error(exc)
    assert (mapped.status, mapped.headers) == (status, headers)


def test_oauth_body_names_the_rfc_code() -> None:
    body = http_error(errors.InvalidScope("too much")).body
    assert body == {"error": "invalid_scope", "error_description": "too much"}


def test_every_422_has_details() -> None:
    assert http_error(errors.Invalid("Validation failed: nope")).body == {
        "error": "Validation failed: nope",
        "details": {},
    }
    taken = errors.Conflict.on("username", "ERR_TAKEN", "is already taken")
    assert http_error(taken).body == {
        "error": "Validation failed: Username is already taken",
        "details": {"username": [{"error": "ERR_TAKEN", "description": "is already taken"}]},
    }


def test_authorize_page_for_an_unknown_client(api: Api) -> None:
    page = api.client.get("/oauth/authorize", params={"client_id": "nope"})
    assert page.status_code == 401 and "Unknown client_id" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_authorize_page_for_a_redirect_uri_the_app_did_not_register(api: Api) -> None:
    app = oauthflow.make_app(api)
    page = api.client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": "https://evil.example/"},
    )
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")


def test_pages_answer_503_with_retry_after_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    """Nothing listens on the database port: the pages answer as the API does, 503 with
    Retry-After (they answered 400, and the front page 500)."""
    settings = Settings(
        data_dir=tmp_path,
        rate_limits=False,
        database_url=f"postgresql+psycopg://aloft@/aloft?host=127.0.0.1:{free_port()}"
        "&target_session_attrs=read-write&connect_timeout=2",
        db_read_deadline=0.3,
        db_write_deadline=0.3,
    )
    with TestClient(create_app(settings, migrate=False)) as client:
        api = client.get("/api/v1/timelines/public")
        assert api.status_code == 503 and api.headers["retry-after"] == "5"
        for path in ("/", "/oauth/authorize?client_id=x&response_type=code"):
            page = client.get(path)
            assert page.status_code == 503, (path, page.status_code)
            assert page.headers["retry-after"] == api.headers["retry-after"]
            assert page.headers["content-type"].startswith("text/html")
            assert "database is unavailable" in page.text


def test_unknown_path_and_wrong_method(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing/here")
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
    wrong = client.delete("/api/v1/instance")
    assert wrong.status_code == 405 and wrong.json() == {"error": "Method not allowed"}
    assert "GET" in wrong.headers["allow"]
