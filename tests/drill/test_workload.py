"""The workload's parts against a real `aloft serve`: the loopback rule, one operation's
attempts and outcomes, account set-up and the paged final read."""

from __future__ import annotations

import uuid

import httpx
import pytest

from aloft.drill.workload import (
    WorkloadError,
    WorkloadSettings,
    attempt,
    loopback_url,
    read_back,
    register_accounts,
)
from tests.conftest import Server, free_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.2.1:8080/some/path?x=1", "http://127.0.2.1:8080"),
        ("http://localhost:9000/", "http://127.0.0.1:9000"),
        ("https://127.255.0.9", "https://127.255.0.9"),
    ],
)
def test_loopback_urls_are_accepted(url: str, expected: str) -> None:
    assert loopback_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:8080",
        "http://192.168.1.2",
        "http://example.org",
        "http://[::1]:8080",
        "http://128.0.0.1",
        "http://0.0.0.0:8080",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(WorkloadError, match=r"only 127\.0\.0\.0/8"):
        loopback_url(url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8080", "http://"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(WorkloadError):
        loopback_url(url)


def test_too_many_clients_are_refused() -> None:
    with pytest.raises(WorkloadError, match="clients must be 1 to 64"):
        WorkloadSettings(clients=65)


def test_outcomes_of_one_operation(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=5, trust_env=False) as http:
        ok = attempt(lambda: http.get("/api/v1/instance"), budget=5, write=False)
        assert (ok.outcome, ok.count, ok.error) == ("ok", 1, None)
        # A definite refusal is not retried: the server said no.
        refused = attempt(lambda: http.post("/api/v1/statuses"), budget=5, write=True)
        assert refused.outcome == "fail" and refused.count == 1
        assert refused.error is not None and refused.error.startswith("HTTP 401")

    # Nobody listens: retried until the budget is spent, and then we cannot know.
    closed = f"http://127.0.0.1:{free_port()}"
    with httpx.Client(base_url=closed, timeout=1, trust_env=False) as http:
        for write in (True, False):
            unknown = attempt(lambda: http.post("/api/v1/statuses"), budget=0.5, write=write)
            assert unknown.outcome == "info"
            assert unknown.count >= 2
            assert unknown.error is not None and "ConnectError" in unknown.error


def test_accounts_and_a_paged_final_read(server: Server) -> None:
    settings = WorkloadSettings(clients=2)
    run_id = uuid.uuid4().hex[:8]
    first, second = register_accounts(server.url, run_id, settings)
    assert first.username == f"drill_{run_id}_0" and first.process == 0
    keys = []
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {first.token}"}, timeout=10
    ) as http:
        for n in range(45):  # more than one page of 40
            key = uuid.uuid4().hex
            keys.append(key)
            r = http.post(
                "/api/v1/statuses",
                data={"status": f"post {n} key={key}"},
                headers={"Idempotency-Key": key},
            )
            assert r.status_code == 200, r.text
        r = http.post("/api/v1/statuses", data={"status": "no key in here"})
        assert r.status_code == 200, r.text
    statuses = read_back(server.url, [first, second], settings)
    assert len(statuses) == 46
    assert {s.account_id for s in statuses} == {first.id}
    assert sorted(s.key for s in statuses if s.key) == sorted(keys)
    assert [s.key for s in statuses if s.key is None] == [None]
    assert len({s.id for s in statuses}) == 46


def test_set_up_against_nothing_says_so() -> None:
    with pytest.raises(WorkloadError, match="could not register the drill app"):
        register_accounts(f"http://127.0.0.1:{free_port()}", "x", WorkloadSettings(clients=1))
