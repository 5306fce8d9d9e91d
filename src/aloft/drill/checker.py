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
* **client-visible errors** — every `fail` and `info`, of any kind, counted by kind of
  operation, in total (`errors`) and per kind of client (`errors_by_client`: `careful`
  clients retry within a budget, `plain` ones send each request once).
* **write stall** — the longest time without an acknowledged write (post or follow), from
  the first write's invocation to the last write's completion; reported overall and for the
  longest such gap that overlaps the fault window.
* **stream gap** — judged when the streaming client ran (`stream…` events, see
  `aloft.drill.stream`): the longest time an acknowledged post waited with no update
  arriving on the stream. For each silence between two arrivals (and from the last arrival
  to the client's end), it runs from the first post acknowledged in it to the next arrival
  (or the end of the silence). In normal running that is one post's delivery time; through
  a failover it is how long the stream stayed silent while writes were already being
  acknowledged. Also: **stream back after writes resumed** — from the end of the judged
  write stall (the one overlapping the fault, else the overall one) to the first arrival,
  after that stall began, of a status not acknowledged before it (0 when one came before
  the stall ended, since an update can beat its post's answer; None when none came);
  how many updates arrived, and how many times the connection was lost. Reported, not
  failed: DESIGN.md's fail list is about writes and errors.
* **read availability** — the share of reads invoked during the fault window that were `ok`,
  in total and per kind of client.
* **stale reads** — judged per client process on its `ok` home-timeline reads that recorded
  the ids they were shown (newest first; a page is *full* when it holds `HOME_PAGE_LIMIT`
  ids, and then anything older than its oldest id may simply have been pushed out):
  - *read your writes*: a read invoked after one of the process's own posts was
    acknowledged must show the newest of them (the one acknowledged last before the read
    was invoked), unless the page is full and its oldest id is newer than that post;
  - *monotonic reads*: an id shown by an earlier read of the process must be shown by every
    later one, unless the later page is full and the id is older than its oldest id.
  Ids are snowflakes, time-ordered integers, and are compared as such (an id that is not a
  number is judged only against a page that is not full). Each read that breaks a rule
  counts once for that rule. Not judged (None) when no read recorded its ids. Stale reads
  are reported, not failed: DESIGN.md fails a drill on lost, duplicated or unexpected
  writes, client errors and the stall budget, and a read that is a moment behind is none of
  those (measured after a partition heals: an app whose primary had just failed may read
  from the old primary's zone, restarted as a standby that has not caught up, for ~1 s).
* **writes by a non-primary** — a write acknowledged `ok` names the database server it
  committed on ("host:port", `Operation.server`), and the meta's `database_servers` maps
  servers to zones; the `leader` events (polled about every half second) say which zone led
  when. A write acknowledged by zone Z is *suspect* when no stretch of time in which Z led
  overlaps [invoke − 2 s, complete + 2 s] (the slack covers the polling). A server missing
  from the map is suspect too. Not judged (None) without server names, the map, or leader
  events.
* **latency** — p50 and p99 (nearest rank) of `ok` operations, writes and reads apart, by
  phase: before, during and after the fault window (or `all` when there was no fault).

A verdict passes only if every fault was carried out as planned (no `fault-error` event),
there is a final read, something was acknowledged, nothing is lost, duplicated or
unexpected, no client of either kind saw an error, no write was acknowledged by a
non-primary, and the stall budget (when one is given) holds: the stall
overlapping the fault, or the overall stall when there was no fault.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aloft.drill.history import (
    CLIENT_KINDS,
    FAULT_ERROR,
    HOME_PAGE_LIMIT,
    LEADER,
    STREAM,
    STREAM_CONNECT,
    STREAM_END,
    STREAM_LOST,
    Event,
    History,
    Operation,
)

PHASES_WITH_FAULT = ("before", "during", "after")
NO_FAULT_PHASE = "all"
READ_YOUR_WRITES = "read_your_writes"
MONOTONIC = "monotonic"
EXAMPLES = 5  # examples listed per rule
LEADER_SLACK = 2.0  # seconds either side of a write in which its server must have led

STREAM_KINDS = frozenset({STREAM, STREAM_CONNECT, STREAM_LOST, STREAM_END})

Errors = dict[str, dict[str, int]]  # kind of operation -> outcome -> count


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
class StreamReport:
    """What the streaming client saw (see the module docstring)."""

    updates: int
    losses: int
    gap: Stall | None  # the longest wait of an acknowledged post for any update
    back_after_writes_resumed: float | None


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
    errors: Errors
    errors_by_client: dict[str, Errors]
    fault_window: tuple[float, float] | None
    stall: Stall | None
    stall_during_fault: Stall | None
    stall_budget: float | None
    reads_during_fault: int
    read_availability: float | None
    reads_during_fault_by_client: dict[str, int]
    read_availability_by_client: dict[str, float | None]
    stale_reads: dict[str, int] | None
    stale_read_examples: dict[str, list[str]]
    writes_by_non_primary: int | None
    writes_by_non_primary_examples: list[str]
    latency: dict[str, dict[str, Latency]] = field(default_factory=dict)
    stream: StreamReport | None = None

    @property
    def error_count(self) -> int:
        return _count(self.errors)

    def client_error_count(self, client: str) -> int:
        """How many errors clients of that kind (`careful` or `plain`) saw."""
        return _count(self.errors_by_client.get(client, {}))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("stall", "stall_during_fault"):
            stall = getattr(self, name)
            data[name] = None if stall is None else {**asdict(stall), "seconds": stall.seconds}
        if self.stream is not None and self.stream.gap is not None:
            data["stream"]["gap"]["seconds"] = self.stream.gap.seconds
        data["fault_window"] = list(self.fault_window) if self.fault_window else None
        data["error_count"] = self.error_count
        data["error_count_by_client"] = {k: self.client_error_count(k) for k in CLIENT_KINDS}
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

    errors = _errors(history.operations)
    errors_by_client: dict[str, Errors] = {
        kind: _errors(op for op in history.operations if op.client == kind) for kind in CLIENT_KINDS
    }

    window = history.fault_window()
    stall, stall_during = _stalls(history.operations, window)
    reads_during = _reads_during(history.operations, window)
    reads_during_by_client = {
        kind: [op for op in reads_during if op.client == kind] for kind in CLIENT_KINDS
    }
    stale, stale_examples = stale_reads(history.operations)
    non_primary = writes_by_non_primary(history)

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
    for kind in CLIENT_KINDS:
        if _count(errors_by_client[kind]):
            reasons.append(
                f"{_count(errors_by_client[kind])} client-visible error(s) from {kind} clients"
            )
    if non_primary:
        reasons.append(f"{len(non_primary)} write(s) acknowledged by a server that did not lead")
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
        errors=errors,
        errors_by_client=errors_by_client,
        fault_window=window,
        stall=stall,
        stall_during_fault=stall_during,
        stall_budget=stall_budget,
        reads_during_fault=len(reads_during),
        read_availability=_availability(reads_during),
        reads_during_fault_by_client={k: len(v) for k, v in reads_during_by_client.items()},
        read_availability_by_client={
            k: _availability(v) for k, v in reads_during_by_client.items()
        },
        stale_reads=stale,
        stale_read_examples=stale_examples,
        writes_by_non_primary=None if non_primary is None else len(non_primary),
        writes_by_non_primary_examples=(non_primary or [])[:EXAMPLES],
        latency=_latency(history.operations, window),
        stream=stream_report(history, stall_during if window is not None else stall),
    )


def _errors(operations: Iterable[Operation]) -> Errors:
    """The operations that were not ok, counted by kind of operation and outcome."""
    errors: Errors = {}
    for op in operations:
        if op.outcome != "ok":
            errors.setdefault(op.kind, {"fail": 0, "info": 0})[op.outcome] += 1
    return dict(sorted(errors.items()))


def _count(errors: Errors) -> int:
    return sum(sum(by_outcome.values()) for by_outcome in errors.values())


def _reads_during(
    operations: Sequence[Operation], window: tuple[float, float] | None
) -> list[Operation]:
    if window is None:
        return []
    return [op for op in operations if not op.is_write and window[0] <= op.invoke < window[1]]


def _availability(reads: Sequence[Operation]) -> float | None:
    return sum(op.outcome == "ok" for op in reads) / len(reads) if reads else None


# -- stale reads ----------------------------------------------------------------------------------


def _number(status_id: str) -> int | None:
    return int(status_id) if status_id.isdigit() else None


def _full(ids: Sequence[str]) -> bool:
    return len(ids) >= HOME_PAGE_LIMIT


def _pushed_out(status_id: str, page: Sequence[str]) -> bool:
    """Whether `status_id` may be missing from `page` only because newer statuses filled it:
    the page is full and the id is older than its oldest one."""
    if not _full(page):
        return False
    number, oldest = _number(status_id), _number(page[-1])
    return number is not None and oldest is not None and number < oldest


def stale_reads(
    operations: Sequence[Operation],
) -> tuple[dict[str, int] | None, dict[str, list[str]]]:
    """Violations of read-your-writes and of monotonic reads (see the module docstring),
    counted, with a few examples each; (None, {}) when no read recorded its ids."""
    by_process: dict[int, list[Operation]] = defaultdict(list)
    for op in operations:
        by_process[op.process].append(op)
    counts = {READ_YOUR_WRITES: 0, MONOTONIC: 0}
    examples: dict[str, list[str]] = {READ_YOUR_WRITES: [], MONOTONIC: []}
    judged = False
    for process, ops in sorted(by_process.items()):
        ops.sort(key=lambda op: op.invoke)
        reads = [op for op in ops if op.kind == "read_home" and op.outcome == "ok"]
        reads = [op for op in reads if op.ids is not None]
        judged = judged or bool(reads)
        for rule, found in (
            (READ_YOUR_WRITES, _unread_own_writes(process, ops, reads)),
            (MONOTONIC, _non_monotonic_reads(process, reads)),
        ):
            counts[rule] += len(found)
            examples[rule] += found[: EXAMPLES - len(examples[rule])]
    return (counts, examples) if judged else (None, {})


def _unread_own_writes(
    process: int, ops: Sequence[Operation], reads: Sequence[Operation]
) -> list[str]:
    """One line per read that does not show the process's newest own acknowledged post."""
    posts = sorted(
        (op for op in ops if op.kind == "post" and op.outcome == "ok" and op.status_id),
        key=lambda op: op.complete,
    )
    acked_at = [op.complete for op in posts]
    found = []
    for read in reads:
        count = bisect.bisect_left(acked_at, read.invoke)  # acknowledged before the read
        if not count:
            continue
        newest = posts[count - 1]
        own = newest.status_id
        assert own is not None and read.ids is not None
        if own not in read.ids and not _pushed_out(own, read.ids):
            found.append(
                f"process {process}: read at {read.invoke:.2f} s did not show its post {own} "
                f"acknowledged at {newest.complete:.2f} s"
            )
    return found


def _non_monotonic_reads(process: int, reads: Sequence[Operation]) -> list[str]:
    """One line per read that misses an id an earlier read of the process showed."""
    seen_numbers: list[int] = []  # sorted
    seen_other: set[str] = set()  # ids that are not numbers
    found = []
    for read in reads:
        assert read.ids is not None
        shown = set(read.ids)
        oldest = _number(read.ids[-1]) if _full(read.ids) else None
        if oldest is not None:
            start = bisect.bisect_left(seen_numbers, oldest)
            expected = [str(n) for n in seen_numbers[start:]]
        else:
            expected = [str(n) for n in seen_numbers] + sorted(seen_other)
        missing = [status_id for status_id in expected if status_id not in shown]
        if missing:
            found.append(
                f"process {process}: read at {read.invoke:.2f} s lost "
                f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} shown before"
            )
        for status_id in read.ids:
            number = _number(status_id)
            if number is None:
                seen_other.add(status_id)
            elif not _contains(seen_numbers, number):
                bisect.insort(seen_numbers, number)
    return found


def _contains(ordered: list[int], value: int) -> bool:
    index = bisect.bisect_left(ordered, value)
    return index < len(ordered) and ordered[index] == value


# -- writes by a non-primary ----------------------------------------------------------------------


def leader_terms(events: Sequence[Event]) -> list[tuple[str | None, float, float]]:
    """(zone, from, until) for each stretch of the history in which a zone (or nobody, None)
    led, from the `leader` events; the last stretch lasts forever."""
    changes = sorted((e for e in events if e.kind == LEADER), key=lambda e: e.time)
    ends = [e.time for e in changes[1:]] + [math.inf]
    return [(e.detail.get("leader"), e.time, end) for e, end in zip(changes, ends, strict=False)]


def writes_by_non_primary(history: History) -> list[str] | None:
    """One line per acknowledged write whose server's zone did not lead around it (see the
    module docstring); None when it cannot be judged."""
    zones: dict[str, str] = history.meta.get("database_servers") or {}
    terms = leader_terms(history.events)
    writes = [op for op in history.operations if op.is_write and op.outcome == "ok" and op.server]
    if not zones or not terms or not writes:
        return None
    found = []
    for op in writes:
        assert op.server is not None
        zone = zones.get(op.server)
        low, high = op.invoke - LEADER_SLACK, op.complete + LEADER_SLACK
        if zone is None or not any(
            leader == zone and start <= high and end >= low for leader, start, end in terms
        ):
            found.append(
                f"{op.kind} by process {op.process} at {op.invoke:.2f}–{op.complete:.2f} s "
                f"acknowledged by {op.server} (zone {zone or 'unknown'})"
            )
    return found


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


def stream_report(history: History, stall: Stall | None) -> StreamReport | None:
    """The streaming client's figures; None when it did not run (see the module doc)."""
    events = [e for e in history.events if e.kind in STREAM_KINDS]
    if not events:
        return None
    arrived = sorted((e.time, str(e.detail.get("id"))) for e in events if e.kind == STREAM)
    arrivals = [t for t, _ in arrived]
    end = max((e.time for e in events if e.kind == STREAM_END), default=history.end_time())
    acks = sorted(
        op.complete
        for op in history.operations
        if op.kind == "post" and op.outcome == "ok" and op.complete <= end
    )
    gap = None
    for before, after in zip([-math.inf, *arrivals], [*arrivals, None], strict=True):
        first = bisect.bisect_right(acks, before)
        if first == len(acks):
            continue
        until = after if after is not None else end
        if acks[first] < until and (gap is None or until - acks[first] > gap.seconds):
            gap = Stall(acks[first], until)
    back = None
    if stall is not None:
        # Updates for posts acknowledged before the stall say nothing about after it.
        earlier = {
            op.status_id
            for op in history.operations
            if op.kind == "post" and op.outcome == "ok" and op.complete <= stall.start
        }
        later = [t for t, i in arrived if t > stall.start and i not in earlier]
        if later:
            back = max(0.0, later[0] - stall.end)
    return StreamReport(
        updates=len(arrivals),
        losses=sum(e.kind == STREAM_LOST for e in events),
        gap=gap,
        back_after_writes_resumed=back,
    )


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
