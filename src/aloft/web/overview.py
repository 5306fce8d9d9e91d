"""What the admin page shows of the system around the app: the cluster's status and
`aloft cluster doctor`'s checks (in the JSON forms those commands print), the newest drill
matrix, or, on a single node, its database and whether it answers.

The cluster is probed by `aloft.cluster`'s own read-only functions, which can block: a
frozen etcd or Patroni costs their probes' timeouts, and supervisord's socket has none at
all. So a page never waits on them directly. One collection at a time runs in a thread of
its own (a daemon: a probe that never returns cannot hold the process at exit); a page waits
for it at most `WAIT_SECONDS`, and a page that comes while one is running waits for that
one rather than starting another, so a hung probe costs one thread, not one per page view.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aloft.api.health import last_seen, reachable
from aloft.storage.database import Database

# How long a page waits for the cluster's answers. A healthy cluster answers in about a
# second (every probe runs in parallel, each with a 1 to 2 s timeout).
WAIT_SECONDS = 6.0


@dataclass
class ClusterReport:
    """`aloft cluster status --json` and `aloft cluster doctor --json`, each None with the
    reason it is missing."""

    status: dict[str, Any] | None = None
    status_error: str = ""
    doctor: dict[str, Any] | None = None
    doctor_error: str = ""


@dataclass
class _Collection:
    """One run of `collect`: the status is known before doctor's checks (which take longer),
    so a page that cannot wait for both shows what has come."""

    started: float
    status: Future[dict[str, Any]] = field(default_factory=Future)
    report: Future[ClusterReport] = field(default_factory=Future)


_lock = threading.Lock()
_running: dict[Path, _Collection] = {}


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _in_a_namespace() -> bool:
    """This process runs in one of the machine's named network namespaces (a zone's, in a
    `netns` cluster; `ip netns` keeps them under /run/netns). Compared by the namespace's
    inode: /proc/1/ns/net, the machine's own, may not be readable from inside a zone."""
    try:
        mine = os.stat("/proc/self/ns/net").st_ino
        return any(os.stat(named).st_ino == mine for named in Path("/run/netns").iterdir())
    except OSError:
        return False


def collect(directory: Path, on_status: Any = None) -> ClusterReport:
    """Probe the cluster in `directory` once, as `aloft cluster status --json` and `aloft
    cluster doctor --json` do; `on_status(status)` is told the status as soon as it is
    known. Blocks as long as the probes do; never raises."""
    from aloft.cluster import doctor
    from aloft.cluster.control import Cluster

    out = ClusterReport()
    try:
        cluster = Cluster.load(directory)
        snapshot = cluster.snapshot()
        if _in_a_namespace():
            # HAProxy listens on the machine's loopback, which the network namespace of
            # this app's zone does not share: its stats socket tells whether it has an app.
            servers = doctor.haproxy_servers(cluster.topology.haproxy_socket) or {}
            ready = any(state == "UP" for state in servers.values())
            snapshot = replace(snapshot, proxy_ready=ready)
        out.status = snapshot.as_dict()
    except Exception as exc:  # any failure is the page's to show, not a 500
        out.status_error = out.doctor_error = _reason(exc)
        return out
    if on_status is not None:
        on_status(out.status)
    try:
        facts = doctor.gather(cluster)
    except Exception as exc:
        out.doctor_error = _reason(exc)
        return out
    lease = doctor.lease_in_force(facts)
    out.status = {**out.status, "lease": lease, "lease_text": doctor.lease_text(lease)}
    out.doctor = doctor.report(facts)
    return out


def _start(directory: Path) -> _Collection:
    """The collection running for `directory`, or a new one in a thread of its own."""
    with _lock:
        running = _running.get(directory)
        if running is not None and not running.report.done():
            return running
        made = _Collection(time.monotonic())
        # Running from the start: a waiter that gives up cannot cancel them for the others.
        made.status.set_running_or_notify_cancel()
        made.report.set_running_or_notify_cancel()
        _running[directory] = made

    def run() -> None:
        try:
            report = collect(directory, made.status.set_result)
        except BaseException as exc:  # collect does not raise; never leave waiters hanging
            report = ClusterReport(status_error=_reason(exc), doctor_error=_reason(exc))
        if not made.status.done():
            made.status.set_result({})
        made.report.set_result(report)

    threading.Thread(target=run, name="cluster-probe", daemon=True).start()
    return made


async def cluster_report(directory: Path, wait: float = WAIT_SECONDS) -> ClusterReport:
    """The cluster's status and doctor's report, or what kept them away; within `wait`
    seconds whatever the probes do."""
    running = _start(directory)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(running.report), wait)
    except TimeoutError:
        ago = time.monotonic() - running.started
        reason = (
            f"no answer within {wait:g} s (the probe started {ago:.0f} s ago is still "
            "waiting: etcd, Patroni, PostgreSQL or supervisord does not answer)"
        )
        status = running.status.result() if running.status.done() else None
        return ClusterReport(status or None, "" if status else reason, None, reason)


def single_node(db: Database) -> dict[str, Any]:
    """The database of a single node, as `/healthz/database` and `/readyz` report it: which
    roles it reaches now, and what the data layer last saw."""
    probe = reachable(db)
    return {"ok": probe["primary"] or probe["reads"], **probe, "seen": last_seen(db)}


def newest_matrix(out: Path | None) -> tuple[Any, str]:
    """The newest drill matrix under `out` (`aloft.drill.matrix.Saved`) or None, and why
    there is none when that is worth saying."""
    from aloft.drill import matrix

    if out is None:
        return None, ""
    folder = matrix.newest(out)
    if folder is None:
        return None, f"no drill matrix in {out} (aloft drill matrix --out {out})"
    try:
        return matrix.Saved.load(folder), ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"cannot read {folder / 'matrix.json'}: {_reason(exc)}"


def report_file(out: Path | None, path: str) -> Path | None:
    """A drill report under `out` by its path there (a matrix's report.html, or a run's in
    it); None for anything else: another file, or a path that leads outside `out`."""
    if out is None or not path.endswith("/report.html"):
        return None
    root = out.resolve()
    try:
        found = (root / path).resolve()
    except (OSError, RuntimeError):
        return None
    if not found.is_relative_to(root) or not found.is_file():
        return None
    return found
