"""One benchmark: the schedule, and the record it leaves (`bench.json`).

For each dataset size, for each engine: prepare the seeded database (from the cache when it
is there), start `aloft serve --workers N` on it, and for each connection count measure the
bare route first and then every endpoint, each with wrk for `duration` seconds (after an
unrecorded warm-up of `warmup` seconds); then read each worker's resident memory and stop
the server. The bare route's server runs for the whole benchmark; measuring it next to each
engine's endpoints, at each connection count, is what makes the ratios comparable when the
machine's load changes during a run (it does: /proc/loadavg is recorded at each step).

The record is a plain dict (`Record.to_dict`), what `bench.json` holds and what the report
is rendered from, so a report can be drawn again from a saved run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aloft import __version__
from aloft.bench import load, server
from aloft.bench.dataset import Dataset, Size, Targets
from aloft.bench.load import CEILING, ENDPOINTS, Endpoint, LoadError
from aloft.bench.server import BenchError
from aloft.storage.pgserver import free_port

ENGINES = ("sqlite", "postgresql", "cluster")


@dataclass(frozen=True)
class Plan:
    """What to run. `engines` in the order they run."""

    engines: tuple[str, ...]
    sizes: tuple[Size, ...]
    endpoints: tuple[str, ...]
    connections: tuple[int, ...]
    duration: float
    workers: int = 2
    threads: int = 1
    warmup: float = 1.0
    out: Path = Path("runs/bench")
    cache: Path = Path("runs/bench/cache")
    cluster_dir: Path = Path("cluster")
    quick: bool = False
    log_level: str = "info"

    def steps(self) -> int:
        """How many wrk measurements the plan makes (for the progress bar)."""
        total = 0
        for engine in self.engines:
            sizes = 1 if engine == "cluster" else len(self.sizes)
            endpoints = len(self.endpoints_for(engine))
            total += sizes * len(self.connections) * (endpoints + 1)
        return total

    def endpoints_for(self, engine: str) -> list[Endpoint]:
        chosen = [ENDPOINTS[name] for name in self.endpoints]
        if engine == "cluster":
            # The cluster's database is someone's data, not our seeded dataset: only what
            # needs no dataset and writes nothing is measured through it.
            return [e for e in chosen if not e.seeded]
        return chosen

    def estimate_seconds(self) -> float:
        return self.steps() * (self.duration + self.warmup + 0.5)


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (/proc/loadavg)."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class Record:
    """Everything measured, as `bench.json` holds it."""

    meta: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        requests = failed = 0
        for run in self.runs:
            for m in [*run["measurements"], *run["ceiling"]]:
                requests += m.get("requests", 0)
                failed += m.get("failed", 0)
        return {
            "meta": self.meta,
            "runs": self.runs,
            "requests": requests,
            "failed_requests": failed,
            "all_succeeded": failed == 0 and bool(self.runs),
        }


Say = Callable[[str], None]
Step = Callable[[], None]


class Runner:
    """Runs a Plan; `say` gets a line of what it is doing, `step` is called after each
    measurement."""

    def __init__(self, plan: Plan, folder: Path, say: Say, step: Step) -> None:
        self.plan = plan
        self.folder = folder
        self.say = say
        self.step = step
        self.record = Record(self._meta())
        # What must be idle before a measurement: the server's process group, and
        # PostgreSQL's postmaster.pid (its processes and their children).
        self._busy: tuple[int | None, Path | None] = (None, None)
        self._server: server.Process | None = None

    def _meta(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "aloft": __version__,
            "commit": _commit(),
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "wrk": load.wrk_version(),
            "quick": plan.quick,
            "engines": list(plan.engines),
            "sizes": [s.__dict__ for s in plan.sizes],
            "endpoints": list(plan.endpoints),
            "connections": list(plan.connections),
            "duration": plan.duration,
            "warmup": plan.warmup,
            "workers": plan.workers,
            "wrk_threads": plan.threads,
            "loadavg_start": loadavg(),
            "note": (
                "Measured on a machine shared with other work: figures move with its load "
                "(load averages recorded at the start, end and each run)."
            ),
        }

    def run(self) -> Record:
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        ceiling = server.start_ceiling(
            folder / "ceiling.log", free_port(), self.plan.workers, self.plan.log_level
        )
        try:
            for engine in self.plan.engines:
                sizes = self.plan.sizes[:1] if engine == "cluster" else self.plan.sizes
                for size in sizes:
                    self._engine(engine, size, ceiling)
                    self.save()
            self.record.meta["ceiling_rss_mb"] = [round(x, 1) for x in ceiling.worker_rss_mb()]
        finally:
            ceiling.stop()
            self.record.meta["loadavg_end"] = loadavg()
            self.record.meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self.save()
        return self.record

    def save(self) -> None:
        import json

        (self.folder / "bench.json").write_text(
            json.dumps(self.record.to_dict(), indent=2) + "\n", encoding="utf-8"
        )

    @contextlib.contextmanager
    def _target(
        self, engine: str, size: Size, run_dir: Path
    ) -> Iterator[tuple[str, Targets | None, float, server.Process | None]]:
        """(url, targets, seconds seeding, server process) for one engine and size."""
        plan = self.plan
        if engine == "cluster":
            self.say("reading the cluster's status")
            yield server.cluster_url(plan.cluster_dir), None, 0.0, None
            return
        dataset = Dataset(size)
        if engine == "sqlite":
            seeded = server.sqlite_dataset(plan.cache, dataset, run_dir, self.say)
            yield from self._serve(run_dir, seeded)
        elif engine == "postgresql":
            with server.postgres_dataset(plan.cache, dataset, self.say) as seeded:
                yield from self._serve(run_dir, seeded)
        else:
            raise BenchError(f"unknown engine {engine!r}")

    def _serve(
        self, run_dir: Path, seeded: server.Seeded
    ) -> Iterator[tuple[str, Targets | None, float, server.Process | None]]:
        self.say(f"starting aloft serve --workers {self.plan.workers}")
        process = server.start_aloft(
            run_dir, free_port(), self.plan.workers, seeded.env, self.plan.log_level
        )
        self._busy = (process.process.pid, seeded.postmaster)
        self._server = process
        try:
            yield process.url, seeded.targets, seeded.seconds, process
        finally:
            self._busy = (None, None)
            self._server = None
            process.stop()

    def _engine(self, engine: str, size: Size, ceiling: server.Process) -> None:
        plan = self.plan
        name = engine if engine == "cluster" else f"{engine}-{size.statuses}"
        if engine != "cluster" and size.reader_follows != 50:
            name += f"-f{size.reader_follows}"
        run_dir = self.folder / name
        run: dict[str, Any] = {
            "engine": engine,
            "size": None if engine == "cluster" else size.__dict__,
            "loadavg_start": loadavg(),
            "measurements": [],
            "ceiling": [],
            "skipped": [
                e for e in plan.endpoints if ENDPOINTS[e] not in plan.endpoints_for(engine)
            ],
        }
        self.record.runs.append(run)
        with self._target(engine, size, run_dir) as (url, targets, seeded, process):
            run["seed_seconds"] = round(seeded, 1)
            run["url"] = url
            for step, connections in enumerate(plan.connections):
                bare = self._measure(
                    ceiling.url, CEILING, None, connections, run_dir, f"bare-c{connections}", step
                )
                run["ceiling"].append({"connections": connections, **bare})
                for endpoint in plan.endpoints_for(engine):
                    self.say(f"{engine}: {endpoint.label}, {connections} connections")
                    figures = self._measure(
                        url,
                        endpoint,
                        targets,
                        connections,
                        run_dir,
                        f"{endpoint.name}-c{connections}",
                        step,
                    )
                    ratio = figures["rps"] / bare["rps"] if bare.get("rps") else None
                    run["measurements"].append(
                        {
                            "endpoint": endpoint.name,
                            "label": endpoint.label,
                            "connections": connections,
                            **figures,
                            "ceiling_rps": bare.get("rps"),
                            "ratio": None if ratio is None else round(ratio, 4),
                        }
                    )
                self.save()
            if process is not None:
                run["memory_mb"] = [round(x, 1) for x in process.worker_rss_mb()]
        run["loadavg_end"] = loadavg()

    def _check_server(self) -> None:
        """BenchError naming the server's last words if it is gone (or lost a worker)."""
        process = self._server
        if process is None:
            return
        lines = process.log.read_text(errors="replace").splitlines()
        died = [line for line in lines if "ERROR" in line or "Error:" in line]
        if process.process.poll() is not None or died:
            last = (died or lines or ["no output"])[-1].strip()
            raise BenchError(f"aloft serve failed during the run: {last} (log: {process.log})")

    def _settle(self, endpoint: Endpoint) -> float:
        """Wait until the server measured next is idle (seconds waited)."""
        if endpoint is CEILING:
            return 0.0
        group, pid_file = self._busy
        if group is None:
            return 0.0
        self.say("waiting for the server to finish what the last run left in flight")
        return server.settle(group, pid_file)

    def _cpu(self, endpoint: Endpoint) -> float | None:
        """CPU seconds used so far by the Aloft server measured (its processes, and its
        PostgreSQL's); None for the bare route and for a cluster (not ours to watch)."""
        group, pid_file = self._busy
        if endpoint is CEILING or group is None:
            return None
        return server.cpu_seconds(group, server.postmaster_pid(pid_file))

    def _measure(
        self,
        url: str,
        endpoint: Endpoint,
        targets: Targets | None,
        connections: int,
        run_dir: Path,
        name: str,
        step: int,
    ) -> dict[str, Any]:
        plan = self.plan
        ids: list[int] = []
        token = None
        if targets is not None:
            token = targets.token
            if endpoint.targets is not None:
                ids = list(getattr(targets, endpoint.targets))
        # Each connection count starts its walk through the ids somewhere else, so it
        # favourites statuses the steps before did not (while the list lasts).
        share = max(1, len(ids) // len(plan.connections))
        offset = step * share
        lua = load.script(endpoint, token, ids, offset)
        base = url.rstrip("/")
        # wrk needs a URL; the script's request() (or wrk.path) decides the path.
        target = base + endpoint.path.replace("{id}", str(ids[0]) if ids else "0")
        try:
            if plan.warmup > 0:
                self._settle(endpoint)
                load.run(
                    target,
                    load.script(endpoint, token, ids, offset + share // 2),
                    run_dir / "wrk" / f"{name}-warmup.lua",
                    connections,
                    plan.warmup,
                    plan.threads,
                )
            settled = self._settle(endpoint)
            used_before = self._cpu(endpoint)
            started = time.monotonic()
            result = load.run(
                target,
                lua,
                run_dir / "wrk" / f"{name}.lua",
                connections,
                plan.duration,
                plan.threads,
            )
        except LoadError:
            self._check_server()  # a server that died is the news, not wrk's refusal
            raise
        self.step()
        used_after = self._cpu(endpoint)
        figures = result.to_dict()
        figures["settle_seconds"] = round(settled, 1)
        if used_before is not None and used_after is not None and result.requests:
            # What each request cost the server (app and database processes), in CPU: a
            # figure the machine's other load moves far less than throughput.
            figures["cpu_ms"] = round((used_after - used_before) * 1000 / result.requests, 3)
        if result.requests == 0:
            # Not one answer in the whole run: every connection's request is a failure
            # (wrk counts none, as they were still in flight when it stopped).
            figures["errors"]["none_completed"] = connections
            figures["failed"] += connections
        figures["wall_seconds"] = round(time.monotonic() - started, 2)
        now = loadavg()
        figures["loadavg"] = now[0] if now else None
        return figures


__all__ = ["ENGINES", "BenchError", "LoadError", "Plan", "Record", "Runner", "loadavg"]
