"""The default short lease on a real cluster: `aloft cluster up` (no `--lease`) runs Patroni
with the 6 s lease, below Patroni's own floor (etcd grants the leader key exactly that, and no
Patroni log says it adjusted a timing), and a node crash then stalls writes for about the
lease instead of about 20 s, with nothing lost and no client error.

Needs root and what `make system` installs; brings its own cluster up and down (so it must
not run while another cluster is up on this machine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.machine import cluster_directory, why_no_cluster
from tests.commands import aloft
from tests.drill.test_drill_cluster import assert_clean, drill

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# Measured with ttl 6 on this 2-core machine: 6.65 s under a load average of ~10. Like the
# other budgets, a regression guard well above that (6.4–7.1 s at load averages of 20–30 in
# the lease matrix), and well below the 20 s lease's ~21 s.
SHORT_LEASE_CRASH_BUDGET = 14


@pytest.fixture(scope="module")
def short_lease_cluster() -> Iterator[Path]:
    why_not = why_no_cluster()
    if why_not is not None:
        pytest.skip(f"short-lease cluster skipped: {why_not}")
    with cluster_directory("aloft-lease-") as directory:
        up = aloft("cluster", "up", "--dir", str(directory), timeout=600)
        assert up.returncode == 0, up.stderr + up.stdout
        yield directory


def test_patroni_runs_the_short_lease(short_lease_cluster: Path) -> None:
    doctor = aloft("cluster", "doctor", "--dir", str(short_lease_cluster))
    print(doctor.stdout)
    assert "✓ leader lease in etcd: 6 s granted" in doctor.stdout
    assert "ttl 6, loop_wait 1, retry_timeout 2" in doctor.stdout
    for log in (short_lease_cluster / "logs").glob("patroni-*.log"):
        assert "adjusting" not in log.read_text(), f"Patroni adjusted a timing: {log}"
    assert doctor.returncode == 0, doctor.stdout
    status = aloft("cluster", "status", "--dir", str(short_lease_cluster))
    assert "lease: ttl 6 s (etcd granted 6 s), loop_wait 1 s, retry_timeout 2 s" in status.stdout
    assert "a node crash now would stall writes ≈7 s" in status.stdout
    lease = json.loads(
        aloft("cluster", "status", "--dir", str(short_lease_cluster), "--json").stdout
    )["lease"]
    assert (lease["ttl"], lease["granted_ttl"], lease["expected_crash_stall_s"]) == (6, 6, 7.0)


def test_a_node_crash_stalls_writes_for_about_the_lease(
    short_lease_cluster: Path, tmp_path: Path
) -> None:
    result, verdict = drill(
        short_lease_cluster,
        tmp_path / "runs",
        "--fault",
        "crash-primary-node",
        "--duration",
        "45",
        "--fault-at",
        "10",
        "--fault-window",
        "20",
        "--clients",
        "4",
        "--plain-clients",
        "4",
        "--stall-budget",
        str(SHORT_LEASE_CRASH_BUDGET),
    )
    assert_clean(result, verdict, SHORT_LEASE_CRASH_BUDGET)


def test_a_short_soak_under_stress_counts_false_failovers(
    short_lease_cluster: Path, tmp_path: Path
) -> None:
    """`aloft drill soak`: a minute of traffic with every core busy, an fsync writer and
    slowed, lossy links, no fault: the soak reports promotions and leader changes (each a
    false failover) and the load it ran under, and leaves no stress behind."""
    out = tmp_path / "soak"
    result = aloft(
        "drill",
        "soak",
        "--minutes",
        "1",
        "--dir",
        str(short_lease_cluster),
        "--out",
        str(out),
        "--clients",
        "2",
        "--plain-clients",
        "2",
        timeout=600,
    )
    print(result.stdout, result.stderr)
    (folder,) = out.iterdir()
    soak = json.loads((folder / "soak.json").read_text())
    assert soak["promotions"] is not None and soak["leader_changes"] >= 0
    assert soak["load_average"]["mean"] is not None
    assert soak["stress"]["cpu_burners"] >= 1 and soak["stress"]["fsync_writer"] is True
    assert result.returncode == (0 if soak["passed"] else 1)
    # Nothing acknowledged is lost or doubled whatever the stress. A careful client's
    # request may time out while every core is busy (seen once in CI: the overload, not a
    # failover), so the drill's client-error verdict is reported, not asserted here.
    verdict = json.loads((folder / "verdict.json").read_text())
    assert verdict["lost"] == [] and verdict["duplicated"] == {}, soak["reasons"]
    assert verdict["unexpected"] == [], soak["reasons"]
    assert verdict["acknowledged_posts"] > 0
    status = aloft("cluster", "status", "--dir", str(short_lease_cluster), "--json")
    assert json.loads(status.stdout)["healthy"] is True, "the stress was taken off"
    assert not (short_lease_cluster / "soak-fsync.bin").exists()
