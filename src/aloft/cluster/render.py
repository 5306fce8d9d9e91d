"""Topology → the configuration of every program: Patroni's YAML, etcd's flags, haproxy.cfg and
supervisord.conf. Pure functions (no I/O), so tests can pin every setting that matters.

Patroni timings. Patroni refuses ttl < 20 at start-up and, at run time, quietly raises ttl to
20, loop_wait to 1 and retry_timeout to 3, and lowers loop_wait/retry_timeout until
loop_wait + 2·retry_timeout ≤ ttl, logging "adjusting". 20 / 2 / 4 is the fastest setting it
keeps as given (2 + 2·4 = 10 ≤ 20), and the ttl is what bounds an unplanned node failover
(~20 s on this machine); a loop_wait of 1 measured no faster and doubles the DCS traffic.

primary_start_timeout is 0: when the primary's PostgreSQL crashes while its Patroni lives,
Patroni hands the leader key to the synchronous standby at once instead of first trying crash
recovery in place. With synchronous_mode_strict that standby already holds every
acknowledged commit, so nothing is lost, and the outage no longer depends on how long crash
recovery takes (a few seconds when idle, unbounded with a large WAL backlog); measured here
~3.5 s of write stall against 4–5 s for a restart in place. Patroni still restarts the
crashed PostgreSQL, as a replica of the new primary (pg_rewind where needed).
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from aloft.cluster.credentials import Credentials
from aloft.cluster.topology import (
    APP_PORT,
    APP_ROLE,
    DATABASE,
    ETCD,
    ETCD_CLIENT_PORT,
    HAPROXY,
    MARKER,
    MIN_LEASE,
    NAMESPACE,
    PATRONI_PORT,
    PG_BIN,
    POSTGRES_PORT,
    PROXY_ADDRESS,
    PROXY_PORT,
    REPLICATION_USER,
    RESTAPI_USER,
    REWIND_USER,
    SCOPE,
    SUPERUSER,
    Topology,
    Zone,
)

TTL = 20
LOOP_WAIT = 2
RETRY_TIMEOUT = 4
PRIMARY_START_TIMEOUT = 0


@dataclass(frozen=True)
class Timings:
    """Patroni's ttl, loop_wait and retry_timeout for one leader lease."""

    ttl: int
    loop_wait: int
    retry_timeout: int

    @property
    def needs_launcher(self) -> bool:
        """Below Patroni's own floors: start it through `patroni_lease.py`."""
        return self.ttl < MIN_TTL or self.retry_timeout < MIN_RETRY_TIMEOUT


def timings(lease: int) -> Timings:
    """The timings for a leader lease of `lease` seconds. At Patroni's floor (20) and above:
    loop_wait 2, retry_timeout 4 (see the module docstring). Below it (`--lease`): loop_wait
    1, so the leader renews its key every second, and retry_timeout the largest that keeps
    loop_wait + 2·retry_timeout ≤ ttl (ttl 6: 2 s; 8: 3 s; 10: 4 s)."""
    if lease < MIN_LEASE:
        raise ValueError(f"a lease under {MIN_LEASE} s is not supported (measured unstable)")
    if lease >= MIN_TTL:
        return Timings(lease, LOOP_WAIT, RETRY_TIMEOUT)
    return Timings(lease, MIN_LOOP_WAIT, min(RETRY_TIMEOUT, (lease - MIN_LOOP_WAIT) // 2))


# Patroni's own floors (see the module docstring); `--lease` goes below the first and last
# through patroni_lease.py.
MIN_TTL, MIN_LOOP_WAIT, MIN_RETRY_TIMEOUT = 20, 1, 3

# supervisord: how long a program must stay up to count as started, and how long a stop may
# take before SIGKILL. Patroni stops PostgreSQL (fast mode) before it exits.
STARTSECS = {"etcd": 1, "patroni": 1, "app": 2, "haproxy": 1}
STOPWAITSECS = {"etcd": 15, "patroni": 60, "app": 15, "haproxy": 10}
PRIORITY = {"etcd": 100, "patroni": 200, "app": 300, "haproxy": 400}


def timings_problems(ttl: int, loop_wait: int, retry_timeout: int) -> list[str]:
    """What Patroni would adjust in these timings (empty: it keeps them as given)."""
    problems = []
    if ttl < MIN_TTL:
        problems.append(f"ttl {ttl} < {MIN_TTL}")
    if loop_wait < MIN_LOOP_WAIT:
        problems.append(f"loop_wait {loop_wait} < {MIN_LOOP_WAIT}")
    if retry_timeout < MIN_RETRY_TIMEOUT:
        problems.append(f"retry_timeout {retry_timeout} < {MIN_RETRY_TIMEOUT}")
    if loop_wait + 2 * retry_timeout > ttl:
        problems.append(
            f"loop_wait + 2·retry_timeout = {loop_wait + 2 * retry_timeout} > ttl {ttl}"
        )
    return problems


def database_url(topology: Topology, credentials: Credentials) -> str:
    """The app's libpq multi-host URL: every zone, and whichever one is the primary wins."""
    hosts = "&".join(f"host={z.address}:{POSTGRES_PORT}" for z in topology.zones)
    return (
        f"postgresql+psycopg://{APP_ROLE}:{credentials.app}@/{DATABASE}?{hosts}"
        "&target_session_attrs=read-write&connect_timeout=2"
    )


def app_environment(topology: Topology, zone: Zone, credentials: Credentials) -> dict[str, str]:
    """The environment of one zone's `aloft serve`."""
    return {
        "ALOFT_DATABASE_URL": database_url(topology, credentials),
        "ALOFT_DATA_DIR": str(topology.app_dir(zone)),
        "ALOFT_BASE_URL": topology.url,
        "ALOFT_RATE_LIMITS": "off",
        "ALOFT_HOST": zone.address,
        "ALOFT_PORT": str(APP_PORT),
        # HAProxy sets X-Forwarded-For from the client's address; the apps believe it from
        # HAProxy only, so rate limits and logs see clients, not the proxy.
        "ALOFT_TRUSTED_PROXIES": topology.proxy_source,
        # Responses say which database server answered, for the drill's checks.
        "ALOFT_DRILL_HEADERS": "on",
    }


# -- Patroni ---------------------------------------------------------------------------------


def patroni_config(topology: Topology, zone: Zone, credentials: Credentials) -> dict[str, Any]:
    """Patroni's configuration for one zone, as a dict (see `patroni_yaml`)."""
    lease = timings(topology.lease)
    return {
        "scope": SCOPE,
        "namespace": NAMESPACE,
        "name": zone.name,
        "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
        "restapi": {
            "listen": f"{zone.address}:{PATRONI_PORT}",
            "connect_address": f"{zone.address}:{PATRONI_PORT}",
            "authentication": {"username": RESTAPI_USER, "password": credentials.restapi},
        },
        "etcd3": {"hosts": [f"{z.address}:{ETCD_CLIENT_PORT}" for z in topology.zones]},
        "bootstrap": {
            # Written to etcd by the node that initialises the cluster; later changes go
            # through `patronictl edit-config`, not this file.
            "dcs": {
                "ttl": lease.ttl,
                "loop_wait": lease.loop_wait,
                "retry_timeout": lease.retry_timeout,
                "primary_start_timeout": PRIMARY_START_TIMEOUT,
                "maximum_lag_on_failover": 1048576,
                # A commit is acknowledged only once a standby has it, and only such a
                # standby may be promoted; strict: with no standby, writes wait.
                "synchronous_mode": True,
                "synchronous_mode_strict": True,
                # Losing etcd quorum does not demote a primary that still reaches every
                # member's REST API (without it: ~31 s of failed writes, measured).
                "failsafe_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "hot_standby_feedback": "on",
                        "max_connections": 200,
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "wal_keep_size": "256MB",
                        "shared_buffers": "64MB",
                        "password_encryption": "scram-sha-256",
                        "logging_collector": "on",
                        "log_directory": "log",
                        "log_line_prefix": "%m [%p] %q%u@%d ",
                        # After a failover the surviving replica re-points to the new leader;
                        # when that first connection fails (say, the leader has not created
                        # its slot yet), PostgreSQL waits this long before trying again, and
                        # with synchronous_mode_strict every write waits with it (default 5 s).
                        "wal_retrieve_retry_interval": "1s",
                        # A walsender whose standby vanished (a partition) notices after
                        # this long. At the default 60 s, a partitioned old primary that
                        # demotes itself waits that long for its walsenders before it can
                        # shut down and rejoin (seen here: 78 s to demote).
                        "wal_sender_timeout": "10s",
                    },
                },
            },
            "initdb": [
                "data-checksums",  # pg_rewind needs checksums or wal_log_hints
                {"encoding": "UTF8"},
                {"locale": "C.UTF-8"},
                {"auth-host": "scram-sha-256"},
                {"auth-local": "trust"},
            ],
        },
        "postgresql": {
            "listen": f"{zone.address}:{POSTGRES_PORT}",
            "connect_address": f"{zone.address}:{POSTGRES_PORT}",
            "data_dir": str(topology.pgdata(zone)),
            "bin_dir": str(PG_BIN),
            "pgpass": str(topology.pgpass(zone)),
            "authentication": {
                "superuser": {"username": SUPERUSER, "password": credentials.superuser},
                "replication": {"username": REPLICATION_USER, "password": credentials.replication},
                "rewind": {"username": REWIND_USER, "password": credentials.rewind},
            },
            # Each instance has its own socket directory (Debian's /var/run/postgresql
            # belongs to the postgres user). Only the service user can enter it, so local
            # connections are trusted; TCP needs a password.
            "parameters": {"unix_socket_directories": str(topology.socket_dir(zone))},
            "pg_hba": [
                "local all all trust",
                *(
                    f"host replication {REPLICATION_USER} {net} scram-sha-256"
                    for net in topology.client_networks
                ),
                *(f"host all all {net} scram-sha-256" for net in topology.client_networks),
            ],
            "basebackup": {"checkpoint": "fast"},
        },
        "watchdog": {"mode": "off"},
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
    }


def patroni_yaml(topology: Topology, zone: Zone, credentials: Credentials) -> str:
    header = f"# Patroni for zone {zone.name} ({zone.address}); written by `aloft cluster up`.\n"
    return header + yaml.safe_dump(
        patroni_config(topology, zone, credentials), sort_keys=False, default_flow_style=False
    )


# -- etcd ------------------------------------------------------------------------------------


def etcd_settings(topology: Topology, zone: Zone) -> dict[str, str]:
    """One zone's etcd member settings, by flag name without the dashes (Debian's
    etcd-server, v3 API). The command line and the per-host environment file both come
    from here."""
    initial = ",".join(f"{z.name}={z.etcd_peer_url}" for z in topology.zones)
    # One token per cluster directory, so two clusters' members never join each other.
    token = "aloft-" + hashlib.sha256(str(topology.root).encode()).hexdigest()[:12]
    return {
        "name": zone.name,
        "data-dir": str(topology.etcd_dir(zone)),
        "listen-client-urls": zone.etcd_client_url,
        "advertise-client-urls": zone.etcd_client_url,
        "listen-peer-urls": zone.etcd_peer_url,
        "initial-advertise-peer-urls": zone.etcd_peer_url,
        "initial-cluster": initial,
        "initial-cluster-state": "new",
        "initial-cluster-token": token,
        "auto-compaction-mode": "periodic",
        "auto-compaction-retention": "1h",
        "logger": "zap",
        "log-outputs": "stderr",
    }


def etcd_command(topology: Topology, zone: Zone) -> list[str]:
    """etcd's command line for one zone's member."""
    return [str(ETCD), *(f"--{k}={v}" for k, v in etcd_settings(topology, zone).items())]


# -- files for one real host -----------------------------------------------------------------


def _env_file(header: str, env: dict[str, str]) -> str:
    lines = [f"# {header}"] + [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    return "\n".join(lines) + "\n"


def host_files(topology: Topology, zone: Zone, credentials: Credentials) -> dict[str, str]:
    """What one zone needs on a machine of its own (docs/DEPLOY.md says where each goes):
    etcd's settings as the environment file Debian's etcd unit reads (/etc/default/etcd),
    the app's environment, and systemd units for Patroni and the app. Patroni's own file
    is patroni.yml beside them. Generated from the same functions as the local cluster's
    supervisord.conf, so the two cannot drift apart."""
    etcd_env = {
        "ETCD_" + key.upper().replace("-", "_"): value
        for key, value in etcd_settings(topology, zone).items()
        if key not in ("logger", "log-outputs")
    }
    app_env = app_environment(topology, zone, credentials)
    return {
        "etcd.env": _env_file(f"etcd member {zone.name}: /etc/default/etcd", etcd_env),
        "aloft.env": _env_file(f"Aloft app in zone {zone.name}: /etc/aloft/aloft.env", app_env),
        "patroni.service": f"""\
# Patroni (and through it PostgreSQL 15) for zone {zone.name}: /etc/systemd/system/
[Unit]
Description=Patroni for Aloft zone {zone.name}
After=network-online.target etcd.service
Wants=network-online.target

[Service]
Type=simple
User={topology.user or "postgres"}
Group={topology.user or "postgres"}
ExecStart={topology.patroni} /etc/patroni/patroni.yml
ExecReload=/bin/kill -s HUP $MAINPID
# Patroni stops PostgreSQL itself; only Patroni gets the signal.
KillMode=process
TimeoutStopSec={STOPWAITSECS["patroni"]}
StandardInput=null
Restart=no

[Install]
WantedBy=multi-user.target
""",
        "aloft.service": f"""\
# The Aloft app for zone {zone.name}: /etc/systemd/system/
[Unit]
Description=Aloft app, zone {zone.name}
After=network-online.target patroni.service
Wants=network-online.target

[Service]
Type=simple
User=aloft
EnvironmentFile=/etc/aloft/aloft.env
ExecStart=/opt/aloft/venv/bin/aloft serve
TimeoutStopSec={STOPWAITSECS["app"]}
Restart=on-failure

[Install]
WantedBy=multi-user.target
""",
    }


# -- HAProxy ---------------------------------------------------------------------------------


# Timings, in seconds. The promise they keep: a plain client (one attempt, 90 s timeout) gets
# its answer through a failover's write stall (~7 s at the default ttl 6; ~20-25 s at ttl 20,
# which the timings below still allow for) even when its request first went to an app that
# was killed, frozen or cut off at that moment.
#
# Replayable requests (reads, idempotent writes, keyed posts) may be cut after
# REPLAY_AFTER and sent to another app: at most RETRIES + 1 = 4 attempts of at most 20 s
# each (a refused or timed-out connection ends an attempt after CONNECT_TIMEOUT), plus at
# most 1 s of turn-around before each retry: 4 x 20 + 3 x 1 = 83 s < 90 s. The usual case
# is far shorter: a request on an app frozen at the start of the stall is cut at 20 s and
# replayed on a live app, which holds it until the new primary takes writes (~25 s) and
# answers then; an app that was killed answers with a closed connection, which is replayed
# at once. REPLAY_AFTER is not shorter because an app legitimately holds a write for the
# whole stall, and every cut throws that wait away.
#
# Any other request is sent once (only a failed connection, which never reached an app, is
# tried again) and waits up to SERVER_TIMEOUT: longer than what the app itself takes to
# give up, ALOFT_DB_WRITE_DEADLINE (45 s) + one last attempt (ALOFT_DB_ATTEMPT_TIMEOUT,
# 3 s) + libpq's connect timeout on each of three hosts (3 x 2 s) = 54 s, so the client
# gets the app's own 503 with Retry-After rather than HAProxy's 504; 3 x 1 + 60 = 63 s < 90 s.
CONNECT_TIMEOUT = 1
REPLAY_AFTER = 20
SERVER_TIMEOUT = 60
RETRIES = 3

# Health checks answer from the app's memory (/readyz does no I/O), so a short check
# timeout only catches apps that cannot answer at all. A killed app refuses the connection
# and is out within CHECK_INTERVAL + FAST_INTERVAL (~0.75 s); a frozen one accepts the
# connection (the kernel does) and never answers: CHECK_INTERVAL + CHECK_TIMEOUT +
# FAST_INTERVAL + CHECK_TIMEOUT = 2.75 s; one cut off fails to connect within min(timeout
# connect, inter) = 0.5 s per check, ~1.75 s.
CHECK_INTERVAL = 0.5
FAST_INTERVAL = 0.25
CHECK_TIMEOUT = 1
FALL, RISE = 2, 2


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def haproxy_config(topology: Topology) -> str:
    """HAProxy in front of the apps: round robin over the apps whose /readyz answers 200,
    replaying a request lost with its app on another app when that is safe.

    What may be replayed comes from the API's route table (`aloft.api.routes`): GET, HEAD
    and OPTIONS; the writes that are idempotent by nature (`IDEMPOTENT`); and the writes
    that honour an Idempotency-Key (`KEYED`) when they carry one. Everything else has its
    L7 retries disabled.
    """
    # The route table is the one list of what is safe to send twice.
    from aloft.api import routes

    methods = sorted({m for m, _ in routes.IDEMPOTENT | routes.KEYED})
    acls = []
    marks = []
    for method in methods:
        idempotent = sorted(p for m, p in routes.IDEMPOTENT if m == method)
        keyed = sorted(p for m, p in routes.KEYED if m == method)
        low = method.lower()
        # Single quotes: HAProxy reads no backslash escapes inside them.
        if idempotent:
            acls.append(f"    acl idempotent_{low} path_reg '{routes.path_pattern(idempotent)}'")
            marks.append(f"{{ method {method} }} idempotent_{low}")
        if keyed:
            acls.append(f"    acl keyed_{low} path_reg '{routes.path_pattern(keyed)}'")
            marks.append(f"{{ method {method} }} keyed_{low} has_idempotency_key")
    replay_rules = "\n".join(
        [
            *acls,
            "    http-request set-var(txn.replayable) bool(true) if reads",
            *(f"    http-request set-var(txn.replayable) bool(true) if {c}" for c in marks),
        ]
    )

    replayable = "{ var(txn.replayable) -m bool }"

    def backend(name: str, checked: bool) -> str:
        lines = [
            f"backend {name}",
            # Each account's requests go to one app while it is up (a consistent hash of
            # the Authorization header; requests without one go round robin). The app's
            # read-your-writes memory is per process: a client that posts and then reads
            # its timeline through another app could be answered from a standby that has
            # not replayed the post yet (seen in a partition drill: one such read).
            "    balance hdr(authorization)",
            "    hash-type consistent",
            # The address the apps trust X-Forwarded-For from (ALOFT_TRUSTED_PROXIES).
            f"    source {topology.proxy_source}",
            # L7 retries replay the request from HAProxy's buffer, so the whole request
            # must be in it before it is sent: wait for the body (a request larger than
            # tune.bufsize, 16 kB, is never replayed; Mastodon API writes are far smaller).
            "    option http-buffer-request",
            "    acl reads method GET HEAD OPTIONS",
            "    acl has_idempotency_key req.hdr(idempotency-key) -m reg .",
            replay_rules,
            f"    http-request set-timeout server {REPLAY_AFTER}s if {replayable}",
            f"    http-request disable-l7-retry unless {replayable}",
        ]
        if checked:
            lines += [
                "    option httpchk GET /readyz",
                "    http-check expect status 200",
                # `observe layer4 … mark-down`: an app that refuses a connection (or lets it
                # time out) is out at once, not after the next checks. When two apps die
                # together (crash-sync-standby-then-leader), a retry that only avoids the
                # app it just tried can land on the other dead one, and the consistent hash
                # sends it back; 3 retries were spent on dead apps and 20 plain clients got
                # errors in the first 0.3 s. Marked down, a dead app is skipped by every
                # later pick; the checks bring it back (rise) once it answers.
                f"    default-server inter {_ms(CHECK_INTERVAL)} fastinter {_ms(FAST_INTERVAL)} "
                f"downinter 1s fall {FALL} rise {RISE} observe layer4 error-limit 1 "
                "on-error mark-down",
            ]
        check = " check" if checked else ""
        lines += [f"    server {z.name} {z.address}:{APP_PORT}{check}" for z in topology.zones]
        return "\n".join(lines) + "\n"

    return f"""\
# HAProxy in front of the Aloft apps; written by `aloft cluster up`. The reasons for every
# number are in aloft/cluster/render.py.
global
    maxconn 4096
    # State changes of the apps (UP/DOWN) only; request logs are at info and filtered.
    log stdout format raw local0 notice
    # Its view of the apps, read by `aloft cluster doctor` (root only: mode 600).
    stats socket {topology.haproxy_socket} mode 600 level user

defaults
    mode http
    log global
    option dontlognull
    timeout connect {CONNECT_TIMEOUT}s
    timeout client 75s
    # For requests that are never replayed; replayable ones get {REPLAY_AFTER}s (below).
    timeout server {SERVER_TIMEOUT}s
    timeout check {CHECK_TIMEOUT}s
    # A request lost with its app (refused, closed without an answer, half an answer, no
    # answer in time) is tried again on another app each time; the backends switch this
    # off for requests that are not safe to send twice.
    retries {RETRIES}
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout
    # No on-marked-down shutdown-sessions: a check can fail on an app that is only slow,
    # and cutting its requests would turn held writes into errors; requests on an app that
    # really died are replayed by the retries above. No on-marked-up either: there are no
    # backup servers whose sessions it could move.

frontend aloft
    bind {PROXY_ADDRESS}:{PROXY_PORT}
    # The client is whoever connected to us; a header it sent proves nothing.
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Forwarded-Proto http
    # Checks can all fail at once while the apps still answer (a machine so loaded that no
    # check is answered within {CHECK_TIMEOUT}s). Rather than answer 503 with no server, send to
    # every app unchecked, and let the retries find one that answers.
    use_backend apps_unchecked if {{ nbsrv(apps) eq 0 }}
    default_backend apps

{backend("apps", checked=True)}
{backend("apps_unchecked", checked=False)}"""


def haproxy_command(topology: Topology) -> list[str]:
    # -W: master-worker, -db: stay in the foreground (supervisord watches the master).
    return [str(HAPROXY), "-W", "-db", "-f", str(topology.haproxy_cfg)]


# -- supervisord -----------------------------------------------------------------------------


def patroni_command(topology: Topology, zone: Zone) -> list[str]:
    """Patroni with /dev/null as its standard input (the shell execs it: same pid).

    supervisord hands every program a pipe as stdin and keeps its write end open; Patroni
    passes it on to PostgreSQL. A backend orphaned by a killed postmaster can end up reading
    commands from stdin (seen here: "idle" in PostgresMain, blocked in read(0)); on that pipe
    it waits forever, keeps the old shared memory attached, and Patroni can never start
    PostgreSQL again ("pre-existing shared memory block is still in use"). On /dev/null it
    reads end-of-file and exits.
    """
    lease = timings(topology.lease)
    if not lease.needs_launcher:
        argv = [str(topology.patroni)]
    else:
        # Patroni's own Python (its entry script's neighbour) runs the launcher, which lowers
        # the floors and hands over to Patroni's main.
        python = topology.patroni.parent / "python"
        argv = [
            str(python),
            str(topology.lease_script),
            str(lease.ttl),
            str(lease.retry_timeout),
        ]
    return ["/bin/sh", "-c", 'exec "$0" "$@" </dev/null', *argv, str(topology.patroni_config(zone))]


def in_zone(zone: Zone, argv: list[str], user: str | None) -> list[str]:
    """`argv` as run inside the zone's network namespace, as `user` (None: as supervisord's
    own user). Both steps exec, so the pid supervisord sees is the program's own: signals
    and stops reach it as before. On a loopback cluster `argv` is returned unchanged and
    supervisord's `user=` does the switch instead."""
    if zone.netns is None:
        return argv
    enter = ["/usr/bin/nsenter", f"--net=/run/netns/{zone.netns}", "--"]
    if user is None:
        return [*enter, *argv]
    # nsenter needs root to enter the namespace, so supervisord cannot drop privileges
    # first; setpriv drops them after.
    switch = ["/usr/bin/setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
    return [*enter, *switch, *argv]


def _quote_env(env: dict[str, str]) -> str:
    return ",".join(f'{key}="{value}"' for key, value in env.items())


def _command(argv: list[str]) -> str:
    # supervisord expands %(name)s in values; none of our paths may contain '%' (checked).
    return " ".join(shlex.quote(arg) for arg in argv)


def _program(
    topology: Topology,
    name: str,
    kind: str,
    argv: list[str],
    user: str | None,
    env: dict[str, str] | None = None,
    group_kill: bool = False,
    zone: Zone | None = None,
) -> str:
    if zone is not None and zone.netns is not None:
        argv = in_zone(zone, argv, user)
        if user is not None:
            # What supervisord would set for `user=`, which we cannot use here.
            env = {**(env or {}), "USER": user, "LOGNAME": user, "HOME": "/nonexistent"}
            user = None
    lines = [
        f"[program:{name}]",
        f"command={_command(argv)}",
        f"directory={topology.root}",
        f"priority={PRIORITY[kind]}",
        # `up` starts programs in order, and a crash stays a crash until someone starts the
        # program again: drills depend on a killed process staying dead.
        "autostart=false",
        "autorestart=false",
        f"startsecs={STARTSECS[kind]}",
        "startretries=0",
        "stopsignal=TERM",
        f"stopwaitsecs={STOPWAITSECS[kind]}",
        "redirect_stderr=true",
        f"stdout_logfile={topology.log(name)}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=2",
    ]
    if user:
        lines.append(f"user={user}")
    if group_kill:
        lines += ["stopasgroup=true", "killasgroup=true"]
    if env:
        lines.append(f"environment={_quote_env(env)}")
    return "\n".join(lines) + "\n"


def supervisord_config(topology: Topology, credentials: Credentials) -> str:
    """One supervisord for the cluster: etcd, Patroni and the app of every zone, and HAProxy.

    Patroni is signalled alone (it starts PostgreSQL in a session of its own, so killing
    Patroni leaves PostgreSQL running, as a real Patroni crash would). The apps run as the
    invoking user, from the environment `aloft` itself runs in.
    """
    sections = [
        f"""\
; One supervisord for the Aloft cluster in {topology.root}; written by `aloft cluster up`.
; supervisorctl -c {topology.supervisord_conf} status

[unix_http_server]
file={topology.supervisor_socket}
chmod=0700

[supervisord]
logfile={topology.log_dir / "supervisord.log"}
logfile_maxbytes=10MB
logfile_backups=2
pidfile={topology.supervisor_pidfile}
childlogdir={topology.log_dir}
directory={topology.root}
identifier=aloft-cluster
environment={_quote_env({MARKER: str(topology.root), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{topology.supervisor_socket}
"""
    ]
    user = topology.user
    for kind, command in (("etcd", etcd_command), ("patroni", patroni_command)):
        for zone in topology.zones:
            argv = command(topology, zone)
            name = topology.program(zone, kind)
            sections.append(_program(topology, name, kind, argv, user, zone=zone))
    for zone in topology.zones:
        sections.append(
            _program(
                topology,
                topology.program(zone, "app"),
                "app",
                [str(topology.python), "-m", "aloft", "serve"],
                None,
                app_environment(topology, zone, credentials),
                group_kill=True,
                zone=zone,
            )
        )
    sections.append(
        _program(topology, "haproxy", "haproxy", haproxy_command(topology), user, group_kill=True)
    )
    return "\n".join(sections)
