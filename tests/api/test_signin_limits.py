"""Sign-in attempts are limited per IP and per account (issue 9, finding 1)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests.conftest import Api

REDIRECT = "https://app.example/callback"
PASSWORD = "correct horse battery"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _app(api: Api, redirect: str = REDIRECT) -> dict:
    r = api.client.post(
        "/api/v1/apps",
        json={"client_name": "web app", "redirect_uris": [redirect], "scopes": "read write"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _form(api: Api, app: dict, **extra: str) -> dict[str, str]:
    """GET the consent page like a browser and return its form's hidden fields."""
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "scope": "read write",
        **extra,
    }
    page = api.client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))


def _code(api: Api, app: dict, **extra: str) -> str:
    form = _form(api, app, **extra)
    form.update(login="alice", password=PASSWORD)
    r = api.client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return parse_qs(urlparse(r.headers["location"]).query)["code"][0]


def _exchange(app: dict, code: str, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
        **fields,
    }


@pytest.fixture
def limited(settings: Settings) -> Iterator[Api]:
    with TestClient(
        create_app(dataclasses.replace(settings, rate_limits=True)),
        base_url="http://127.0.0.1:8080",
    ) as client:
        yield Api(client)


def _grant(client: TestClient, app: dict, username: str, password: str) -> int:
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": password,
        },
    )
    return r.status_code


def test_sign_in_is_limited_per_account(limited: Api) -> None:
    """Mastodon: 25 sign-in attempts per hour for one account, right password or not,
    from any number of addresses, by username or by email, on the page or by the API."""
    limited.register("alice")
    app = _app(limited)
    form = _form(limited, app)
    elsewhere = TestClient(
        limited.client.app, base_url="http://127.0.0.1:8080", client=("192.0.2.7", 1)
    )
    third = TestClient(
        limited.client.app, base_url="http://127.0.0.1:8080", client=("192.0.2.8", 1)
    )
    for _ in range(13):
        r = limited.client.post(
            "/oauth/authorize",
            data={**form, "login": "ALICE", "password": "wrong guess"},
            follow_redirects=False,
        )
        assert r.status_code == 401, r.text
    assert [_grant(elsewhere, app, "alice@example.org", "wrong guess") for _ in range(12)] == [
        400
    ] * 12
    assert _grant(third, app, "alice", PASSWORD) == 429, "the right password too"
    locked = third.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "Alice@Example.org",
            "password": PASSWORD,
        },
    )
    assert locked.status_code == 429 and locked.json() == {"error": "Too many sign-in attempts"}
    assert int(locked.headers["retry-after"]) > 0
    page = limited.client.post(
        "/oauth/authorize", data={**form, "login": "alice", "password": PASSWORD}
    )
    assert page.status_code == 429 and "Too many sign-in attempts" in page.text
    assert int(page.headers["retry-after"]) > 0
    assert _grant(third, app, "bob", "guess") == 400, "other accounts are not locked"


def test_sign_in_is_limited_per_ip(limited: Api) -> None:
    """Mastodon: 25 sign-in attempts per 5 minutes from one address, over any accounts."""
    app = _app(limited)
    form = _form(limited, app)
    for i in range(13):
        r = limited.client.post(
            "/oauth/authorize",
            data={**form, "login": f"nobody{i}", "password": "guess"},
            follow_redirects=False,
        )
        assert r.status_code == 401
    for i in range(12):
        r = limited.client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": f"other{i}",
                "password": "guess",
            },
        )
        assert r.status_code == 400, r.text
    page = limited.client.post(
        "/oauth/authorize", data={**form, "login": "fresh", "password": "guess"}
    )
    assert page.status_code == 429
    grant = limited.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "fresh2",
            "password": "guess",
        },
    )
    assert grant.status_code == 429 and grant.headers["x-ratelimit-limit"] == "25"


def test_a_wrong_password_never_takes_the_write_lock(api: Api, settings: Settings) -> None:
    """The argon2 check runs outside any write transaction: with SQLite's write lock held
    by someone else, wrong guesses on the page and the password grant still answer at once
    (they used to queue behind the lock, stalling every post while they hashed)."""
    if settings.database_url:
        pytest.skip("SQLite's single write lock")
    api.register("alice")
    app = _app(api)
    form = _form(api, app)
    answers: list[int] = []

    def guesses() -> None:
        page = api.client.post(
            "/oauth/authorize", data={**form, "login": "alice", "password": "wrong"}
        )
        grant = api.client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": "alice",
                "password": "wrong",
            },
        )
        answers.extend([page.status_code, grant.status_code])

    holder = sqlite3.connect(settings.data_dir / "aloft.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        worker = threading.Thread(target=guesses)
        worker.start()
        worker.join(timeout=4)
        finished = not worker.is_alive()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    worker.join()
    assert finished, "a sign-in attempt waited for the write lock"
    assert answers == [401, 400]
