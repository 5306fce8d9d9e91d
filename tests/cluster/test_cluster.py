"""A real cluster: `aloft cluster up` in a directory under /tmp, status, the Mastodon API through
HAProxy, a few faults through `Cluster`, and `aloft cluster down --purge` leaving no process.

Needs root (PostgreSQL and Patroni run as a service user that `up` creates) and the packages
`make system` installs; without them the test says so and skips. CI runs as root and installs
them, so there it runs. It holds 127.0.0.1:8080 and the zones' ports while it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aloft.cluster import host, network
from aloft.cluster.control import Cluster
from aloft.cluster.errors import ClusterError
from tests.cluster.machine import cluster_directory, why_no_cluster
from tests.commands import aloft
from tests.conftest import register_http

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _strays(directory: Path) -> list[str]:
    """Processes of the cluster by our own scan, and, independently, any etcd, Patroni,
    PostgreSQL, HAProxy or supervisord whose command line mentions the directory."""
    found = [f"{p.pid} {p.cmdline}" for p in host.cluster_processes(directory)]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        names = ("etcd", "patroni", "postgres", "haproxy", "supervisord")
        if str(directory) in cmdline and any(n in cmdline for n in names):
            found.append(f"{entry.name} {cmdline}")
    return found


def _connect_seconds(namespace: str | None, address: str, port: int) -> float | None:
    """How long a TCP connection from `namespace` (None: the machine's own) to address:port
    takes to be accepted; None when it is not within 1.5 s."""
    script = (
        "import socket,sys,time\n"
        "t=time.monotonic()\n"
        "try:\n"
        f"    socket.create_connection(({address!r}, {port}), timeout=1.5).close()\n"
        "except OSError:\n"
        "    sys.exit(1)\n"
        "print(time.monotonic()-t)\n"
    )
    argv = ["/usr/bin/python3", "-c", script]
    if namespace is not None:
        argv = ["ip", "netns", "exec", namespace, *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return float(result.stdout) if result.returncode == 0 else None


def _reaches(namespace: str | None, address: str, port: int) -> bool:
    return _connect_seconds(namespace, address, port) is not None


def _network_faults(cluster: Cluster) -> None:
    """Partitions drawn inside a zone's namespace: both ways, one way, and from one peer only;
    `heal` undoes each. Done on a replica, so nothing fails over meanwhile."""
    leader = cluster.leader()
    zone, peer = (z for z in cluster.topology.zones if z.name != leader)
    assert zone.netns is not None and peer.netns is not None
    assert _reaches(None, zone.address, 8008) and _reaches(peer.netns, zone.address, 8008)

    cluster.partition(zone.name)  # from everything outside the zone, both ways
    assert not _reaches(None, zone.address, 8008)
    assert not _reaches(peer.netns, zone.address, 8008)
    # A fault left in place shows in the status and keeps the cluster from being healthy;
    # `aloft cluster heal` removes it (what a killed drill would leave behind).
    assert f"zone {zone.name}: packets dropped by fault rules" in " ".join(
        cluster.snapshot().problems()
    )
    healed = aloft("cluster", "heal", "--dir", str(cluster.directory), timeout=60)
    assert healed.returncode == 0 and f"zone {zone.name}: packets dropped" in healed.stdout
    assert _reaches(None, zone.address, 8008) and _reaches(peer.netns, zone.address, 8008)

    cluster.partition(zone.name, peers=[peer.name])  # only from one peer
    assert _reaches(None, zone.address, 8008)
    assert not _reaches(peer.netns, zone.address, 8008)
    assert not _reaches(zone.netns, peer.address, 8008)
    rules = network.rules(cluster.topology, zone)
    assert peer.address in rules and "drop" in rules

    cluster.partition(zone.name, direction="in")  # replaces the rules: nothing comes in
    rules = network.rules(cluster.topology, zone)
    inbound, outbound = rules.split("chain output")
    assert "drop" in inbound and "drop" not in outbound
    assert not _reaches(None, zone.address, 8008)
    cluster.heal()
    assert network.rules(cluster.topology, zone) == ""
    assert _reaches(None, zone.address, 8008) and _reaches(peer.netns, zone.address, 8008)

    # A slow link: every frame held 100 ms each way by the delay line, so a TCP handshake
    # (one round trip) takes at least 200 ms; healed, the link is direct again.
    assert cluster.slow_network(zone.name, 100, 0) == []
    _connect_seconds(None, zone.address, 8008)  # the first one also waits for ARP
    slow = _connect_seconds(None, zone.address, 8008)
    assert slow is not None and slow >= 0.2, slow
    cluster.heal(zone.name)
    fast = _connect_seconds(None, zone.address, 8008)
    assert fast is not None and fast < 0.2, fast
    assert network.leftovers(cluster.topology) == [
        f"namespace {z.netns}" for z in cluster.topology.zones
    ] + [f"link {z.veth}" for z in cluster.topology.zones] + ["bridge aloft0"]


@pytest.fixture(scope="module")
def cluster_dir() -> Iterator[Path]:
    why_not = why_no_cluster()
    if why_not is not None:
        pytest.skip(f"cluster test skipped: {why_not}")
    with cluster_directory("aloft-cluster-") as directory:
        yield directory


def test_cluster_up_serve_faults_and_down(cluster_dir: Path) -> None:
    started = time.monotonic()
    up = aloft("cluster", "up", "--dir", str(cluster_dir), timeout=300)
    assert up.returncode == 0, up.stderr + up.stdout
    assert "http://127.0.0.1:8080" in up.stdout
    assert "Sign in as admin@" in up.stdout
    print(f"cluster up in {time.monotonic() - started:.1f} s")

    # Status: exactly one leader, one synchronous standby, every app ready.
    result = aloft("cluster", "status", "--json", "--dir", str(cluster_dir), timeout=300)
    assert result.returncode == 0, result.stderr
    snapshot = json.loads(result.stdout)
    roles = sorted(m["role"] for m in snapshot["members"])
    assert roles == ["leader", "replica", "sync_standby"], snapshot
    assert all(m["app_ready"] for m in snapshot["members"])
    assert snapshot["healthy"] is True and snapshot["problems"] == []
    table = aloft("cluster", "status", "--dir", str(cluster_dir), timeout=300)
    assert table.returncode == 0 and "healthy" in table.stdout

    cluster = Cluster.load(cluster_dir)
    assert cluster.url == "http://127.0.0.1:8080" and cluster.zones == ["a", "b", "c"]
    leader = cluster.leader()
    assert leader == snapshot["leader"]

    # As root, every zone is a network namespace of its own on the cluster's bridge.
    assert cluster.topology.network == "netns"
    assert network.missing(cluster.topology) == []
    _network_faults(cluster)
    cluster.wait_healthy(60)

    # The Mastodon API through HAProxy: register, post, read back.
    with httpx.Client(base_url=cluster.url, timeout=60) as client:
        assert client.get("/api/v1/instance").status_code == 200
        registered = register_http(client, "carol")
        assert registered.status_code == 200, registered.text
        auth = {"Authorization": f"Bearer {registered.json()['access_token']}"}

        def post(text: str) -> str:
            r = client.post(
                "/api/v1/statuses", headers={**auth, "Idempotency-Key": text}, data={"status": text}
            )
            assert r.status_code == 200, r.text
            return str(r.json()["id"])

        first = post(f"before {uuid.uuid4().hex}")

        # A planned switchover: the synchronous standby takes over; writes go on.
        new_leader = cluster.switchover()
        assert new_leader != leader
        cluster.wait_healthy(60)
        second = post(f"after switchover {uuid.uuid4().hex}")

        # Only the postmaster of the leader dies: Patroni survives, the standby takes over,
        # and Patroni brings the old one back as a replica.
        cluster.kill_postmaster(new_leader)
        third = post(f"after postmaster crash {uuid.uuid4().hex}")
        cluster.wait_healthy(60)
        assert cluster.leader() != new_leader

        # A killed app stays dead (no automatic restart) and HAProxy routes around it.
        cluster.kill("a", "app")
        time.sleep(3)
        assert next(m for m in cluster.members() if m["zone"] == "a")["app_ready"] is False
        assert client.get("/api/v1/instance").status_code == 200
        cluster.start("a", "app")
        cluster.wait_healthy(60)

        for status_id in (first, second, third):
            assert client.get(f"/api/v1/statuses/{status_id}", headers=auth).status_code == 200

    # Kill a Patroni: its PostgreSQL lives on, orphaned; `down` must still leave nothing.
    cluster.kill("b", "patroni")
    with pytest.raises(ClusterError, match="not running"):
        cluster.kill("b", "patroni")

    down = aloft("cluster", "down", "--purge", "--dir", str(cluster_dir), timeout=300)
    assert down.returncode == 0, down.stderr + down.stdout
    assert "no process left" in down.stdout
    assert _strays(cluster_dir) == []
    # No namespace, link or fault rule is left either.
    assert network.leftovers(cluster.topology) == []
    assert not any(ns.startswith("aloft-") for ns in network.namespaces())
    assert not Path("/sys/class/net/aloft0").exists()
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert network.FAULT_TABLE not in tables
    assert not cluster_dir.exists()
    with httpx.Client(timeout=2) as client, pytest.raises(httpx.TransportError):
        client.get("http://127.0.0.1:8080/readyz")


def test_status_of_a_missing_cluster_is_one_line(tmp_path: Path) -> None:
    result = aloft("cluster", "status", "--dir", str(tmp_path), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"aloft: no cluster in {tmp_path} (no cluster.json); create one with `aloft cluster up`"
    ]


def test_bad_zone_count_is_one_line(tmp_path: Path) -> None:
    result = aloft("cluster", "up", "--zones", "9", "--dir", str(tmp_path / "c"), timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aloft: ") and "Traceback" not in result.stderr
