"""The history of a drill, in Jepsen's vocabulary, and its JSONL form.

An **operation** is one logical thing a client tried: a post (however many HTTP attempts it
took with its one Idempotency-Key), a follow, a read of the home timeline. It has the client
(`process`) that did it and the kind of that client (`client`: `careful`, which retries, or
`plain`, which sends each request once), its `kind`, when it was invoked and when it
completed (seconds since the run started, from one monotonic clock), and its outcome:

* `ok` — the server acknowledged it;
* `fail` — the server said it did not happen (a definite refusal, e.g. 422);
* `info` — we do not know: a timeout, a reset connection, a 5xx after the retry budget ran
  out. An `info` is never counted as a success nor as a failure; the final read decides.

A read of the home timeline also records the ids it was shown (`ids`, newest first, at most
`HOME_PAGE_LIMIT`), and a write the database server that acknowledged it (`server`,
"host:port", when the app reports it), so the checker can judge stale reads and writes
acknowledged by a server that was not the primary.

An **event** is something that happened to the system rather than a client: a fault began or
ended, the leader changed (as seen by polling), a note, and what the streaming client saw
(an update arrived, it connected, it lost its connection). The **final read** is every status of
every workload account, read back through the API after the run.

On disk a history is JSONL: one `meta` line, then `op`, `event` and `final` lines. `read`
gives back exactly what `write` wrote.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["ok", "fail", "info"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "fail", "info")

ClientKind = Literal["careful", "plain"]
CLIENT_KINDS: tuple[ClientKind, ...] = ("careful", "plain")

# How many statuses one read of the home timeline asks for.
HOME_PAGE_LIMIT = 20

# Kinds of operation that change state; the others only read.
WRITE_KINDS = frozenset({"post", "follow"})

FAULT_START = "fault-start"
FAULT_END = "fault-end"
FAULT_ERROR = "fault-error"  # a fault that could not be injected or repaired as planned
LEADER = "leader"
NOTE = "note"
# The streaming client (aloft.drill.stream): an update arrived; connected; connection lost.
STREAM = "stream"
STREAM_CONNECT = "stream-connect"
STREAM_LOST = "stream-lost"
STREAM_END = "stream-end"  # the workload stopped the streaming client


class HistoryError(ValueError):
    """A history file that cannot be read back (with the line that is wrong)."""


@dataclass(frozen=True)
class Operation:
    """One logical operation of one client, from invocation to its final outcome."""

    process: int
    kind: str
    invoke: float
    complete: float
    outcome: Outcome
    key: str | None = None  # the Idempotency-Key of a post
    status_id: str | None = None  # the status a post was acknowledged with
    target: str | None = None  # the account a follow was for
    attempts: int = 1  # HTTP requests it took
    error: str | None = None  # why it was not ok, in a few words
    client: ClientKind = "careful"  # the kind of client that did it
    ids: list[str] | None = None  # the statuses an ok read_home was shown, newest first
    server: str | None = None  # the database server ("host:port") that acknowledged a write

    @property
    def latency(self) -> float:
        return self.complete - self.invoke

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


@dataclass(frozen=True)
class Event:
    """Something that happened to the system at `time` (seconds since the run started)."""

    time: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinalStatus:
    """A status found by the final read: its id, its author, and the Idempotency-Key that the
    workload wrote into its text (None when the text carries none)."""

    id: str
    account_id: str
    key: str | None


@dataclass
class History:
    """Everything a drill recorded. `final_read` is None when no final read was made."""

    operations: list[Operation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    final_read: list[FinalStatus] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def fault_window(self) -> tuple[float, float] | None:
        """From the first fault start to the last fault end (or the end of the history when
        a fault never ended); None when no fault was injected."""
        starts = [e.time for e in self.events if e.kind == FAULT_START]
        if not starts:
            return None
        ends = [e.time for e in self.events if e.kind == FAULT_END]
        start = min(starts)
        end = max(ends) if ends and max(ends) >= start else self.end_time()
        return start, max(start, end)

    def end_time(self) -> float:
        """The latest time anything in the history happened."""
        times = [op.complete for op in self.operations] + [e.time for e in self.events]
        return max(times, default=0.0)

    def leader_changes(self) -> list[Event]:
        return [e for e in self.events if e.kind == LEADER]

    # -- JSONL -------------------------------------------------------------------------------

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            meta = {**self.meta, "final_read": self.final_read is not None}
            out.write(_line({"type": "meta", **meta}))
            for op in self.operations:
                out.write(_line({"type": "op", **asdict(op), "latency": round(op.latency, 6)}))
            for event in self.events:
                out.write(_line({"type": "event", **asdict(event)}))
            for status in self.final_read or []:
                out.write(_line({"type": "final", **asdict(status)}))

    @classmethod
    def read(cls, path: Path) -> History:
        history = cls()
        has_final = False
        op_fields = {f.name for f in fields(Operation)}
        with path.open(encoding="utf-8") as lines:
            for number, text in enumerate(lines, 1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                    kind = record.pop("type")
                    if kind == "meta":
                        has_final = bool(record.pop("final_read", False))
                        history.meta = record
                    elif kind == "op":
                        op = Operation(**{k: v for k, v in record.items() if k in op_fields})
                        if op.outcome not in OUTCOMES:
                            raise ValueError(f"unknown outcome {op.outcome!r}")
                        if op.client not in CLIENT_KINDS:
                            raise ValueError(f"unknown kind of client {op.client!r}")
                        history.operations.append(op)
                    elif kind == "event":
                        history.events.append(Event(**record))
                    elif kind == "final":
                        has_final = True
                        history.final_read = history.final_read or []
                        history.final_read.append(FinalStatus(**record))
                    else:
                        raise ValueError(f"unknown record type {kind!r}")
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise HistoryError(f"{path}:{number}: {exc}") from None
        if has_final and history.final_read is None:
            history.final_read = []
        return history


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


class Recorder:
    """Collects a history while a drill runs; safe to use from many threads.

    Its clock starts when it is made: every time it hands out is seconds since then.
    """

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.history = History(meta=dict(meta or {}))
        self.history.meta.setdefault("started_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self._origin = time.monotonic()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)

    def now(self) -> float:
        return time.monotonic() - self._origin

    def operation(self, op: Operation) -> None:
        with self._lock:
            self.history.operations.append(op)
            self._counts[op.outcome] += 1

    def event(self, kind: str, **detail: Any) -> Event:
        with self._lock:
            event = Event(round(self.now(), 6), kind, detail)
            self.history.events.append(event)
        return event

    def counts(self) -> dict[str, int]:
        """How many operations ended in each outcome so far (for progress displays)."""
        with self._lock:
            return dict(self._counts)
