"""The drill's streaming client against a real single-node `aloft serve`: it records the
updates of the workload's posts, and when the server restarts it reconnects and the
updates flow again, which the verdict reports as the stream gap."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from aloft.drill.checker import check
from aloft.drill.history import STREAM, STREAM_CONNECT, STREAM_END, STREAM_LOST, Recorder
from aloft.drill.stream import streaming_url
from aloft.drill.workload import Workload, WorkloadSettings
from tests.conftest import Server, start_server, stop_server


def _wait_for(what: str, condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.1)


def _restart(server: Server) -> Server:
    """The same server again: same port, same data directory."""
    stop_server(server)
    port = server.url.rsplit(":", 1)[1]
    env = {
        **os.environ,
        "ALOFT_DATA_DIR": str(server.data_dir),
        "ALOFT_PORT": port,
        "ALOFT_HOST": "127.0.0.1",
        "ALOFT_RATE_LIMITS": "off",
    }
    env.pop("ALOFT_BASE_URL", None)
    with server.log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "aloft", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    again = Server(server.url, server.data_dir, process, server.log)

    def answers() -> bool:
        try:
            return httpx.get(f"{server.url}/api/v1/instance", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _wait_for("the restarted server", answers)
    return again


def test_streaming_url() -> None:
    assert streaming_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/api/v1/streaming"
    assert streaming_url("https://example.org/") == "wss://example.org/api/v1/streaming"


def test_the_stream_flows_again_after_a_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    settings = WorkloadSettings(clients=2, plain_clients=0, readers=0, think_time=0.02)
    workload = Workload(server.url, settings, uuid.uuid4().hex[:8])
    workload.setup()
    recorder = Recorder()
    events = recorder.history.events
    try:
        workload.start(recorder)
        _wait_for("updates on the stream", lambda: any(e.kind == STREAM for e in events))
        server = _restart(server)
        restarted = recorder.now()
        _wait_for(
            "updates after the restart",
            lambda: any(e.kind == STREAM and e.time > restarted for e in list(events)),
        )
    finally:
        workload.stop()
        workload.join()
        stop_server(server)
    kinds = [e.kind for e in events]
    assert kinds.count(STREAM_CONNECT) >= 2 and STREAM_LOST in kinds and kinds[-1] == STREAM_END
    verdict = check(recorder.history)
    stream = verdict.stream
    assert stream is not None and stream.losses >= 1 and stream.gap is not None
    assert stream.back_after_writes_resumed is not None
    assert verdict.stall is not None
    print(
        f"write stall {verdict.stall.seconds:.2f} s, stream gap {stream.gap.seconds:.2f} s, "
        f"stream back {stream.back_after_writes_resumed:.2f} s after writes resumed"
    )
