"""`aloft cluster doctor`'s judgement, fed with recorded cluster states (no cluster needed)."""

from __future__ import annotations

import copy
import json

import pytest

from aloft.cluster import render
from aloft.cluster.doctor import (
    Check,
    Facts,
    evaluate,
    expected_stall,
    lease_in_force,
    lease_text,
    summary,
)

ADDRESSES = ["10.213.0.11", "10.213.0.12", "10.213.0.13"]


def _member(zone: str, role: str, state: str = "streaming", lag: int | None = 0) -> dict:
    return {"zone": zone, "role": role, "state": state, "lag_bytes": lag}


def healthy() -> Facts:
    """Recorded from a healthy three-zone cluster (values as `gather` measured them)."""
    return Facts(
        leader="a",
        members=[
            _member("a", "leader", "running"),
            _member("b", "sync_standby", lag=0),
            _member("c", "replica", lag=128),
        ],
        patroni_config={
            "ttl": render.TTL,
            "loop_wait": render.LOOP_WAIT,
            "retry_timeout": render.RETRY_TIMEOUT,
            "synchronous_mode": True,
            "synchronous_mode_strict": True,
            "failsafe_mode": True,
        },
        expected_patroni={
            "ttl": render.TTL,
            "loop_wait": render.LOOP_WAIT,
            "retry_timeout": render.RETRY_TIMEOUT,
            "synchronous_mode": True,
            "synchronous_mode_strict": True,
            "failsafe_mode": True,
        },
        etcd={z: {"healthy": True, "rtt_ms": 2.1} for z in "abc"},
        etcd_leader="b",
        postgres={
            z: {
                "clock_offset_s": 0.002,
                "data_checksums": True,
                "wal_log_hints": True,
                "in_recovery": z != "a",
            }
            for z in "abc"
        },
        app_database_hosts={z: list(ADDRESSES) for z in "abc"},
        zone_addresses=list(ADDRESSES),
        haproxy_server_timeout=60.0,
        haproxy_servers={"a": "UP", "b": "UP", "c": "UP"},
        app_write_deadline=45.0,
        app_attempt_timeout=3.0,
        free_bytes={z: 50 * 1024**3 for z in "abc"},
        proxy_ready=True,
        leader_lease_ttl=render.TTL,
    )


def _failed(facts: Facts) -> list[Check]:
    return [c for c in evaluate(facts) if not c.ok]


def test_a_healthy_cluster_passes_every_check() -> None:
    checks = evaluate(healthy())
    assert [c for c in checks if not c.ok] == []
    assert summary(checks) == "failover ready"
    assert expected_stall(healthy()) == render.TTL + 1.0
    assert len(checks) >= 13


def test_the_lease_in_force_and_the_stall_a_crash_would_cost() -> None:
    facts = healthy()
    assert facts.patroni_config is not None
    facts.patroni_config.update(ttl=6, loop_wait=1, retry_timeout=2)
    facts.leader_lease_ttl = 6
    lease = lease_in_force(facts)
    assert lease == {
        "ttl": 6,
        "loop_wait": 1,
        "retry_timeout": 2,
        "granted_ttl": 6,
        "expected_crash_stall_s": 7.0,
    }
    assert lease_text(lease) == (
        "lease: ttl 6 s (etcd granted 6 s), loop_wait 1 s, retry_timeout 2 s; "
        "a node crash now would stall writes ≈7 s"
    )
    facts.leader_lease_ttl = None
    assert "no leader holds the key" in lease_text(lease_in_force(facts))
    facts.patroni_config = None
    assert lease_in_force(facts) is None
    assert lease_text(None).startswith("lease: unknown")


def test_facts_round_trip_through_json() -> None:
    facts = healthy()
    again = Facts(**json.loads(json.dumps(facts.as_dict())))
    assert evaluate(again) == evaluate(facts)


def _stopped_standby(f: Facts) -> None:
    f.members[1] = _member("b", "down", "patroni stopped", None)
    f.postgres["b"] = None
    f.haproxy_servers = {"a": "UP", "b": "UP", "c": "UP"}


def _replica_stopped(f: Facts) -> None:
    f.members[2] = _member("c", "replica", "stopped", None)


def _lagging(f: Facts) -> None:
    f.members[2]["lag_bytes"] = 64 * 1024 * 1024


def _etcd_down(f: Facts) -> None:
    f.etcd["c"] = {"healthy": False, "rtt_ms": None}


def _slow_etcd(f: Facts) -> None:
    f.etcd["b"]["rtt_ms"] = 350.0


def _short_ttl_changed(f: Facts) -> None:
    assert f.patroni_config is not None
    f.patroni_config["ttl"] = 30


def _not_strict(f: Facts) -> None:
    assert f.patroni_config is not None
    f.patroni_config["synchronous_mode_strict"] = False


def _no_failsafe(f: Facts) -> None:
    assert f.patroni_config is not None
    f.patroni_config["failsafe_mode"] = False


def _no_rewind(f: Facts) -> None:
    f.postgres["c"] = {**(f.postgres["c"] or {}), "data_checksums": False, "wal_log_hints": False}


def _app_one_host(f: Facts) -> None:
    f.app_database_hosts["b"] = ["10.213.0.11"]


def _short_proxy_timeout(f: Facts) -> None:
    f.haproxy_server_timeout = 30.0


def _app_down_in_haproxy(f: Facts) -> None:
    f.haproxy_servers = {"a": "UP", "b": "DOWN", "c": "UP"}


def _skewed_clock(f: Facts) -> None:
    f.postgres["c"] = {**(f.postgres["c"] or {}), "clock_offset_s": 3.5}


def _disk_full(f: Facts) -> None:
    f.free_bytes["a"] = 300 * 1024**2


def _no_leader(f: Facts) -> None:
    f.leader = None


def _lease_adjusted(f: Facts) -> None:
    f.leader_lease_ttl = 20
    f.expected_patroni["ttl"] = 6
    assert f.patroni_config is not None
    f.patroni_config["ttl"] = 6


@pytest.mark.parametrize(
    ("breakage", "named"),
    [
        (_no_leader, {"leader"}),
        (_lease_adjusted, {"leader lease in etcd"}),
        (
            _stopped_standby,
            {"synchronous standby streaming", "every standby streaming", "replication lag"},
        ),
        (_lagging, {"replication lag"}),
        (_replica_stopped, {"every standby streaming", "replication lag"}),
        (_etcd_down, {"etcd members healthy"}),
        (_slow_etcd, {"etcd leader round trip"}),
        (_short_ttl_changed, {"Patroni timing and synchronous settings"}),
        (_not_strict, {"Patroni timing and synchronous settings"}),
        (_no_failsafe, {"failsafe_mode"}),
        (_no_rewind, {"pg_rewind possible (checksums or wal_log_hints)"}),
        (_app_one_host, {"apps know every database host"}),
        (_short_proxy_timeout, {"timeout ladder"}),
        (_app_down_in_haproxy, {"HAProxy sees every app"}),
        (_skewed_clock, {"zone clocks agree"}),
        (_disk_full, {"free disk for WAL"}),
    ],
)
def test_each_problem_fails_its_check_with_advice(breakage, named: set[str]) -> None:
    facts = copy.deepcopy(healthy())
    breakage(facts)
    failed = _failed(facts)
    assert {c.name for c in failed} >= named
    assert {c.name for c in failed} - named <= {
        "pg_rewind possible (checksums or wal_log_hints)",
        "zone clocks agree",
    }
    assert all(c.advice for c in failed), "every failed check says what to do"
    assert summary(evaluate(facts)).startswith("not failover ready: ")


def test_a_stopped_standby_names_the_unanswering_server() -> None:
    facts = copy.deepcopy(healthy())
    _stopped_standby(facts)
    rewind = next(c for c in evaluate(facts) if c.name.startswith("pg_rewind"))
    assert "no answer from b" in rewind.value
