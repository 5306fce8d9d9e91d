"""`Cluster`: the handle that drills (and the CLI) use to look at a running cluster and to
break it on purpose.

The contract, for every method:

* Faults go through supervisord (programs) or straight to a PID that supervisord or
  PostgreSQL's postmaster.pid names; nothing is matched by process name, so two clusters on
  one machine never hit each other.
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

from aloft.cluster import host, probe, status
from aloft.cluster.credentials import Credentials
from aloft.cluster.errors import ClusterError
from aloft.cluster.supervision import RUNNING, Supervisor
from aloft.cluster.topology import PROGRAMS, RESTAPI_USER, Topology


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

    def members(self) -> list[dict[str, Any]]:
        """One dict per zone, in zone order, with at least: zone, role ('leader',
        'sync_standby', 'replica' or 'down' — down when the zone's Patroni does not answer),
        state (PostgreSQL's state as Patroni reports it: 'running', 'streaming', 'stopped',
        'crashed'…, or why Patroni gave no answer), timeline (int or None), lag_bytes (bytes
        behind the leader; 0 for the leader; None if unknown) and app_ready (its /readyz
        answered 200). Also address, etcd_healthy, etcd_leader and processes (supervisord
        state of etcd, patroni and app)."""
        return [m.as_dict() for m in self.snapshot().members]

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
