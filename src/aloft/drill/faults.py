"""What a drill breaks, how it mends it, and who the leader is meanwhile.

A fault has two steps, called on the drill's schedule: `inject` at the fault time and
`repair` at the end of the fault window. Each records its events in the history
(`fault-start` just before the blow, a `note` once delivered, `fault-end` once mended); a
fault that cannot be injected or mended records `fault-error`, which fails the verdict: a
drill that broke nothing proves nothing.

The zone a fault hits is chosen at the moment of injection: the Patroni leader's zone, except
for the etcd faults, which pick by etcd's raft leader. Faults:

* `none` — breaks nothing (a workload and checker run against any server).
* `crash-primary-node` — the leader zone's Patroni, PostgreSQL and app die together (SIGKILL),
  like a machine; mended by starting them again (the old primary rejoins as a replica).
* `crash-primary-postgres` — only the leader's postmaster is SIGKILLed; its Patroni deals
  with it. Nothing to mend.
* `crash-zone` — the leader zone dies whole, its etcd member included.
* `hang-primary-node` — everything in the leader zone is frozen (SIGSTOP): etcd, Patroni,
  PostgreSQL, the app; thawed at the end, when the old primary must find itself demoted
  and acknowledge nothing.
* `hang-primary-postgres` — only the leader's PostgreSQL (postmaster and backends) freezes;
  its Patroni lives on.
* `partition-primary` — the leader zone is cut off from the other zones and from HAProxy,
  both ways (packets dropped).
* `isolate-primary-from-consensus` — the leader zone cannot reach the etcd majority (nor it
  the zone's member), while HAProxy and the apps still reach it (GitHub, October 2018).
* `cut-clients-from-primary` — no app can reach the leader's PostgreSQL; replication,
  Patroni and etcd still can.
* `kill-app` — the leader zone's app is SIGKILLed mid-request (under load every app is
  serving requests); started again at the end.
* `kill-etcd-member` — etcd's raft leader member is SIGKILLed; started again at the end.
* `etcd-quorum-loss` — two of the three etcd members die (the ones outside the leader zone);
  with failsafe_mode the primary must keep serving. Started again at the end.
* `switchover` — a planned switchover through Patroni. Nothing to mend.
* `slow-primary-network` — the leader zone's link gets 200 ms of delay and 5 % loss per
  round trip: every frame is held 100 ms and 2.5 % are dropped, each way (a delay line,
  since this kernel has no tc netem; see aloft.cluster.delayline).

Faults in sequence (each step noted in the history as it happens):

* `crash-leader-twice` — crash the leader's node; as soon as a new leader runs and the old
  node, started again, streams as a standby, crash the new leader's node too.
* `crash-during-rejoin` — crash the leader's node; once a new leader runs, start the old
  node again and, while it is still rewinding or catching up, crash the new leader's node.
* `crash-sync-standby-then-leader` — crash the synchronous standby's node, then at once the
  leader's, before another standby can have caught up. With synchronous_mode_strict no
  standby that may lack a commit is promoted: writes wait (and may time out) until the
  nodes are back, and nothing acknowledged may be lost.

Faults act through `aloft.cluster.control.Cluster`, which is imported only when a cluster is
loaded, so the rest of the drill works without it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

from aloft.drill.history import FAULT_END, FAULT_ERROR, FAULT_START, LEADER, NOTE, Recorder


class DrillError(Exception):
    """The drill cannot go on; the message says why, in one line."""


class ClusterHandle(Protocol):
    """The part of `aloft.cluster.control.Cluster` that drills use."""

    url: str
    zones: list[str]

    def leader(self) -> str | None: ...
    def primary(self) -> str | None: ...
    def members(self) -> list[dict[str, Any]]: ...
    def etcd_leader(self) -> str | None: ...
    def database_servers(self) -> dict[str, str]: ...
    def crash_node(self, zone: str) -> None: ...
    def crash_zone(self, zone: str) -> None: ...
    def kill(self, zone: str, program: str) -> None: ...
    def kill_postmaster(self, zone: str) -> None: ...
    def start(self, zone: str, program: str) -> None: ...
    def restore_node(self, zone: str) -> None: ...
    def freeze(self, zone: str, programs: tuple[str, ...] = ...) -> None: ...
    def thaw(self, zone: str) -> None: ...
    def partition(
        self, zone: str, peers: list[str] | None = None, direction: str = "both"
    ) -> None: ...
    def isolate_from_consensus(self, zone: str) -> None: ...
    def cut_clients_from(self, zone: str) -> None: ...
    def slow_network(
        self, zone: str, delay_ms: float, loss_percent: float, jitter_ms: float = ...
    ) -> list[str]: ...
    def heal(self, zone: str | None = None) -> None: ...
    def switchover(self, timeout: float = 60.0) -> str: ...
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


# How long a fault lasts unless the drill is told otherwise. Hangs and partitions last longer
# than the leader lease (6 s by default, 20 s at most): shorter ones end before anyone may
# take over, so the old primary simply resumes (worth a run of its own with --fault-window,
# but not the default).
WINDOW = 20.0
OUTLAST_LEASE_WINDOW = 30.0


class Fault:
    """Breaks nothing. Subclasses override `inject` and `repair`; `window` is the default
    time from inject to repair."""

    name = "none"
    needs_cluster = False
    window = WINDOW
    # Seconds from the end of `inject` to `repair`, when that is sooner than the window's
    # end: a sequence takes an unknown time to deliver its blows, and its last blow should
    # be mended as soon after as a single fault's would be.
    hold: float | None = None

    def inject(self, recorder: Recorder) -> None:
        """Break the system now."""

    def repair(self, recorder: Recorder) -> None:
        """Mend what `inject` broke (called once, even if `inject` failed)."""


class _ClusterFault(Fault):
    """A fault on one zone of a cluster. Subclasses define `blow(zone)` and, when there is
    something to mend, `mend(zone)`; `target` picks the zone (the leader's by default)."""

    needs_cluster = True
    mends = "nothing to mend"

    def __init__(self, cluster: ClusterHandle, leader_wait: float = 15.0) -> None:
        self.cluster = cluster
        self.leader_wait = leader_wait
        self.zone: str | None = None
        self.notes: list[str] = []  # how the blow went, recorded in the history
        self.recorder: Recorder | None = None

    def target(self) -> str:
        """The Patroni leader's zone, waiting up to `leader_wait` for there to be one."""
        deadline = time.monotonic() + self.leader_wait
        while True:
            zone = self.cluster.leader()
            if zone is not None:
                return zone
            if time.monotonic() >= deadline:
                raise DrillError(f"no leader to break after waiting {self.leader_wait:g} s")
            time.sleep(0.5)

    def note(self, text: str) -> None:
        """Record a step of the blow now (sequences note each step as it happens)."""
        if self.recorder is not None:
            self.recorder.event(NOTE, text=f"{self.name}: {text}")

    def inject(self, recorder: Recorder) -> None:
        self.recorder = recorder
        try:
            zone = self.target()
            recorder.event(FAULT_START, fault=self.name, zone=zone)
            started = time.monotonic()
            self.zone = zone
            self.blow(zone)
            recorder.event(
                NOTE,
                text=f"{self.name} delivered to zone {zone}",
                seconds=round(time.monotonic() - started, 3),
            )
            for note in self.notes:
                recorder.event(NOTE, text=f"{self.name}: {note}")
        except Exception as exc:
            recorder.event(FAULT_ERROR, fault=self.name, error=str(exc))

    def repair(self, recorder: Recorder) -> None:
        if self.zone is None:
            return
        try:
            self.mend(self.zone)
            recorder.event(FAULT_END, fault=self.name, zone=self.zone, action=self.mends)
        except Exception as exc:
            recorder.event(FAULT_ERROR, fault=self.name, error=f"mending failed: {exc}")
            recorder.event(FAULT_END, fault=self.name, zone=self.zone, action="mending failed")

    def blow(self, zone: str) -> None:
        """Break `zone`; may add to `notes` how it went (recorded in the history)."""
        raise NotImplementedError

    def mend(self, zone: str) -> None:
        """Undo `blow` (nothing by default)."""


class CrashPrimaryNode(_ClusterFault):
    name = "crash-primary-node"
    mends = "restored"

    def blow(self, zone: str) -> None:
        self.cluster.crash_node(zone)

    def mend(self, zone: str) -> None:
        self.cluster.restore_node(zone)


class CrashPrimaryPostgres(_ClusterFault):
    name = "crash-primary-postgres"
    mends = "nothing to restore: Patroni restarts PostgreSQL"

    def blow(self, zone: str) -> None:
        self.cluster.kill_postmaster(zone)


class CrashZone(CrashPrimaryNode):
    name = "crash-zone"

    def blow(self, zone: str) -> None:
        self.cluster.crash_zone(zone)


class HangPrimaryNode(_ClusterFault):
    name = "hang-primary-node"
    mends = "thawed"
    window = OUTLAST_LEASE_WINDOW
    programs: tuple[str, ...] = ("etcd", "patroni", "postgres", "app")

    def blow(self, zone: str) -> None:
        self.cluster.freeze(zone, self.programs)

    def mend(self, zone: str) -> None:
        self.cluster.thaw(zone)


class HangPrimaryPostgres(HangPrimaryNode):
    name = "hang-primary-postgres"
    programs = ("postgres",)


class PartitionPrimary(_ClusterFault):
    name = "partition-primary"
    mends = "healed"
    window = OUTLAST_LEASE_WINDOW

    def blow(self, zone: str) -> None:
        self.cluster.partition(zone)

    def mend(self, zone: str) -> None:
        self.cluster.heal(zone)


class IsolatePrimaryFromConsensus(PartitionPrimary):
    name = "isolate-primary-from-consensus"

    def blow(self, zone: str) -> None:
        self.cluster.isolate_from_consensus(zone)


class CutClientsFromPrimary(PartitionPrimary):
    name = "cut-clients-from-primary"
    window = WINDOW  # no failover follows (Patroni sees a healthy primary): writes wait it out

    def blow(self, zone: str) -> None:
        self.cluster.cut_clients_from(zone)

    def mend(self, zone: str) -> None:
        self.cluster.heal()  # the rules sit in every zone


class SlowPrimaryNetwork(PartitionPrimary):
    name = "slow-primary-network"
    window = WINDOW
    delay_ms = 100  # each way: 200 ms per round trip
    loss_percent = 2.5  # each way: ~5 % of round trips

    def blow(self, zone: str) -> None:
        self.notes += self.cluster.slow_network(zone, self.delay_ms, self.loss_percent)


class KillApp(_ClusterFault):
    name = "kill-app"
    mends = "started again"

    def blow(self, zone: str) -> None:
        self.cluster.kill(zone, "app")

    def mend(self, zone: str) -> None:
        self.cluster.start(zone, "app")


class KillEtcdMember(_ClusterFault):
    name = "kill-etcd-member"
    mends = "started again"

    def target(self) -> str:
        zone = self.cluster.etcd_leader()
        if zone is None:
            raise DrillError("no etcd member says it is the raft leader")
        return zone

    def blow(self, zone: str) -> None:
        self.cluster.kill(zone, "etcd")

    def mend(self, zone: str) -> None:
        self.cluster.start(zone, "etcd")


class EtcdQuorumLoss(_ClusterFault):
    """Kills the etcd members of every zone but the leader's; `zone` is the leader's."""

    name = "etcd-quorum-loss"
    mends = "started again"

    def _others(self, zone: str) -> list[str]:
        return [z for z in self.cluster.zones if z != zone][:2]

    def blow(self, zone: str) -> None:
        victims = self._others(zone)
        for other in victims:
            self.cluster.kill(other, "etcd")
        self.notes.append(f"etcd killed in zones {', '.join(victims)}")

    def mend(self, zone: str) -> None:
        for other in self._others(zone):
            self.cluster.start(other, "etcd")


class Switchover(_ClusterFault):
    name = "switchover"
    mends = "nothing to mend: a planned switchover"

    def blow(self, zone: str) -> None:
        self.notes.append(f"new leader {self.cluster.switchover()}")


# How long a sequence may wait for each step (a failover takes ~20 s, a rejoin ~5-30 s).
STEP_TIMEOUT = 60.0


def await_new_leader(cluster: ClusterHandle, old: str, timeout: float = STEP_TIMEOUT) -> str:
    """The zone that leads after `old` lost the lead; DrillError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        zone = cluster.leader()
        if zone is not None and zone != old:
            return zone
        time.sleep(0.25)
    raise DrillError(f"no new leader {timeout:g} s after zone {old} lost the lead")


def await_streaming(cluster: ClusterHandle, zone: str, timeout: float = STEP_TIMEOUT) -> None:
    """Return once `zone` streams from the leader as a standby."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        member = next((m for m in cluster.members() if m["zone"] == zone), None)
        if member and member["role"] != "leader" and member["state"] == "streaming":
            return
        time.sleep(0.5)
    raise DrillError(f"zone {zone} did not stream as a standby within {timeout:g} s")


class _Sequence(_ClusterFault):
    """A fault in several steps; `crashed` lists every node it crashed, and mending starts
    them all again in that order."""

    mends = "restored"
    window = 90.0  # the longest it may take: blows (up to ~40 s) and then `hold`
    hold = WINDOW

    def __init__(self, cluster: ClusterHandle, leader_wait: float = 15.0) -> None:
        super().__init__(cluster, leader_wait)
        self.crashed: list[str] = []

    def crash(self, zone: str, what: str) -> None:
        self.cluster.crash_node(zone)
        self.crashed.append(zone)
        self.note(f"crashed {what}, zone {zone}")

    def mend(self, zone: str) -> None:
        for crashed in dict.fromkeys(self.crashed):
            self.cluster.restore_node(crashed)


class CrashLeaderTwice(_Sequence):
    name = "crash-leader-twice"

    def blow(self, zone: str) -> None:
        self.crash(zone, "the leader's node")
        second = await_new_leader(self.cluster, zone)
        self.note(f"zone {second} leads")
        self.cluster.restore_node(zone)
        await_streaming(self.cluster, zone)
        self.note(f"zone {zone} rejoined and streams")
        self.crash(second, "the new leader's node")


class CrashDuringRejoin(_Sequence):
    name = "crash-during-rejoin"

    def blow(self, zone: str) -> None:
        self.crash(zone, "the leader's node")
        second = await_new_leader(self.cluster, zone)
        self.note(f"zone {second} leads")
        self.cluster.restore_node(zone)
        state = next((m["state"] for m in self.cluster.members() if m["zone"] == zone), "?")
        self.note(f"zone {zone} started again, state {state}")
        self.crash(second, "the new leader's node, while the old one rejoins")


class CrashSyncStandbyThenLeader(_Sequence):
    name = "crash-sync-standby-then-leader"
    window = WINDOW + 10

    def blow(self, zone: str) -> None:
        standby = next(
            (m["zone"] for m in self.cluster.members() if m["role"] == "sync_standby"), None
        )
        if standby is None:
            raise DrillError("no synchronous standby to crash")
        self.crash(standby, "the synchronous standby's node")
        self.crash(zone, "the leader's node")


FAULTS: dict[str, type[Fault]] = {
    "none": Fault,
    **{
        kind.name: kind
        for kind in (
            CrashPrimaryNode,
            CrashPrimaryPostgres,
            CrashZone,
            HangPrimaryNode,
            HangPrimaryPostgres,
            PartitionPrimary,
            IsolatePrimaryFromConsensus,
            CutClientsFromPrimary,
            KillApp,
            KillEtcdMember,
            EtcdQuorumLoss,
            Switchover,
            SlowPrimaryNetwork,
            CrashLeaderTwice,
            CrashDuringRejoin,
            CrashSyncStandbyThenLeader,
        )
    },
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
    """Polls `cluster.primary()` about every `interval` seconds and records a `leader` event
    each time the answer changes (the first answer too). A failed poll counts as "no
    leader", with the reason. The primary, not the leader-key holder: under failsafe_mode a
    primary cut off from etcd keeps serving without the key, and the checker judges each
    acknowledged write against whoever really took writes."""

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
                zone = self.cluster.primary()
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
