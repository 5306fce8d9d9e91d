"""`Cluster`: the handle that drills (and the CLI) use to look at a running cluster and to
break it on purpose.

The contract, for every method:

* Faults go through supervisord (programs) or straight to a PID that supervisord or
  PostgreSQL's postmaster.pid names; nothing is matched by process name, so two clusters on
  one machine never hit each other. Network faults are nftables rules inside the zones'
  own namespaces (`network.py`); they need a cluster made as root (`network == "netns"`).
* Every fault has its mend: `crash_node`/`crash_zone` → `restore_node`, `kill` → `start`,
  `freeze` → `thaw`, `partition`/`isolate_from_consensus`/`cut_clients_from`/
  `slow_network` → `heal`.
* No program is ever restarted behind the caller's back: supervisord runs every program with
  autorestart off, so a killed program stays dead until `start` or `restore_node`.
  (PostgreSQL is the exception by design: Patroni restarts it, that is Patroni's job.)
* Methods that inject a fault return as soon as the signal is delivered; they do not wait
  for the cluster to react. `wait_healthy` and `switchover` wait, with a deadline.
* Every failure is a `ClusterError` with a one-line message; a method never returns having
  silently done nothing.
* A `Cluster` holds no connection; it may be shared between threads.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from aloft.cluster import host, network, probe, status
from aloft.cluster.credentials import Credentials
from aloft.cluster.errors import ClusterError
from aloft.cluster.supervision import RUNNING, Supervisor
from aloft.cluster.topology import (
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    POSTGRES_PORT,
    PROGRAMS,
    RESTAPI_USER,
    Topology,
)

# What `freeze` can stop: the zone's programs, and "postgres" (the postmaster and every
# process below it).
FREEZABLE = (*PROGRAMS, "postgres")


class Cluster:
    """A cluster that `aloft cluster up` created in a directory.

    Attributes: `url` — where clients reach it (HAProxy), e.g. "http://127.0.0.1:8080";
    `zones` — the zone names, e.g. ["a", "b", "c"]; `directory` — the cluster directory.
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.directory = topology.root
        self.url = topology.url
        self.zones = topology.zone_names
        self.supervisor = Supervisor(topology)
        self._frozen: dict[str, list[int]] = {}

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        """The cluster `up` created in `directory`. Raises ClusterError if there is none (no
        cluster.json). Does not check that it is running: `members()` and `wait_healthy()`
        say that."""
        return cls(Topology.load(Path(directory)))

    # -- looking -------------------------------------------------------------------------

    def snapshot(self) -> status.Snapshot:
        """Everything `aloft cluster status` shows, probed now (in parallel, ≤ ~1 s)."""
        return status.collect(self.topology, self.supervisor)

    def leader(self) -> str | None:
        """The zone whose Patroni holds the leader key in etcd *and* answers that its
        PostgreSQL runs as primary; None while there is no such zone (during a failover, or
        while the old leader's key outlives its crashed node). Asks only Patroni (≤ ~1 s),
        so it can be polled."""
        return status.find_leader(self.topology)

    def primary(self) -> str | None:
        """The zone whose PostgreSQL takes writes now: the leader when there is one; without
        a leader key (failsafe_mode keeps a primary cut off from etcd serving) the zone that
        says it runs as primary, on the highest timeline if several do. None when no zone
        answers as primary. Asks only Patroni (≤ ~1 s)."""
        return status.find_primary(self.topology)

    def members(self) -> list[dict[str, Any]]:
        """One dict per zone, in zone order, with at least: zone, role ('leader',
        'sync_standby', 'replica' or 'down' — down when the zone's Patroni does not answer),
        state (PostgreSQL's state as Patroni reports it: 'running', 'streaming', 'stopped',
        'crashed'…, or why Patroni gave no answer), timeline (int or None), lag_bytes (bytes
        behind the leader; 0 for the leader; None if unknown) and app_ready (its /readyz
        answered 200). Also address, etcd_healthy, etcd_leader and processes (supervisord
        state of etcd, patroni and app)."""
        return [m.as_dict() for m in self.snapshot().members]

    def database_servers(self) -> dict[str, str]:
        """Every zone's PostgreSQL as "host:port" (what the apps report a write committed
        on), mapped to the zone's name."""
        return {f"{z.address}:{POSTGRES_PORT}": z.name for z in self.topology.zones}

    def etcd_leader(self) -> str | None:
        """The zone whose etcd member is the raft leader now (None if none answers so)."""
        for zone in self.topology.zones:
            if status.etcd_is_leader(zone):
                return zone.name
        return None

    # -- faults ----------------------------------------------------------------------------

    def _name(self, zone: str, program: str) -> str:
        self.topology.zone(zone)  # raises for an unknown zone
        return self.topology.program(zone, program)

    def kill(self, zone: str, program: str) -> None:
        """SIGKILL one program ('patroni', 'app' or 'etcd') of a zone through supervisord, and
        wait (≤ 10 s) until supervisord has seen it exit. It is not restarted. Killing
        'patroni' leaves that zone's PostgreSQL running (orphaned), as a Patroni crash would.
        ClusterError if the program is not running."""
        name = self._name(zone, program)
        self.supervisor.signal(name, "KILL")
        self.supervisor.wait_stopped(name)

    def kill_postmaster(self, zone: str) -> None:
        """SIGKILL only the zone's postmaster (its pid from postmaster.pid). Its backends exit
        on their own once they see it gone; Patroni stays alive and starts PostgreSQL again —
        on the leader, with primary_start_timeout 0, only after handing the leader key to
        the synchronous standby, so it comes back as a replica. ClusterError if that zone's
        PostgreSQL is not running."""
        self.topology.zone(zone)
        pid = host.postmaster_pid(self.topology, zone)
        if pid is None:
            raise ClusterError(f"PostgreSQL of zone {zone} is not running")
        host.send(pid, signal.SIGKILL)

    def crash_node(self, zone: str) -> None:
        """Crash the zone as a machine crash would: Patroni, PostgreSQL (the postmaster and
        every backend) and the app are first frozen together (SIGSTOP), then SIGKILLed, so
        none of them acts after another is gone. etcd is left alone (use `kill(zone,
        'etcd')` for that). Nothing is restarted; `restore_node` brings the zone back.
        ClusterError if none of those processes was running."""
        states = self.supervisor.states()
        pids: list[int] = []
        for program in ("patroni", "app"):
            info = states.get(self._name(zone, program), {})
            if info.get("statename") == RUNNING and info.get("pid"):
                pids.append(int(info["pid"]))
                pids += host.descendants(int(info["pid"]))
        postmaster = host.postmaster_pid(self.topology, zone)
        if postmaster is not None:
            pids += [postmaster, *host.descendants(postmaster)]
        pids = list(dict.fromkeys(pid for pid in pids if pid != os.getpid()))
        if not pids:
            raise ClusterError(f"zone {zone} has no Patroni, PostgreSQL or app running")
        for pid in pids:
            host.send(pid, signal.SIGSTOP)
        for pid in pids:
            host.send(pid, signal.SIGKILL)
        for program in ("patroni", "app"):
            name = self._name(zone, program)
            if states.get(name, {}).get("statename") == RUNNING:
                self.supervisor.wait_stopped(name)

    def crash_zone(self, zone: str) -> None:
        """`crash_node`, and the zone's etcd member too: the whole machine is gone.
        `restore_node` brings all of it back."""
        self.crash_node(zone)
        states = self.supervisor.states()
        if states.get(self._name(zone, "etcd"), {}).get("statename") == RUNNING:
            self.kill(zone, "etcd")

    def _pids(self, zone: str, programs: tuple[str, ...]) -> list[int]:
        states = self.supervisor.states()
        pids: list[int] = []
        for program in programs:
            if program == "postgres":
                postmaster = host.postmaster_pid(self.topology, zone)
                if postmaster is not None:
                    pids += [postmaster, *host.descendants(postmaster)]
                continue
            info = states.get(self._name(zone, program), {})
            if info.get("statename") == RUNNING and info.get("pid"):
                pids += [int(info["pid"]), *host.descendants(int(info["pid"]))]
        return list(dict.fromkeys(pid for pid in pids if pid != os.getpid()))

    def freeze(self, zone: str, programs: tuple[str, ...] = FREEZABLE) -> None:
        """SIGSTOP the zone's `programs` and everything below them, as a hung machine (or a
        hung PostgreSQL, with ("postgres",)) would be: sockets stay open, nothing answers.
        `thaw` sends SIGCONT to the same processes. ClusterError if none was running."""
        self.topology.zone(zone)
        unknown = set(programs) - set(FREEZABLE)
        if unknown:
            raise ClusterError(f"cannot freeze {', '.join(sorted(unknown))}: not a program")
        frozen = self._frozen.setdefault(zone, [])
        # A process can fork between the listing and its parent's SIGSTOP (the postmaster
        # starting a backend for a new connection); that child would go on serving. So list
        # again after each round of signals until a round finds nothing new: every parent
        # is stopped by then, and stopped processes do not fork.
        for _round in range(10):
            fresh = [pid for pid in self._pids(zone, programs) if pid not in frozen]
            if not fresh:
                break
            for pid in fresh:
                if host.send(pid, signal.SIGSTOP):
                    frozen.append(pid)
        if not frozen:
            raise ClusterError(f"zone {zone} has none of {', '.join(programs)} running")

    def thaw(self, zone: str) -> None:
        """SIGCONT every process `freeze` stopped in the zone (those still alive)."""
        for pid in self._frozen.pop(zone, []):
            host.send(pid, signal.SIGCONT)

    def partition(self, zone: str, peers: list[str] | None = None, direction: str = "both") -> None:
        """Cut the zone off. `peers` None: from everything outside it (the other zones,
        HAProxy, every observer on the machine); else only from those zones. `direction`:
        "both", "in" (nothing reaches the zone) or "out" (nothing leaves it). Packets are
        dropped, not refused, as on a real network. Replaces the zone's earlier rules."""
        target = self.topology.zone(zone)
        if direction not in ("both", "in", "out"):
            raise ClusterError(f"direction {direction!r}: expected both, in or out")
        if peers is None:
            inbound, outbound = network.everything_off_link()
        else:
            others = [self.topology.zone(p) for p in peers if p != zone]
            inbound, outbound = network.from_and_to(others)
        network.block(
            self.topology,
            target,
            inbound if direction in ("both", "in") else [],
            outbound if direction in ("both", "out") else [],
        )

    def isolate_from_consensus(self, zone: str) -> None:
        """The zone can no longer reach the other zones' etcd members, nor they its own (so
        its member is a minority of one), while HAProxy, the apps and PostgreSQL traffic
        still reach it: the shape of GitHub's October 2018 partition."""
        target = self.topology.zone(zone)
        others = [z for z in self.topology.zones if z.name != zone]
        inbound, outbound = network.ports_with(others, (ETCD_CLIENT_PORT, ETCD_PEER_PORT))
        network.block(self.topology, target, inbound, outbound)

    def cut_clients_from(self, zone: str) -> None:
        """No app can reach the zone's PostgreSQL any more (its own app included), while
        replication, Patroni and etcd still can: every zone drops its outgoing connections to
        that PostgreSQL unless they come from the service user (PostgreSQL, Patroni).
        Needs a cluster whose service user is not the apps' user (a cluster made as root)."""
        target = self.topology.zone(zone)
        if self.topology.user is None:
            raise ClusterError("cut-clients needs a cluster made as root (a service user)")
        import pwd

        uid = pwd.getpwnam(self.topology.user).pw_uid
        rule = f"ip daddr {target.address} tcp dport {POSTGRES_PORT} meta skuid != {uid}"
        for each in self.topology.zones:
            network.block(self.topology, each, outbound=[rule])

    def slow_network(
        self, zone: str, delay_ms: float, loss_percent: float, jitter_ms: float = 0.0
    ) -> list[str]:
        """Hold every frame on the zone's link `delay_ms` (± `jitter_ms`) and drop
        `loss_percent` of them, each way (a delay line spliced into the link; `heal` takes it
        out). Returns notes about what could not be done (no ethtool: loss only)."""
        return network.slow(
            self.topology, self.topology.zone(zone), delay_ms, loss_percent, jitter_ms
        )

    def heal(self, zone: str | None = None) -> None:
        """Remove every network fault from the zone (None: from every zone)."""
        zones = [self.topology.zone(zone)] if zone else list(self.topology.zones)
        for each in zones:
            network.heal(self.topology, each)

    def start(self, zone: str, program: str) -> None:
        """Start one program of a zone again through supervisord (a running one is left
        alone); returns once supervisord counts it as started (1–2 s). ClusterError if it
        exits at once, with the last line of its log."""
        self.supervisor.start(self._name(zone, program))

    def restore_node(self, zone: str) -> None:
        """Start whatever of the zone's etcd, Patroni and app is not running, in that order.
        A crashed old primary rejoins as a replica (Patroni runs pg_rewind; ~3–6 s after its
        Patroni is back). Does not wait for that: call `wait_healthy`."""
        states = self.supervisor.states()
        for program in PROGRAMS:
            name = self._name(zone, program)
            if states.get(name, {}).get("statename") != RUNNING:
                self.supervisor.start(name)

    # -- planned operations ----------------------------------------------------------------

    def switchover(self, timeout: float = 60.0) -> str:
        """A planned switchover through the leader's Patroni REST API: Patroni picks the
        synchronous standby, demotes the leader cleanly and promotes the standby. Returns the
        new leader's zone once it runs as primary. ClusterError if there is no leader, no
        eligible standby (Patroni's reason is in the message), or it does not finish in
        `timeout` seconds."""
        leader = self.leader()
        if leader is None:
            raise ClusterError("no leader to switch over from")
        credentials = Credentials.load(self.topology.credentials_file)
        answer = probe.request(
            f"{self.topology.zone(leader).patroni_url}/switchover",
            "POST",
            {"leader": leader},
            timeout=timeout,
            auth=(RESTAPI_USER, credentials.restapi),
        )
        if answer is None:
            raise ClusterError(f"Patroni of zone {leader} did not answer the switchover request")
        if answer.status != 200:
            raise ClusterError(f"switchover refused by Patroni ({answer.status}): {answer.body}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.leader()
            if new is not None and new != leader:
                return new
            time.sleep(0.2)
        raise ClusterError(f"no new leader {timeout:.0f} s after the switchover from {leader}")

    def wait_healthy(self, timeout: float) -> None:
        """Return once the cluster is healthy: a leader, a streaming synchronous standby,
        every zone's Patroni and PostgreSQL up, every app ready, every etcd member healthy
        and HAProxy answering. Polls about three times a second; ClusterError listing what
        is still wrong after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        problems: list[str] = ["not checked yet"]
        while True:
            try:
                problems = self.snapshot().problems()
            except ClusterError as exc:
                problems = [str(exc)]
            if not problems:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.3)
        raise ClusterError(f"cluster not healthy after {timeout:.0f} s: {'; '.join(problems)}")
