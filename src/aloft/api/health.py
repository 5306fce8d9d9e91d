"""Health endpoints for load balancers, operators and monitoring.

* `/healthz` — the process is alive and serving HTTP.
* `/readyz` — send me requests. Answered from memory, with no I/O, so it answers within
  milliseconds even while every database host is frozen. 200 whenever this process serves
  requests, including while the primary is being replaced: such an app holds a write until
  the new primary takes it (the data layer retries through the failover), which is what a
  client wants, rather than a load balancer with no server left. 503 only when the process
  knows it cannot serve at all: before start-up has finished and once shutdown has begun.
  The body reports what the data layer last saw, from the counters it keeps anyway.
* `/healthz/database` — a fresh probe: can this app reach a server that serves its role
  right now? For operators and `aloft cluster status`/`up`, never for a load balancer's
  check: during a failover it takes as long as the connect timeouts of every host.
* `/metrics` — Prometheus text, for the operator only. With ALOFT_METRICS_TOKEN set, a
  request must bear that token (`Authorization: Bearer …`, else 401). Without it, only a
  direct connection from a loopback address gets it; a remote peer, or a request relayed by a
  proxy (it carries X-Forwarded-For or Forwarded, and a proxy on this host connects from
  loopback too), is refused with 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api.responses import json_response
from aloft.storage.database import Database


async def healthz(request: Request) -> Response:
    """The process is alive and serving HTTP."""
    return json_response({"status": "ok"})


def _ages(since: dict[str, float], now: float) -> dict[str, float]:
    return {kind: round(max(now - at, 0.0), 3) for kind, at in sorted(since.items())}


def last_seen(db: Database) -> dict[str, Any]:
    """What the data layer last saw, from its counters (no I/O): where the last write
    committed, how many times that moved, how many operations gave up, how long ago reads
    and writes last succeeded, and for how long they have been failing (empty: they are
    not)."""
    stats = db.stats
    now = time.time()
    with stats.lock:
        return {
            "engine": db.dialect,
            "primary": stats.last_primary,
            "failovers": stats.failovers,
            "unavailable": stats.unavailable,
            "seconds_since_success": _ages(stats.last_success, now),
            "failing_for_seconds": _ages(stats.failing_since, now),
        }


async def readyz(request: Request) -> Response:
    """Ready while this process serves requests, whatever the database is doing."""
    state = request.app.state
    serving = bool(getattr(state, "serving", False))
    body: dict[str, Any] = {"ready": serving}
    db = getattr(state, "db", None)
    if db is not None:
        body["database"] = last_seen(db)
    return json_response(body, status=200 if serving else 503)


def reachable(db: Database) -> dict[str, bool]:
    """Which roles this app can reach now: the primary (writes) and any server (reads)."""
    result = {"primary": False, "reads": False}
    try:
        result["primary"] = db.probe(db.engine, writable=db.is_postgres)
    except Exception:
        result["primary"] = False
    result["reads"] = result["primary"]
    if not result["reads"] and db.anywhere is not None:
        try:
            result["reads"] = db.probe(db.anywhere, writable=False)
        except Exception:
            result["reads"] = False
    return result


async def database(request: Request) -> Response:
    """200 when a database server that serves its role is reachable now (the primary, or
    while it is being replaced, any server for reads), else 503."""
    state = await run_in_threadpool(reachable, request.app.state.db)
    ok = state["primary"] or state["reads"]
    return json_response({"ok": ok, **state}, status=200 if ok else 503)


METRICS_TOKEN_NEEDED = "/metrics needs the token set in ALOFT_METRICS_TOKEN"
METRICS_LOOPBACK_ONLY = (
    "/metrics is served only to a direct connection from a loopback address; "
    "set ALOFT_METRICS_TOKEN to scrape it from elsewhere"
)


def _metrics_refusal(request: Request) -> Response | None:
    """Why this request may not read /metrics (as a response), or None if it may."""
    expected: str = request.app.state.settings.metrics_token
    if expected:
        kind, _, given = request.headers.get("authorization", "").partition(" ")
        given_ok = kind.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), expected.encode()
        )
        return None if given_ok else json_response({"error": METRICS_TOKEN_NEEDED}, status=401)
    peer = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    relayed = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    if loopback and not relayed:
        return None
    return json_response({"error": METRICS_LOOPBACK_ONLY}, status=403)


async def metrics(request: Request) -> Response:
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    body = request.app.state.metrics.render()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
