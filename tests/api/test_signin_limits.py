"""Sign-in attempts are limited per IP and per account (issue 9, finding 1)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from tests.api.oauthflow import (
    PASSWORD,
)
from tests.api.oauthflow import consent_form as _form
from tests.api.oauthflow import make_app as _app
from tests.conftest import Api


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
