"""Who takes writes, decided from Patroni's answers (pure: hand-written answers in)."""

from __future__ import annotations

from aloft.cluster.status import _leader, _primary

PRIMARY_TL3 = {"role": "primary", "state": "running", "timeline": 3}
PRIMARY_TL4 = {"role": "primary", "state": "running", "timeline": 4}
REPLICA = {"role": "replica", "state": "streaming", "timeline": 4}


def view(leader: str | None) -> dict[str, object]:
    return {
        "members": [
            {"name": zone, "role": "leader" if zone == leader else "replica"} for zone in "abc"
        ]
    }


def test_the_key_holder_that_runs_as_primary_is_the_primary() -> None:
    nodes = {"a": REPLICA, "b": PRIMARY_TL4, "c": REPLICA}
    assert _leader(view("b"), nodes) == "b"
    assert _primary(view("b"), nodes) == "b"


def test_a_primary_serving_without_the_key_is_still_the_primary() -> None:
    # failsafe_mode: zone c lost etcd, its key expired, and it keeps serving writes.
    nodes = {"a": REPLICA, "b": REPLICA, "c": PRIMARY_TL4}
    assert _leader(view(None), nodes) is None
    assert _primary(view(None), nodes) == "c"


def test_of_two_primaries_the_higher_timeline_is_the_real_one() -> None:
    nodes = {"a": PRIMARY_TL3, "b": PRIMARY_TL4, "c": None}
    assert _primary(view(None), nodes) == "b"


def test_no_zone_running_as_primary_means_none() -> None:
    nodes = {"a": REPLICA, "b": {"role": "primary", "state": "stopping"}, "c": None}
    assert _primary(view(None), nodes) is None
