"""What a drill breaks, how it mends it, and who the leader is meanwhile.

A fault has two steps, called on the drill's schedule: `inject` at the fault time and
`repair` at the end of the fault window. Each records its events in the history
(`fault-start` just before the blow, `fault-end` once mended); a fault that cannot be
injected records `fault-error`, which fails the verdict: a drill that broke nothing proves
nothing.

* `none` — breaks nothing and records nothing (a workload and checker run against any server).
* `crash-primary-node` — the leader zone's Patroni, PostgreSQL and app are SIGKILLed
  together, like a machine dying; `repair` starts them again, and the old primary rejoins
  as a replica.
* `crash-primary-postgres` — only the leader's postmaster is SIGKILLed; its Patroni lives on
  and deals with it. Nothing to repair.

Faults act through `aloft.cluster.control.Cluster`, which is imported only when a cluster is
loaded, so the rest of the drill works without it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from aloft.drill.history import FAULT_END, FAULT_ERROR, FAULT_START, LEADER, NOTE, Recorder


class DrillError(Exception):
    """The drill cannot go on; the message says why, in one line."""


class ClusterHandle(Protocol):
    """The part of `aloft.cluster.control.Cluster` that drills use."""

    url: str
    zones: list[str]

    def leader(self) -> str | None: ...
    def crash_node(self, zone: str) -> None: ...
    def kill_postmaster(self, zone: str) -> None: ...
    def restore_node(self, zone: str) -> None: ...
    def wait_healthy(self, timeout: float) -> None: ...


def load_cluster(directory: Path) -> ClusterHandle:
    """The running cluster that `aloft cluster up --dir DIRECTORY` made."""
    try:
        from aloft.cluster.control import Cluster
    except ImportError as exc:
        raise DrillError(f"cluster control is not available in this build ({exc})") from None
    try:
        return Cluster.load(Path(directory))
    except Exception as exc:  # ClusterError, or a broken cluster directory
        raise DrillError(f"cannot load the cluster in {directory}: {exc}") from None


class Fault:
    """Breaks nothing. Subclasses override `inject` and `repair`."""

    name = "none"
    needs_cluster = False

    def inject(self, recorder: Recorder) -> None:
        """Break the system now."""

    def repair(self, recorder: Recorder) -> None:
        """Mend what `inject` broke (called once, even if `inject` failed)."""


class _ClusterFault(Fault):
    needs_cluster = True

    def __init__(self, cluster: ClusterHandle, leader_wait: float = 15.0) -> None:
        self.cluster = cluster
        self.leader_wait = leader_wait
        self.zone: str | None = None

    def _leader(self) -> str:
        deadline = time.monotonic() + self.leader_wait
        while True:
            zone = self.cluster.leader()
            if zone is not None:
                return zone
            if time.monotonic() >= deadline:
                raise DrillError(f"no leader to break after waiting {self.leader_wait:g} s")
            time.sleep(0.5)

    def inject(self, recorder: Recorder) -> None:
        try:
            zone = self._leader()
            recorder.event(FAULT_START, fault=self.name, zone=zone)
            started = time.monotonic()
            self.blow(zone)
            self.zone = zone
            recorder.event(
                NOTE,
                text=f"{self.name} delivered to zone {zone}",
                seconds=round(time.monotonic() - started, 3),
            )
        except Exception as exc:
            recorder.event(FAULT_ERROR, fault=self.name, error=str(exc))

    def blow(self, zone: str) -> None:
        raise NotImplementedError


class CrashPrimaryNode(_ClusterFault):
    name = "crash-primary-node"

    def blow(self, zone: str) -> None:
        self.cluster.crash_node(zone)

    def repair(self, recorder: Recorder) -> None:
        if self.zone is None:
            return
        try:
            self.cluster.restore_node(self.zone)
            recorder.event(FAULT_END, fault=self.name, zone=self.zone, action="restored")
        except Exception as exc:
            recorder.event(FAULT_ERROR, fault=self.name, error=f"restore failed: {exc}")
            recorder.event(FAULT_END, fault=self.name, zone=self.zone, action="restore failed")


class CrashPrimaryPostgres(_ClusterFault):
    name = "crash-primary-postgres"

    def blow(self, zone: str) -> None:
        self.cluster.kill_postmaster(zone)

    def repair(self, recorder: Recorder) -> None:
        if self.zone is not None:
            recorder.event(
                FAULT_END,
                fault=self.name,
                zone=self.zone,
                action="nothing to restore: Patroni restarts PostgreSQL",
            )


FAULTS: dict[str, type[Fault]] = {
    "none": Fault,
    CrashPrimaryNode.name: CrashPrimaryNode,
    CrashPrimaryPostgres.name: CrashPrimaryPostgres,
}


def make_fault(name: str, cluster: ClusterHandle | None) -> Fault:
    kind = FAULTS.get(name)
    if kind is None:
        raise DrillError(f"unknown fault {name!r}; expected one of {', '.join(FAULTS)}")
    if not issubclass(kind, _ClusterFault):
        return kind()
    if cluster is None:
        raise DrillError(f"fault {name} needs a cluster (--dir)")
    return kind(cluster)


class LeaderWatch(threading.Thread):
    """Polls `cluster.leader()` about every `interval` seconds and records a `leader` event
    each time the answer changes (the first answer too). A failed poll counts as "no
    leader", with the reason."""

    def __init__(self, cluster: ClusterHandle, recorder: Recorder, interval: float = 0.5) -> None:
        super().__init__(name="drill-leader-watch", daemon=True)
        self.cluster = cluster
        self.recorder = recorder
        self.interval = interval
        self.current: str | None = None
        self._halt = threading.Event()  # not `_stop`: Thread has a method by that name

    def run(self) -> None:
        seen: tuple[str | None, str | None] | None = None
        while not self._halt.is_set():
            started = time.monotonic()
            error = None
            try:
                zone = self.cluster.leader()
            except Exception as exc:
                zone, error = None, str(exc)[:160]
            if seen is None or seen[0] != zone:
                self.recorder.event(LEADER, leader=zone, **({"error": error} if error else {}))
            seen = (zone, error)
            self.current = zone
            self._halt.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
