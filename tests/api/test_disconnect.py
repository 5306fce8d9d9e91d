"""A client that goes away mid-request is not an error of ours: no traceback in the log,
no 500 in the metrics (issue 11). Against a real `aloft serve`, over a raw socket."""

import socket
import time

import httpx

from tests.conftest import Server


def _hang_up_mid_body(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /api/v1/apps HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\nclient_name=half"
        )
        time.sleep(0.2)  # the server is now reading the body


def test_a_client_gone_mid_request_is_no_server_error(server: Server) -> None:
    for _ in range(3):
        _hang_up_mid_body(server.url)
    # The server answers on, and its log and metrics say nothing went wrong.
    assert httpx.get(f"{server.url}/api/v1/instance", timeout=10).status_code == 200
    time.sleep(0.5)
    log = server.log.read_text()
    assert "unhandled error" not in log and "Traceback" not in log, log
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert not [line for line in metrics.splitlines() if 'status="500"' in line], metrics
