"""`aloft drill matrix`: every fault, N runs each, on the running cluster; one summary table
on the terminal and one HTML report.

The schedule: for each run, wait (with a deadline) until the cluster is healthy — a run on
an unhealthy cluster is not started, and is reported as such and counted as a failure —
then run one drill (`aloft.drill.run`), and record its verdict. Runs are ordered run 1 of
every fault, then run 2 of every fault, so a problem that appears late in a long matrix
does not hide behind one fault's repetitions.

Each drill is shorter than `aloft drill run`'s default: the fault comes at 10 s and the
workload goes on for 20 s after the fault window, enough for the cluster to settle and the
stall to be measured. What a run costs beyond its workload (registering accounts, waiting
for health, reading back) was measured at 5–10 s after a postmaster crash or a switchover;
a node that must rejoin takes longer, so `estimate` uses 20 s.

The pure parts — planning (`MatrixPlan.schedule`, `estimate`) and the summary from verdicts
(`Row.of`) — are unit-tested without a cluster.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from aloft.drill.checker import Verdict
from aloft.drill.faults import FAULTS, WINDOW, ClusterHandle, DrillError, load_cluster
from aloft.drill.workload import WorkloadSettings

# A few minutes: a crash the primary's Patroni mends by itself, and a planned switchover.
QUICK = ("crash-primary-postgres", "switchover")
FAULT_AT = 10.0
AFTER_WINDOW = 20.0
OVERHEAD_SECONDS = 20.0


def all_faults() -> tuple[str, ...]:
    return tuple(name for name in FAULTS if name != "none")


def window_of(fault: str) -> float:
    kind = FAULTS.get(fault)
    return kind.window if kind is not None else WINDOW


@dataclass(frozen=True)
class MatrixPlan:
    faults: tuple[str, ...]
    runs: int = 1
    out: Path = Path("runs")
    directory: Path = Path("cluster")
    healthy_timeout: float = 180.0
    workload: WorkloadSettings = field(default_factory=WorkloadSettings)
    fault_at: float = FAULT_AT
    fault_window: float | None = None  # None: each fault's own window
    after_window: float = AFTER_WINDOW

    def validate(self) -> None:
        unknown = [f for f in self.faults if f not in FAULTS or f == "none"]
        if unknown:
            raise DrillError(
                f"unknown fault {', '.join(unknown)}; expected some of {', '.join(all_faults())}"
            )
        if not self.faults:
            raise DrillError("no faults to run")
        if self.runs < 1:
            raise DrillError("--runs must be at least 1")

    def schedule(self) -> list[tuple[int, str]]:
        """(run number, fault) in the order they run: round by round."""
        return [(n, fault) for n in range(1, self.runs + 1) for fault in self.faults]

    def window(self, fault: str) -> float:
        return self.fault_window if self.fault_window is not None else window_of(fault)

    def duration(self, fault: str) -> float:
        return self.fault_at + self.window(fault) + self.after_window

    def estimate(self) -> float:
        """Seconds the whole matrix should take on a healthy cluster."""
        return sum(self.duration(f) + OVERHEAD_SECONDS for _, f in self.schedule())


@dataclass
class RunRecord:
    """One run of one fault, as the summary needs it (plain data: saved in matrix.json)."""

    fault: str
    number: int
    passed: bool
    folder: str | None = None  # the run folder, relative to the matrix's folder
    not_started: str | None = None  # why the run was not started
    error: str | None = None  # why the drill could not finish
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    plain_errors: int = 0
    careful_errors: int = 0
    stall: float | None = None
    reads_answered: float | None = None
    stale_reads: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def of(
        cls, fault: str, number: int, verdict: Verdict, folder: str, seconds: float
    ) -> RunRecord:
        return cls(
            fault=fault,
            number=number,
            passed=verdict.passed,
            folder=folder,
            acknowledged=verdict.acknowledged_posts,
            lost=len(verdict.lost),
            duplicated=len(verdict.duplicated),
            unexpected=len(verdict.unexpected),
            plain_errors=verdict.client_error_count("plain"),
            careful_errors=verdict.client_error_count("careful"),
            stall=None if verdict.stall is None else round(verdict.stall.seconds, 2),
            reads_answered=verdict.read_availability,
            stale_reads=sum((verdict.stale_reads or {}).values()),
            reasons=list(verdict.reasons),
            seconds=round(seconds, 1),
        )


@dataclass
class Row:
    """One fault's line of the summary, over its runs."""

    fault: str
    runs: int
    passed: int
    acknowledged: int
    lost: int
    duplicated: int
    unexpected: int
    plain_errors: int
    careful_errors: int
    stall_median: float | None
    stall_worst: float | None
    reads_answered: float | None  # the worst run's share
    stale_reads: int
    not_started: int

    @property
    def verdict(self) -> str:
        if self.not_started:
            return "NOT RUN" if self.not_started == self.runs else "FAIL"
        return "PASS" if self.passed == self.runs else "FAIL"

    @classmethod
    def of(cls, fault: str, records: list[RunRecord]) -> Row:
        stalls = [r.stall for r in records if r.stall is not None]
        reads = [r.reads_answered for r in records if r.reads_answered is not None]
        return cls(
            fault=fault,
            runs=len(records),
            passed=sum(r.passed for r in records),
            acknowledged=sum(r.acknowledged for r in records),
            lost=sum(r.lost for r in records),
            duplicated=sum(r.duplicated for r in records),
            unexpected=sum(r.unexpected for r in records),
            plain_errors=sum(r.plain_errors for r in records),
            careful_errors=sum(r.careful_errors for r in records),
            stall_median=round(statistics.median(stalls), 2) if stalls else None,
            stall_worst=max(stalls) if stalls else None,
            reads_answered=min(reads) if reads else None,
            stale_reads=sum(r.stale_reads for r in records),
            not_started=sum(r.not_started is not None for r in records),
        )


def summarize(faults: tuple[str, ...], records: list[RunRecord]) -> list[Row]:
    return [Row.of(f, [r for r in records if r.fault == f]) for f in faults]


@dataclass
class MatrixResult:
    records: list[RunRecord]
    rows: list[Row]
    folder: Path
    seconds: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.records)


def run_matrix(
    plan: MatrixPlan, console: Console, cluster: ClusterHandle | None = None
) -> MatrixResult:
    """Run the whole matrix; DrillError only when it cannot start at all."""
    from aloft.drill.run import DrillPlan, run_drill

    plan.validate()
    cluster = cluster or load_cluster(plan.directory)
    folder = _matrix_folder(plan.out)
    folder.mkdir(parents=True)
    started = time.monotonic()
    schedule = plan.schedule()
    records: list[RunRecord] = []
    minutes = plan.estimate() / 60
    console.print(
        f"[bold]drill matrix[/]: {len(plan.faults)} faults × {plan.runs} run(s) = "
        f"{len(schedule)} drills, about {minutes:.0f} minutes; reports in {folder}"
    )
    for index, (number, fault) in enumerate(schedule, 1):
        elapsed = time.monotonic() - started
        failed_so_far = sum(not r.passed for r in records)
        console.rule(
            f"[{index}/{len(schedule)}] {fault} run {number} · {elapsed / 60:.1f} min · "
            f"{len(records) - failed_so_far} passed, {failed_so_far} failed so far"
        )
        run_started = time.monotonic()
        try:
            cluster.wait_healthy(plan.healthy_timeout)
        except Exception as exc:
            console.print(f"[red]not started: the cluster is not healthy ({exc})[/]")
            records.append(RunRecord(fault, number, False, not_started=str(exc)[:300]))
            save(folder, plan, records, started)
            continue
        drill = DrillPlan(
            fault=fault,
            directory=plan.directory,
            duration=plan.duration(fault),
            fault_at=plan.fault_at,
            fault_window=plan.window(fault),
            out=folder / "runs",
            healthy_timeout=plan.healthy_timeout,
            workload=plan.workload,
        )
        try:
            outcome = run_drill(drill, console, cluster)
        except DrillError as exc:
            console.print(f"[red]the drill could not finish: {exc}[/]")
            records.append(RunRecord(fault, number, False, error=str(exc)[:300]))
            save(folder, plan, records, started)
            continue
        record = RunRecord.of(
            fault,
            number,
            outcome.verdict,
            str(outcome.folder.relative_to(folder)),
            time.monotonic() - run_started,
        )
        records.append(record)
        mark = "[green]PASS[/]" if record.passed else f"[red]FAIL[/] {'; '.join(record.reasons)}"
        stall = "–" if record.stall is None else f"{record.stall:.1f} s"
        console.print(f"{fault} run {number}: {mark} · write stall {stall}")
        save(folder, plan, records, started)
    return write_report(folder, plan, records, started)


def write_report(
    folder: Path, plan: MatrixPlan, records: list[RunRecord], started: float
) -> MatrixResult:
    """What a matrix leaves at its end: matrix.json and report.html in its folder."""
    summary = MatrixResult(
        records, summarize(plan.faults, records), folder, time.monotonic() - started
    )
    save(folder, plan, records, started)
    (folder / "report.html").write_text(render_html(summary, plan), encoding="utf-8")
    return summary


FOLDER_SUFFIX = "-matrix"


def _matrix_folder(out: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = out / f"{stamp}{FOLDER_SUFFIX}"
    number = 1
    while folder.exists():
        number += 1
        folder = out / f"{stamp}{FOLDER_SUFFIX}-{number}"
    return folder


def save(folder: Path, plan: MatrixPlan, records: list[RunRecord], started: float) -> None:
    """matrix.json after every run, so an interrupted matrix keeps what it did."""
    body = {
        "faults": list(plan.faults),
        "runs": plan.runs,
        "estimate_seconds": round(plan.estimate()),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "records": [asdict(r) for r in records],
        "summary": [asdict(r) for r in summarize(plan.faults, records)],
    }
    (folder / "matrix.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


# -- output ------------------------------------------------------------------------------------

COLUMNS = (
    "fault",
    "runs",
    "ack'd",
    "lost",
    "dup",
    "unexp",
    "plain err",
    "careful err",
    "stall med",
    "stall worst",
    "reads",
    "stale",
    "verdict",
)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def cells(row: Row) -> list[str]:
    return [
        row.fault,
        str(row.runs) + (f" ({row.not_started} not run)" if row.not_started else ""),
        str(row.acknowledged),
        str(row.lost),
        str(row.duplicated),
        str(row.unexpected),
        str(row.plain_errors),
        str(row.careful_errors),
        _s(row.stall_median),
        _s(row.stall_worst),
        _share(row.reads_answered),
        str(row.stale_reads),
        row.verdict,
    ]


def table(result: MatrixResult) -> Table:
    out = Table(title=f"drill matrix · {result.seconds / 60:.1f} min", title_justify="left")
    for column in COLUMNS:
        out.add_column(column, no_wrap=True)
    for row in result.rows:
        style = "green" if row.verdict == "PASS" else "red"
        values = cells(row)
        out.add_row(*values[:-1], f"[{style}]{values[-1]}[/]")
    return out


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121;
       margin: 24px auto; max-width: 1200px; padding: 0 12px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
table { border-collapse: collapse; } td, th { padding: 3px 10px 3px 0; text-align: left; }
th { font-weight: 600; color: #424242; } .PASS { color: #2e7d32; font-weight: 600; }
.FAIL, .NOT { color: #c62828; font-weight: 600; } .meta { color: #616161; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #424242; }
"""


def stall_plot(result: MatrixResult, width: int = 1000) -> str:
    """One line per fault; a dot per run at its write stall (red when the run failed)."""
    faults = [row.fault for row in result.rows]
    label_width, top, line = 260, 30, 26
    height = top + line * len(faults) + 40
    stalls = [r.stall for r in result.records if r.stall is not None]
    most = max([*stalls, 1.0]) * 1.1
    scale = (width - label_width - 20) / most

    def x(seconds: float) -> float:
        return label_width + seconds * scale

    parts = [
        f'<svg class="stalls" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" role="img" aria-label="write stall per fault across runs">'
    ]
    step = 5.0 if most <= 60 else 10.0
    tick = 0.0
    bottom = top + line * len(faults)
    while tick <= most:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 10}" x2="{x(tick):.1f}" y2="{bottom}" '
            'stroke="#eeeeee"/>'
            f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g} s</text>'
        )
        tick += step
    for i, fault in enumerate(faults):
        y = top + line * i + line / 2
        parts.append(
            f'<text x="{label_width - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(fault)}</text>'
        )
        for record in (r for r in result.records if r.fault == fault):
            if record.stall is None:
                continue
            colour = "#2e7d32" if record.passed else "#c62828"
            parts.append(
                f'<circle cx="{x(record.stall):.1f}" cy="{y:.1f}" r="5" fill="{colour}" '
                f'fill-opacity="0.8"><title>{escape(fault)} run {record.number}: '
                f"{record.stall:.2f} s</title></circle>"
            )
    parts.append(
        f'<text x="{(label_width + width) / 2:.0f}" y="{height - 4}" text-anchor="middle">'
        "write stall (seconds without an acknowledged write, around the fault)</text></svg>"
    )
    return "".join(parts)


def render_html(result: MatrixResult, plan: MatrixPlan) -> str:
    status = "PASS" if result.passed else "FAIL"
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = []
    for row in result.rows:
        values = cells(row)
        links = " ".join(
            f'<a href="{escape(r.folder)}/report.html">run {r.number}</a>'
            if r.folder
            else f'<span title="{escape(r.not_started or r.error or "")}">run {r.number} '
            "(none)</span>"
            for r in result.records
            if r.fault == row.fault
        )
        tds = "".join(f"<td>{escape(v)}</td>" for v in values[:-1])
        verdict = values[-1]
        body.append(
            f'<tr>{tds}<td class="{verdict.split()[0]}">{escape(verdict)}</td><td>{links}</td></tr>'
        )
    failures = [
        f"<li>{escape(r.fault)} run {r.number}: "
        f"{escape(r.not_started or r.error or '; '.join(r.reasons))}</li>"
        for r in result.records
        if not r.passed
    ]
    return "\n".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            f"<title>Aloft drill matrix: {status}</title><style>{_CSS}</style></head><body>",
            f'<h1>Aloft drill matrix · <span class="{status}">{status}</span></h1>',
            f'<div class="meta">{len(plan.faults)} faults × {plan.runs} run(s) · '
            f"{result.seconds / 60:.1f} minutes (estimated {plan.estimate() / 60:.0f}) · "
            f"{plan.workload.clients} careful and {plan.workload.plain_clients} plain clients"
            "</div>",
            "<h2>Summary</h2>",
            f"<table><tr>{head}<th>runs</th></tr>{''.join(body)}</table>",
            "<h2>Write stall per fault, across runs</h2>",
            stall_plot(result),
            *(["<h2>What failed</h2>", f"<ul>{''.join(failures)}</ul>"] if failures else []),
            "</body></html>",
        ]
    )


def load_records(path: Path) -> list[RunRecord]:
    """The records of a matrix.json (to render a report again)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return [RunRecord(**r) for r in data["records"]]


# -- reading a saved matrix (the admin page) ---------------------------------------------------


@dataclass
class Saved:
    """A matrix as its folder holds it: matrix.json (written after every run) and, once the
    matrix has ended, report.html."""

    folder: Path
    runs: int
    elapsed_seconds: float
    rows: list[Row]
    records: list[RunRecord]
    finished: bool  # report.html is written: the matrix ran to its end

    @property
    def passed(self) -> bool:
        return self.finished and all(r.passed for r in self.records)

    @classmethod
    def load(cls, folder: Path) -> Saved:
        """ValueError, KeyError or TypeError for a matrix.json that is not one; OSError
        when it cannot be read."""
        data: dict[str, Any] = json.loads((folder / "matrix.json").read_text(encoding="utf-8"))
        return cls(
            folder=folder,
            runs=int(data["runs"]),
            elapsed_seconds=float(data["elapsed_seconds"]),
            rows=[Row(**r) for r in data["summary"]],
            records=[RunRecord(**r) for r in data["records"]],
            finished=(folder / "report.html").is_file(),
        )


def newest(out: Path) -> Path | None:
    """The folder of the newest matrix under `out` (`aloft drill matrix --out`), by the time
    it started (its name), or None when there is none."""
    try:
        found = [
            p for p in out.iterdir() if FOLDER_SUFFIX in p.name and (p / "matrix.json").is_file()
        ]
    except OSError:
        return None

    # "<stamp>-matrix" then "<stamp>-matrix-2", "-3"… when several start in one second.
    def started(p: Path) -> tuple[str, int]:
        stamp, _, number = p.name.partition(FOLDER_SUFFIX)
        return stamp, int(number[1:]) if number[1:].isdigit() else 1

    return max(found, key=started, default=None)
