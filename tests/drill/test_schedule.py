"""The drill's schedule — faults injected and repaired on time, leader changes recorded, the
cluster's health awaited — run for real against a single-node `aloft serve`.

A real cluster takes minutes and root (see test_drill_cluster.py). Here the cluster is a
scripted stand-in that implements the same `ClusterHandle` protocol the drill programs
against (no patching of anything): its leader moves from zone a to nobody to zone b when
the leader node crashes, as Patroni's would, while the traffic goes to the real server.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.console import Console

from aloft.drill.faults import CrashPrimaryNode, LeaderWatch
from aloft.drill.history import FAULT_END, FAULT_ERROR, FAULT_START, LEADER, Recorder
from aloft.drill.run import DrillPlan, run_drill
from aloft.drill.workload import WorkloadSettings
from tests.conftest import Server


class ScriptedCluster:
    """Zone a leads; once it (or its postmaster) is crashed there is no leader for
    `gap` seconds, then zone b leads."""

    def __init__(self, url: str, gap: float = 1.0) -> None:
        self.url = url
        self.zones = ["a", "b", "c"]
        self.gap = gap
        self.calls: list[tuple[str, ...]] = []
        self._crashed_at: float | None = None
        self._lock = threading.Lock()

    def database_servers(self) -> dict[str, str]:
        """Where each zone's PostgreSQL listens (the traffic itself goes to `url`)."""
        return {f"127.0.0.{n}:5432": zone for n, zone in enumerate(self.zones, 2)}

    def primary(self) -> str | None:
        return self.leader()

    def leader(self) -> str | None:
        with self._lock:
            if self._crashed_at is None:
                return "a"
            return None if time.monotonic() - self._crashed_at < self.gap else "b"

    def _crash(self, what: str, zone: str) -> None:
        with self._lock:
            self.calls.append((what, zone))
            self._crashed_at = time.monotonic()

    def crash_node(self, zone: str) -> None:
        self._crash("crash_node", zone)

    def kill_postmaster(self, zone: str) -> None:
        self._crash("kill_postmaster", zone)

    def restore_node(self, zone: str) -> None:
        self.calls.append(("restore_node", zone))

    def wait_healthy(self, timeout: float) -> None:
        self.calls.append(("wait_healthy",))


def plan(tmp_path: Path, fault: str) -> DrillPlan:
    return DrillPlan(
        fault=fault,
        directory=tmp_path,
        duration=6,
        fault_at=2,
        fault_window=2,
        out=tmp_path / "runs",
        workload=WorkloadSettings(clients=2, plain_clients=2),
    )


def test_crash_primary_node_on_schedule(server: Server, tmp_path: Path) -> None:
    cluster = ScriptedCluster(server.url)
    result = run_drill(plan(tmp_path, "crash-primary-node"), Console(quiet=True), cluster)

    assert cluster.calls == [
        ("wait_healthy",),
        ("crash_node", "a"),
        ("restore_node", "a"),
        ("wait_healthy",),
    ]
    events = result.history.events
    start = next(e for e in events if e.kind == FAULT_START)
    end = next(e for e in events if e.kind == FAULT_END)
    assert start.detail == {"fault": "crash-primary-node", "zone": "a"}
    assert end.detail["action"] == "restored"
    assert 1.9 <= start.time <= 2.6 and 3.9 <= end.time <= 4.6
    assert [e.detail["leader"] for e in events if e.kind == LEADER] == ["a", None, "b"]
    assert not [e for e in events if e.kind == FAULT_ERROR]

    verdict = result.verdict
    assert verdict.passed, verdict.reasons
    assert verdict.fault_window == (start.time, end.time)
    assert set(verdict.latency) == {"before", "during", "after"}
    assert verdict.read_availability == 1.0
    assert (result.folder / "report.html").exists()
    assert result.history.meta["zones"] == ["a", "b", "c"]
    assert result.history.meta["database_servers"] == {
        "127.0.0.2:5432": "a",
        "127.0.0.3:5432": "b",
        "127.0.0.4:5432": "c",
    }
    assert verdict.writes_by_non_primary is None  # SQLite names no server: not judged
    assert {op.client for op in result.history.operations} == {"careful", "plain"}


def test_crash_primary_postgres_has_nothing_to_restore(server: Server, tmp_path: Path) -> None:
    cluster = ScriptedCluster(server.url)
    result = run_drill(plan(tmp_path, "crash-primary-postgres"), Console(quiet=True), cluster)
    assert ("kill_postmaster", "a") in cluster.calls
    assert not [c for c in cluster.calls if c[0] == "restore_node"]
    end = next(e for e in result.history.events if e.kind == FAULT_END)
    assert end.detail["action"].startswith("nothing to restore")
    assert result.verdict.passed, result.verdict.reasons


def test_no_leader_to_break_is_a_fault_error() -> None:
    cluster = ScriptedCluster("http://127.0.0.1:1", gap=1e9)
    cluster.crash_node("a")  # nobody leads from now on
    recorder = Recorder()
    CrashPrimaryNode(cluster, leader_wait=0.3).inject(recorder)
    (event,) = recorder.history.events
    assert event.kind == FAULT_ERROR
    assert event.detail["error"] == "no leader to break after waiting 0.3 s"


def test_leader_watch_records_changes_only_and_stops() -> None:
    cluster = ScriptedCluster("http://127.0.0.1:1", gap=0.5)
    recorder = Recorder()
    watch = LeaderWatch(cluster, recorder, interval=0.05)
    watch.start()
    time.sleep(0.3)
    cluster.crash_node("a")
    time.sleep(1.0)
    watch.stop()
    assert not watch.is_alive()
    leaders = [e.detail["leader"] for e in recorder.history.events]
    assert leaders == ["a", None, "b"]
    assert watch.current == "b"
