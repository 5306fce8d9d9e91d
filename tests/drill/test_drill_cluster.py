"""Drills on a real three-zone cluster (zones in network namespaces): crash the primary
node, only the primary's postmaster, cut the primary's zone off both ways, and kill an app
mid-request, all under load from careful clients (retrying with one Idempotency-Key) and
plain ones (each request sent once, as most apps do). Each demands a clean verdict: nothing
lost, duplicated or unexpected, no error seen by either kind of client, no write
acknowledged by a server that was not the primary, write stall within budget; stale reads
are judged and printed.

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
# is the leader lease (6 s by default) plus the apps' retry backoff, measured at 6.4–7.1 s on
# this 2-core machine under a load average of 20–30 (target ≤ 7 s, reported by the drills
# themselves). A CI gate at exactly the target would fail on a busy machine; one at 20 s
# still catches a zone that never comes back, a retry loop that gave up, or a cluster that
# quietly went back to Patroni's 20 s lease (which stalled 20–25 s).
NODE_CRASH_STALL_BUDGET = 20
POSTMASTER_CRASH_STALL_BUDGET = 15
# A partition fails over like a node crash (the zone's Patroni loses etcd): measured 8.2–12.2 s
# at the 6 s lease, 20.7–26.5 s at 20. Killing one app stalls nothing (measured 0.08 s): 5 s
# is the guard.
PARTITION_STALL_BUDGET = 25
KILL_APP_STALL_BUDGET = 5


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
    assert verdict["errors_by_client"] == {"careful": {}, "plain": {}}
    # Judged (ids recorded); reported, not failed: a read may be a moment behind right after
    # a partition heals (see the checker). Printed so a CI log shows them.
    assert verdict["stale_reads"] is not None
    print("stale reads:", verdict["stale_reads"], verdict["stale_read_examples"])
    # Judged (0), not unjudgeable (None): the apps report the server of every write.
    assert verdict["writes_by_non_primary"] == 0
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


def test_quick_matrix(cluster_dir: Path, tmp_path: Path) -> None:
    """`aloft drill matrix --quick`: a postmaster crash and a switchover, each judged like a
    single drill, one summary and one report linking both runs."""
    out = tmp_path / "matrix"
    result = aloft(
        "drill",
        "matrix",
        "--quick",
        "--dir",
        str(cluster_dir),
        "--out",
        str(out),
        "--clients",
        "4",
        "--plain-clients",
        "4",
        timeout=900,
    )
    print(result.stdout, result.stderr)
    assert "about" in result.stderr and "minutes" in result.stderr, "the estimate comes first"
    (folder,) = out.iterdir()
    saved = json.loads((folder / "matrix.json").read_text())
    rows = {row["fault"]: row for row in saved["summary"]}
    assert set(rows) == {"crash-primary-postgres", "switchover"}
    for row in rows.values():
        assert (row["lost"], row["duplicated"], row["unexpected"]) == (0, 0, 0), row
        assert (row["plain_errors"], row["careful_errors"]) == (0, 0), row
        assert row["acknowledged"] > 100 and row["passed"] == 1, row
    assert rows["crash-primary-postgres"]["stall_worst"] <= POSTMASTER_CRASH_STALL_BUDGET
    html = (folder / "report.html").read_text()
    for record in saved["records"]:
        assert f'href="{record["folder"]}/report.html"' in html
        assert (folder / record["folder"] / "verdict.json").exists()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


def test_doctor_before_and_after_a_standby_stops(cluster_dir: Path) -> None:
    """`aloft cluster doctor` passes on a healthy cluster and names what is wrong once the
    synchronous standby's Patroni (and with it its PostgreSQL) is stopped."""
    from aloft.cluster.control import Cluster

    cluster = Cluster.load(cluster_dir)
    cluster.wait_healthy(180)
    healthy = aloft("cluster", "doctor", "--dir", str(cluster_dir))
    print(healthy.stdout, healthy.stderr)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "✗" not in healthy.stdout and "failover ready" in healthy.stdout
    status = aloft("cluster", "status", "--dir", str(cluster_dir))
    assert "failover ready" in status.stdout, status.stdout

    standby = next(m["zone"] for m in cluster.members() if m["role"] == "sync_standby")
    cluster.supervisor.stop(cluster.topology.program(standby, "patroni"))
    try:
        broken = aloft("cluster", "doctor", "--dir", str(cluster_dir), "--json")
        print(broken.stdout, broken.stderr)
        assert broken.returncode == 1
        report = json.loads(broken.stdout)
        failed = {c["name"]: c for c in report["checks"] if not c["ok"]}
        assert report["ready"] is False and failed
        assert "every standby streaming" in failed
        assert standby in failed["every standby streaming"]["value"]
        assert all(c["advice"] for c in failed.values())
    finally:
        cluster.start(standby, "patroni")
    cluster.wait_healthy(180)
    again = aloft("cluster", "doctor", "--dir", str(cluster_dir))
    assert again.returncode == 0, again.stdout + again.stderr


def verdict_events(out: Path) -> list[dict[str, Any]]:
    (folder,) = out.iterdir()
    lines = (folder / "history.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if record["type"] == "event"]


def plain_operations(out: Path) -> list[dict[str, Any]]:
    (folder,) = out.iterdir()
    lines = (folder / "history.jsonl").read_text().splitlines()
    return [
        record
        for record in map(json.loads, lines)
        if record["type"] == "op" and record.get("client") == "plain"
    ]


def test_partition_primary(cluster_dir: Path, tmp_path: Path) -> None:
    """The leader's zone is cut off from the other zones and from HAProxy, both ways: a new
    leader takes over, the old one demotes itself, and no client, plain or careful, sees an
    error, only slower answers."""
    out = tmp_path / "runs"
    result, verdict = drill(
        cluster_dir,
        out,
        "--fault",
        "partition-primary",
        "--duration",
        "55",
        "--fault-at",
        "10",
        "--fault-window",
        "25",
        "--clients",
        "4",
        "--plain-clients",
        "4",
        "--stall-budget",
        str(PARTITION_STALL_BUDGET),
    )
    assert_clean(result, verdict, PARTITION_STALL_BUDGET)
    leaders = [e["detail"]["leader"] for e in verdict_events(out) if e["kind"] == "leader"]
    assert len({zone for zone in leaders if zone}) >= 2, f"no new leader seen: {leaders}"
    plain = plain_operations(out)
    assert sum(op["kind"] == "post" and op["outcome"] == "ok" for op in plain) > 50
    assert all(op["attempts"] == 1 for op in plain)


def test_kill_app(cluster_dir: Path, tmp_path: Path) -> None:
    """An app is SIGKILLed while it serves requests: HAProxy replays what is safe to replay
    on another app, so a plain client sees no error."""
    out = tmp_path / "runs"
    result, verdict = drill(
        cluster_dir,
        out,
        "--fault",
        "kill-app",
        "--duration",
        "25",
        "--fault-at",
        "8",
        "--fault-window",
        "8",
        "--clients",
        "4",
        "--plain-clients",
        "6",
        "--stall-budget",
        str(KILL_APP_STALL_BUDGET),
    )
    assert_clean(result, verdict, KILL_APP_STALL_BUDGET)
    plain = plain_operations(out)
    assert sum(op["outcome"] == "ok" for op in plain) > 100
