"""Rate limits: Mastodon's documented defaults, headers on every response, a switch."""

import dataclasses
import io
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Connection
from starlette.testclient import TestClient

from aloft import ids
from aloft.app import create_app
from aloft.config import Settings
from aloft.errors import RateLimited
from aloft.services.limits import FOLLOWS, GENERAL, MEDIA, POSTS, Limiter, Rule
from aloft.storage.database import Database
from aloft.storage.schema import accounts, follows, statuses
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
    limiter = Limiter()
    rule = Rule("test", 2, 60)
    assert limiter.hit(rule, "k", now=120.0).remaining == 1
    assert limiter.hit(rule, "k", now=121.0).remaining == 0
    with pytest.raises(RateLimited) as caught:
        limiter.hit(rule, "k", now=122.0)
    # Sliding: both requests still count until half of the next window has passed.
    assert caught.value.retry_after == 88
    assert limiter.hit(rule, "other", now=122.0).remaining == 1, "keys are counted apart"
    assert limiter.hit(rule, "k", now=210.0).remaining == 0, "half of the two still count"
    assert limiter.hit(rule, "k", now=300.0).remaining == 1, "a window later, all is free"
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


@pytest.fixture
def limited_both(settings: Settings) -> Iterator[Api]:
    """A rate-limited app on each engine."""
    with TestClient(
        create_app(dataclasses.replace(settings, rate_limits=True)),
        base_url="http://127.0.0.1:8080",
    ) as client:
        yield Api(client)


def test_refused_requests_count_too(limited_both: Api) -> None:
    """A guesser's 401s (bad tokens) and 403s (wrong scope) spend the budget like any
    request: the 301st request in five minutes is refused whatever it would have been."""
    bad = {"Authorization": "Bearer not-a-token"}
    codes = Counter(
        limited_both.client.get("/api/v1/timelines/home", headers=bad).status_code
        for _ in range(GENERAL.limit)
    )
    assert codes == {401: GENERAL.limit}
    r = limited_both.client.get("/api/v1/timelines/home", headers=bad)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.json() == {"error": "Too many requests"}


def _old_posts(settings: Settings, account_id: int, count: int, hours: float) -> None:
    """`count` statuses of the account spread over the last `hours`, written directly."""
    db = Database.from_settings(settings)
    start = time.time() - hours * 3600

    def unit(conn: Connection) -> None:
        for i in range(count):
            at = start + i * hours * 3600 / count
            conn.execute(
                sa.insert(statuses).values(
                    id=ids.id_for_time(int(at * 1000)) + i,
                    account_id=account_id,
                    text=f"old {i}",
                    content=f"<p>old {i}</p>",
                    visibility=0,
                    created_at=datetime.fromtimestamp(at, UTC),
                )
            )

    db.write(unit)
    db.dispose()


def test_posts_are_limited_per_account(limited_both: Api, settings: Settings) -> None:
    """300 posts (or reblogs) per 3 hours per account, counted from the posts themselves,
    so every app process sees the same count. A retried post is answered, not refused."""
    alice = limited_both.register("alice")
    bob = limited_both.register("bob")
    _old_posts(settings, int(alice.id), POSTS.limit - 1, hours=2.5)
    key = {"Idempotency-Key": "the-300th"}
    last = limited_both.client.post(
        "/api/v1/statuses", headers={**alice.headers, **key}, data={"status": "the 300th"}
    )
    assert last.status_code == 200, last.text
    refused = limited_both.client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "one too many"}
    )
    assert refused.status_code == 429 and refused.json() == {"error": "Too many posts"}
    # The oldest of the 300 leaves the 3-hour window about 30 minutes from now.
    assert 25 * 60 < int(refused.headers["retry-after"]) <= 31 * 60
    again = limited_both.client.post(
        "/api/v1/statuses", headers={**alice.headers, **key}, data={"status": "the 300th"}
    )
    assert again.status_code == 200 and again.json()["id"] == last.json()["id"]
    bobs = limited_both.post(bob, "a post to reblog")
    reblog = limited_both.client.post(
        f"/api/v1/statuses/{bobs['id']}/reblog", headers=alice.headers
    )
    assert reblog.status_code == 429, reblog.text
    statuses_count = limited_both.get(f"/api/v1/accounts/{alice.id}").json()["statuses_count"]
    assert limited_both.post(bob, "bob is not limited")["content"]
    assert statuses_count <= POSTS.limit


def test_limits_are_shared_by_two_server_processes(tmp_path: Path) -> None:
    """Two `aloft serve` processes on one database count one registration budget, and
    learn each other's general counts within a few syncs."""
    data = tmp_path / "shared"
    first = start_server(data, {"ALOFT_RATE_LIMITS": "on"})
    second = start_server(data, {"ALOFT_RATE_LIMITS": "on"})
    try:
        codes = []
        for i, server in enumerate([first, second] * 3):
            app = httpx.post(
                f"{server.url}/api/v1/apps",
                data={
                    "client_name": "t",
                    "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                    "scopes": "read write",
                },
            ).json()
            token = httpx.post(
                f"{server.url}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                    "scope": "read write",
                },
            ).json()["access_token"]
            r = httpx.post(
                f"{server.url}/api/v1/accounts",
                headers={"Authorization": f"Bearer {token}"},
                data={
                    "username": f"user{i}",
                    "email": f"user{i}@example.org",
                    "password": "long enough",
                    "agreement": "true",
                },
            )
            codes.append(r.status_code)
        assert codes == [200] * 5 + [429], codes

        for _ in range(100):
            _remaining(first.url, "192.0.2.1")
        # Each process syncs every second; on a loaded machine (the suite's other workers) a
        # sync can come late, so wait up to 10 s. Each look is one more request of second's
        # own (at most 21), far from the 100 it must learn of from first.
        deadline = time.monotonic() + 10
        left = _remaining(second.url, "192.0.2.1")
        while left >= 300 - 100 and time.monotonic() < deadline:
            time.sleep(0.5)
            left = _remaining(second.url, "192.0.2.1")
        assert left < 300 - 100, left
    finally:
        stop_server(first)
        stop_server(second)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_media_uploads_are_limited_per_account(limited_both: Api) -> None:
    alice = limited_both.register("alice")
    png = _png()
    codes = [
        limited_both.client.post(
            "/api/v2/media", headers=alice.headers, files={"file": ("a.png", png, "image/png")}
        ).status_code
        for _ in range(MEDIA.limit + 1)
    ]
    assert codes == [200] * MEDIA.limit + [429]


def _old_follows(settings: Settings, account_id: int, count: int) -> None:
    """`count` follows by the account over the last hours, of accounts made for them."""
    db = Database.from_settings(settings)

    def unit(conn: Connection) -> None:
        template = dict(
            conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()._mapping
        )
        start = time.time() - 20 * 3600
        for i in range(count):
            target = ids.new_id()
            name = f"followed{i}"
            conn.execute(
                sa.insert(accounts).values(
                    {
                        **template,
                        "id": target,
                        "username": name,
                        "username_lower": name,
                        "email": f"{name}@example.org",
                        "followers_count": 0,
                    }
                )
            )
            at = start + i * 60
            conn.execute(
                sa.insert(follows).values(
                    id=ids.id_for_time(int(at * 1000)) + i,
                    account_id=account_id,
                    target_account_id=target,
                    created_at=datetime.fromtimestamp(at, UTC),
                )
            )

    db.write(unit)
    db.dispose()


def test_follows_are_limited_per_account(limited_both: Api, settings: Settings) -> None:
    """400 follows (and follow requests) a day per account, counted from the rows; following
    someone already followed is answered, not refused."""
    alice = limited_both.register("alice")
    bob = limited_both.register("bob")
    carol = limited_both.register("carol")
    _old_follows(settings, int(alice.id), FOLLOWS.limit - 1)
    ok = limited_both.client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    assert ok.status_code == 200 and ok.json()["following"] is True, ok.text
    refused = limited_both.client.post(f"/api/v1/accounts/{carol.id}/follow", headers=alice.headers)
    assert refused.status_code == 429 and refused.json() == {"error": "Too many follows"}
    # The oldest of the 400 was made 20 hours ago: room again in about 4 hours.
    assert 3.9 * 3600 < int(refused.headers["retry-after"]) <= 4.1 * 3600
    again = limited_both.client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    assert again.status_code == 200, again.text
    carol_seen = limited_both.get(f"/api/v1/accounts/{carol.id}").json()
    assert carol_seen["followers_count"] == 0, "the refused follow left nothing behind"
    assert (
        limited_both.client.post(
            f"/api/v1/accounts/{bob.id}/follow", headers=carol.headers
        ).status_code
        == 200
    )
