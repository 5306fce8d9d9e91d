"""The drill's streaming client: one WebSocket on the public stream, as an app keeps open.

It connects to the same URL as the writers (HAProxy, in a cluster), with the token of one
workload account in `Sec-WebSocket-Protocol` (as masto.js sends it), subscribes to
`public` (every drill post is public) and records, as history events:

* `stream-connect` each time it is connected and subscribed;
* `stream` for each `update` that arrives (`id`: the status), at its arrival time;
* `stream-lost` when the connection ends or cannot be made (`error`: why, in a few words);
* `stream-end` once, when the workload stops it.

A connection that stops answering pings (`PING_INTERVAL`, `PING_TIMEOUT`) is dropped, and
every loss is followed by a reconnect (jittered backoff, 0.1 s doubling to 1 s) until the
workload stops, as a careful app would. What the checker makes of these events is
`aloft.drill.checker.stream_report`.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from websockets.sync.client import connect

from aloft.drill.history import STREAM, STREAM_CONNECT, STREAM_END, STREAM_LOST, Recorder

PING_INTERVAL = 2.0
PING_TIMEOUT = 4.0
OPEN_TIMEOUT = 5.0
POLL = 0.25  # how often a quiet connection looks at the halt flag


def streaming_url(base_url: str) -> str:
    """ws(s)://host/api/v1/streaming for the workload's http(s) base URL."""
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v1/streaming"


class Streamer(threading.Thread):
    """Keeps one public-stream WebSocket open until `halt` is set, recording what arrives."""

    def __init__(self, base_url: str, token: str, recorder: Recorder, halt: threading.Event):
        super().__init__(name="drill-streamer", daemon=True)
        self.url = streaming_url(base_url)
        self.token = token
        self.recorder = recorder
        self.halt = halt
        self.random = random.Random()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.recorder.event(STREAM_END)

    def _run(self) -> None:
        delay = 0.1
        while not self.halt.is_set():
            try:
                self._listen()
                delay = 0.1
            except Exception as exc:
                if self.halt.is_set():
                    return
                self.recorder.event(STREAM_LOST, error=f"{type(exc).__name__}: {exc}"[:160])
                self.halt.wait(delay * self.random.uniform(0.5, 1.0))
                delay = min(delay * 2, 1.0)

    def _listen(self) -> None:
        with connect(
            self.url,
            subprotocols=[self.token],  # type: ignore[list-item]
            open_timeout=OPEN_TIMEOUT,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
            close_timeout=1,
        ) as ws:
            ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            self.recorder.event(STREAM_CONNECT)
            while not self.halt.is_set():
                try:
                    raw = ws.recv(timeout=POLL)
                except TimeoutError:
                    continue
                status_id = _update_id(raw)
                if status_id is not None:
                    self.recorder.event(STREAM, id=status_id)


def _update_id(raw: str | bytes) -> str | None:
    """The status id of an `update` message; None for anything else."""
    try:
        message: Any = json.loads(raw)
        if message.get("event") != "update":
            return None
        return str(json.loads(message["payload"])["id"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
