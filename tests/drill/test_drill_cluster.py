"""The drills the issue asks for, on a real three-zone cluster: crash the primary node (and,
shorter, only the primary's postmaster) under load, and demand a clean verdict: nothing
lost, duplicated or unexpected, no client-visible error, write stall within budget.

Needs root and what `make system` installs (PostgreSQL 15, etcd, HAProxy, Patroni); without
them it says why and skips. It brings its own cluster up
in a directory under /tmp and down again (holding 127.0.0.1:8080 and the zones' ports), so
it must not run while another cluster is up on this machine.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.machine import cluster_directory, why_no_cluster
from tests.commands import aloft

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# Stall budgets here are regression guards, not the performance target: the node-crash stall
# is Patroni's 20 s ttl plus the survivors re-forming synchronous replication, measured at
# 18.6–25.3 s on this 2-core machine, 18.7–19.9 s since wal_retrieve_retry_interval is 1 s
# (target ≤ 25 s, reported by the drills themselves). A CI gate at exactly the target would
# fail on a busy machine; one at 35 s still catches a zone that never comes back or a retry
# loop that gave up.
NODE_CRASH_STALL_BUDGET = 35
POSTMASTER_CRASH_STALL_BUDGET = 15


@pytest.fixture(scope="module")
def cluster_dir() -> Iterator[Path]:
    why_not = why_no_cluster()
    if why_not is not None:
        pytest.skip(f"cluster drill skipped: {why_not}")
    with cluster_directory("aloft-drill-") as directory:
        up = aloft("cluster", "up", "--dir", str(directory), timeout=600)
        assert up.returncode == 0, up.stderr + up.stdout
        yield directory


def drill(cluster_dir: Path, out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    result = aloft("drill", "run", "--dir", str(cluster_dir), "--out", str(out), *args, timeout=600)
    print(result.stdout, result.stderr)
    folders = list(out.iterdir()) if out.exists() else []
    assert len(folders) == 1, result.stdout + result.stderr
    return result, json.loads((folders[0] / "verdict.json").read_text())


def assert_clean(result: subprocess.CompletedProcess[str], verdict: Any, budget: float) -> None:
    assert verdict["lost"] == [], verdict["lost"]
    assert verdict["duplicated"] == {}, verdict["duplicated"]
    assert verdict["unexpected"] == [], verdict["unexpected"]
    assert verdict["errors"] == {}, verdict["errors"]
    assert verdict["acknowledged_posts"] > 100
    assert verdict["stall_during_fault"]["seconds"] <= budget
    assert verdict["passed"] is True, verdict["reasons"]
    assert result.returncode == 0, result.stdout + result.stderr


def test_crash_primary_node(cluster_dir: Path, tmp_path: Path) -> None:
    result, verdict = drill(
        cluster_dir,
        tmp_path / "runs",
        "--fault",
        "crash-primary-node",
        "--duration",
        "60",
        "--fault-at",
        "20",
        "--fault-window",
        "20",
        "--clients",
        "8",
        "--stall-budget",
        str(NODE_CRASH_STALL_BUDGET),
    )
    assert_clean(result, verdict, NODE_CRASH_STALL_BUDGET)
    leaders = [e for e in verdict_events(tmp_path / "runs") if e["kind"] == "leader"]
    zones = [e["detail"]["leader"] for e in leaders if e["detail"]["leader"]]
    assert len(set(zones)) >= 2, f"no new leader seen: {leaders}"


def test_crash_primary_postgres(cluster_dir: Path, tmp_path: Path) -> None:
    result, verdict = drill(
        cluster_dir,
        tmp_path / "runs",
        "--fault",
        "crash-primary-postgres",
        "--duration",
        "30",
        "--fault-at",
        "10",
        "--fault-window",
        "10",
        "--clients",
        "8",
        "--stall-budget",
        str(POSTMASTER_CRASH_STALL_BUDGET),
    )
    assert_clean(result, verdict, POSTMASTER_CRASH_STALL_BUDGET)


def verdict_events(out: Path) -> list[dict[str, Any]]:
    (folder,) = out.iterdir()
    lines = (folder / "history.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if record["type"] == "event"]
