"""`aloft drill soak`: steady traffic and no fault for a long time, under stress, counting the
failovers nobody asked for.

A short leader lease fails over sooner after a real fault, and may also fail over when
nothing is wrong: a leader too slow to renew its key in time (a loaded CPU, a disk that
stalls fsync, a slow or lossy network) loses it. The soak measures that risk. It runs the
drill workload with fault `none` for `minutes`, while:

* every core is kept busy (one busy-looping process per core);
* a process writes and fsyncs small blocks in the cluster directory without pause;
* every zone's link holds each frame `delay_ms` ± `jitter_ms` and drops `loss_percent` of
  them, each way (so zone to zone, through two links, twice that).

Promotions are counted from PostgreSQL's timelines (each promotion starts a new one) before
and after, and leader changes from the drill's own watch. With no fault, every one of them is
a false failover. The drill's verdict still applies: nothing lost, no client error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console

from aloft.drill.faults import ClusterHandle, DrillError, Fault, load_cluster
from aloft.drill.history import FAULT_END, FAULT_ERROR, FAULT_START, LEADER, NOTE, Recorder
from aloft.drill.workload import WorkloadSettings

# Traffic goes on this long after the stress is off, so the end of the run is measured calm.
SETTLE_SECONDS = 10.0
BURN = "while True: pass"
# Small writes, each made durable: what a busy database's WAL does to the disk.
FSYNC = (
    "import os, sys\n"
    "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
    "block = os.urandom(8192)\n"
    "while True:\n"
    "    os.write(fd, block)\n"
    "    os.fsync(fd)\n"
    "    if os.lseek(fd, 0, os.SEEK_CUR) > 64 * 1024 * 1024:\n"
    "        os.lseek(fd, 0, os.SEEK_SET)\n"
)


@dataclass(frozen=True)
class SoakPlan:
    directory: Path = Path("cluster")
    minutes: float = 30.0
    out: Path = Path("runs")
    cpu: bool = True
    fsync: bool = True
    delay_ms: float = 50.0
    jitter_ms: float = 25.0
    loss_percent: float = 0.5
    workload: WorkloadSettings = field(default_factory=WorkloadSettings)


class Stress:
    """Starts the stress of a plan on entering and removes all of it on leaving."""

    def __init__(self, plan: SoakPlan, cluster: ClusterHandle, scratch: Path) -> None:
        self.plan, self.cluster, self.scratch = plan, cluster, scratch
        self.processes: list[subprocess.Popen[bytes]] = []
        self.notes: list[str] = []

    def __enter__(self) -> Stress:
        try:
            if self.plan.cpu:
                for _ in range(os.cpu_count() or 1):
                    self._spawn(["-c", BURN])
            if self.plan.fsync:
                self._spawn(["-c", FSYNC, str(self.scratch)])
            if self.plan.delay_ms or self.plan.loss_percent:
                for zone in self.cluster.zones:
                    self.notes += self.cluster.slow_network(
                        zone, self.plan.delay_ms, self.plan.loss_percent, self.plan.jitter_ms
                    )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _spawn(self, args: list[str]) -> None:
        self.processes.append(
            subprocess.Popen(
                [sys.executable, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        self.processes.clear()
        self.scratch.unlink(missing_ok=True)
        if self.plan.delay_ms or self.plan.loss_percent:
            self.cluster.heal()


class LoadSampler(threading.Thread):
    """/proc/loadavg every `interval` seconds, to show the stress was real."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__(name="soak-load", daemon=True)
        self.interval = interval
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def highest_timeline(cluster: ClusterHandle) -> int | None:
    timelines = [m["timeline"] for m in cluster.members() if m.get("timeline") is not None]
    return max(timelines) if timelines else None


@dataclass
class SoakResult:
    minutes: float
    promotions: int | None  # new timelines during the soak
    leader_changes: int  # from the drill's watch of the primary
    passed: bool  # the drill's verdict and no false failover
    drill_passed: bool
    reasons: list[str]
    load_average: dict[str, float | None]
    stress: dict[str, Any]
    folder: str


class StressFault(Fault):
    """The stress as the drill's fault: put on once the workload runs (after the drill has
    waited for a healthy cluster and registered its accounts) and taken off before the
    drill waits for health again, since a cluster with slowed links never counts as
    healthy."""

    name = "soak"

    def __init__(self, stress: Stress) -> None:
        self.stress = stress
        self.on = False

    def inject(self, recorder: Recorder) -> None:
        recorder.event(FAULT_START, fault=self.name, zone="all")
        try:
            self.stress.__enter__()
            self.on = True
            recorder.event(NOTE, text=f"stress on: {', '.join(self.stress.notes) or 'all of it'}")
        except Exception as exc:
            recorder.event(FAULT_ERROR, fault=self.name, error=str(exc))

    def repair(self, recorder: Recorder) -> None:
        if self.on:
            self.stress.__exit__(None, None, None)
            self.on = False
        recorder.event(FAULT_END, fault=self.name, zone="all", action="stress removed")


def run_soak(plan: SoakPlan, console: Console, cluster: ClusterHandle | None = None) -> SoakResult:
    from aloft.drill.run import DrillPlan, run_drill

    if plan.minutes <= 0:
        raise DrillError("--minutes must be more than 0")
    cluster = cluster or load_cluster(plan.directory)
    cluster.wait_healthy(180)
    before = highest_timeline(cluster)
    stress_settings: dict[str, Any] = {
        "cpu_burners": (os.cpu_count() or 1) if plan.cpu else 0,
        "fsync_writer": plan.fsync,
        "delay_ms_per_link": plan.delay_ms,
        "jitter_ms": plan.jitter_ms,
        "loss_percent_per_link": plan.loss_percent,
    }
    console.print(f"soak: {plan.minutes:g} minutes, no fault, stress {stress_settings}")
    sampler = LoadSampler()
    stress = Stress(plan, cluster, Path(plan.directory).absolute() / "soak-fsync.bin")
    duration = plan.minutes * 60
    sampler.start()
    try:
        drill = run_drill(
            DrillPlan(
                fault=StressFault.name,
                directory=plan.directory,
                duration=duration + SETTLE_SECONDS,
                fault_at=0,
                fault_window=duration,
                out=plan.out,
                healthy_timeout=180,
                workload=plan.workload,
            ),
            console,
            cluster,
            StressFault(stress),
        )
    finally:
        sampler.stop()
        stress.__exit__(None, None, None)  # a no-op unless the drill was cut short
    stress_settings["notes"] = stress.notes
    cluster.wait_healthy(180)
    after = highest_timeline(cluster)
    promotions = None if before is None or after is None else after - before
    seen = [e.detail.get("leader") for e in drill.history.events if e.kind == LEADER]
    zones = [z for z in seen if z]
    changes = sum(1 for a, b in pairwise(zones) if a != b)
    reasons = list(drill.verdict.reasons)
    if promotions:
        reasons.append(f"{promotions} promotion(s) with no fault: false failovers")
    if changes:
        reasons.append(f"the primary changed {changes} time(s) with no fault")
    samples = sampler.samples
    result = SoakResult(
        minutes=plan.minutes,
        promotions=promotions,
        leader_changes=changes,
        passed=drill.verdict.passed and not promotions and not changes,
        drill_passed=drill.verdict.passed,
        reasons=reasons,
        load_average={
            "mean": round(sum(samples) / len(samples), 2) if samples else None,
            "max": max(samples) if samples else None,
        },
        stress=stress_settings,
        folder=str(drill.folder),
    )
    (drill.folder / "soak.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result
