"""Load: the endpoints a benchmark measures, and wrk (Debian's) to measure them.

For each measurement we write a wrk Lua script that sets the method, headers and body,
walks a list of paths (distinct status ids, so a favourite is not one row over and over)
and, in `done`, prints one line `ALOFT-WRK {json}` with wrk's own totals: requests,
duration, errors by kind (connect, read, write, timeout: socket errors; status: responses
with an HTTP status of 400 or more, which wrk calls "Non-2xx or 3xx responses") and latency
percentiles in microseconds. `parse` reads that line; nothing else of wrk's text output is
relied on.

wrk measures latency from when a request is sent, with a fixed number of connections each
waiting for its answer (closed loop): a slow server gets fewer requests rather than a
queue, so p99 reads as "how long a client waits at this concurrency".
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MARKER = "ALOFT-WRK "
TIMEOUT_SECONDS = 10
# Distinct paths per run step, so that runs at several connection counts favourite
# different statuses (a repeat favourite is a cheaper no-op).
STRIDE = 1_000_000


class LoadError(RuntimeError):
    """wrk is missing or did not produce a result; the message is one line."""


@dataclass(frozen=True)
class Endpoint:
    """One thing to measure. `targets` names the list of status ids (in
    `aloft.bench.dataset.Targets`) that `{id}` in the path walks through."""

    name: str
    label: str
    method: str
    path: str
    targets: str | None = None
    token: bool = True
    body: str | None = None  # a form body; {n} is the request's number
    seeded: bool = True  # needs the seeded dataset (a cluster's database is not seeded)


ENDPOINTS = {
    e.name: e
    for e in (
        Endpoint(
            "home", "GET /api/v1/timelines/home (20)", "GET", "/api/v1/timelines/home?limit=20"
        ),
        Endpoint("status", "GET /api/v1/statuses/:id", "GET", "/api/v1/statuses/{id}", "statuses"),
        Endpoint(
            "post",
            "POST /api/v1/statuses",
            "POST",
            "/api/v1/statuses",
            body="status=bench+post+number+{n}+from+aloft+bench&visibility=public",
        ),
        Endpoint(
            "instance", "GET /api/v1/instance", "GET", "/api/v1/instance", token=False, seeded=False
        ),
        Endpoint(
            "public",
            "GET /api/v1/timelines/public (20)",
            "GET",
            "/api/v1/timelines/public?limit=20",
            token=False,
            seeded=False,
        ),
        Endpoint(
            "notifications",
            "GET /api/v1/notifications (20)",
            "GET",
            "/api/v1/notifications?limit=20",
        ),
        Endpoint(
            "context",
            "GET /api/v1/statuses/:id/context",
            "GET",
            "/api/v1/statuses/{id}/context",
            "threads",
        ),
        Endpoint(
            "favourite",
            "POST /api/v1/statuses/:id/favourite",
            "POST",
            "/api/v1/statuses/{id}/favourite",
            "favourites",
        ),
    )
}
CEILING = Endpoint("bare", "bare Starlette def route", "GET", "/", token=False, seeded=False)


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def script(endpoint: Endpoint, token: str | None, ids: list[int], offset: int = 0) -> str:
    """The wrk Lua script for one measurement. `offset` starts the walk through `ids` (and
    the numbering of bodies) somewhere else for each run step."""
    lines = [
        f"-- written by aloft bench: {endpoint.label}",
        f"wrk.method = {_lua_string(endpoint.method)}",
    ]
    if endpoint.token and token:
        lines.append(f'wrk.headers["Authorization"] = {_lua_string("Bearer " + token)}')
    if endpoint.body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
    dynamic = "{id}" in endpoint.path or (endpoint.body is not None and "{n}" in endpoint.body)
    if dynamic:
        paths = [endpoint.path.replace("{id}", str(i)) for i in ids] if ids else [endpoint.path]
        if "{id}" in endpoint.path and not ids:
            raise LoadError(f"{endpoint.label}: no status ids to ask for")
        body = endpoint.body or ""
        before, _, after = body.partition("{n}")
        lines += [
            "local paths = {" + ", ".join(_lua_string(p) for p in paths) + "}",
            "local threads = 0",
            "function setup(thread)",
            "  thread:set('tid', threads)",
            "  threads = threads + 1",
            "end",
            "local counter = 0",
            "function init(args)",
            f"  counter = {offset} + (tid or 0) * {STRIDE}",
            "end",
            "function request()",
            "  counter = counter + 1",
            "  local path = paths[(counter % #paths) + 1]",
        ]
        if endpoint.body is None:
            lines.append("  return wrk.format(nil, path)")
        elif "{n}" in body:
            lines.append(
                f"  return wrk.format(nil, path, nil, {_lua_string(before)} .. counter .. "
                f"{_lua_string(after)})"
            )
        else:
            lines.append(f"  return wrk.format(nil, path, nil, {_lua_string(body)})")
        lines.append("end")
    else:
        if endpoint.body is not None:
            lines.append(f"wrk.body = {_lua_string(endpoint.body)}")
    lines += [
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        "  io.write(string.format('" + MARKER + '{"requests": %d, "duration_us": %d, '
        '"bytes": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
        '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n\', '
        "summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, "
        "e.status, e.timeout, latency:percentile(50), latency:percentile(90), "
        "latency:percentile(99), latency.max, latency.mean))",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    """wrk's totals for one measurement."""

    requests: int
    seconds: float
    bytes: int
    errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout, status
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def failed(self) -> int:
        """Requests that did not succeed: HTTP status ≥ 400, and socket errors."""
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1), "failed": self.failed}


def parse(output: str) -> Result:
    """The Result in wrk's output (the line our script's `done` prints); LoadError if the
    line is missing or malformed."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER) :])
                return Result(
                    requests=int(data["requests"]),
                    seconds=int(data["duration_us"]) / 1e6,
                    bytes=int(data["bytes"]),
                    errors={
                        k: int(data[k]) for k in ("connect", "read", "write", "timeout", "status")
                    },
                    p50_ms=int(data["p50_us"]) / 1000,
                    p90_ms=int(data["p90_us"]) / 1000,
                    p99_ms=int(data["p99_us"]) / 1000,
                    max_ms=int(data["max_us"]) / 1000,
                    mean_ms=float(data["mean_us"]) / 1000,
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise LoadError(f"cannot read wrk's result line {line!r}: {exc}") from None
    last = output.strip().splitlines()[-1:] or ["no output"]
    raise LoadError(f"wrk printed no result (last line: {last[0]!r})")


def wrk_path() -> str:
    """The wrk binary; LoadError saying what to install if there is none."""
    found = shutil.which("wrk")
    if found is None:
        raise LoadError(
            "wrk is not installed: `apt-get install wrk` (Debian; `make system` does it as root)"
        )
    return found


def wrk_version() -> str:
    out = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0].strip()


def run(
    url: str,
    lua: str,
    script_path: Path,
    connections: int,
    seconds: float,
    threads: int = 1,
) -> Result:
    """Run wrk against `url` with `lua` (written to `script_path`, kept with the run)."""
    script_path.parent.mkdir(parents=True, exist_ok=True)
    script_path.write_text(lua, encoding="utf-8")
    argv = [
        wrk_path(),
        f"--threads={max(1, min(threads, connections))}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        f"--script={script_path}",
        url,
    ]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + TIMEOUT_SECONDS + 30
        )
    except subprocess.TimeoutExpired:
        raise LoadError(f"wrk did not finish in {seconds + TIMEOUT_SECONDS + 30:.0f} s") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LoadError(f"wrk failed ({done.returncode}): {why[0]}")
    return parse(done.stdout)
