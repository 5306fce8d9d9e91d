"""The SQLite data directory check at start-up, when several workers start at once."""

from __future__ import annotations

import threading
from pathlib import Path

from aloft.storage.database import DatabaseError, create_engine


def test_workers_starting_together_all_pass_the_writable_check(tmp_path: Path) -> None:
    # `aloft serve --workers N` opens the database in N processes at the same moment; each
    # probes that the data directory is writable. With one probe file shared by all, one
    # worker's unlink removed another's file and that worker failed to start with "data
    # directory is not writable (No such file or directory)" (seen under `aloft bench`).
    url = f"sqlite:///{tmp_path / 'data' / 'aloft.db'}"
    starting = threading.Barrier(24)
    failures: list[str] = []

    def worker() -> None:
        starting.wait()
        for _ in range(20):
            try:
                create_engine(url).dispose()
            except DatabaseError as exc:
                failures.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".aloft")] == []
