"""The checker: a history (with its final read) in, a verdict out. Pure — no I/O, no clock.

What it reports, and the rules it uses:

* **lost** — a post acknowledged `ok` whose status id is missing from the final read.
* **duplicated** — an Idempotency-Key known under two or more status ids, counting both the
  ids it was acknowledged with and the statuses the final read found carrying it. (The
  workload writes each post's key into its text, so the final read can tell.)
* **unexpected** — a status in the final read that no operation can explain: its key was
  never attempted, or every attempt with that key ended in `fail`. A `fail` means the server
  said the post did not happen, so finding it is a bug, not a recovery.
* **recovered** — a post whose outcome was unknown (`info`) and which the final read found.
  An `info` post that is absent is neither lost nor failed; it is listed as `unknown_absent`.
* **client-visible errors** — every `fail` and `info`, of any kind, counted by kind.
* **write stall** — the longest time without an acknowledged write (post or follow), from
  the first write's invocation to the last write's completion; reported overall and for the
  longest such gap that overlaps the fault window.
* **read availability** — the share of reads invoked during the fault window that were `ok`.
* **latency** — p50 and p99 (nearest rank) of `ok` operations, writes and reads apart, by
  phase: before, during and after the fault window (or `all` when there was no fault).

A verdict passes only if every fault was carried out as planned (no `fault-error` event),
there is a final read, something was acknowledged, nothing is lost,
duplicated or unexpected, no client saw an error, and the stall budget (when one is given)
holds: the stall overlapping the fault, or the overall stall when there was no fault.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aloft.drill.history import FAULT_ERROR, History, Operation

PHASES_WITH_FAULT = ("before", "during", "after")
NO_FAULT_PHASE = "all"


@dataclass(frozen=True)
class Stall:
    """A gap without acknowledged writes, from `start` to `end` (seconds since the start)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Latency:
    """Latency of `count` ok operations, in seconds (None when there were none)."""

    count: int
    p50: float | None
    p99: float | None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: list[str]
    attempted_posts: int
    acknowledged_posts: int
    final_read_size: int | None
    lost: list[str]
    duplicated: dict[str, list[str]]
    unexpected: list[str]
    recovered: list[str]
    unknown_absent: list[str]
    errors: dict[str, dict[str, int]]
    fault_window: tuple[float, float] | None
    stall: Stall | None
    stall_during_fault: Stall | None
    stall_budget: float | None
    reads_during_fault: int
    read_availability: float | None
    latency: dict[str, dict[str, Latency]] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(sum(by_outcome.values()) for by_outcome in self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("stall", "stall_during_fault"):
            stall = getattr(self, name)
            data[name] = None if stall is None else {**asdict(stall), "seconds": stall.seconds}
        data["fault_window"] = list(self.fault_window) if self.fault_window else None
        data["error_count"] = self.error_count
        return data


def check(history: History, stall_budget: float | None = None) -> Verdict:
    """Judge a history. See the module docstring for every rule."""
    posts = [op for op in history.operations if op.kind == "post"]
    final = history.final_read
    final_ids = {s.id for s in final or []}

    acked_ids_by_key: dict[str, set[str]] = defaultdict(set)
    outcomes_by_key: dict[str, set[str]] = defaultdict(set)
    acknowledged: list[Operation] = []
    for op in posts:
        if op.key is not None:
            outcomes_by_key[op.key].add(op.outcome)
        if op.outcome == "ok":
            acknowledged.append(op)
            if op.key is not None and op.status_id is not None:
                acked_ids_by_key[op.key].add(op.status_id)

    read_ids_by_key: dict[str, set[str]] = defaultdict(set)
    for status in final or []:
        if status.key is not None:
            read_ids_by_key[status.key].add(status.id)

    lost: list[str] = []
    unexpected: list[str] = []
    duplicated: dict[str, list[str]] = {}
    recovered: list[str] = []
    unknown_absent: list[str] = []
    if final is not None:
        for op in acknowledged:
            if op.status_id is not None:
                present = op.status_id in final_ids
            else:  # acknowledged without an id: all we can look for is its key
                present = op.key is not None and bool(read_ids_by_key.get(op.key))
            if not present:
                lost.append(op.status_id or f"key:{op.key}")
        acked_ids = {op.status_id for op in acknowledged if op.status_id is not None}
        for status in final:
            if status.id in acked_ids:
                continue
            outcomes = outcomes_by_key.get(status.key, set()) if status.key else set()
            if not outcomes & {"ok", "info"}:
                unexpected.append(status.id)
        for key in sorted(set(acked_ids_by_key) | set(read_ids_by_key)):
            ids = acked_ids_by_key.get(key, set()) | read_ids_by_key.get(key, set())
            if len(ids) > 1:
                duplicated[key] = sorted(ids, key=_id_order)
        for key, outcomes in sorted(outcomes_by_key.items()):
            if "info" in outcomes and "ok" not in outcomes:
                (recovered if key in read_ids_by_key else unknown_absent).append(key)
    else:
        # Nothing can be judged absent without a final read; only the acks themselves.
        for key, ids in sorted(acked_ids_by_key.items()):
            if len(ids) > 1:
                duplicated[key] = sorted(ids, key=_id_order)

    errors: dict[str, dict[str, int]] = {}
    for op in history.operations:
        if op.outcome != "ok":
            errors.setdefault(op.kind, {"fail": 0, "info": 0})[op.outcome] += 1

    window = history.fault_window()
    stall, stall_during = _stalls(history.operations, window)
    reads = [op for op in history.operations if not op.is_write]
    reads_during = [op for op in reads if window and window[0] <= op.invoke < window[1]]
    availability = (
        sum(op.outcome == "ok" for op in reads_during) / len(reads_during) if reads_during else None
    )

    reasons = []
    for event in history.events:
        if event.kind == FAULT_ERROR:
            reasons.append(f"fault not carried out as planned: {event.detail.get('error')}")
    if final is None:
        reasons.append("no final read: lost, duplicated and unexpected could not be judged")
    if not any(op.outcome == "ok" and op.is_write for op in history.operations):
        reasons.append("no write was acknowledged: the run proves nothing")
    if lost:
        reasons.append(f"{len(lost)} acknowledged post(s) lost")
    if duplicated:
        reasons.append(f"{len(duplicated)} idempotency key(s) duplicated")
    if unexpected:
        reasons.append(f"{len(unexpected)} unexpected status(es)")
    error_count = sum(sum(v.values()) for v in errors.values())
    if error_count:
        reasons.append(f"{error_count} client-visible error(s)")
    judged = stall_during if window is not None else stall
    if stall_budget is not None and judged is not None and judged.seconds > stall_budget:
        reasons.append(f"write stall {judged.seconds:.1f} s over the {stall_budget:g} s budget")

    return Verdict(
        passed=not reasons,
        reasons=reasons,
        attempted_posts=len({op.key for op in posts if op.key is not None})
        + sum(op.key is None for op in posts),
        acknowledged_posts=len(acknowledged),
        final_read_size=None if final is None else len(final),
        lost=lost,
        duplicated=duplicated,
        unexpected=sorted(unexpected, key=_id_order),
        recovered=recovered,
        unknown_absent=unknown_absent,
        errors=dict(sorted(errors.items())),
        fault_window=window,
        stall=stall,
        stall_during_fault=stall_during,
        stall_budget=stall_budget,
        reads_during_fault=len(reads_during),
        read_availability=availability,
        latency=_latency(history.operations, window),
    )


def _id_order(status_id: str) -> tuple[int, int, str]:
    """Snowflake ids sort by number; anything else after them, by text."""
    return (0, int(status_id), "") if status_id.isdigit() else (1, 0, status_id)


def _stalls(
    operations: Sequence[Operation], window: tuple[float, float] | None
) -> tuple[Stall | None, Stall | None]:
    writes = [op for op in operations if op.is_write]
    if not writes:
        return None, None
    first = min(op.invoke for op in writes)
    last = max(op.complete for op in writes)
    acks = sorted(op.complete for op in writes if op.outcome == "ok")
    points = [first, *acks, last]
    gaps = [Stall(a, b) for a, b in itertools.pairwise(points) if b >= a]
    overall = max(gaps, key=lambda g: g.seconds, default=None)
    during = None
    if window is not None:
        start, end = window
        touching = [g for g in gaps if g.start <= end and g.end >= start]
        during = max(touching, key=lambda g: g.seconds, default=None)
    return overall, during


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (p in 0–100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _summary(latencies: Iterable[float]) -> Latency:
    values = list(latencies)
    return Latency(len(values), percentile(values, 50), percentile(values, 99))


def _latency(
    operations: Sequence[Operation], window: tuple[float, float] | None
) -> dict[str, dict[str, Latency]]:
    def phase(op: Operation) -> str:
        if window is None:
            return NO_FAULT_PHASE
        if op.invoke < window[0]:
            return "before"
        return "during" if op.invoke < window[1] else "after"

    phases = PHASES_WITH_FAULT if window is not None else (NO_FAULT_PHASE,)
    result: dict[str, dict[str, Latency]] = {}
    for name in phases:
        ok = [op for op in operations if op.outcome == "ok" and phase(op) == name]
        result[name] = {
            "write": _summary(op.latency for op in ok if op.is_write),
            "read": _summary(op.latency for op in ok if not op.is_write),
        }
    return result
