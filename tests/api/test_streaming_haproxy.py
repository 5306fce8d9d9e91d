"""Streams through the HAProxy configuration the cluster renders, in front of one real
`aloft serve`: the URL the instance advertises works through it, and idle WebSocket and SSE
connections outlive HAProxy's 20 s timeout for a silent server, thanks to the heartbeats."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import websockets

from aloft.cluster.render import REPLAY_AFTER, haproxy_config
from aloft.cluster.topology import Topology
from tests.conftest import Server, free_port, register_http, stop_server

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
IDLE = REPLAY_AFTER + 5.0  # longer than HAProxy waits for a silent server


def _config(root: Path, listen: int, app: int) -> Path:
    """The cluster's HAProxy configuration with every app server pointed at one app."""
    topology = Topology.create(root, 3, None, Path("/bin/true"), Path("/usr/bin/python3"))
    lines = []
    for line in haproxy_config(topology).splitlines():
        stripped = line.strip()
        if stripped.startswith("server "):
            check = " check" if " check" in line else ""
            line = f"    server {stripped.split()[1]} 127.0.0.1:{app}{check}"
        elif stripped.startswith("bind "):
            line = f"    bind 127.0.0.1:{listen}"
        elif stripped.startswith(("source ", "log stdout", "stats socket")):
            continue
        lines.append(line)
    path = root / "haproxy.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_idle_streams_live_through_haproxy(tmp_path: Path) -> None:
    if not Path(HAPROXY).exists():
        pytest.skip("HAProxy is not installed (make system installs it when root)")
    listen = free_port()
    base = f"http://127.0.0.1:{listen}"
    # As in the cluster, the app's base URL is HAProxy's (start_server clears it).
    app_port = free_port()
    env = {
        **os.environ,
        "ALOFT_DATA_DIR": str(tmp_path / "data"),
        "ALOFT_PORT": str(app_port),
        "ALOFT_HOST": "127.0.0.1",
        "ALOFT_RATE_LIMITS": "off",
        "ALOFT_BASE_URL": base,
    }
    app_process = subprocess.Popen(
        [sys.executable, "-m", "aloft", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(
        f"http://127.0.0.1:{app_port}", tmp_path / "data", app_process, tmp_path / "log"
    )
    proxy = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(_config(tmp_path, listen, app_port))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/streaming/health", timeout=2).text == "OK":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "HAProxy never answered"
            time.sleep(0.2)
        client = httpx.Client(base_url=base, timeout=30)
        token = register_http(client, "idle", "long enough!").json()["access_token"]
        advertised = client.get("/api/v2/instance").json()["configuration"]["urls"]["streaming"]
        assert advertised == base.replace("http", "ws", 1)

        sse_lines: list[str] = []

        def sse() -> None:
            try:
                with httpx.stream(
                    "GET",
                    f"{base}/api/v1/streaming/public",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=None,
                ) as r:
                    for line in r.iter_lines():
                        sse_lines.append(line)
            except httpx.HTTPError:
                pass  # the proxy going away at the end of the test

        threading.Thread(target=sse, daemon=True).start()

        async def run() -> str:
            async with websockets.connect(
                f"{advertised}/api/v1/streaming",
                subprotocols=[token],
                ping_interval=None,  # type: ignore[list-item]
            ) as ws:
                await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
                await asyncio.sleep(IDLE)  # nothing is said but the server's pings
                status = await asyncio.to_thread(
                    client.post,
                    "/api/v1/statuses",
                    headers={"Authorization": f"Bearer {token}"},
                    data={"status": "after a long silence"},
                )
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert message["stream"] == ["public"]
                assert json.loads(message["payload"])["id"] == status.json()["id"]
                return str(status.json()["id"])

        status_id = asyncio.run(run())
        deadline = time.monotonic() + 10
        while not any(status_id in line for line in sse_lines):
            assert time.monotonic() < deadline, sse_lines
            time.sleep(0.1)
        assert ":thump" in sse_lines  # the heartbeat that kept it open
    finally:
        proxy.terminate()
        proxy.wait(10)
        stop_server(server)
