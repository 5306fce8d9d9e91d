"""One snapshot of a running cluster, and whether it is healthy.

Where each fact comes from:

* roles and lag — Patroni's `/cluster` (its view of etcd), asked of any zone that answers;
* whether a zone's Patroni is alive, its PostgreSQL state and timeline — that zone's
  `/patroni`; a zone whose Patroni does not answer is `down`, whatever etcd still says (a
  crashed node's member key outlives it by up to the ttl);
* app readiness — each app's `/healthz/database` (the app serves *and* reaches a database
  server that serves its role), and the same through HAProxy's cluster URL. Not `/readyz`:
  that answers 200 whenever the app process serves, database or not, because it is what
  HAProxy checks, and an app whose primary is being replaced must keep its place there;
* etcd — each member's `/health`, and `/v3/maintenance/status` for the raft leader;
* processes — supervisord's state of every program.

All probes run in parallel with short timeouts, so a frozen zone costs one timeout, not one
per probe.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from aloft.cluster import network, probe
from aloft.cluster.errors import ClusterError
from aloft.cluster.supervision import RUNNING, Supervisor
from aloft.cluster.topology import PROGRAMS, Topology, Zone

PROBE_TIMEOUT = 1.0
# What "app ready" means here (see the module docstring).
READY_PATH = "/healthz/database"
LEADER, SYNC_STANDBY, REPLICA, DOWN = "leader", "sync_standby", "replica", "down"
_ROLE_NAMES = {"standby_leader": LEADER, "quorum_standby": SYNC_STANDBY}
_UP_STATES = ("running", "streaming")


@dataclass
class Member:
    """One zone as seen now. `role`: leader | sync_standby | replica | down."""

    zone: str
    address: str
    role: str
    state: str
    timeline: int | None
    lag_bytes: int | None
    app_ready: bool
    etcd_healthy: bool
    etcd_leader: bool
    processes: dict[str, str] = field(default_factory=dict)
    network_faults: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Snapshot:
    url: str
    leader: str | None
    members: list[Member]
    proxy_ready: bool
    proxy_process: str

    def problems(self) -> list[str]:
        """What keeps this cluster from being healthy (empty: healthy). Healthy means: one
        leader, a streaming synchronous standby, every zone's PostgreSQL up, every app ready,
        every etcd member healthy, and HAProxy answering."""
        out = []
        if self.leader is None:
            out.append("no leader")
        if not any(m.role == SYNC_STANDBY and m.state in _UP_STATES for m in self.members):
            out.append("no synchronous standby")
        for m in self.members:
            if m.role == DOWN:
                out.append(f"zone {m.zone}: Patroni down ({m.state})")
            elif m.state not in _UP_STATES:
                out.append(f"zone {m.zone}: PostgreSQL {m.state}")
            if not m.app_ready:
                out.append(f"zone {m.zone}: app not ready")
            if not m.etcd_healthy:
                out.append(f"zone {m.zone}: etcd not healthy")
            for fault in m.network_faults:
                out.append(f"zone {m.zone}: {fault} (`aloft cluster heal` removes it)")
        if not self.proxy_ready:
            out.append(f"HAProxy: {self.url}{READY_PATH} does not answer 200")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "leader": self.leader,
            "healthy": not self.problems(),
            "problems": self.problems(),
            "haproxy": {"ready": self.proxy_ready, "process": self.proxy_process},
            "members": [m.as_dict() for m in self.members],
        }


@dataclass
class _Probes:
    view: dict[str, Any] | None  # Patroni's /cluster
    nodes: dict[str, dict[str, Any] | None]  # zone → /patroni
    apps: dict[str, bool]
    etcd_health: dict[str, bool]
    etcd_leader: dict[str, bool]
    proxy: bool


def ready(url: str) -> bool:
    """An app (or HAProxy) at `url` serves and reaches the database: READY_PATH answers 200."""
    answer = probe.request(f"{url}{READY_PATH}", timeout=PROBE_TIMEOUT)
    return answer is not None and answer.status == 200


def etcd_healthy(zone: Zone) -> bool:
    """The zone's etcd member answers /health with health "true" (it sees a quorum)."""
    body = probe.get_json(f"{zone.etcd_client_url}/health", PROBE_TIMEOUT)
    return body is not None and str(body.get("health")) == "true"


def etcd_is_leader(zone: Zone) -> bool:
    """The zone's etcd member is the raft leader."""
    answer = probe.request(
        f"{zone.etcd_client_url}/v3/maintenance/status", "POST", {}, PROBE_TIMEOUT
    )
    if answer is None or not isinstance(answer.body, dict):
        return False
    member = answer.body.get("header", {}).get("member_id")
    return member is not None and member == answer.body.get("leader")


def _cluster_view(zones: tuple[Zone, ...]) -> dict[str, Any] | None:
    for zone in zones:
        body = probe.get_json(f"{zone.patroni_url}/cluster", PROBE_TIMEOUT)
        if body is not None and isinstance(body.get("members"), list):
            return body
    return None


def _run_probes(topology: Topology) -> _Probes:
    zones = topology.zones
    with ThreadPoolExecutor(max_workers=4 * len(zones) + 2) as pool:
        view = pool.submit(_cluster_view, zones)
        nodes = {
            z.name: pool.submit(probe.get_json, f"{z.patroni_url}/patroni", PROBE_TIMEOUT)
            for z in zones
        }
        apps = {z.name: pool.submit(ready, z.app_url) for z in zones}
        health = {z.name: pool.submit(etcd_healthy, z) for z in zones}
        leader = {z.name: pool.submit(etcd_is_leader, z) for z in zones}
        proxy = pool.submit(ready, topology.url)
        return _Probes(
            view.result(),
            {k: f.result() for k, f in nodes.items()},
            {k: f.result() for k, f in apps.items()},
            {k: f.result() for k, f in health.items()},
            {k: f.result() for k, f in leader.items()},
            proxy.result(),
        )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _member(
    topology: Topology, zone: Zone, probes: _Probes, states: dict[str, dict[str, Any]]
) -> Member:
    processes = {
        p: str(states.get(topology.program(zone, p), {}).get("statename", "UNKNOWN")).lower()
        for p in PROGRAMS
    }
    node = probes.nodes[zone.name]
    listed = {m.get("name"): m for m in (probes.view or {}).get("members", [])}
    dcs = listed.get(zone.name)
    if node is None:
        patroni_state = processes["patroni"]
        state = "no answer" if patroni_state == "running" else f"patroni {patroni_state}"
        role, timeline, lag = DOWN, None, None
    else:
        if dcs is not None:
            role = _ROLE_NAMES.get(str(dcs.get("role")), str(dcs.get("role")))
            state = str(dcs.get("state") or node.get("state", "unknown"))
        elif probes.view is None:  # etcd unreachable: believe the node itself
            role = (
                LEADER
                if node.get("role") == "primary"
                else (SYNC_STANDBY if node.get("sync_standby") else REPLICA)
            )
            state = str(node.get("replication_state") or node.get("state", "unknown"))
        else:  # alive, but not (yet) a member in etcd
            role, state = DOWN, str(node.get("state", "unknown"))
        if node.get("state") != "running":
            state = str(node.get("state", "unknown"))
        timeline = _int(node.get("timeline")) or _int((dcs or {}).get("timeline"))
        lag = 0 if role == LEADER else _int((dcs or {}).get("lag"))
    return Member(
        zone=zone.name,
        address=zone.address,
        role=role,
        state=state,
        timeline=timeline,
        lag_bytes=lag,
        app_ready=probes.apps[zone.name],
        etcd_healthy=probes.etcd_health[zone.name],
        etcd_leader=probes.etcd_leader[zone.name],
        processes=processes,
        network_faults=network.faults(topology, zone),
    )


def _leader(view: dict[str, Any] | None, nodes: dict[str, dict[str, Any] | None]) -> str | None:
    """The zone that holds the leader key (when etcd's view is known) and whose own Patroni
    says its PostgreSQL runs as primary."""
    listed = {m.get("name"): m for m in (view or {}).get("members", [])}
    for zone, node in nodes.items():
        if not node or node.get("role") != "primary" or node.get("state") != "running":
            continue
        if view is None:
            return zone
        role = str(listed.get(zone, {}).get("role"))
        if _ROLE_NAMES.get(role, role) == LEADER:
            return zone
    return None


def _primary(view: dict[str, Any] | None, nodes: dict[str, dict[str, Any] | None]) -> str | None:
    """The leader (see `_leader`); when no zone holds the key, the zone whose PostgreSQL
    runs as primary anyway — as under failsafe_mode, where a primary cut off from etcd keeps
    serving while it reaches every member — the one on the highest timeline if several say
    so (a lower one is a stale old primary)."""
    leader = _leader(view, nodes)
    if leader is not None:
        return leader
    running = {
        zone: _int(node.get("timeline")) or 0
        for zone, node in nodes.items()
        if node and node.get("role") == "primary" and node.get("state") == "running"
    }
    if not running:
        return None
    return max(running, key=lambda zone: running[zone])


def _patroni_answers(
    topology: Topology,
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any] | None]]:
    """Patroni's view of etcd, and each zone's own `/patroni`, asked in parallel."""
    with ThreadPoolExecutor(max_workers=len(topology.zones) + 1) as pool:
        view = pool.submit(_cluster_view, topology.zones)
        nodes = {
            z.name: pool.submit(probe.get_json, f"{z.patroni_url}/patroni", PROBE_TIMEOUT)
            for z in topology.zones
        }
        return view.result(), {k: f.result() for k, f in nodes.items()}


def find_primary(topology: Topology) -> str | None:
    """Only what `_primary` needs (Patroni's REST API), for callers that poll it often."""
    return _primary(*_patroni_answers(topology))


def find_leader(topology: Topology) -> str | None:
    """Only what `leader` needs (Patroni's REST API), for callers that poll it often."""
    return _leader(*_patroni_answers(topology))


def collect(topology: Topology, supervisor: Supervisor) -> Snapshot:
    """Probe everything once. Raises ClusterError only if supervisord itself is not running."""
    states = supervisor.states()
    probes = _run_probes(topology)
    members = [_member(topology, z, probes, states) for z in topology.zones]
    leader = _leader(probes.view, probes.nodes)
    proxy_process = str(states.get("haproxy", {}).get("statename", "UNKNOWN")).lower()
    return Snapshot(topology.url, leader, members, probes.proxy, proxy_process)


def collect_or_none(topology: Topology, supervisor: Supervisor) -> Snapshot | None:
    try:
        return collect(topology, supervisor)
    except ClusterError:
        return None


# -- rendering -------------------------------------------------------------------------------


def _role_text(role: str) -> str:
    return {
        LEADER: "[bold green]leader[/]",
        SYNC_STANDBY: "[cyan]sync standby[/]",
        REPLICA: "replica",
        DOWN: "[bold red]down[/]",
    }.get(role, role)


def _lag(lag: int | None) -> str:
    if lag is None:
        return "?"
    if lag < 1024:
        return f"{lag} B"
    if lag < 1024 * 1024:
        return f"{lag / 1024:.1f} KiB"
    return f"{lag / 1024 / 1024:.1f} MiB"


def _etcd_text(m: Member) -> str:
    if not m.etcd_healthy:
        return "[red]unhealthy[/]"
    return "[green]leader[/]" if m.etcd_leader else "[green]member[/]"


def _programs_text(m: Member) -> str:
    stopped = [f"{p} {s}" for p, s in m.processes.items() if s != RUNNING.lower()]
    return f"[red]{', '.join(stopped)}[/]" if stopped else "[green]all running[/]"


def table(snapshot: Snapshot) -> Any:
    """A rich Table of the snapshot (one row per zone)."""
    from rich.table import Table

    proxy = "[green]ready[/]" if snapshot.proxy_ready else f"[red]{snapshot.proxy_process}[/]"
    out = Table(
        title=f"Aloft cluster at {snapshot.url} (HAProxy {proxy})",
        title_justify="left",
    )
    columns = ["zone", "address", "role", "state", "TL", "lag", "app", "etcd", "programs"]
    faulty = any(m.network_faults for m in snapshot.members)
    for column in [*columns, "network"] if faulty else columns:
        out.add_column(column, no_wrap=True)
    for m in snapshot.members:
        out.add_row(
            m.zone,
            m.address,
            _role_text(m.role),
            m.state,
            "" if m.timeline is None else str(m.timeline),
            "" if m.role in (LEADER, DOWN) else _lag(m.lag_bytes),
            "[green]ready[/]" if m.app_ready else "[red]not ready[/]",
            _etcd_text(m),
            _programs_text(m),
            *(
                [f"[red]{'; '.join(m.network_faults)}[/]" if m.network_faults else "ok"]
                if faulty
                else []
            ),
        )
    return out
