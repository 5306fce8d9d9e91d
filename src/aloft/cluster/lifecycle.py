"""Bringing a cluster up and down.

`up` is safe to run again: on a stopped cluster it starts what is there (etcd and PostgreSQL
keep their data), on a running one it starts whatever is not running and waits for health.
The order matters and each step waits for the one before:

1. checks (binaries, service user, paths, ports) and rendered configuration; as root, the
   zones' network (a bridge and one network namespace per zone, `network.py`);
2. supervisord; then etcd everywhere, until each member reports healthy;
3. Patroni everywhere: one zone initialises PostgreSQL (initdb --data-checksums), the others
   clone it; until there is a leader and a streaming synchronous standby;
4. the app's role and database (as the superuser, on the leader), then its migrations, once,
   with `aloft db migrate` over the multi-host URL;
5. the apps, until every one reaches the database (/healthz/database); then HAProxy, until
   it does too;
6. an admin account, the first time.

`down` stops programs in the reverse order, shuts supervisord down, then scans /proc for
anything of this cluster still alive (a PostgreSQL orphaned by a killed Patroni, say) and
ends it, and removes the zones' namespaces, links and fault rules, so nothing is left
behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aloft.cluster import host, network, render, status
from aloft.cluster.credentials import Credentials
from aloft.cluster.errors import ClusterError
from aloft.cluster.supervision import RUNNING, Supervisor
from aloft.cluster.topology import (
    APP_ROLE,
    DATABASE,
    DEFAULT_LEASE,
    LOOPBACK,
    NETNS,
    POSTGRES_PORT,
    PROXY_ADDRESS,
    PROXY_PORT,
    SERVICE_USER,
    SUPERUSER,
    Topology,
)

# Copied into each cluster directory (see render_all).
LEASE_LAUNCHER = Path(__file__).with_name("patroni_lease.py")

ADMIN_USERNAME = "admin"
ADMIN_EMAIL = "admin@aloft.localhost"


class Reporter(Protocol):
    """How `up` and `down` show progress: one titled step at a time."""

    def step(self, title: str) -> AbstractContextManager[None]: ...


class PlainReporter:
    """Progress as plain lines on stderr (tests, logs)."""

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        print(f"{title}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)


@dataclass(frozen=True)
class Summary:
    """What `up` reports at the end."""

    url: str
    seconds: float
    admin_email: str
    admin_password: str | None
    warnings: list[str]


def _wait(what: str, check: Callable[[], list[str]], timeout: float, pause: float = 0.3) -> None:
    """Poll `check` (which returns what is still missing) until it returns nothing."""
    deadline = time.monotonic() + timeout
    missing: list[str] = []
    while time.monotonic() < deadline:
        missing = check()
        if not missing:
            return
        time.sleep(pause)
    raise ClusterError(f"{what} not reached within {timeout:.0f} s: {'; '.join(missing[:4])}")


# -- up --------------------------------------------------------------------------------------


def prepare(root: Path, zones: int, lease: int | None = None) -> Topology:
    """Checks and the topology to run: the existing one in `root`, else a new one. `lease`
    (Patroni's ttl) is for a new cluster; None keeps an existing cluster's (or 20)."""
    if lease is not None:
        try:
            render.timings(lease)
        except ValueError as exc:
            raise ClusterError(f"--lease {lease}: {exc}") from None
    root = root.absolute()
    host.require_binaries()
    user = SERVICE_USER if host.is_root() else None
    if (root / "cluster.json").exists():
        topology = Topology.load(root)
        if len(topology.zones) != zones:
            raise ClusterError(
                f"the cluster in {root} has {len(topology.zones)} zones, not {zones}: "
                f"use --zones {len(topology.zones)}, or `aloft cluster down --purge` it first"
            )
        if topology.user != user:
            raise ClusterError(f"the cluster in {root} was made by another user: run as root")
        if lease is not None and lease != topology.lease:
            raise ClusterError(
                f"the cluster in {root} runs a {topology.lease} s lease, not {lease}: leave "
                "out --lease, or `aloft cluster down --purge` it first"
            )
        return topology
    # Zones get network namespaces when we may make them (root), loopback addresses if not.
    kind = NETNS if host.is_root() else LOOPBACK
    return Topology.create(
        root,
        zones,
        user,
        host.patroni_executable(),
        Path(sys.executable),
        kind,
        DEFAULT_LEASE if lease is None else lease,
    )


def _make_directories(topology: Topology) -> None:
    user = topology.user
    if user is not None:
        host.ensure_user(user)
    topology.root.mkdir(parents=True, exist_ok=True)
    topology.root.chmod(0o755)
    host.check_path(topology.root, user)
    for folder in (topology.run_dir, topology.log_dir):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)
    # HAProxy runs as the service user and makes its stats socket here; root reads it.
    haproxy_dir = topology.haproxy_socket.parent
    haproxy_dir.mkdir(exist_ok=True)
    haproxy_dir.chmod(0o700)
    host.chown(haproxy_dir, user)
    for zone in topology.zones:
        zone_dir = topology.zone_dir(zone)
        zone_dir.mkdir(exist_ok=True)
        host.chown(zone_dir, user)
        for folder in (topology.etcd_dir(zone), topology.socket_dir(zone)):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o700)
            host.chown(folder, user)
        topology.app_dir(zone).mkdir(exist_ok=True)


def _write(path: Path, text: str, mode: int, user: str | None = None) -> None:
    path.write_text(text)
    path.chmod(mode)
    host.chown(path, user)


def render_all(topology: Topology, credentials: Credentials) -> None:
    """Write every configuration file of the cluster."""
    for zone in topology.zones:
        _write(
            topology.patroni_config(zone),
            render.patroni_yaml(topology, zone, credentials),
            0o600,
            topology.user,
        )
        deploy = topology.zone_dir(zone) / "deploy"
        deploy.mkdir(exist_ok=True)
        deploy.chmod(0o700)
        for name, text in render.host_files(topology, zone, credentials).items():
            _write(deploy / name, text, 0o600)
    _write(topology.haproxy_cfg, render.haproxy_config(topology), 0o644)
    # Patroni's launcher for a short lease; it runs in Patroni's environment as the service
    # user, so it is a copy here rather than a path into wherever Aloft is installed.
    _write(topology.lease_script, LEASE_LAUNCHER.read_text(), 0o644)
    _write(topology.supervisord_conf, render.supervisord_config(topology, credentials), 0o600)
    topology.save()


def _etcd_missing(topology: Topology) -> list[str]:
    return [f"etcd {z.name} not healthy" for z in topology.zones if not status.etcd_healthy(z)]


def _database_missing(topology: Topology, supervisor: Supervisor) -> list[str]:
    snapshot = status.collect(topology, supervisor)
    missing = [p for p in snapshot.problems() if "app" not in p and "HAProxy" not in p]
    dead = [
        f"{name} {info['statename'].lower()}{supervisor.log_tail(name)}"
        for name, info in supervisor.states().items()
        if info["statename"] in ("EXITED", "FATAL", "BACKOFF")
        and not name.startswith("app")
        and name != "haproxy"
    ]
    if dead:
        raise ClusterError(f"{dead[0]}")
    return missing


def _leader_address(topology: Topology, supervisor: Supervisor) -> str:
    snapshot = status.collect(topology, supervisor)
    if snapshot.leader is None:
        raise ClusterError("no leader")
    return topology.zone(snapshot.leader).address


def ensure_database(topology: Topology, credentials: Credentials, supervisor: Supervisor) -> None:
    """The app's login role and its database, made once on the leader as the superuser."""
    import psycopg

    address = _leader_address(topology, supervisor)
    try:
        _create_role_and_database(address, credentials)
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ClusterError(f"cannot create the app's database on {address}: {reason}") from None


def _create_role_and_database(address: str, credentials: Credentials) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=address,
        port=POSTGRES_PORT,
        user=SUPERUSER,
        password=credentials.superuser,
        dbname="postgres",
        connect_timeout=3,
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(APP_ROLE), sql.Literal(credentials.app)
            )
        )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(APP_ROLE)
                )
            )


def _aloft(
    topology: Topology, credentials: Credentials, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run an `aloft` command against the cluster's database (as the apps see it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALOFT_")}
    env.update(render.app_environment(topology, topology.zones[0], credentials))
    return subprocess.run(
        [str(topology.python), "-m", "aloft", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def migrate(topology: Topology, credentials: Credentials) -> None:
    result = _aloft(topology, credentials, "db", "migrate")
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ClusterError(f"`aloft db migrate` failed: {last[0]}")


def ensure_admin(topology: Topology, credentials: Credentials) -> Credentials:
    """Create the admin account the first time; its password is kept with the others."""
    if credentials.admin is not None:
        return credentials
    credentials = credentials.with_admin()
    credentials.save(topology.credentials_file)
    assert credentials.admin is not None
    result = _aloft(
        topology,
        credentials,
        "accounts",
        "create",
        ADMIN_USERNAME,
        "--email",
        ADMIN_EMAIL,
        "--password",
        credentials.admin,
        "--admin",
    )
    if result.returncode != 0 and "taken" not in result.stderr:
        last = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ClusterError(f"could not create the admin account: {last[0]}")
    return credentials


def _apps_missing(topology: Topology, supervisor: Supervisor) -> list[str]:
    states = supervisor.states()
    missing = []
    for zone in topology.zones:
        name = topology.program(zone, "app")
        if states[name]["statename"] != RUNNING:
            raise ClusterError(f"{name} exited{supervisor.log_tail(name)}")
        if not status.ready(zone.app_url):
            missing.append(f"{name} not ready")
    return missing


def adjusted_timings(topology: Topology) -> list[str]:
    """Lines where Patroni says it changed our timings ('… adjusting')."""
    found = []
    for zone in topology.zones:
        try:
            text = topology.log(topology.program(zone, "patroni")).read_text(errors="replace")
        except OSError:
            continue
        found += [line.strip() for line in text.splitlines() if "adjusting" in line]
    return found


def up(
    root: Path,
    zones: int = 3,
    reporter: Reporter | None = None,
    timeout: float = 180.0,
    lease: int | None = None,
) -> Summary:
    """Bring the cluster in `root` up (creating it if needed) and wait until it is healthy.
    `lease`: Patroni's leader lease for a new cluster (see `render.timings`)."""
    report = reporter or PlainReporter()
    started = time.monotonic()
    topology = prepare(root, zones, lease)
    supervisor = Supervisor(topology)
    with report.step("Checking the machine and writing configuration"):
        _make_directories(topology)
        host.check_runs_as(topology.user, topology.patroni)
        credentials = Credentials.load_or_create(topology.credentials_file)
        if not supervisor.running():
            leftovers = host.cluster_processes(topology.root)
            if leftovers:
                host.end_processes(leftovers)
            listeners = [(PROXY_ADDRESS, PROXY_PORT)]
            if topology.network == LOOPBACK:  # namespaced zones have their own ports
                for zone in topology.zones:
                    listeners += zone.listeners
            host.check_ports(listeners)
            network.create(topology)
            render_all(topology, credentials)
            supervisor.launch()
    with report.step("Starting etcd"):
        supervisor.start_all([topology.program(z, "etcd") for z in topology.zones])
        _wait("etcd quorum", lambda: _etcd_missing(topology), 30)
    with report.step("Starting Patroni and PostgreSQL (leader and synchronous standby)"):
        supervisor.start_all([topology.program(z, "patroni") for z in topology.zones])
        _wait(
            "a leader and a synchronous standby",
            lambda: _database_missing(topology, supervisor),
            timeout,
        )
    with report.step("Creating the app's database and running its migrations"):
        ensure_database(topology, credentials, supervisor)
        migrate(topology, credentials)
    with report.step("Starting the apps"):
        supervisor.start_all([topology.program(z, "app") for z in topology.zones])
        _wait("every app ready", lambda: _apps_missing(topology, supervisor), 60)
    with report.step("Starting HAProxy"):
        supervisor.start("haproxy")
        _wait("HAProxy ready", lambda: [] if status.ready(topology.url) else ["no 200"], 30)
    with report.step("Making sure the admin account exists"):
        credentials = ensure_admin(topology, credentials)
    with report.step("Waiting until the whole cluster is healthy"):
        _wait("a healthy cluster", lambda: status.collect(topology, supervisor).problems(), 60)
    warnings = [f"Patroni adjusted a timing: {line}" for line in adjusted_timings(topology)]
    return Summary(
        topology.url, time.monotonic() - started, ADMIN_EMAIL, credentials.admin, warnings
    )


# -- down ------------------------------------------------------------------------------------


def _stop_order(topology: Topology, supervisor: Supervisor) -> list[list[str]]:
    """HAProxy, the apps, Patroni on the replicas, then Patroni on the leader, so nothing
    fails over while we stop; etcd comes after (Patroni needs it to stop cleanly). Programs
    in one list stop together."""
    snapshot = status.collect_or_none(topology, supervisor)
    leader = snapshot.leader if snapshot else None
    replicas = [topology.program(z, "patroni") for z in topology.zones if z.name != leader]
    return [
        ["haproxy"],
        [topology.program(z, "app") for z in topology.zones],
        replicas,
        [topology.program(leader, "patroni")] if leader is not None else [],
    ]


def _stop_etcd(topology: Topology, supervisor: Supervisor) -> None:
    """One member at a time, the raft leader first: a leader that stops hands leadership to
    a live member at once, but waits ~7 s in vain if its followers stopped before it."""
    remaining = list(topology.zones)
    while remaining:
        first = next((z for z in remaining if status.etcd_is_leader(z)), remaining[0])
        supervisor.stop_all([topology.program(first, "etcd")])
        remaining.remove(first)


def down(root: Path, purge: bool = False, reporter: Reporter | None = None) -> list[host.Process]:
    """Stop everything the cluster in `root` runs; with `purge`, remove the directory too.
    Returns the processes that are still alive afterwards (none, unless something refuses
    even SIGKILL)."""
    report = reporter or PlainReporter()
    root = root.absolute()
    topology = Topology.load(root)
    supervisor = Supervisor(topology)
    if supervisor.running():
        with report.step("Stopping programs"):
            for names in _stop_order(topology, supervisor):
                supervisor.stop_all(names)
            _stop_etcd(topology, supervisor)
        with report.step("Stopping supervisord"):
            supervisor.shutdown()
    with report.step("Checking that no process is left"):
        leftovers = host.cluster_processes(topology.root)
        survivors = host.end_processes(leftovers) if leftovers else []
    if topology.network == NETNS and not survivors:
        with report.step("Removing the zones' network (namespaces, links, fault rules)"):
            network.destroy(topology)
    if purge and not survivors:
        with report.step(f"Removing {root}"):
            shutil.rmtree(root)
    return survivors
