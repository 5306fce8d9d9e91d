"""The checker on hand-made histories: one rule per test, then the edge cases.

Times are seconds since the run started. Ids are snowflake-like strings; keys are short
names (the checker does not care what a key looks like).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from aloft.drill.checker import NO_FAULT_PHASE, Stall, Verdict, check, percentile
from aloft.drill.history import (
    FAULT_END,
    FAULT_ERROR,
    FAULT_START,
    LEADER,
    Event,
    FinalStatus,
    History,
    Operation,
)


def post(
    key: str,
    outcome: str = "ok",
    status_id: str | None = None,
    invoke: float = 1.0,
    complete: float | None = None,
    process: int = 0,
) -> Operation:
    return Operation(
        process=process,
        kind="post",
        invoke=invoke,
        complete=invoke + 0.01 if complete is None else complete,
        outcome=outcome,  # type: ignore[arg-type]
        key=key,
        status_id=status_id,
    )


def read(outcome: str = "ok", invoke: float = 1.0, latency: float = 0.01) -> Operation:
    return Operation(
        process=1,
        kind="read_home",
        invoke=invoke,
        complete=invoke + latency,
        outcome=outcome,  # type: ignore[arg-type]
    )


def found(*pairs: tuple[str, str | None]) -> list[FinalStatus]:
    return [FinalStatus(status_id, "1", key) for status_id, key in pairs]


def fault(start: float, end: float | None) -> list[Event]:
    events = [Event(start, FAULT_START, {"fault": "crash-primary-node", "zone": "a"})]
    if end is not None:
        events.append(Event(end, FAULT_END, {"fault": "crash-primary-node", "zone": "a"}))
    return events


def test_everything_acknowledged_and_present_passes() -> None:
    history = History(
        operations=[post("k1", status_id="101"), post("k2", status_id="102", invoke=2), read()],
        final_read=found(("101", "k1"), ("102", "k2")),
    )
    verdict = check(history)
    assert verdict.passed, verdict.reasons
    assert verdict.reasons == []
    assert (verdict.attempted_posts, verdict.acknowledged_posts) == (2, 2)
    assert verdict.final_read_size == 2
    assert verdict.lost == verdict.unexpected == verdict.recovered == []
    assert verdict.duplicated == {}
    assert verdict.error_count == 0


def test_acknowledged_and_missing_is_lost() -> None:
    history = History(
        operations=[post("k1", status_id="101"), post("k2", status_id="102")],
        final_read=found(("101", "k1")),
    )
    verdict = check(history)
    assert verdict.lost == ["102"]
    assert not verdict.passed
    assert "1 acknowledged post(s) lost" in verdict.reasons


def test_acknowledged_without_an_id_is_looked_up_by_key() -> None:
    history = History(
        operations=[post("k1", status_id=None), post("k2", status_id=None)],
        final_read=found(("101", "k1")),
    )
    assert check(history).lost == ["key:k2"]


def test_one_key_with_two_statuses_in_the_final_read_is_duplicated() -> None:
    history = History(
        operations=[post("k1", status_id="101")],
        final_read=found(("101", "k1"), ("105", "k1")),
    )
    verdict = check(history)
    assert verdict.duplicated == {"k1": ["101", "105"]}
    assert verdict.unexpected == []  # the key was attempted: a duplicate, not a stranger
    assert verdict.lost == []
    assert not verdict.passed
    assert "1 idempotency key(s) duplicated" in verdict.reasons


def test_one_key_acknowledged_with_two_ids_is_duplicated() -> None:
    history = History(
        operations=[post("k1", status_id="101"), post("k1", status_id="107", invoke=3)],
        final_read=found(("101", "k1"), ("107", "k1")),
    )
    verdict = check(history)
    assert verdict.duplicated == {"k1": ["101", "107"]}
    assert verdict.attempted_posts == 1  # one logical post, attempted twice


def test_acknowledged_id_replaced_by_another_is_lost_and_duplicated() -> None:
    # The client holds 101; the server kept 108 for the same key. 101 is gone (lost) and
    # the key maps to two ids (duplicated).
    history = History(operations=[post("k1", status_id="101")], final_read=found(("108", "k1")))
    verdict = check(history)
    assert verdict.lost == ["101"]
    assert verdict.duplicated == {"k1": ["101", "108"]}


def test_status_never_attempted_is_unexpected() -> None:
    history = History(
        operations=[post("k1", status_id="101")],
        final_read=found(("101", "k1"), ("200", "never-sent"), ("201", None)),
    )
    verdict = check(history)
    assert verdict.unexpected == ["200", "201"]
    assert not verdict.passed
    assert "2 unexpected status(es)" in verdict.reasons


def test_failed_post_that_is_present_is_unexpected() -> None:
    # `fail` means the server said it did not happen: finding it is a bug, not a recovery.
    history = History(
        operations=[post("k0", status_id="100"), post("k1", outcome="fail")],
        final_read=found(("100", "k0"), ("101", "k1")),
    )
    verdict = check(history)
    assert verdict.unexpected == ["101"]
    assert verdict.recovered == []
    assert verdict.errors == {"post": {"fail": 1, "info": 0}}


def test_failed_post_that_is_absent_is_just_an_error() -> None:
    history = History(
        operations=[post("k0", status_id="100"), post("k1", outcome="fail")],
        final_read=found(("100", "k0")),
    )
    verdict = check(history)
    assert verdict.lost == verdict.unexpected == []
    assert verdict.error_count == 1
    assert verdict.reasons == ["1 client-visible error(s) from careful clients"]


def test_unknown_outcome_then_present_is_recovered_not_lost() -> None:
    history = History(
        operations=[post("k0", status_id="100"), post("k1", outcome="info")],
        final_read=found(("100", "k0"), ("101", "k1")),
    )
    verdict = check(history)
    assert verdict.recovered == ["k1"]
    assert verdict.lost == verdict.unexpected == []
    assert verdict.unknown_absent == []
    # Still a client-visible error: the client was not told.
    assert verdict.errors == {"post": {"fail": 0, "info": 1}}
    assert verdict.reasons == ["1 client-visible error(s) from careful clients"]


def test_unknown_outcome_then_absent_is_neither_lost_nor_recovered() -> None:
    history = History(
        operations=[post("k0", status_id="100"), post("k1", outcome="info")],
        final_read=found(("100", "k0")),
    )
    verdict = check(history)
    assert verdict.lost == verdict.recovered == []
    assert verdict.unknown_absent == ["k1"]


def test_a_key_that_failed_once_and_was_unknown_once_is_recovered_when_present() -> None:
    history = History(
        operations=[
            post("k0", status_id="100"),
            post("k1", outcome="fail"),
            post("k1", outcome="info", invoke=2),
        ],
        final_read=found(("100", "k0"), ("101", "k1")),
    )
    verdict = check(history)
    assert verdict.unexpected == []
    assert verdict.recovered == ["k1"]


def test_errors_are_counted_by_kind_and_outcome() -> None:
    follow = Operation(2, "follow", 1.0, 2.0, "info", target="7")
    history = History(
        operations=[
            post("k0", status_id="100"),
            post("k1", outcome="fail"),
            read("fail"),
            read("info"),
            read("info"),
            follow,
        ],
        final_read=found(("100", "k0")),
    )
    verdict = check(history)
    assert verdict.errors == {
        "follow": {"fail": 0, "info": 1},
        "post": {"fail": 1, "info": 0},
        "read_home": {"fail": 1, "info": 2},
    }
    assert verdict.error_count == 5
    assert verdict.reasons == ["5 client-visible error(s) from careful clients"]


def test_empty_history_does_not_pass() -> None:
    verdict = check(History())
    assert not verdict.passed
    assert verdict.reasons == [
        "no final read: lost, duplicated and unexpected could not be judged",
        "no write was acknowledged: the run proves nothing",
    ]
    assert verdict.stall is None and verdict.stall_during_fault is None
    assert verdict.fault_window is None
    assert verdict.read_availability is None
    assert verdict.latency[NO_FAULT_PHASE]["write"].count == 0
    assert verdict.latency[NO_FAULT_PHASE]["write"].p50 is None
    assert verdict.attempted_posts == verdict.acknowledged_posts == 0
    json.dumps(verdict.to_dict())


def test_empty_history_with_an_empty_final_read() -> None:
    verdict = check(History(final_read=[]))
    assert verdict.final_read_size == 0
    assert verdict.reasons == ["no write was acknowledged: the run proves nothing"]


def test_without_a_final_read_nothing_is_called_lost() -> None:
    verdict = check(History(operations=[post("k1", status_id="101")]))
    assert verdict.lost == [] and verdict.unexpected == []
    assert verdict.final_read_size is None
    assert not verdict.passed
    assert verdict.reasons[0].startswith("no final read")


def test_a_fault_that_could_not_be_injected_fails_the_verdict() -> None:
    history = History(
        operations=[post("k1", status_id="101")],
        events=[Event(20.0, FAULT_ERROR, {"fault": "crash-primary-node", "error": "no leader"})],
        final_read=found(("101", "k1")),
    )
    verdict = check(history)
    assert verdict.reasons == ["fault not carried out as planned: no leader"]


def acks(start: float, end: float, step: float = 0.5, first_id: int = 1000) -> list[Operation]:
    """Posts acknowledged every `step` seconds (completion times start, start+step, …)."""
    ops = []
    t, n = start, 0
    while t <= end + 1e-9:
        ops.append(
            post(f"k{first_id + n}", status_id=str(first_id + n), invoke=t - 0.01, complete=t)
        )
        t, n = round(t + step, 6), n + 1
    return ops


def present(ops: list[Operation]) -> list[FinalStatus]:
    return [
        FinalStatus(op.status_id, "1", op.key) for op in ops if op.outcome == "ok" and op.status_id
    ]


def test_write_stall_is_the_longest_gap_overlapping_the_fault() -> None:
    ops = acks(1, 20) + acks(38.5, 60, first_id=5000)
    history = History(operations=ops, events=fault(20.2, 40.2), final_read=present(ops))
    verdict = check(history)
    assert verdict.fault_window == (20.2, 40.2)
    assert verdict.stall_during_fault == Stall(20.0, 38.5)
    assert verdict.stall_during_fault.seconds == pytest.approx(18.5)
    assert verdict.stall == Stall(20.0, 38.5)
    assert verdict.passed
    assert check(history, stall_budget=25).passed
    over = check(history, stall_budget=10)
    assert not over.passed
    assert over.reasons == ["write stall 18.5 s over the 10 s budget"]


def test_a_longer_gap_outside_the_fault_is_the_overall_stall_only() -> None:
    ops = acks(1, 5) + acks(15, 30, first_id=3000) + acks(32, 40, first_id=6000)
    history = History(operations=ops, events=fault(29.5, 35), final_read=present(ops))
    verdict = check(history, stall_budget=5)
    assert verdict.stall == Stall(5, 15)
    assert verdict.stall_during_fault == Stall(30, 32)
    assert verdict.passed  # the budget judges the stall around the fault


def test_writes_that_never_come_back_stall_until_the_last_write_completes() -> None:
    # After the fault nothing is acknowledged; the last posts give up (info) at 75 s.
    ops = acks(1, 12)
    ops += [post(f"late{i}", outcome="info", invoke=12.5 + i, complete=72.5 + i) for i in range(3)]
    history = History(operations=ops, events=fault(12.2, 32.2), final_read=present(ops))
    verdict = check(history)
    assert verdict.stall_during_fault == Stall(12, 74.5)
    assert verdict.unknown_absent == ["late0", "late1", "late2"]


def test_a_fault_that_never_ended_lasts_until_the_end_of_the_history() -> None:
    ops = acks(1, 30)
    history = History(operations=ops, events=fault(10, None), final_read=present(ops))
    assert check(history).fault_window == (10, 30)


def test_without_a_fault_there_is_one_phase_and_no_fault_figures() -> None:
    ops = [*acks(1, 10), read(invoke=5)]
    verdict = check(History(operations=ops, final_read=present(ops)))
    assert verdict.fault_window is None
    assert verdict.stall_during_fault is None
    assert verdict.stall is not None and verdict.stall.seconds == pytest.approx(0.5)
    assert verdict.read_availability is None
    assert list(verdict.latency) == [NO_FAULT_PHASE]
    assert verdict.latency[NO_FAULT_PHASE]["read"].count == 1


def test_read_availability_counts_reads_invoked_during_the_fault() -> None:
    ops = [
        *acks(1, 40),
        read("info", invoke=5),  # before: not counted
        read("ok", invoke=21),
        read("ok", invoke=22),
        read("ok", invoke=25),
        read("info", invoke=30),
        read("fail", invoke=45),  # after: not counted
    ]
    verdict = check(History(operations=ops, events=fault(20, 40), final_read=present(ops)))
    assert verdict.reads_during_fault == 4
    assert verdict.read_availability == pytest.approx(0.75)


def test_latency_percentiles_by_phase_and_group() -> None:
    ops = [
        post(f"b{i}", status_id=str(i), invoke=1 + i * 0.1, complete=1.01 + i * 0.1)
        for i in range(10)
    ]
    ops += [
        post(f"d{i}", status_id=str(100 + i), invoke=21 + i, complete=21 + i + (i + 1))
        for i in range(4)
    ]  # latencies 1, 2, 3, 4 s during the fault
    ops += [read(invoke=50, latency=0.002), read(invoke=51, latency=0.004)]
    ops += [read("info", invoke=52, latency=10)]  # not ok: not in the latency figures
    verdict = check(History(operations=ops, events=fault(20, 40), final_read=present(ops)))
    before, during, after = (verdict.latency[p] for p in ("before", "during", "after"))
    assert before["write"].count == 10
    assert before["write"].p50 == pytest.approx(0.01)
    assert during["write"].count == 4
    assert during["write"].p50 == pytest.approx(2)
    assert during["write"].p99 == pytest.approx(4)
    assert during["read"].count == 0 and during["read"].p50 is None
    assert after["read"].count == 2
    assert after["read"].p50 == pytest.approx(0.002)
    assert after["read"].p99 == pytest.approx(0.004)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([float(i) for i in range(1, 101)], 100) == 100.0


def test_the_verdict_is_plain_json() -> None:
    ops = acks(1, 30)
    history = History(operations=ops, events=fault(10, 20), final_read=present(ops))
    data = json.loads(json.dumps(check(history, stall_budget=5).to_dict()))
    assert data["passed"] is True
    assert data["fault_window"] == [10, 20]
    assert data["stall_during_fault"]["seconds"] == pytest.approx(0.5)
    assert data["latency"]["during"]["write"]["count"] == 20
    assert data["error_count"] == 0


# -- two kinds of clients --------------------------------------------------------------------


def plain(op: Operation) -> Operation:
    return replace(op, client="plain")


def test_errors_are_reported_per_kind_of_client_and_a_plain_one_fails_the_verdict() -> None:
    ops = [
        *acks(1, 5),
        plain(post("p1", outcome="info", invoke=2)),
        plain(read("fail", invoke=3)),
        read("info", invoke=4),
    ]
    verdict = check(History(operations=ops, final_read=present(ops)))
    assert verdict.errors == {"post": {"fail": 0, "info": 1}, "read_home": {"fail": 1, "info": 1}}
    assert verdict.errors_by_client == {
        "careful": {"read_home": {"fail": 0, "info": 1}},
        "plain": {"post": {"fail": 0, "info": 1}, "read_home": {"fail": 1, "info": 0}},
    }
    assert (verdict.client_error_count("careful"), verdict.client_error_count("plain")) == (1, 2)
    assert verdict.reasons == [
        "1 client-visible error(s) from careful clients",
        "2 client-visible error(s) from plain clients",
    ]
    assert verdict.to_dict()["error_count_by_client"] == {"careful": 1, "plain": 2}


def test_a_plain_client_error_alone_fails_the_verdict() -> None:
    ops = [*acks(1, 5), *(plain(op) for op in acks(6, 8, first_id=2000))]
    clean = check(History(operations=ops, final_read=present(ops)))
    assert clean.passed, clean.reasons
    assert clean.errors_by_client == {"careful": {}, "plain": {}}
    ops.append(plain(read("fail", invoke=9)))
    verdict = check(History(operations=ops, final_read=present(ops)))
    assert verdict.reasons == ["1 client-visible error(s) from plain clients"]


def test_read_availability_per_kind_of_client() -> None:
    ops = [
        *acks(1, 40),
        read("ok", invoke=21),
        read("info", invoke=22),
        plain(read("ok", invoke=23)),
        plain(read("ok", invoke=24)),
        plain(read("fail", invoke=50)),  # after the fault: not counted
    ]
    verdict = check(History(operations=ops, events=fault(20, 40), final_read=present(ops)))
    assert verdict.read_availability == pytest.approx(0.75)
    assert verdict.reads_during_fault_by_client == {"careful": 2, "plain": 2}
    assert verdict.read_availability_by_client == {"careful": 0.5, "plain": 1.0}
    without = check(History(operations=acks(1, 5), events=fault(2, 3)))
    assert without.read_availability_by_client == {"careful": None, "plain": None}


# -- stale reads ------------------------------------------------------------------------------


def own_post(status_id: int, at: float, process: int = 0) -> Operation:
    return post(
        f"k{status_id}", status_id=str(status_id), invoke=at - 0.1, complete=at, process=process
    )


def home(at: float, ids: list[int], process: int = 0) -> Operation:
    return Operation(
        process, "read_home", at, at + 0.01, "ok", ids=[str(i) for i in sorted(ids, reverse=True)]
    )


def stale(ops: list[Operation]) -> tuple[dict[str, int] | None, dict[str, list[str]], bool]:
    verdict = check(History(operations=ops, final_read=present(ops)))
    return verdict.stale_reads, verdict.stale_read_examples, verdict.passed


def test_a_read_that_shows_the_clients_own_post_passes() -> None:
    ops = [own_post(100, 1), home(2, [100, 50]), own_post(120, 3), home(4, [120, 100, 50])]
    counts, _, passed = stale(ops)
    assert counts == {"read_your_writes": 0, "monotonic": 0}
    assert passed


def test_a_read_that_misses_the_clients_newest_post_breaks_read_your_writes() -> None:
    ops = [own_post(100, 1), own_post(120, 2), home(3, [100, 50])]
    counts, examples, passed = stale(ops)
    assert counts == {"read_your_writes": 1, "monotonic": 0}
    assert examples["read_your_writes"] == [
        "process 0: read at 3.00 s did not show its post 120 acknowledged at 2.00 s"
    ]
    # Reported, not failed (DESIGN.md's fail list; see the checker's docstring).
    assert passed


def test_an_empty_page_after_an_acknowledged_post_is_stale() -> None:
    counts, _, _ = stale([own_post(100, 1), home(2, [])])
    assert counts == {"read_your_writes": 1, "monotonic": 0}


def test_read_your_writes_judges_only_posts_acknowledged_before_the_read() -> None:
    # The read starts while the post is in flight (acknowledged at 2.5 s): not judged.
    ops = [post("k1", status_id="100", invoke=1.0, complete=2.5), home(2.0, [50])]
    counts, _, _ = stale(ops)
    assert counts == {"read_your_writes": 0, "monotonic": 0}
    # Another process's post is not this client's own.
    counts, _, _ = stale([own_post(100, 1, process=3), home(2, [50])])
    assert counts == {"read_your_writes": 0, "monotonic": 0}


def test_a_post_pushed_out_of_a_full_page_cannot_be_judged() -> None:
    newer = list(range(201, 221))  # 20 ids, all newer than the client's post
    counts, _, _ = stale([own_post(100, 1), home(2, newer)])
    assert counts == {"read_your_writes": 0, "monotonic": 0}
    # A full page whose oldest id is older than the post should have shown it.
    older = list(range(80, 100))  # 20 ids, oldest 80: the post (100) belongs on this page
    counts, _, _ = stale([own_post(100, 1), home(2, older)])
    assert counts == {"read_your_writes": 1, "monotonic": 0}
    # Not full: nothing can have pushed it out.
    counts, _, _ = stale([own_post(100, 1), home(2, newer[:19])])
    assert counts == {"read_your_writes": 1, "monotonic": 0}


def test_a_read_that_loses_a_post_an_earlier_read_showed_breaks_monotonic_reads() -> None:
    ops = [home(1, [30, 20, 10], process=5), home(2, [30, 10], process=5)]
    counts, examples, _ = stale(ops)
    assert counts == {"read_your_writes": 0, "monotonic": 1}
    assert examples["monotonic"] == ["process 5: read at 2.00 s lost 20 shown before"]
    # Reported, not a reason to fail (this history fails only for having no write).
    reasons = check(History(operations=ops, final_read=present(ops))).reasons
    assert reasons == ["no write was acknowledged: the run proves nothing"], reasons
    # Another process never showed 20: each process is judged on its own reads.
    ops = [home(1, [30, 20, 10], process=5), home(2, [30, 10], process=6)]
    assert stale(ops)[0] == {"read_your_writes": 0, "monotonic": 0}


def test_monotonic_reads_allow_what_a_full_page_pushed_out() -> None:
    first = list(range(100, 120))  # 20 ids: 100–119
    second = list(range(105, 125))  # 20 ids: 105–124; 100–104 pushed out
    ops = [home(1, first, process=5), home(2, second, process=5)]
    assert stale(ops)[0] == {"read_your_writes": 0, "monotonic": 0}
    # Losing 110, which is newer than the page's oldest (105), is stale.
    gap = [i for i in range(104, 125) if i != 110]
    ops = [home(1, first, process=5), home(2, gap, process=5)]
    assert stale(ops)[0] == {"read_your_writes": 0, "monotonic": 1}


def test_a_failed_read_is_not_judged_for_staleness() -> None:
    failed = Operation(0, "read_home", 3, 4, "fail", error="HTTP 503")
    ops = [own_post(100, 1), home(2, [100]), failed]
    assert stale(ops)[0] == {"read_your_writes": 0, "monotonic": 0}


def test_without_recorded_ids_stale_reads_are_not_judged() -> None:
    ops = [*acks(1, 5), read(invoke=6)]
    verdict = check(History(operations=ops, final_read=present(ops)))
    assert verdict.stale_reads is None
    assert verdict.passed


# -- writes by a non-primary ------------------------------------------------------------------

SERVERS = {"10.0.0.1:5432": "a", "10.0.0.2:5432": "b", "10.0.0.3:5432": "c"}


def on(op: Operation, server: str) -> Operation:
    return replace(op, server=server)


def leaders(*changes: tuple[float, str | None]) -> list[Event]:
    return [Event(t, LEADER, {"leader": zone}) for t, zone in changes]


def judge(
    ops: list[Operation], events: list[Event], servers: dict[str, str] | None = SERVERS
) -> Verdict:
    meta = {"database_servers": servers} if servers is not None else {}
    return check(History(operations=ops, events=events, final_read=present(ops), meta=meta))


def test_writes_acknowledged_by_the_leader_pass() -> None:
    ops = [
        on(post("k1", status_id="1", invoke=1, complete=1.1), "10.0.0.1:5432"),
        on(post("k2", status_id="2", invoke=30, complete=30.1), "10.0.0.2:5432"),
        # Just after the leader moved to b, a still acknowledged one: within the 2 s slack.
        on(post("k3", status_id="3", invoke=21.0, complete=21.5), "10.0.0.1:5432"),
    ]
    verdict = judge(ops, leaders((0.1, "a"), (20, None), (22.5, "b")))
    assert verdict.writes_by_non_primary == 0
    assert verdict.passed, verdict.reasons


def test_a_write_acknowledged_by_a_zone_that_did_not_lead_is_suspect() -> None:
    ops = [
        on(post("k1", status_id="1", invoke=1, complete=1.1), "10.0.0.1:5432"),
        on(post("k2", status_id="2", invoke=30, complete=30.1), "10.0.0.1:5432"),
        on(Operation(1, "follow", 31, 31.1, "ok", target="7"), "10.0.0.9:5432"),
    ]
    verdict = judge(ops, leaders((0.1, "a"), (20, None), (22.5, "b")))
    assert verdict.writes_by_non_primary == 2
    assert verdict.writes_by_non_primary_examples == [
        "post by process 0 at 30.00–30.10 s acknowledged by 10.0.0.1:5432 (zone a)",
        "follow by process 1 at 31.00–31.10 s acknowledged by 10.0.0.9:5432 (zone unknown)",
    ]
    assert not verdict.passed
    assert "2 write(s) acknowledged by a server that did not lead" in verdict.reasons


def test_writes_by_a_non_primary_are_not_judged_without_the_facts() -> None:
    ops = [on(post("k1", status_id="1"), "10.0.0.2:5432")]
    events = leaders((0.1, "a"))
    assert judge(ops, events).writes_by_non_primary == 1  # judged: b never led
    assert judge(ops, []).writes_by_non_primary is None  # no leader events
    assert judge(ops, events, servers=None).writes_by_non_primary is None  # no server map
    unnamed = [post("k1", status_id="1")]  # the app did not say (SQLite, or drill headers off)
    assert judge(unnamed, events).writes_by_non_primary is None
    assert judge(unnamed, events).passed
