"""Health endpoints for load balancers and monitoring: /healthz, /readyz, /metrics."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api.responses import json_response
from aloft.storage.database import Database


async def healthz(request: Request) -> Response:
    """The process is alive and serving HTTP."""
    return json_response({"status": "ok"})


def _probe(db: Database) -> dict[str, bool]:
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


async def readyz(request: Request) -> Response:
    """Ready when we can reach a database that serves its role. While the primary is being
    replaced we still serve reads (and writes wait), so reaching any server is ready."""
    state = await run_in_threadpool(_probe, request.app.state.db)
    ready = state["primary"] or state["reads"]
    return json_response({"ready": ready, **state}, status=200 if ready else 503)


async def metrics(request: Request) -> Response:
    body = request.app.state.metrics.render()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
