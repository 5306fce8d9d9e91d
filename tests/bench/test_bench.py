"""`aloft bench --quick` end to end: a real `aloft serve` on a seeded SQLite file, the bare
route, and wrk. Figures are not asserted (the machine is shared); that the harness runs,
writes its report and that every request succeeded are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aloft.bench.load import ENDPOINTS

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk; make system)"
)


def _bench(
    *args: str, out: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALOFT_")}
    return subprocess.run(
        [sys.executable, "-m", "aloft", "bench", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**clean, "COLUMNS": "200", **(env or {})},
    )


def test_quick_bench_on_sqlite(tmp_path: Path) -> None:
    done = _bench("--quick", "--engine", "sqlite", out=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [folder] = [p for p in tmp_path.iterdir() if p.name.endswith("-quick")]
    record = json.loads((folder / "bench.json").read_text())
    assert record["all_succeeded"] is True
    [run] = record["runs"]
    assert run["engine"] == "sqlite"
    measured = {m["endpoint"] for m in run["measurements"]}
    assert measured == set(ENDPOINTS)
    for m in [*run["measurements"], *run["ceiling"]]:
        assert m["requests"] > 0 and m["failed"] == 0, m
    # Each of Aloft's figures carries the server's CPU time per request; the bare route's
    # none (its process is not the one measured).
    assert all(m["cpu_ms"] > 0 for m in run["measurements"])
    assert all("cpu_ms" not in m for m in run["ceiling"])
    assert "CPU ms" in done.stdout
    assert run["memory_mb"] and all(mb > 10 for mb in run["memory_mb"])
    assert len(record["meta"]["loadavg_start"]) == 3
    html = (folder / "report.html").read_text()
    assert "every request succeeded" in html and "<svg" in html
    assert (folder / "bench.md").exists()
    assert "every request succeeded" in done.stdout
    # The seeded database was cached: a second run does not seed again.
    assert any(p.suffix == ".db" for p in (tmp_path / "cache").iterdir())
    assert run["seed_seconds"] > 0


def test_a_second_run_uses_the_cache_and_one_endpoint_can_be_run(tmp_path: Path) -> None:
    args = ("--quick", "--engine", "sqlite", "--endpoints", "instance", "--duration", "1")
    first = _bench(*args, out=tmp_path)
    assert first.returncode == 0, first.stderr
    second = _bench(*args, "--connections", "1,2", out=tmp_path)
    assert second.returncode == 0, second.stderr
    folders = sorted(p for p in tmp_path.iterdir() if p.name.endswith("-quick"))
    record = json.loads((folders[-1] / "bench.json").read_text())
    [run] = record["runs"]
    assert run["seed_seconds"] == 0  # served from the cache
    assert [m["connections"] for m in run["measurements"]] == [1, 2]
    assert {m["endpoint"] for m in run["measurements"]} == {"instance"}


def test_operator_errors_are_one_line(tmp_path: Path) -> None:
    bad = _bench("--quick", "--engine", "sqlite", "--endpoints", "nope", out=tmp_path)
    assert bad.returncode == 2 and "unknown endpoint nope" in bad.stderr
    no_cluster = _bench(
        "--quick", "--engine", "cluster", "--dir", str(tmp_path / "none"), out=tmp_path
    )
    assert no_cluster.returncode == 2
    assert "no cluster in" in no_cluster.stderr
    assert "Traceback" not in no_cluster.stderr
    no_postgres = _bench(
        "--quick", "--engine", "postgresql", out=tmp_path, env={"ALOFT_PG_BIN": "/nonexistent"}
    )
    assert no_postgres.returncode == 2
    assert no_postgres.stderr.strip() == (
        "aloft: cannot benchmark PostgreSQL: no PostgreSQL binaries in /nonexistent "
        "(install postgresql-15 or set ALOFT_PG_BIN)"
    )
    no_wrk = subprocess.run(
        [sys.executable, "-m", "aloft", "bench", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)},
    )
    assert no_wrk.returncode == 2
    assert "wrk is not installed: `apt-get install wrk`" in no_wrk.stderr
