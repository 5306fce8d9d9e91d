"""Reads do not queue behind writes: GET and HEAD handlers run in a pool of their own
(`ALOFT_THREADS`), other methods in another (`ALOFT_WRITE_THREADS`). A write that waits
(here on SQLite's write lock, held by the test; in a cluster, on a failover) holds its
thread for seconds; with one pool, as many waiting writes as threads stopped every read.
Against a real `aloft serve`."""

import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import register_http, start_server, stop_server

# Reads that queued behind the waiting writes answered only once the writes gave up
# (busy_timeout, 5 s); reads in a pool of their own answer at once.
READ_WAIT_LIMIT = 2.0


def test_reads_are_answered_while_every_write_thread_waits(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"ALOFT_THREADS": "2", "ALOFT_WRITE_THREADS": "2"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            token = register_http(client, "reader").json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/bookmarks", headers=auth).status_code == 200

            # Take SQLite's write lock, as a long write would, and keep it.
            holder = sqlite3.connect(server.data_dir / "aloft.db", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            answers: list[int] = []

            def post(i: int) -> None:
                with httpx.Client(base_url=server.url, timeout=60) as own:
                    answer = own.post(
                        "/api/v1/statuses",
                        headers=auth | {"Idempotency-Key": f"wait-{i}"},
                        data={"status": f"written after the wait {i}"},
                    )
                    answers.append(answer.status_code)

            writers = [threading.Thread(target=post, args=(i,)) for i in range(2)]
            for w in writers:
                w.start()
            time.sleep(0.5)  # both writes are now waiting for the lock, in both threads
            started = time.monotonic()
            # Reads that run in the reading pool (not `inline` ones, which skip the pools
            # on SQLite).
            bookmarks = client.get("/api/v1/bookmarks", headers=auth)
            favourites = client.get("/api/v1/favourites", headers=auth)
            took = time.monotonic() - started
            writes_waiting = not answers
            holder.execute("COMMIT")
            holder.close()
            for w in writers:
                w.join(timeout=60)

        assert writes_waiting, "the writes did not wait for the lock: the test proves nothing"
        assert bookmarks.status_code == 200 and favourites.status_code == 200
        assert took < READ_WAIT_LIMIT, f"reads waited {took:.1f} s behind the writes"
        # The writes were delayed, not lost.
        assert answers == [200, 200], answers
    finally:
        stop_server(server)
