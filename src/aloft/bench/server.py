"""The servers a benchmark measures: Aloft itself as a real `aloft serve` process, on a
seeded database of each engine, and the bare route (`aloft.bench.ceiling`).

* SQLite: the seeded file is cached per dataset (and schema) under the cache directory;
  each run serves a copy, so what a run writes never reaches the cache.
* PostgreSQL: a server started the way the tests start theirs
  (`aloft.storage.pgserver`), durable (fsync on), whose data directory is cached per
  dataset with the seeded database `aloft_seed`; each run serves `CREATE DATABASE …
  TEMPLATE aloft_seed`, dropped afterwards.
* cluster: the HAProxy URL of a running `aloft cluster` (never started or stopped here).

A server process is started in a session of its own and stopped by its process group (it
may have worker children); nothing is found or killed by name. `BenchError` carries one
line for the operator.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from aloft.bench.dataset import Dataset, Targets, seed
from aloft.storage import pgserver
from aloft.storage.database import create_engine
from aloft.storage.migrate import alembic_config, upgrade

SEED_DATABASE = "aloft_seed"
RUN_DATABASE = "aloft_bench"
START_TIMEOUT = 60.0
# PostgreSQL for a benchmark: durable, with room for a million statuses' working set.
# TCP only: a Unix socket in the cache directory can pass the 107-byte limit on its path.
PG_SETTINGS = {
    "shared_buffers": "'256MB'",
    "max_connections": "200",
    "unix_socket_directories": "''",
}

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """Something the operator must fix; the message is one line saying what."""


def schema_heads() -> str:
    """The migration heads the code knows: part of every cache key, so a cached database
    made with an older schema is never served."""
    from alembic.script import ScriptDirectory

    engine = sa.create_engine("sqlite://")
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    return "+".join(sorted(heads))


def _cache_name(engine: str, dataset: Dataset) -> str:
    return f"{engine}-{dataset.size.key}-schema{schema_heads()}"


def _write_targets(path: Path, targets: Targets) -> None:
    path.write_text(json.dumps(targets.to_dict()), encoding="utf-8")


def _read_targets(path: Path) -> Targets:
    return Targets.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _seed_with_progress(engine: sa.Engine, dataset: Dataset, progress: Progress) -> None:
    counts = dataset.counts

    def report(table: str, done: int) -> None:
        progress(f"seeding {table}: {done:,} of {counts[table]:,}")

    seed(engine, dataset, report)


@dataclass
class Seeded:
    """A seeded dataset ready to serve: how to reach it, and what to ask for."""

    targets: Targets
    seconds: float  # spent seeding now (0 when the cache had it)
    env: dict[str, str]
    postmaster: Path | None = None  # PostgreSQL's postmaster.pid: its processes work too


# -- SQLite ---------------------------------------------------------------------------------------


def sqlite_dataset(cache: Path, dataset: Dataset, run_dir: Path, progress: Progress) -> Seeded:
    """A copy of the cached seeded SQLite file in run_dir/data (seeding the cache first if
    needed)."""
    name = _cache_name("sqlite", dataset)
    cached = cache / f"{name}.db"
    manifest = cache / f"{name}.json"
    seconds = 0.0
    if not (cached.exists() and manifest.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f"{name}.partial.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        started = time.monotonic()
        engine = create_engine(f"sqlite:///{partial}")
        try:
            upgrade(engine)
            _seed_with_progress(engine, dataset, progress)
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        seconds = time.monotonic() - started
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(cached)
        _write_targets(manifest, dataset.targets)
    data = run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    progress("copying the seeded SQLite file")
    shutil.copyfile(cached, data / "aloft.db")
    return Seeded(_read_targets(manifest), seconds, {"ALOFT_DATA_DIR": str(data)})


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_available() -> None:
    why_not = pgserver.available()
    if why_not is not None:
        raise BenchError(f"cannot benchmark PostgreSQL: {why_not}")


@contextlib.contextmanager
def postgres_dataset(cache: Path, dataset: Dataset, progress: Progress) -> Iterator[Seeded]:
    """A running PostgreSQL on the cached data directory of `dataset` (made and seeded
    first if needed) holding a fresh copy of the seeded database; stopped afterwards."""
    postgres_available()
    name = _cache_name("postgresql", dataset)
    root = (cache / name).resolve()
    manifest = cache / f"{name}.json"
    seconds = 0.0
    if not (root / "primary" / "PG_VERSION").exists() or not manifest.exists():
        shutil.rmtree(root, ignore_errors=True)
        cache.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        progress("initdb for PostgreSQL")
        # Seeded without fsync (a cache: a crash means seeding again), served with it.
        try:
            server = pgserver.PostgresServer.create(root, settings=PG_SETTINGS)
        except subprocess.CalledProcessError as exc:
            raise BenchError(f"initdb failed in {root}: {exc.stderr or exc}".strip()) from None
        _start_postgres(server)
        try:
            server.psql(f"CREATE DATABASE {SEED_DATABASE}")
            engine = create_engine(server.url(SEED_DATABASE))
            try:
                upgrade(engine)
                _seed_with_progress(engine, dataset, progress)
                progress("VACUUM ANALYZE")
                with engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE"
                    )
            finally:
                engine.dispose()
        finally:
            server.stop()
        server.configure(fsync="on")
        seconds = time.monotonic() - started
        _write_targets(manifest, dataset.targets)
    server = pgserver.PostgresServer(root / "primary", pgserver.free_port(), pgserver.run_as())
    progress("starting PostgreSQL")
    _start_postgres(server)
    try:
        server.psql(f"DROP DATABASE IF EXISTS {RUN_DATABASE} WITH (FORCE)")
        server.psql(f"CREATE DATABASE {RUN_DATABASE} TEMPLATE {SEED_DATABASE}")
        env = {"ALOFT_DATABASE_URL": server.url(RUN_DATABASE)}
        yield Seeded(_read_targets(manifest), seconds, env, server.datadir / "postmaster.pid")
    finally:
        with contextlib.suppress(Exception):
            server.psql(f"DROP DATABASE IF EXISTS {RUN_DATABASE} WITH (FORCE)")
        server.stop()


def _start_postgres(server: pgserver.PostgresServer) -> None:
    try:
        server.start()
    except RuntimeError:
        raise BenchError(
            f"PostgreSQL would not start in {server.datadir} (its log: {server.log})"
        ) from None


# -- cluster --------------------------------------------------------------------------------------


def cluster_url(directory: Path) -> str:
    """The HAProxy URL of the healthy cluster in `directory`, read as `aloft cluster
    status` reads it; BenchError if none is up. Nothing is started or changed."""
    from aloft.cluster.control import Cluster

    if not directory.is_dir():
        raise BenchError(
            f"no cluster in {directory}: start one with `aloft cluster up --dir {directory}` "
            "(the benchmark never starts or stops a cluster)"
        )
    try:
        snapshot = Cluster.load(directory).snapshot()
    except Exception as exc:  # ClusterError, or a broken cluster directory
        raise BenchError(f"cannot read the cluster in {directory}: {exc}") from None
    problems = snapshot.problems()
    if problems:
        raise BenchError(f"the cluster in {directory} is not healthy: {'; '.join(problems)}")
    return str(snapshot.url)


# -- processes ------------------------------------------------------------------------------------


@dataclass
class Process:
    """A server we started: its URL, process and log."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker process (the process itself when it has no
        worker children), in MB, read from /proc."""
        pids = _worker_pids(self.process.pid) or [self.process.pid]
        return [rss for rss in (_rss_mb(pid) for pid in pids) if rss is not None]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Workers left behind by a parent that died first share its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/pid/stat after the command name) for every process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            yield int(entry.name), stat.rsplit(")", 1)[1].split()


def cpu_seconds(group: int | None, parents: Iterable[int] = ()) -> float:
    """CPU time used so far by every process of process group `group`, and by the
    processes in `parents` and their children (from /proc; state, ppid, pgrp, utime and
    stime are fields 3, 4, 5, 14 and 15 of stat)."""
    wanted = set(parents)
    ticks = 0
    for pid, fields in _stats():
        ppid, pgrp = int(fields[1]), int(fields[2])
        if pgrp == group or pid in wanted or ppid in wanted:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(pid_file: Path | None) -> list[int]:
    try:
        return [int(pid_file.read_text().split()[0])] if pid_file else []
    except (OSError, ValueError, IndexError):
        return []


def settle(
    group: int | None, pid_file: Path | None, quiet: float = 0.1, timeout: float = 120.0
) -> float:
    """Wait until the server (and its PostgreSQL) is idle: under `quiet` of a core over
    half a second. A client that goes away does not stop the work it asked for (a handler
    runs to its end), so without this the requests wrk left in flight would be served
    during the next measurement. Returns the seconds waited (`timeout` at most)."""
    started = time.monotonic()
    parents = postmaster_pid(pid_file)
    before = cpu_seconds(group, parents)
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        now = cpu_seconds(group, parents)
        if now - before < quiet * 0.5:
            break
        before = now
    return time.monotonic() - started


def _worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes: children of `parent` started by multiprocessing's spawn
    (its resource tracker is a child too, and is not a worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start(
    name: str, argv: list[str], env: dict[str, str], log: Path, url: str, probe: str
) -> Process:
    """Start a server and wait until GET url+probe answers 200 (BenchError with the end of
    its log if it exits or does not answer in time). The server sees none of our own
    ALOFT_* variables, only `env`: an operator's ALOFT_DATABASE_URL must not leak in."""
    log.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ALOFT_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env={**clean, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Process(name, url, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise BenchError(f"{name} exited at start: {tail[0]} (log: {log})")
            try:
                if httpx.get(url + probe, timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise BenchError(f"{name} did not answer within {START_TIMEOUT:.0f} s (log: {log})")
    except BaseException:
        server.stop()  # interrupted or failed while starting: leave nothing running
        raise


def start_aloft(
    run_dir: Path, port: int, workers: int, env: dict[str, str], log_level: str
) -> Process:
    """`aloft serve --workers N` on 127.0.0.1:port with rate limits off."""
    argv = [sys.executable, "-m", "aloft", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    server_env = {
        "ALOFT_RATE_LIMITS": "off",
        "ALOFT_LOG_LEVEL": log_level,
        "ALOFT_DATA_DIR": str(run_dir / "data"),
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    return start("aloft serve", argv, server_env, run_dir / "server.log", url, "/api/v1/instance")


def start_ceiling(log: Path, port: int, workers: int, log_level: str) -> Process:
    """The bare route (`aloft.bench.ceiling`) under the same uvicorn settings."""
    argv = [sys.executable, "-m", "aloft.bench.ceiling", "--port", str(port)]
    argv += ["--workers", str(workers), "--log-level", log_level]
    return start("the bare route", argv, {}, log, f"http://127.0.0.1:{port}", "/")
