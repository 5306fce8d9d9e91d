"""What the server shows to whom beyond the API: /metrics, and tokens in URLs.

* `/metrics` is for the operator: with ALOFT_METRICS_TOKEN set, only a request bearing that
  token gets it; without, only a direct connection from a loopback address (no proxy header).
* `?access_token=` in the query string is refused by name (400), never served as anonymous,
  and never written to the log, even at debug level where requests are logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings, load_settings
from tests.conftest import Api, start_server, stop_server

REMOTE = ("203.0.113.9", 40000)
LOOPBACK = ("127.0.0.1", 40000)
TOKEN = "metrics-secret-0123456789"


def client(settings: Settings, peer: tuple[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080", client=peer) as c:
        yield c


@pytest.fixture
def remote(settings: Settings) -> Iterator[TestClient]:
    yield from client(settings, REMOTE)


@pytest.fixture
def loopback(settings: Settings) -> Iterator[TestClient]:
    yield from client(settings, LOOPBACK)


def test_metrics_are_refused_to_a_remote_peer(remote: TestClient) -> None:
    r = remote.get("/metrics")
    assert r.status_code == 403, r.text
    assert "ALOFT_METRICS_TOKEN" in r.json()["error"]


def test_metrics_are_served_to_loopback_but_not_through_a_proxy(loopback: TestClient) -> None:
    r = loopback.get("/metrics")
    assert r.status_code == 200, r.text
    assert "aloft_http_requests_total" in r.text
    for header in ({"X-Forwarded-For": "198.51.100.7"}, {"Forwarded": "for=198.51.100.7"}):
        r = loopback.get("/metrics", headers=header)
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("peer", [REMOTE, LOOPBACK], ids=["remote", "loopback"])
def test_metrics_with_a_token_setting_need_the_token(
    settings: Settings, peer: tuple[str, int]
) -> None:
    for c in client(settings.with_overrides(metrics_token=TOKEN), peer):
        assert c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Bearer é".encode()},
        ):
            r = c.get("/metrics", headers=headers)
            assert r.status_code == 401, r.text
            assert r.json() == {"error": "/metrics needs the token set in ALOFT_METRICS_TOKEN"}


def test_the_metrics_token_is_a_setting() -> None:
    assert load_settings({"ALOFT_METRICS_TOKEN": TOKEN}).metrics_token == TOKEN
    assert load_settings({}).metrics_token == ""


QUERY_TOKEN_ERROR = {
    "error": "access_token in the query string is not accepted: "
    "send it in the Authorization header (Bearer)"
}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/timelines/public", "/api/v1/accounts/verify_credentials", "/api/v1/instance"],
)
def test_a_token_in_the_query_string_is_refused_by_name(api: Api, path: str) -> None:
    alice = api.register("alice")
    r = api.client.get(path, params={"access_token": alice.token})
    assert r.status_code == 400, r.text
    assert r.json() == QUERY_TOKEN_ERROR
    # Also beside a header: the URL holding a token is the problem, not who asks.
    r = api.client.get(path, params={"access_token": alice.token}, headers=alice.headers)
    assert r.status_code == 400, r.text


def test_a_token_in_the_query_string_is_never_logged(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"ALOFT_LOG_LEVEL": "debug"})
    secret = "QueryStringSecretToken123"
    try:
        r = httpx.get(f"{server.url}/api/v1/timelines/public?access_token={secret}&limit=1")
        assert r.status_code == 400, r.text
        r = httpx.get(f"{server.url}/api/v1/timelines/public?limit=1")
        assert r.status_code == 200
    finally:
        stop_server(server)
    log = server.log.read_text()
    assert "/api/v1/timelines/public?limit=1" in log  # requests are logged at debug level
    assert secret not in log
    assert "access_token=[redacted]" in log
