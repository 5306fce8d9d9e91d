"""Rate limits: Mastodon's documented defaults, headers on every response, a switch."""

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from aloft.api.ratelimit import GENERAL, RateLimiter, Rule
from aloft.app import create_app
from aloft.config import Settings
from aloft.errors import RateLimited
from tests.conftest import Api, start_server, stop_server


@pytest.fixture
def limited(tmp_path: Path):
    with TestClient(create_app(Settings(data_dir=tmp_path, rate_limits=True))) as client:
        yield Api(client)


def test_headers_on_every_api_response(limited: Api) -> None:
    r = limited.get("/api/v1/timelines/public")
    assert r.headers["x-ratelimit-limit"] == "300"
    assert r.headers["x-ratelimit-remaining"] == "299"
    assert r.headers["x-ratelimit-reset"].endswith("Z")
    missing = limited.get("/api/v1/statuses/1")
    assert missing.status_code == 404 and missing.headers["x-ratelimit-remaining"] == "298"


def test_registration_is_limited_per_ip(limited: Api) -> None:
    headers = {"Authorization": f"Bearer {limited.app_token()}"}
    codes = []
    for i in range(6):
        r = limited.client.post(
            "/api/v1/accounts",
            headers=headers,
            data={
                "username": f"u{i}",
                "email": f"u{i}@example.org",
                "password": "long enough",
                "agreement": "1",
            },
        )
        codes.append(r.status_code)
    assert codes == [200] * 5 + [429]
    assert r.json() == {"error": "Too many requests"}
    assert r.headers["x-ratelimit-limit"] == "5" and int(r.headers["retry-after"]) > 0
    assert limited.get("/api/v1/accounts/lookup", acct="u5").status_code == 404, (
        "nothing was created"
    )


def test_switched_off_means_no_limit_and_no_headers(api: Api) -> None:
    r = api.get("/api/v1/timelines/public")
    assert "x-ratelimit-limit" not in r.headers


def test_limiter_windows() -> None:
    limiter = RateLimiter()
    rule = Rule("test", 2, 60)
    assert limiter.hit(rule, "k", now=120.0).remaining == 1
    assert limiter.hit(rule, "k", now=121.0).remaining == 0
    with pytest.raises(RateLimited) as caught:
        limiter.hit(rule, "k", now=122.0)
    assert caught.value.retry_after == 58
    assert limiter.hit(rule, "other", now=122.0).remaining == 1, "keys are counted apart"
    assert limiter.hit(rule, "k", now=180.0).remaining == 1, "a new window starts afresh"
    assert GENERAL.limit == 300 and GENERAL.window_seconds == 300


def _remaining(url: str, forwarded_for: str) -> int:
    r = httpx.get(
        f"{url}/api/v1/timelines/public", headers={"X-Forwarded-For": forwarded_for}, timeout=10
    )
    assert r.status_code == 200, r.text
    return int(r.headers["x-ratelimit-remaining"])


def test_a_client_cannot_choose_its_rate_limit_bucket(tmp_path: Path) -> None:
    """A standalone `aloft serve` counts a client by its socket address: an X-Forwarded-For
    header from a client (here from 127.0.0.1, which uvicorn trusts by default) changes
    nothing. Only a proxy listed in ALOFT_TRUSTED_PROXIES may name the client."""
    server = start_server(tmp_path / "alone", {"ALOFT_RATE_LIMITS": "on"})
    try:
        counts = [_remaining(server.url, f"192.0.2.{i}") for i in (1, 2, 3)]
    finally:
        stop_server(server)
    # One bucket (127.0.0.1's, which start_server's own polling already drew from).
    assert counts[1:] == [counts[0] - 1, counts[0] - 2]

    proxied = start_server(
        tmp_path / "proxied", {"ALOFT_RATE_LIMITS": "on", "ALOFT_TRUSTED_PROXIES": "127.0.0.1"}
    )
    try:
        counts = [_remaining(proxied.url, f"192.0.2.{i}") for i in (1, 2, 1)]
    finally:
        stop_server(proxied)
    assert counts == [299, 299, 298]
