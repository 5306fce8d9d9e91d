"""The rendered configuration pins what the cluster promises: Patroni's timings, synchronous
replication, failsafe mode, pg_rewind with checksums, per-instance sockets, HAProxy's health
check and timeouts, and programs that supervisord never restarts on its own."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from aloft.api import routes
from aloft.cluster import render
from aloft.cluster.credentials import Credentials
from aloft.cluster.errors import ClusterError
from aloft.cluster.topology import PATRONI_VENV, PG_BIN, Topology
from aloft.config import Settings


@pytest.fixture
def topology(tmp_path: Path) -> Topology:
    return Topology.create(
        tmp_path / "cluster", 3, "aloft-db", Path("/opt/patroni/bin/patroni"), Path("/py")
    )


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.generate()


def _patroni(topology: Topology, credentials: Credentials, zone: str = "a") -> dict:
    text = render.patroni_yaml(topology, topology.zone(zone), credentials)
    config = yaml.safe_load(text)
    assert config == render.patroni_config(topology, topology.zone(zone), credentials)
    return config


def test_zones_have_their_own_loopback_address(topology: Topology) -> None:
    assert topology.zone_names == ["a", "b", "c"]
    assert [z.address for z in topology.zones] == ["127.0.1.1", "127.0.2.1", "127.0.3.1"]
    assert topology.url == "http://127.0.0.1:8080"


def test_patroni_timings_are_the_fastest_patroni_keeps(
    topology: Topology, credentials: Credentials
) -> None:
    dcs = _patroni(replace(topology, lease=20), credentials)["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (20, 2, 4)
    assert render.timings_problems(dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == []
    # A crashed postmaster fails over at once rather than waiting for a restart in place.
    assert dcs["primary_start_timeout"] == 0


def test_timings_that_patroni_would_adjust_are_reported() -> None:
    assert render.timings_problems(15, 2, 4) == ["ttl 15 < 20"]
    assert render.timings_problems(20, 0, 4)[0].startswith("loop_wait 0")
    assert render.timings_problems(20, 2, 2)[0].startswith("retry_timeout 2")
    assert "> ttl 20" in render.timings_problems(20, 5, 8)[0]


def test_patroni_replication_guarantees(topology: Topology, credentials: Credentials) -> None:
    config = _patroni(topology, credentials)
    dcs = config["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_mode_strict"] is True
    assert dcs["failsafe_mode"] is True
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert "data-checksums" in config["bootstrap"]["initdb"]
    # A replica re-attaching to a new leader retries within a second, not PostgreSQL's 5 s.
    assert dcs["postgresql"]["parameters"]["wal_retrieve_retry_interval"] == "1s"
    assert config["etcd3"]["hosts"] == ["127.0.1.1:2379", "127.0.2.1:2379", "127.0.3.1:2379"]


def test_each_instance_has_its_own_address_socket_and_data(
    topology: Topology, credentials: Credentials
) -> None:
    seen = set()
    for zone in topology.zones:
        pg = _patroni(topology, credentials, zone.name)["postgresql"]
        assert pg["listen"] == f"{zone.address}:5432"
        assert pg["data_dir"] == str(topology.root / zone.name / "pgdata")
        assert pg["bin_dir"] == "/usr/lib/postgresql/15/bin"
        socket_dir = pg["parameters"]["unix_socket_directories"]
        assert socket_dir.startswith(str(topology.root / zone.name))
        seen.add(socket_dir)
    assert len(seen) == 3


def test_passwords_stay_out_of_the_world_readable_files(
    topology: Topology, credentials: Credentials
) -> None:
    haproxy = render.haproxy_config(topology)
    for secret in (credentials.superuser, credentials.app, credentials.restapi):
        assert secret not in haproxy
        assert secret not in " ".join(render.etcd_command(topology, topology.zones[0]))
    pg = _patroni(topology, credentials)["postgresql"]
    assert pg["authentication"]["superuser"]["password"] == credentials.superuser
    assert all("trust" not in rule for rule in pg["pg_hba"] if rule.startswith("host"))


def test_app_database_url_is_multi_host_read_write(
    topology: Topology, credentials: Credentials
) -> None:
    url = sa.make_url(render.database_url(topology, credentials))
    assert url.drivername == "postgresql+psycopg"
    assert url.query["host"] == ("127.0.1.1:5432", "127.0.2.1:5432", "127.0.3.1:5432")
    assert url.query["target_session_attrs"] == "read-write"
    assert url.query["connect_timeout"] == "2"
    assert url.database == "aloft" and url.username == "aloft"


def test_etcd_members_form_one_cluster_per_directory(tmp_path: Path, topology: Topology) -> None:
    argv = render.etcd_command(topology, topology.zone("b"))
    flags = dict(arg.split("=", 1) for arg in argv[1:])
    assert flags["--name"] == "b"
    assert flags["--listen-client-urls"] == "http://127.0.2.1:2379"
    assert flags["--initial-cluster"] == (
        "a=http://127.0.1.1:2380,b=http://127.0.2.1:2380,c=http://127.0.3.1:2380"
    )
    other = Topology.create(tmp_path / "other", 3, None, Path("/p"), Path("/py"))
    tokens = {
        dict(arg.split("=", 1) for arg in render.etcd_command(t, t.zones[0])[1:])[
            "--initial-cluster-token"
        ]
        for t in (topology, other)
    }
    assert len(tokens) == 2
    assert render.etcd_command(topology, topology.zones[0]) == render.etcd_command(
        topology, topology.zones[0]
    )


def test_haproxy_checks_readyz_and_outwaits_a_failover(topology: Topology) -> None:
    cfg = render.haproxy_config(topology)
    assert "bind 127.0.0.1:8080" in cfg
    assert "option httpchk GET /readyz" in cfg
    for zone in topology.zones:
        assert f"server {zone.name} {zone.address}:8080 check" in cfg
    server_timeout = next(
        int(line.split()[-1].rstrip("s"))
        for line in cfg.splitlines()
        if line.strip().startswith("timeout server")
    )
    assert server_timeout > Settings().db_write_deadline


def test_an_app_that_refuses_a_connection_is_out_at_once(topology: Topology) -> None:
    """Two apps dying together must not eat every retry: a connection error marks the app
    down for every later pick, in the checked backend (the unchecked one has no checks to
    bring it back, so it must not mark anything down)."""
    cfg = render.haproxy_config(topology)
    mark_down = "observe layer4 error-limit 1 on-error mark-down"
    checked = _section(cfg, "backend apps")
    assert any(line.startswith("default-server") and mark_down in line for line in checked)
    assert not any(mark_down in line for line in _section(cfg, "backend apps_unchecked"))


def _section(cfg: str, header: str) -> list[str]:
    """The stripped lines of one haproxy.cfg section, comments left out."""
    lines = cfg.splitlines()
    start = lines.index(header) + 1
    out = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
    return out


def test_haproxy_replays_a_lost_request_only_when_that_is_safe(topology: Topology) -> None:
    cfg = render.haproxy_config(topology)
    defaults = _section(cfg, "defaults")
    assert "retry-on conn-failure empty-response junk-response response-timeout" in defaults
    assert "option redispatch 1" in defaults
    assert f"retries {render.RETRIES}" in defaults
    for backend in ("apps", "apps_unchecked"):
        lines = _section(cfg, f"backend {backend}")
        # Replays are sent from HAProxy's buffer: the body must be in it first.
        assert "option http-buffer-request" in lines
        assert "acl reads method GET HEAD OPTIONS" in lines
        assert "http-request set-var(txn.replayable) bool(true) if reads" in lines
        # A post is replayable only with a (non-empty) Idempotency-Key.
        assert "acl has_idempotency_key req.hdr(idempotency-key) -m reg ." in lines
        assert (
            "http-request set-var(txn.replayable) bool(true) "
            "if { method POST } keyed_post has_idempotency_key"
        ) in lines
        assert (
            "http-request set-var(txn.replayable) bool(true) if { method POST } idempotent_post"
        ) in lines
        # Everything else: no L7 retry, and the long server timeout.
        assert "http-request disable-l7-retry unless { var(txn.replayable) -m bool }" in lines
        assert (
            f"http-request set-timeout server {render.REPLAY_AFTER}s "
            "if { var(txn.replayable) -m bool }"
        ) in lines
        assert f"source {topology.proxy_source}" in lines
    # Checked apps, and the same apps unchecked when every check fails.
    assert "server a 127.0.1.1:8080 check" in _section(cfg, "backend apps")
    assert "server a 127.0.1.1:8080" in _section(cfg, "backend apps_unchecked")
    frontend = _section(cfg, "frontend aloft")
    assert "use_backend apps_unchecked if { nbsrv(apps) eq 0 }" in frontend
    # The client's address, never a header the client sent.
    assert "http-request set-header X-Forwarded-For %[src]" in frontend
    assert not any("option forwardfor" in line for line in cfg.splitlines())


def _replay_patterns(cfg: str) -> dict[tuple[str, str], re.Pattern[str]]:
    """(kind, method) → the path regex of each replay ACL in the rendered config."""
    out = {}
    for line in _section(cfg, "backend apps"):
        found = re.fullmatch(r"acl (idempotent|keyed)_(\w+) path_reg '(.+)'", line)
        if found:
            out[(found[1], found[2].upper())] = re.compile(found[3])
    return out


def test_replay_acls_match_exactly_the_routes_the_table_flags(topology: Topology) -> None:
    """Every route of the table, with and without its trailing slash, is replayable by
    nature (or by key) in the rendered config if and only if the table flags it."""
    table = {(method, path) for path, methods, _ in routes.TABLE for method in methods}
    assert routes.IDEMPOTENT.issubset(table) and routes.KEYED.issubset(table)
    patterns = _replay_patterns(render.haproxy_config(topology))
    assert {kind for kind, _ in patterns} == {"idempotent", "keyed"}
    flags = {"idempotent": routes.IDEMPOTENT, "keyed": routes.KEYED}
    for method, path in sorted(table):
        concrete = re.sub(r"\{\w+\}", "109", path)
        for url in (concrete, concrete + "/"):
            for kind, flagged in flags.items():
                pattern = patterns.get((kind, method))
                matched = pattern is not None and pattern.match(url) is not None
                assert matched == ((method, path) in flagged), (kind, method, url)


def test_haproxy_timings_answer_a_plain_client_within_90_s(topology: Topology) -> None:
    """The arithmetic in render.py, checked against the settings it depends on."""
    client_timeout = 90
    turnaround = 1  # HAProxy waits min(timeout connect, 1 s) before a retry
    worst_replayed = (render.RETRIES + 1) * render.REPLAY_AFTER + render.RETRIES * turnaround
    assert worst_replayed < client_timeout
    # A replay must not cut an app that is merely holding a write through a node failover.
    assert render.REPLAY_AFTER >= render.TTL
    settings = Settings()
    url = sa.make_url(render.database_url(topology, Credentials.generate()))
    connect = int(url.query["connect_timeout"])  # libpq's, per host
    app_gives_up = (
        settings.db_write_deadline + settings.db_attempt_timeout + connect * len(topology.zones)
    )
    assert app_gives_up < render.SERVER_TIMEOUT
    worst_sent_once = render.RETRIES * render.CONNECT_TIMEOUT + render.SERVER_TIMEOUT
    assert worst_sent_once < client_timeout
    frozen_app_out = (
        render.CHECK_INTERVAL
        + render.CHECK_TIMEOUT * render.FALL
        + render.FAST_INTERVAL * (render.FALL - 1)
    )
    assert frozen_app_out <= 3


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed")
def test_haproxy_accepts_the_rendered_config(topology: Topology, tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(render.haproxy_config(topology))
    check = subprocess.run(
        ["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_apps_trust_forwarded_for_from_haproxy_only(
    topology: Topology, credentials: Credentials
) -> None:
    env = render.app_environment(topology, topology.zones[0], credentials)
    assert env["ALOFT_TRUSTED_PROXIES"] == topology.proxy_source
    from aloft.config import load_settings

    assert load_settings(env).trusted_proxies == (topology.proxy_source,)


def test_supervisord_never_restarts_a_program_by_itself(
    topology: Topology, credentials: Credentials
) -> None:
    # At Patroni's own floor, so that Patroni is started as itself (the launcher that a
    # shorter lease goes through is tested in test_lease.py).
    topology = replace(topology, lease=20)
    parser = configparser.RawConfigParser()
    parser.read_string(render.supervisord_config(topology, credentials))
    programs = {
        s.split(":", 1)[1]: parser[s] for s in parser.sections() if s.startswith("program:")
    }
    assert sorted(programs) == sorted(
        [f"{p}-{z}" for p in ("etcd", "patroni", "app") for z in "abc"] + ["haproxy"]
    )
    for name, section in programs.items():
        assert section["autostart"] == "false", name
        assert section["autorestart"] == "false", name
        assert section["startretries"] == "0", name
    for name in ("patroni-a", "etcd-a", "haproxy"):
        assert programs[name]["user"] == "aloft-db"
    # Killing Patroni must leave its PostgreSQL alone (it runs in a session of its own).
    assert "killasgroup" not in programs["patroni-a"]
    # Patroni (and so PostgreSQL) reads /dev/null, not supervisord's never-closed stdin pipe.
    assert shlex.split(programs["patroni-b"]["command"]) == [
        "/bin/sh",
        "-c",
        'exec "$0" "$@" </dev/null',
        "/opt/patroni/bin/patroni",
        str(topology.root / "b" / "patroni.yml"),
    ]
    env = programs["app-c"]["environment"]
    assert 'ALOFT_HOST="127.0.3.1"' in env
    assert 'ALOFT_RATE_LIMITS="off"' in env
    assert 'ALOFT_BASE_URL="http://127.0.0.1:8080"' in env
    assert "target_session_attrs=read-write" in env
    assert f'ALOFT_CLUSTER_DIR="{topology.root}"' in parser["supervisord"]["environment"]


def test_topology_round_trips_and_names_errors(topology: Topology, tmp_path: Path) -> None:
    topology.root.mkdir()
    topology.save()
    assert Topology.load(topology.root) == topology
    with pytest.raises(ClusterError, match="no cluster in"):
        Topology.load(tmp_path / "nowhere")
    with pytest.raises(ClusterError, match="expected 3 to 5"):
        Topology.create(tmp_path, 2, None, Path("/p"), Path("/py"))
    with pytest.raises(ClusterError, match="no zone 'z'"):
        topology.zone("z")
    with pytest.raises(ClusterError, match="unknown program"):
        topology.program("a", "postgres")


def test_credentials_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    made = Credentials.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Credentials.load_or_create(path) == made


@pytest.mark.skipif(
    not (PATRONI_VENV / "bin" / "patroni").exists() or not (PG_BIN / "postgres").exists(),
    reason=f"Patroni ({PATRONI_VENV}) or PostgreSQL 15 not installed: run `make system` as root",
)
def test_patroni_accepts_the_rendered_configuration(
    tmp_path: Path, credentials: Credentials
) -> None:
    # Patroni's validator holds ttl to its floor of 20; the shorter default lease passes it
    # only through the launcher, and is checked on a real cluster (etcd grants the leader key
    # exactly that lease: tests/drill/test_short_lease.py, `aloft cluster doctor`).
    topology = replace(
        Topology.create(tmp_path, 3, None, PATRONI_VENV / "bin" / "patroni", Path("/py")),
        lease=20,
    )
    zone = topology.zones[0]
    topology.zone_dir(zone).mkdir()
    topology.patroni_config(zone).write_text(render.patroni_yaml(topology, zone, credentials))
    result = subprocess.run(
        [str(topology.patroni), "--validate-config", str(topology.patroni_config(zone))],
        capture_output=True,
        text=True,
    )
    # The validator also probes the network: etcd is not running here, and a cluster that
    # runs right now holds the ports. Everything else must pass.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is already in use" not in line and "is not reachable" not in line
    ]
    assert problems == []


def test_host_files_carry_the_same_settings_as_the_local_cluster(
    topology: Topology, credentials: Credentials
) -> None:
    zone = topology.zone("b")
    files = render.host_files(topology, zone, credentials)
    assert set(files) == {"etcd.env", "aloft.env", "patroni.service", "aloft.service"}

    def parse(text: str) -> dict[str, str]:
        pairs = (line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
        return {key: shlex.split(value)[0] for key, value in pairs}

    etcd = parse(files["etcd.env"])
    flags = dict(arg.split("=", 1) for arg in render.etcd_command(topology, zone)[1:])
    assert etcd["ETCD_NAME"] == "b"
    assert etcd["ETCD_INITIAL_CLUSTER"] == flags["--initial-cluster"]
    assert etcd["ETCD_LISTEN_PEER_URLS"] == flags["--listen-peer-urls"]
    assert parse(files["aloft.env"]) == render.app_environment(topology, zone, credentials)
    unit = configparser.ConfigParser(interpolation=None)
    unit.read_string(files["patroni.service"])
    assert unit["Service"]["User"] == "aloft-db"
    assert unit["Service"]["KillMode"] == "process"


def test_netns_zones_have_bridge_addresses_and_run_inside_their_namespace(
    tmp_path: Path, credentials: Credentials
) -> None:
    topology = Topology.create(
        tmp_path / "c", 3, "aloft-db", Path("/opt/patroni/bin/patroni"), Path("/py"), "netns"
    )
    assert [z.address for z in topology.zones] == ["10.213.0.11", "10.213.0.12", "10.213.0.13"]
    assert [z.netns for z in topology.zones] == ["aloft-a", "aloft-b", "aloft-c"]
    assert topology.proxy_source == "10.213.0.1"
    hba = _patroni(topology, credentials)["postgresql"]["pg_hba"]
    assert "host all all 10.213.0.0/24 scram-sha-256" in hba
    assert not any("127.0.0.0/8" in line for line in hba)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render.supervisord_config(topology, credentials))
    patroni = parser["program:patroni-a"]
    argv = shlex.split(patroni["command"])
    # Enter the namespace (root), then drop to the service user; supervisord's own user=
    # would drop privileges before nsenter could run.
    assert argv[:3] == ["/usr/bin/nsenter", "--net=/run/netns/aloft-a", "--"]
    assert argv[3:8] == [
        "/usr/bin/setpriv",
        "--reuid=aloft-db",
        "--regid=aloft-db",
        "--init-groups",
        "--",
    ]
    assert "user" not in patroni
    app = shlex.split(parser["program:app-b"]["command"])
    assert app[:3] == ["/usr/bin/nsenter", "--net=/run/netns/aloft-b", "--"]
    assert "setpriv" not in " ".join(app)
    # HAProxy stays in the machine's own namespace and reaches the zones over the bridge.
    assert "nsenter" not in parser["program:haproxy"]["command"]


def test_haproxy_keeps_one_account_on_one_app(topology: Topology) -> None:
    """Read-your-writes is remembered per app process: an account's requests must reach the
    same app while it is up, and only its share moves when an app goes down."""
    cfg = render.haproxy_config(topology)
    backend = cfg[cfg.index("\nbackend apps\n") + 1 :].split("\nbackend ")[0]
    assert "    balance hdr(authorization)\n    hash-type consistent\n" in backend
