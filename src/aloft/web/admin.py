"""The admin page: the cluster's status and `aloft cluster doctor`'s checks, the newest
drill matrix (its report served to admins), or on a single node its database; and the
moderation queue: open reports with who reported whom, why, and the posts named, and the
two actions the moderation service has (resolve; suspend the account, which resolves the
report). An account that is not an admin's gets 403 from `aloft.services.reports`, as from
the admin API, before anything else is read."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aloft.api.admin import render_reports
from aloft.errors import NotFound
from aloft.services import reports
from aloft.services.pages import PageRequest
from aloft.web import overview
from aloft.web.account import form, require_signed_in
from aloft.web.public import snowflake
from aloft.web.session import Session
from aloft.web.view import page, render

QUEUE_SIZE = 40
# A drill report is our own HTML (every value escaped when written) with its style inline and
# no script; served sandboxed all the same, on this origin only to admins.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "private, no-store",
}
NO_REPORT = "No such drill report"


@page
async def queue(request: Request, session: Session) -> Response:
    require_signed_in(session)
    db = request.app.state.db
    found = await run_in_threadpool(
        reports.admin_list, db, session.viewer, PageRequest(limit=QUEUE_SIZE)
    )
    base = request.app.state.settings.effective_base_url
    items = await run_in_threadpool(render_reports, db, session.viewer, found.items, base)
    settings = request.app.state.settings
    context: dict[str, Any] = {"reports": items, "engine": db.dialect}
    directory = settings.cluster_path
    if directory is None:
        context["node"] = await run_in_threadpool(overview.single_node, db)
    else:
        context["cluster_dir"] = str(directory)
        context["cluster"] = await overview.cluster_report(directory)
    matrix, why = await run_in_threadpool(overview.newest_matrix, settings.drill_reports_path)
    context |= {"matrix": matrix, "matrix_missing": why}
    return await render(request, session, "admin.html", context)


@page
async def drill_report(request: Request, session: Session) -> Response:
    """A drill matrix's report.html, or one of its runs' (admins only)."""
    require_signed_in(session)
    db = request.app.state.db
    await run_in_threadpool(reports.check_admin, db, session.viewer)
    out = request.app.state.settings.drill_reports_path
    found = overview.report_file(out, request.path_params["path"])
    if found is None:
        raise NotFound(NO_REPORT)
    body = await run_in_threadpool(found.read_bytes)
    return Response(body, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)


@page
async def resolve(request: Request, session: Session) -> Response:
    require_signed_in(session)
    await form(request, session)
    wanted = snowflake(request.path_params["id"])
    await run_in_threadpool(reports.resolve, request.app.state.db, session.viewer, wanted)
    return RedirectResponse("/admin", 303)


@page
async def suspend(request: Request, session: Session) -> Response:
    """Suspend the reported account and resolve the report, in one unit of work."""
    require_signed_in(session)
    await form(request, session)
    db = request.app.state.db
    wanted = snowflake(request.path_params["id"])
    report = await run_in_threadpool(reports.admin_get, db, session.viewer, wanted)
    await run_in_threadpool(
        reports.act, db, session.viewer, report.target_account_id, "suspend", wanted
    )
    return RedirectResponse("/admin", 303)
