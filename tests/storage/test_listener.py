"""The event listener on real PostgreSQL: a primary crashes and its standby is promoted, and
the listener of an app process finds the new primary by itself and events flow again; and
a gap in listening is made good by replaying what was committed meanwhile."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from aloft.app import create_app
from aloft.config import Settings
from aloft.services import statuses
from aloft.services.auth import Viewer
from aloft.storage.database import Database
from aloft.storage.events import Listener, emit
from tests.conftest import Api
from tests.storage.conftest import Pair

WAIT = 60.0


def _next(got: queue.Queue[dict[str, Any]], kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        event = got.get(timeout=max(0.1, deadline - time.monotonic()))
        if event.get("k") == kind:
            return event


def test_events_flow_again_after_the_primary_fails_over(pair: Pair) -> None:
    db = Database.from_url(pair.multi_host_url())
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    db.events.subscribe(got.put)
    listener = Listener(db.engine, db.events)
    listener.start()
    try:
        deadline = time.monotonic() + WAIT
        while not listener.connected:  # what commits before LISTEN is nobody's to hear
            assert time.monotonic() < deadline, "the listener never listened"
            time.sleep(0.05)
        db.write(lambda conn: emit(conn, {"k": "probe", "n": 1}))
        assert _next(got, "probe") == {"k": "probe", "n": 1}

        pair.primary.stop("immediate")
        crashed = time.monotonic()
        pair.standby.promote()
        # This write waits for the new primary (the data layer retries). It may commit
        # before the listener is back: such events are what the published gap is for
        # (the streaming hub replays what was committed in it).
        db.write(lambda conn: emit(conn, {"k": "probe", "n": 2}))
        written = int(time.time() * 1000)
        gap = _next(got, "gap")
        back = time.monotonic()
        assert gap["from"] <= gap["to"] and listener.reconnects == 1
        db.write(lambda conn: emit(conn, {"k": "probe", "n": 3}))
        first = _next(got, "probe")
        if first["n"] == 2:  # the listener was back before that write committed
            first = _next(got, "probe")
        else:
            assert gap["to"] >= written - 1000  # so the gap covers it, for the replay
        assert first == {"k": "probe", "n": 3}
        print(f"listener back on the new primary {back - crashed:.2f} s after the crash")
    finally:
        listener.stop()
        db.dispose()


def test_a_listening_gap_is_replayed(tmp_path: Path) -> None:
    """Statuses committed while the listener was away reach the streams once the gap is
    published, and what was delivered already is not sent twice."""
    settings = Settings(data_dir=tmp_path / "data", rate_limits=False)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        api = Api(client)
        alice = api.register("alice")
        db: Database = client.app.state.db  # type: ignore[attr-defined]
        with client.websocket_connect(
            "/api/v1/streaming", headers={"Authorization": f"Bearer {alice.token}"}
        ) as ws:
            ws.send_json({"type": "subscribe", "stream": "public"})
            seen = api.post(alice, "seen as it happened")
            assert ws.receive_json()["event"] == "update"
            # Written through another handle on the same file: this process's bus never
            # hears of it, as when a listener is disconnected from the primary.
            other = Database.from_url(settings.effective_database_url)
            try:
                missed, _ = statuses.create(
                    other,
                    Viewer(int(alice.id), frozenset({"write"}), None),
                    client.app.state.site,  # type: ignore[attr-defined]
                    statuses.NewStatus("committed while nobody listened"),
                )
            finally:
                other.dispose()
            now = int(time.time() * 1000)
            db.events.publish([{"k": "gap", "from": now - 1000, "to": now}])
            message = ws.receive_json()
            assert message["event"] == "update"
            assert json.loads(message["payload"])["id"] == str(missed.id)
            assert str(missed.id) != seen["id"]
            # Nothing else was replayed: the next message is the next post.
            marker = api.post(alice, "marker")
            assert json.loads(ws.receive_json()["payload"])["id"] == marker["id"]
