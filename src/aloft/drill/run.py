"""One drill from start to verdict: the schedule behind `aloft drill run`.

1. Find the target: a cluster (its HAProxy URL, and the faults act on it) or any server by
   URL (fault `none` only). A cluster must be healthy before anything starts.
2. Register one account per client (before the clock starts), then start the clock, the
   clients, the leader watch and the fault schedule: inject at `fault_at`, repair at
   `fault_at + fault_window`. Progress is shown while it runs.
3. At `duration` the clients finish their current operation (a post may keep retrying
   within its budget) and stop.
4. Wait for the cluster to be healthy again, then read back every status of every workload
   account. A read that misses an acknowledged post is repeated a few times a second apart
   (a standby may be a moment behind); the last read is the one judged.
5. Check, print the verdict, and write the run folder.

Interrupted (Ctrl+C), a drill still repairs what it broke and writes what it recorded.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from aloft import __version__
from aloft.drill.checker import Verdict, check
from aloft.drill.faults import (
    FAULTS,
    WINDOW,
    ClusterHandle,
    DrillError,
    Fault,
    LeaderWatch,
    load_cluster,
    make_fault,
)
from aloft.drill.history import NOTE, FinalStatus, History, Recorder
from aloft.drill.report import verdict_table, write_run
from aloft.drill.workload import Workload, WorkloadError, WorkloadSettings, read_back

FINAL_READ_ROUNDS = 5


@dataclass(frozen=True)
class DrillPlan:
    fault: str = "crash-primary-node"
    directory: Path | None = Path("cluster")
    url: str | None = None
    duration: float = 60.0
    fault_at: float = 20.0
    fault_window: float | None = None  # None: the fault's own default (`Fault.window`)
    out: Path = Path("runs")
    stall_budget: float | None = None
    healthy_timeout: float = 120.0
    workload: WorkloadSettings = field(default_factory=WorkloadSettings)

    @property
    def window(self) -> float:
        """The fault window to use: as given, else the fault's default."""
        if self.fault_window is not None:
            return self.fault_window
        kind = FAULTS.get(self.fault)
        return kind.window if kind is not None else WINDOW

    def validate(self) -> None:
        if self.duration <= 0:
            raise DrillError("duration must be more than 0 s")
        if self.fault != "none":
            if self.fault_at < 0 or self.window < 0:
                raise DrillError("fault-at and fault-window must not be negative")
            if self.fault_at + self.window > self.duration:
                raise DrillError(
                    f"the fault ends at {self.fault_at + self.window:g} s, after the "
                    f"{self.duration:g} s run; lengthen --duration or shorten the fault"
                )
            if self.directory is None:
                raise DrillError(f"fault {self.fault} needs a cluster (--dir)")
        elif self.url is None and self.directory is None:
            raise DrillError("give --url (any server) or --dir (a cluster)")


@dataclass(frozen=True)
class DrillResult:
    history: History
    verdict: Verdict
    folder: Path


class FaultSchedule(threading.Thread):
    """Injects the fault at `at` and repairs it at `at + window` (clock: the recorder's).
    `cancel` makes it repair at once if it has injected."""

    def __init__(self, fault: Fault, recorder: Recorder, at: float, window: float) -> None:
        super().__init__(name="drill-fault-schedule", daemon=True)
        self.fault, self.recorder, self.at, self.window = fault, recorder, at, window
        self.injected = False
        self.repaired = False
        self._cancel = threading.Event()

    def run(self) -> None:
        if self._cancel.wait(max(0.0, self.at - self.recorder.now())):
            return
        self.injected = True
        self.fault.inject(self.recorder)
        due = self.at + self.window
        if self.fault.hold is not None:  # a sequence: mend a set time after its last blow
            due = min(due, self.recorder.now() + self.fault.hold)
        self._cancel.wait(max(0.0, due - self.recorder.now()))
        self.fault.repair(self.recorder)
        self.repaired = True

    def phase(self) -> str:
        if not self.injected:
            return "before the fault"
        return "fault window" if not self.repaired else "after the fault"

    def cancel(self) -> None:
        self._cancel.set()


def run_drill(
    plan: DrillPlan,
    console: Console | None = None,
    cluster: ClusterHandle | None = None,
    fault: Fault | None = None,
) -> DrillResult:
    """Run one drill as planned; DrillError when it cannot be run at all. The cluster is
    loaded from `plan.directory` unless one is handed in; the fault is made from its name in
    the plan unless one is handed in (the soak's stress, which no name in FAULTS makes)."""
    plan.validate()
    console = console or Console(stderr=True)
    if cluster is None and (plan.fault != "none" or plan.url is None):
        assert plan.directory is not None
        cluster = load_cluster(plan.directory)
    fault = fault or make_fault(plan.fault, cluster)
    url = plan.url or (cluster.url if cluster else None)
    assert url is not None
    run_id = secrets.token_hex(4)
    servers = cluster.database_servers() if cluster is not None else {}
    try:
        workload = Workload(url, plan.workload, run_id, allowed=_hosts(servers))
    except WorkloadError as exc:
        raise DrillError(str(exc)) from None

    if cluster is not None:
        console.print(f"waiting for the cluster to be healthy (≤ {plan.healthy_timeout:g} s)…")
        try:
            cluster.wait_healthy(plan.healthy_timeout)
        except Exception as exc:
            raise DrillError(f"the cluster is not healthy, so no drill: {exc}") from None

    setup_started = time.monotonic()
    console.print(
        f"registering {plan.workload.writers} drill accounts at {workload.base_url} "
        f"({plan.workload.clients} careful, {plan.workload.plain_clients} plain)…"
    )
    try:
        workload.setup()
    except WorkloadError as exc:
        raise DrillError(str(exc)) from None

    recorder = Recorder(
        _meta(plan, workload, run_id, cluster, servers, time.monotonic() - setup_started)
    )
    watch = LeaderWatch(cluster, recorder) if cluster is not None else None
    schedule = FaultSchedule(fault, recorder, plan.fault_at, plan.window)
    if watch:
        watch.start()
    workload.start(recorder)
    if plan.fault != "none":
        schedule.start()
    interrupted = False
    try:
        _show_progress(console, plan, recorder, workload, schedule, watch)
    except KeyboardInterrupt:
        interrupted = True
        recorder.event(NOTE, text="interrupted")
        console.print("[yellow]interrupted: repairing the fault and stopping the clients…[/]")
    finally:
        workload.stop()
        schedule.cancel()  # a no-op once repaired; otherwise repair now
        if schedule.is_alive():
            schedule.join(60)
        workload.join()
    recorder.event(NOTE, text="workload stopped")
    if interrupted:
        if watch:
            watch.stop()
        folder = _run_folder(plan.out, plan.fault)
        write_run(folder, recorder.history, check(recorder.history, plan.stall_budget))
        raise DrillError(f"interrupted; what was recorded is in {folder}")

    if cluster is not None:
        _await_health(console, cluster, recorder, plan.healthy_timeout)
    if watch:
        watch.stop()
    history = recorder.history
    history.final_read = _final_read(console, workload, history, recorder)
    verdict = check(history, plan.stall_budget)
    folder = write_run(_run_folder(plan.out, plan.fault), history, verdict)
    return DrillResult(history, verdict, folder)


def _meta(
    plan: DrillPlan,
    workload: Workload,
    run_id: str,
    cluster: ClusterHandle | None,
    servers: dict[str, str],
    setup_seconds: float,
) -> dict[str, Any]:
    return {
        "aloft": __version__,
        "run_id": run_id,
        "fault": plan.fault,
        "url": workload.base_url,
        "cluster": str(plan.directory) if cluster is not None else None,
        "zones": list(cluster.zones) if cluster is not None else None,
        "database_servers": servers or None,
        "duration": plan.duration,
        "fault_at": plan.fault_at if plan.fault != "none" else None,
        "fault_window": plan.window if plan.fault != "none" else None,
        "stall_budget": plan.stall_budget,
        "setup_seconds": round(setup_seconds, 3),
        "accounts": [
            {"process": a.process, "id": a.id, "client": workload.kind_of(a)}
            for a in workload.accounts
        ],
        **asdict(plan.workload),
    }


def _show_progress(
    console: Console,
    plan: DrillPlan,
    recorder: Recorder,
    workload: Workload,
    schedule: FaultSchedule,
    watch: LeaderWatch | None,
) -> None:
    def line() -> Text:
        counts = recorder.counts()
        leader = (watch.current or "none") if watch else "–"
        phase = schedule.phase() if plan.fault != "none" else "no fault"
        text = Text()
        text.append(f"{min(recorder.now(), plan.duration):5.1f} / {plan.duration:g} s  ")
        text.append(f"{phase:<16} ", style="red" if phase == "fault window" else "")
        text.append(f"ok {counts['ok']:>6}  ", style="green")
        text.append(f"fail {counts['fail']:>4}  ", style="red" if counts["fail"] else "")
        text.append(f"info {counts['info']:>4}  ", style="yellow" if counts["info"] else "")
        text.append(f"leader {leader}")
        return text

    if not console.is_terminal:  # logs: one line every five seconds
        next_line = 0.0
        while recorder.now() < plan.duration:
            if recorder.now() >= next_line:
                console.print(line())
                next_line += 5
            time.sleep(0.2)
        console.print(line())
        return
    with Live(line(), console=console, refresh_per_second=4, transient=False) as live:
        while recorder.now() < plan.duration:
            live.update(line())
            time.sleep(0.25)
        live.update(line())


def _await_health(
    console: Console, cluster: ClusterHandle, recorder: Recorder, timeout: float
) -> None:
    console.print(f"waiting for the cluster to be healthy again (≤ {timeout:g} s)…")
    started = time.monotonic()
    try:
        cluster.wait_healthy(timeout)
        recorder.event(NOTE, text="cluster healthy", seconds=round(time.monotonic() - started, 2))
    except Exception as exc:
        recorder.event(NOTE, text=f"cluster not healthy: {exc}")
        console.print(f"[yellow]the cluster is not healthy ({exc}); reading back anyway[/]")


def _final_read(
    console: Console, workload: Workload, history: History, recorder: Recorder
) -> list[FinalStatus] | None:
    acked = {
        op.status_id
        for op in history.operations
        if op.kind == "post" and op.outcome == "ok" and op.status_id
    }
    console.print(f"reading back every status of {len(workload.accounts)} accounts…")
    found = None
    for round_number in range(1, FINAL_READ_ROUNDS + 1):
        try:
            found = read_back(
                workload.base_url, workload.accounts, workload.settings, allowed=workload.allowed
            )
        except WorkloadError as exc:
            recorder.event(NOTE, text=f"final read failed: {exc}")
            console.print(f"[red]final read failed: {exc}[/]")
            return None
        missing = acked - {s.id for s in found}
        recorder.event(
            NOTE, text="final read", round=round_number, statuses=len(found), missing=len(missing)
        )
        if not missing:
            break
        time.sleep(1.0)
    return found


def _hosts(servers: dict[str, str]) -> list[str]:
    """The hosts of the cluster's database servers ("host:port" keys): the zones' own
    addresses, which the drill may send traffic to."""
    return sorted({server.rsplit(":", 1)[0] for server in servers})


def _run_folder(out: Path, fault: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = out / f"{stamp}-{fault}"
    number = 1
    while folder.exists():
        number += 1
        folder = out / f"{stamp}-{fault}-{number}"
    return folder


def print_verdict(console: Console, result: DrillResult) -> None:
    console.print(verdict_table(result.verdict, f"drill {result.history.meta.get('fault')}"))
    console.print(f"run folder: {result.folder}")
