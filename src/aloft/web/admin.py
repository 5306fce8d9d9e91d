"""The moderation queue for admins: open reports with who reported whom, why, and the
posts named, and the two actions the moderation service has (resolve; suspend the account,
which resolves the report). An account that is not an admin's gets 403 from
`aloft.services.reports`, as from the admin API."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aloft.api.admin import render_reports
from aloft.services import reports
from aloft.services.pages import PageRequest
from aloft.web.account import form, require_signed_in
from aloft.web.public import snowflake
from aloft.web.session import Session
from aloft.web.view import page, render

QUEUE_SIZE = 40


@page
async def queue(request: Request, session: Session) -> Response:
    require_signed_in(session)
    db = request.app.state.db
    found = await run_in_threadpool(
        reports.admin_list, db, session.viewer, PageRequest(limit=QUEUE_SIZE)
    )
    base = request.app.state.settings.effective_base_url
    items = await run_in_threadpool(render_reports, db, session.viewer, found.items, base)
    return await render(request, session, "admin.html", {"reports": items})


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
