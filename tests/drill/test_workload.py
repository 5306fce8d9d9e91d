"""The workload's parts against a real `aloft serve`: the loopback rule, one operation's
attempts and outcomes (careful and plain), account set-up, both kinds of client at work and
the paged final read. Where a server must misbehave on purpose (answer 503, or hang), it is
a small real HTTP server in this file that counts what it receives."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from aloft.drill.history import Recorder
from aloft.drill.workload import (
    Account,
    PlainClient,
    Workload,
    WorkloadError,
    WorkloadSettings,
    attempt,
    loopback_url,
    once,
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


def test_the_clusters_own_hosts_are_accepted_and_nothing_else() -> None:
    hosts = ["10.77.0.2", "10.77.0.3"]
    assert loopback_url("http://10.77.0.2:8080/x", hosts) == "http://10.77.0.2:8080"
    assert loopback_url("http://127.0.0.1:8080", hosts) == "http://127.0.0.1:8080"
    with pytest.raises(WorkloadError) as refused:
        loopback_url("http://10.77.0.4:8080", hosts)
    assert str(refused.value) == (
        "refusing to send drill traffic to 10.77.0.4: only 127.0.0.0/8 addresses (or localhost) "
        "and the cluster's hosts 10.77.0.2, 10.77.0.3 are allowed"
    )


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8080", "http://"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(WorkloadError):
        loopback_url(url)


def test_too_many_clients_are_refused() -> None:
    with pytest.raises(WorkloadError, match="clients must be 1 to 64"):
        WorkloadSettings(clients=65)
    with pytest.raises(WorkloadError, match="plain clients must be 0 to 64"):
        WorkloadSettings(plain_clients=-1)
    assert WorkloadSettings(plain_clients=0).writers == WorkloadSettings().clients


# -- a server that misbehaves on purpose --------------------------------------------------------


@dataclass
class Scripted:
    """What the scripted server answers (`status`, after `delay` seconds) and what it got."""

    url: str = ""
    status: int = 503
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            with script.lock:
                script.requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            time.sleep(script.delay)
            body = b'{"error":"scripted"}'
            try:
                self.send_response(script.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up first

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("status", "write", "outcome"),
    [
        (200, True, "ok"),
        (422, True, "fail"),
        (404, False, "fail"),
        (503, True, "info"),
        (503, False, "fail"),
        (429, True, "info"),
        (408, False, "fail"),
        (302, True, "info"),
    ],
)
def test_a_plain_request_is_sent_once_and_judged(
    scripted: Scripted, status: int, write: bool, outcome: str
) -> None:
    scripted.status = status
    with httpx.Client(base_url=scripted.url, timeout=5, trust_env=False) as http:
        result = once(lambda: http.post("/api/v1/statuses"), write=write)
    assert (result.outcome, result.count) == (outcome, 1)
    assert scripted.count() == 1
    assert (result.error is None) == (outcome == "ok")


def test_a_plain_request_that_times_out_is_not_sent_again(scripted: Scripted) -> None:
    scripted.delay = 1.0
    with httpx.Client(base_url=scripted.url, timeout=0.3, trust_env=False) as http:
        write = once(lambda: http.post("/api/v1/statuses"), write=True)
        read = once(lambda: http.get("/api/v1/timelines/home"), write=False)
    assert (write.outcome, write.count, write.error) == ("info", 1, "timeout")
    assert (read.outcome, read.count, read.error) == ("fail", 1, "timeout")
    time.sleep(0.8)  # let the slow answers finish; no request came in meanwhile
    assert scripted.count() == 2


def test_a_careful_request_is_sent_again_where_a_plain_one_is_not(scripted: Scripted) -> None:
    with httpx.Client(base_url=scripted.url, timeout=5, trust_env=False) as http:
        careful = attempt(lambda: http.post("/api/v1/statuses"), budget=0.6, write=True)
    assert careful.outcome == "info" and careful.count >= 2
    assert scripted.count() == careful.count


def test_a_plain_client_records_one_attempt_per_operation(scripted: Scripted) -> None:
    settings = WorkloadSettings(clients=1, plain_clients=1)
    account = Account(1, "2", "plain", "token")
    recorder = Recorder()
    client = PlainClient(
        account, [account], scripted.url, recorder, threading.Event(), settings, "run"
    )
    with httpx.Client(base_url=scripted.url, timeout=5, trust_env=False) as http:
        client.post(http)
        client.read_home(http)
    post, read = recorder.history.operations
    assert (post.kind, post.outcome, post.attempts, post.client) == ("post", "info", 1, "plain")
    assert post.key is not None and post.status_id is None and post.server is None
    assert (read.kind, read.outcome, read.attempts, read.ids) == ("read_home", "fail", 1, None)
    assert scripted.requests == ["POST /api/v1/statuses", "GET /api/v1/timelines/home?limit=20"]


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
    settings = WorkloadSettings(clients=1, plain_clients=1)
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


def test_both_kinds_of_client_at_work(server: Server) -> None:
    settings = WorkloadSettings(clients=2, plain_clients=2, readers=1, think_time=0.01)
    workload = Workload(server.url, settings, uuid.uuid4().hex[:8])
    accounts = workload.setup()
    assert [a.process for a in accounts] == [0, 1, 2, 3]
    assert [workload.kind_of(a) for a in accounts] == ["careful", "careful", "plain", "plain"]
    recorder = Recorder()
    workload.start(recorder)
    time.sleep(2.0)
    workload.stop()
    workload.join()
    ops = recorder.history.operations
    assert {op.process: op.client for op in ops} == {
        0: "careful",
        1: "careful",
        2: "plain",
        3: "plain",
        4: "careful",  # the reader, numbered after every writer
    }
    assert {op.kind for op in ops if op.process == 4} == {"read_home"}
    assert all(op.outcome == "ok" and op.attempts == 1 for op in ops), [
        op for op in ops if op.outcome != "ok"
    ]
    reads = [op for op in ops if op.kind == "read_home"]
    assert reads and all(op.ids is not None and len(op.ids) <= 20 for op in reads)
    assert all(op.ids is None for op in ops if op.kind != "read_home")
    # SQLite: the app names no database server.
    assert all(op.server is None for op in ops)
    # A plain client's own acknowledged post shows up in its next home read.
    posts = {op.status_id for op in ops if op.process == 2 and op.kind == "post"}
    shown = {i for op in reads if op.process == 2 for i in op.ids or []}
    assert posts and posts & shown
