"""The rendered HAProxy configuration, run by a real HAProxy on free ports in front of three
stand-in apps, one of which drops every request it receives (an app killed mid-request):
what may be sent twice is replayed on another app, body and all; the rest is not."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aloft.cluster import render
from aloft.cluster.topology import PROXY_ADDRESS, PROXY_PORT, Topology
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed")


class _App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        server = self.server
        assert isinstance(server, _Server)
        if self.path != "/readyz" and server.drops:
            # Read the request, then die without a word.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        text = f"{server.name} {body} {self.headers.get('x-forwarded-for')}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = do_DELETE = do_PATCH = _answer


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    name = ""
    drops = False


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    topology = Topology.create(tmp_path / "cluster", 3, None, Path("/p"), Path("/py"))
    topology.haproxy_socket.parent.mkdir(parents=True)  # `up` makes it for the stats socket
    # Strict round robin here, so that three requests reach the three stand-ins; the real
    # configuration hashes the Authorization header (test_render pins that), which for
    # requests without one falls back to a round robin that need not alternate strictly.
    cfg = render.haproxy_config(topology)
    assert "balance hdr(authorization)" in cfg
    cfg = cfg.replace("balance hdr(authorization)", "balance roundrobin")
    servers = []
    for zone in topology.zones:
        server = _Server(("127.0.0.1", 0), _App)
        server.name, server.drops = zone.name, zone.name == "a"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        cfg = re.sub(
            rf"server {zone.name} \S+", f"server {zone.name} 127.0.0.1:{server.server_port}", cfg
        )
    port = free_port()
    cfg = cfg.replace(f"bind {PROXY_ADDRESS}:{PROXY_PORT}", f"bind 127.0.0.1:{port}")
    path = tmp_path / "haproxy.cfg"
    path.write_text(cfg)
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no HAProxy"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server in servers:
            server.shutdown()


def _three(url: str, method: str, path: str, **kwargs: object) -> list[httpx.Response]:
    """Three requests: round robin sends one of them to the app that drops it."""
    return [httpx.request(method, url + path, timeout=10, **kwargs) for _ in range(3)]  # type: ignore[arg-type]


def test_safe_requests_are_replayed_with_their_body(proxy: str) -> None:
    for method, path, headers, body in [
        ("GET", "/api/v1/timelines/home", {}, None),
        ("POST", "/api/v1/statuses", {"Idempotency-Key": "k1"}, "status=hello"),
        ("POST", "/api/v1/statuses/109/favourite", {}, None),
        ("DELETE", "/api/v1/statuses/109/", {}, None),
    ]:
        answers = _three(proxy, method, path, headers=headers, content=body)
        assert [r.status_code for r in answers] == [200] * 3, (method, path)
        assert all(r.text.split(" ")[0] in {"b", "c"} for r in answers)
        if body:
            assert all(f" {body} " in r.text for r in answers)


def test_other_writes_are_sent_once(proxy: str) -> None:
    for headers, path in [
        ({}, "/api/v1/statuses"),  # a post without a key
        ({"Idempotency-Key": ""}, "/api/v1/statuses"),  # an empty key is no key
        ({"Idempotency-Key": "k2"}, "/api/v1/apps"),  # a key this route ignores
    ]:
        codes = sorted(r.status_code for r in _three(proxy, "POST", path, headers=headers))
        assert codes == [200, 200, 502], (headers, path)


def test_the_client_address_is_the_connections(proxy: str) -> None:
    answers = _three(proxy, "GET", "/", headers={"X-Forwarded-For": "192.0.2.7"})
    assert {r.text.split(" ")[-1] for r in answers} == {"127.0.0.1"}
