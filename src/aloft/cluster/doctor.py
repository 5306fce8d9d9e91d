"""`aloft cluster doctor`: would a failover work right now?

Two halves, so the judgement can be tested without a cluster:

* `gather(cluster)` measures the running cluster once: Patroni's roles, lag and dynamic
  configuration, each etcd member's health and round-trip time, each PostgreSQL server's
  clock and pg_rewind prerequisites, the environment each running app process was started
  with, the timeouts in the HAProxy configuration it runs, HAProxy's own view of the apps
  (its stats socket), and free disk space under each zone's data directory. Everything it
  finds goes into `Facts`, plain data that can be saved as JSON.
* `evaluate(facts)` turns Facts into `Check`s: a name, passed or not, the measured value,
  and one line on what to do when it failed. It is pure.

The expected write stall of the next node crash comes from the settings: Patroni notices a
dead leader when its key expires (ttl), and the apps' retries find the new primary within
about a second of backoff after that (measured: 20.1–21.0 s with ttl 20, 6.4 s with ttl 6).
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aloft.cluster import probe, render, status
from aloft.cluster.control import Cluster
from aloft.cluster.credentials import Credentials
from aloft.cluster.topology import APP_ROLE, DATABASE, NAMESPACE, POSTGRES_PORT, SCOPE, Zone
from aloft.config import Settings

PROBE_TIMEOUT = 1.5
MAX_LAG_BYTES = 16 * 1024 * 1024
MAX_ETCD_RTT_MS = 100.0
MAX_CLOCK_SKEW_S = 1.0
MIN_FREE_BYTES = 2 * 1024**3
# After the leader key expires, the apps' write retries (backoff up to 1 s) find the new
# primary: measured stalls were ttl + 0.1 to 1.0 s.
RETRY_BACKOFF_S = 1.0


@dataclass
class Check:
    name: str
    ok: bool
    value: str
    advice: str = ""  # what to do; empty when the check passed


@dataclass
class Facts:
    """What `gather` measured; every field plain data (JSON round-trips)."""

    leader: str | None
    members: list[dict[str, Any]]  # status.Member dicts
    patroni_config: dict[str, Any] | None  # Patroni's dynamic configuration (/config)
    expected_patroni: dict[str, Any]  # what the cluster renders
    etcd: dict[str, dict[str, Any]]  # zone → {"healthy": bool, "rtt_ms": float | None}
    etcd_leader: str | None
    postgres: dict[str, dict[str, Any] | None]  # zone → settings and clock offset, or None
    app_database_hosts: dict[str, list[str] | None]  # zone → hosts in its running app's URL
    zone_addresses: list[str]
    haproxy_server_timeout: float | None
    haproxy_servers: dict[str, str] | None  # zone → HAProxy's status of its app
    app_write_deadline: float
    app_attempt_timeout: float
    free_bytes: dict[str, int]  # zone → free bytes on the filesystem of its pgdata
    proxy_ready: bool = False
    leader_lease_ttl: int | None = None  # the TTL etcd granted the leader key's lease
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- measuring ---------------------------------------------------------------------------------


def _etcd(zone: Zone) -> dict[str, Any]:
    started = time.monotonic()
    body = probe.get_json(f"{zone.etcd_client_url}/health", PROBE_TIMEOUT)
    rtt = (time.monotonic() - started) * 1000
    healthy = body is not None and str(body.get("health")) == "true"
    return {"healthy": healthy, "rtt_ms": round(rtt, 1) if body is not None else None}


def _postgres(zone: Zone, password: str) -> dict[str, Any] | None:
    import psycopg

    try:
        with psycopg.connect(
            host=zone.address,
            port=POSTGRES_PORT,
            dbname=DATABASE,
            user=APP_ROLE,
            password=password,
            connect_timeout=2,
        ) as conn:
            before = time.time()
            row = conn.execute(
                "SELECT extract(epoch FROM clock_timestamp()), current_setting('data_checksums'),"
                " current_setting('wal_log_hints'), pg_is_in_recovery()"
            ).fetchone()
            after = time.time()
    except psycopg.Error:
        return None
    assert row is not None
    return {
        "clock_offset_s": round(float(row[0]) - (before + after) / 2, 3),
        "data_checksums": row[1] == "on",
        "wal_log_hints": row[2] == "on",
        "in_recovery": bool(row[3]),
    }


def _leader_lease_ttl(zones: tuple[Zone, ...]) -> int | None:
    """The TTL etcd granted the lease of Patroni's leader key: the lease Patroni really runs
    with (it would have raised a ttl it did not accept)."""
    key = base64.b64encode(f"{NAMESPACE}{SCOPE}/leader".encode()).decode()
    for zone in zones:
        found = probe.request(
            f"{zone.etcd_client_url}/v3/kv/range", "POST", {"key": key}, PROBE_TIMEOUT
        )
        if found is None or not isinstance(found.body, dict):
            continue
        kvs = found.body.get("kvs") or []
        if not kvs or not kvs[0].get("lease"):
            return None
        lease = probe.request(
            f"{zone.etcd_client_url}/v3/lease/timetolive",
            "POST",
            {"ID": kvs[0]["lease"]},
            PROBE_TIMEOUT,
        )
        if lease is None or not isinstance(lease.body, dict):
            continue
        granted = lease.body.get("grantedTTL")
        return int(granted) if granted is not None else None
    return None


def _app_hosts(pid: int | None) -> list[str] | None:
    """The hosts in ALOFT_DATABASE_URL of the running app process `pid`."""
    if not pid:
        return None
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    env = dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )
    url = env.get("ALOFT_DATABASE_URL", "")
    hosts = [value for key, value in parse_qsl(urlsplit(url).query) if key == "host"]
    netloc_host = urlsplit(url).hostname
    if netloc_host:
        hosts.append(f"{netloc_host}:{urlsplit(url).port or POSTGRES_PORT}")
    return [h.rsplit(":", 1)[0] for h in hosts]


def _haproxy_timeout(config: str) -> float | None:
    found = re.search(r"^\s*timeout server (\d+)s", config, re.MULTILINE)
    return float(found.group(1)) if found else None


def haproxy_servers(sock: Path) -> dict[str, str] | None:
    """HAProxy's status of each app in the checked backend, from its stats socket."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(PROBE_TIMEOUT)
            s.connect(str(sock))
            s.sendall(b"show stat\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError:
        return None
    lines = b"".join(chunks).decode(errors="replace").splitlines()
    if not lines or not lines[0].startswith("# "):
        return None
    columns = lines[0][2:].split(",")
    servers = {}
    for line in lines[1:]:
        row = dict(zip(columns, line.split(","), strict=False))
        if row.get("pxname") == "apps" and row.get("svname") not in ("FRONTEND", "BACKEND"):
            servers[row["svname"]] = row.get("status", "?")
    return servers


def gather(cluster: Cluster) -> Facts:
    """Measure the running cluster once (a few seconds at most; zones that do not answer
    are recorded as such, never waited for)."""
    topology = cluster.topology
    credentials = Credentials.load(topology.credentials_file)
    snapshot = cluster.snapshot()
    states = cluster.supervisor.states()
    zones = topology.zones
    with ThreadPoolExecutor(max_workers=3 * len(zones) + 1) as pool:
        config = pool.submit(probe.get_json, f"{zones[0].patroni_url}/config", PROBE_TIMEOUT)
        etcd = {z.name: pool.submit(_etcd, z) for z in zones}
        postgres = {z.name: pool.submit(_postgres, z, credentials.app) for z in zones}
        patroni_config = config.result()
        if patroni_config is None:  # that zone may be the one that is down
            for zone in zones[1:]:
                patroni_config = probe.get_json(f"{zone.patroni_url}/config", PROBE_TIMEOUT)
                if patroni_config is not None:
                    break
        etcd_results = {k: f.result() for k, f in etcd.items()}
        postgres_results = {k: f.result() for k, f in postgres.items()}
    defaults = Settings()
    lease = render.timings(topology.lease)
    try:
        haproxy_timeout = _haproxy_timeout(topology.haproxy_cfg.read_text())
    except OSError:
        haproxy_timeout = None
    free = {}
    for zone in zones:
        target = topology.pgdata(zone)
        while not target.exists() and target != target.parent:
            target = target.parent
        free[zone.name] = shutil.disk_usage(target).free
    return Facts(
        leader=snapshot.leader,
        members=[m.as_dict() for m in snapshot.members],
        patroni_config=patroni_config,
        expected_patroni={
            "ttl": lease.ttl,
            "loop_wait": lease.loop_wait,
            "retry_timeout": lease.retry_timeout,
            "synchronous_mode": True,
            "synchronous_mode_strict": True,
            "failsafe_mode": True,
        },
        etcd=etcd_results,
        etcd_leader=cluster.etcd_leader(),
        postgres=postgres_results,
        app_database_hosts={
            z.name: _app_hosts(states.get(topology.program(z, "app"), {}).get("pid")) for z in zones
        },
        zone_addresses=[z.address for z in zones],
        haproxy_server_timeout=haproxy_timeout,
        haproxy_servers=haproxy_servers(topology.haproxy_socket),
        app_write_deadline=defaults.db_write_deadline,
        app_attempt_timeout=defaults.db_attempt_timeout,
        free_bytes=free,
        proxy_ready=snapshot.proxy_ready,
        leader_lease_ttl=_leader_lease_ttl(zones),
    )


# -- judging -----------------------------------------------------------------------------------


def expected_stall(facts: Facts) -> float | None:
    """Seconds writes would stall if the leader's node crashed now (None: unknown ttl)."""
    ttl = (facts.patroni_config or {}).get("ttl")
    return float(ttl) + RETRY_BACKOFF_S if isinstance(ttl, int | float) else None


def lease_in_force(facts: Facts) -> dict[str, Any] | None:
    """The leader lease Patroni runs with now (its /config), the TTL etcd granted the leader
    key, and the write stall a node crash would cause now; None when no Patroni answered."""
    config = facts.patroni_config or {}
    if not isinstance(config.get("ttl"), int | float):
        return None
    return {
        "ttl": config["ttl"],
        "loop_wait": config.get("loop_wait"),
        "retry_timeout": config.get("retry_timeout"),
        "granted_ttl": facts.leader_lease_ttl,
        "expected_crash_stall_s": expected_stall(facts),
    }


def lease_text(lease: dict[str, Any] | None) -> str:
    """One line for `aloft cluster status`."""
    if lease is None:
        return "lease: unknown (no Patroni answered /config)"
    granted = lease["granted_ttl"]
    held = "no leader holds the key" if granted is None else f"etcd granted {granted} s"
    return (
        f"lease: ttl {lease['ttl']} s ({held}), loop_wait {lease['loop_wait']} s, "
        f"retry_timeout {lease['retry_timeout']} s; a node crash now would stall writes "
        f"≈{lease['expected_crash_stall_s']:g} s"
    )


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB"


def evaluate(facts: Facts) -> list[Check]:
    """Every check, in the order an operator would read them."""
    checks: list[Check] = []
    members = facts.members
    up = ("running", "streaming")

    checks.append(
        Check(
            "leader",
            facts.leader is not None,
            facts.leader or "none",
            "no zone holds the leader key and runs as primary: `aloft cluster status`, then "
            "the Patroni log of each zone",
        )
    )
    sync = [m["zone"] for m in members if m["role"] == status.SYNC_STANDBY and m["state"] in up]
    checks.append(
        Check(
            "synchronous standby streaming",
            bool(sync),
            ", ".join(sync) or "none",
            "writes wait (synchronous_mode_strict) until a standby streams: start the stopped "
            "zone with `aloft cluster up` or fix its PostgreSQL",
        )
    )
    standbys = [m for m in members if m["role"] != status.LEADER]
    idle = [f"{m['zone']} {m['role']} {m['state']}" for m in standbys if m["state"] != "streaming"]
    checks.append(
        Check(
            "every standby streaming",
            not idle,
            "; ".join(idle) or ", ".join(m["zone"] for m in standbys),
            "a standby that does not stream cannot take over and leaves the next fault one "
            "server short: `aloft cluster up` starts what is stopped; else its Patroni log",
        )
    )
    lags = {m["zone"]: m["lag_bytes"] for m in standbys}
    known = [v for v in lags.values() if v is not None]
    worst = max(known) if known else None
    checks.append(
        Check(
            "replication lag",
            len(known) == len(lags) and worst is not None and worst <= MAX_LAG_BYTES,
            ", ".join(f"{z} {'?' if v is None else f'{v} B'}" for z, v in lags.items()),
            f"a standby is more than {MAX_LAG_BYTES // 1024 // 1024} MiB behind or unknown: "
            "check its disk and network, and its PostgreSQL log",
        )
    )
    unhealthy = [z for z, e in facts.etcd.items() if not e["healthy"]]
    checks.append(
        Check(
            "etcd members healthy",
            not unhealthy,
            f"{len(facts.etcd) - len(unhealthy)}/{len(facts.etcd)}",
            f"etcd in zone {', '.join(unhealthy)} does not answer healthy: a second loss "
            "leaves no quorum; restart it (`aloft cluster up`)",
        )
    )
    rtt = facts.etcd.get(facts.etcd_leader or "", {}).get("rtt_ms")
    checks.append(
        Check(
            "etcd leader round trip",
            rtt is not None and rtt <= MAX_ETCD_RTT_MS,
            "?" if rtt is None else f"{rtt:.1f} ms (zone {facts.etcd_leader})",
            f"over {MAX_ETCD_RTT_MS:.0f} ms or no etcd leader: Patroni's key renewals may time "
            "out and cause failovers nobody asked for; check the load and the network",
        )
    )
    config = facts.patroni_config or {}
    differ = [
        f"{k} {config.get(k)!r} (expected {v!r})"
        for k, v in facts.expected_patroni.items()
        if k != "failsafe_mode" and config.get(k) != v
    ]
    checks.append(
        Check(
            "Patroni timing and synchronous settings",
            bool(config) and not differ,
            "; ".join(differ)
            or (
                f"ttl {config.get('ttl')}, loop_wait {config.get('loop_wait')}, "
                f"retry_timeout {config.get('retry_timeout')}, synchronous strict"
                if config
                else "no Patroni answered /config"
            ),
            "set them back with `patronictl edit-config` (or `aloft cluster up` on a new "
            "directory): other values change how long a failover takes or allow lost writes",
        )
    )
    ttl = facts.expected_patroni.get("ttl")
    checks.append(
        Check(
            "leader lease in etcd",
            facts.leader_lease_ttl == ttl,
            "?" if facts.leader_lease_ttl is None else f"{facts.leader_lease_ttl} s granted",
            f"etcd granted the leader key a lease other than the expected {ttl} s: Patroni "
            "adjusted its ttl (see its log for 'adjusting'), or no leader holds the key",
        )
    )
    checks.append(
        Check(
            "failsafe_mode",
            config.get("failsafe_mode") is True,
            str(config.get("failsafe_mode")),
            "turn failsafe_mode on, so a primary that loses etcd but reaches every member "
            "keeps serving",
        )
    )
    pg = {z: v for z, v in facts.postgres.items() if v is not None}
    rewindable = [z for z, v in pg.items() if v["data_checksums"] or v["wal_log_hints"]]
    missing = sorted(set(facts.postgres) - set(pg))
    checks.append(
        Check(
            "pg_rewind possible (checksums or wal_log_hints)",
            bool(pg) and len(rewindable) == len(facts.postgres),
            f"{len(rewindable)}/{len(facts.postgres)} servers"
            + (f"; no answer from {', '.join(missing)}" if missing else ""),
            "a server without data checksums or wal_log_hints cannot rejoin after a failover "
            "without a full copy; enable wal_log_hints (restart) or reach the missing server",
        )
    )
    wanted = set(facts.zone_addresses)
    short = {
        z: sorted(wanted - set(hosts or []))
        for z, hosts in facts.app_database_hosts.items()
        if hosts is None or not wanted <= set(hosts)
    }
    checks.append(
        Check(
            "apps know every database host",
            not short,
            "all"
            if not short
            else "; ".join(f"app {z} lacks {', '.join(h)}" for z, h in short.items()),
            "an app that does not list every host cannot follow the primary there: render "
            "its environment again (`aloft cluster up`) and restart it",
        )
    )
    stall = expected_stall(facts)
    deadline = facts.app_write_deadline + facts.app_attempt_timeout
    server = facts.haproxy_server_timeout
    ladder_ok = stall is not None and server is not None and server > deadline > stall
    checks.append(
        Check(
            "timeout ladder",
            ladder_ok,
            f"HAProxy server {server or '?'} s > app write deadline {deadline:g} s > "
            f"expected failover {stall or '?'} s",
            "each layer must wait longer than the one below it, or a held write becomes an "
            "error: raise HAProxy's timeout server or ALOFT_DB_WRITE_DEADLINE",
        )
    )
    servers = facts.haproxy_servers
    down = sorted(z for z, s in (servers or {}).items() if not s.startswith("UP"))
    checks.append(
        Check(
            "HAProxy sees every app",
            servers is not None and not down and len(servers) == len(facts.zone_addresses),
            "no answer from HAProxy's stats socket"
            if servers is None
            else ", ".join(f"{z} {s}" for z, s in sorted(servers.items())),
            "an app HAProxy marks down takes no requests: `aloft cluster status`, then that "
            "app's log",
        )
    )
    offsets = {z: v["clock_offset_s"] for z, v in pg.items()}
    skew = max(offsets.values()) - min(offsets.values()) if offsets else None
    checks.append(
        Check(
            "zone clocks agree",
            skew is not None and skew <= MAX_CLOCK_SKEW_S,
            "?" if skew is None else f"spread {skew * 1000:.0f} ms",
            "zones disagree on the time by more than a second: timestamps and snowflake IDs "
            "would go out of order across a failover; run NTP (chrony) on every host",
        )
    )
    low = {z: n for z, n in facts.free_bytes.items() if n < MIN_FREE_BYTES}
    checks.append(
        Check(
            "free disk for WAL",
            not low,
            ", ".join(f"{z} {_gib(n)}" for z, n in facts.free_bytes.items()),
            f"under {_gib(MIN_FREE_BYTES)} free: a full disk stops the primary; free space "
            "or grow the volume",
        )
    )
    checks.append(
        Check(
            "expected write stall of a node crash",
            stall is not None and stall < facts.app_write_deadline,
            "?"
            if stall is None
            else f"≈{stall:g} s (ttl + up to {RETRY_BACKOFF_S:g} s of retry backoff)",
            "the stall would outlast the apps' write deadline: clients would see 503s",
        )
    )
    return checks


def report(facts: Facts) -> dict[str, Any]:
    """`aloft cluster doctor --json`: the verdict, every check, and the facts behind them."""
    checks = evaluate(facts)
    return {
        "ready": all(c.ok for c in checks),
        "summary": summary(checks),
        "checks": [asdict(c) for c in checks],
        "facts": facts.as_dict(),
    }


def summary(checks: list[Check]) -> str:
    """One line for `aloft cluster status`: "failover ready", or what is not."""
    failed = [c.name for c in checks if not c.ok]
    return "failover ready" if not failed else "not failover ready: " + "; ".join(failed)
