"""The minimal moderation API (Mastodon's paths and admin scopes): list, show and resolve
reports, suspend and unsuspend accounts. Only admin accounts may use it (403 otherwise,
decided in `aloft.services.reports`), and only with a token holding the admin scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Row

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.errors import Invalid
from aloft.services import reports
from aloft.services.auth import Viewer
from aloft.storage.database import Database


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


def _render(ctx: Ctx, rows: Sequence[Row]) -> list[dict[str, Any]]:
    return render_reports(ctx.db, ctx.viewer, rows, _base(ctx))


def render_reports(
    db: Database, viewer: Viewer, rows: Sequence[Row], base: str
) -> list[dict[str, Any]]:
    """Admin::Report entities for `rows`, with the accounts and statuses they name (the
    admin page of aloft.web draws the same)."""
    people = reports.accounts_by_id(
        db,
        [
            i
            for r in rows
            for i in (r.account_id, r.target_account_id, r.action_taken_by_account_id)
            if i is not None
        ],
    )
    shown, bundle = reports.reported_statuses(db, viewer, rows)
    return [entities.admin_report(r, people, shown, bundle, base) for r in rows]


@endpoint(scope="admin:read:reports", user=True)
def reports_index(ctx: Ctx) -> Any:
    """GET /api/v1/admin/reports: open reports (`resolved=true`: resolved ones), newest
    first, optionally by reporter (`account_id`) or reported account."""
    p = ctx.params
    where = reports.ReportFilter(
        resolved=p.flag("resolved"),
        account_id=p.id("account_id"),
        target_account_id=p.id("target_account_id"),
    )
    page = reports.admin_list(ctx.db, ctx.viewer, page_request(ctx, 200, 100), where)
    return paged(ctx.request, _base(ctx), page, _render(ctx, page.items))


@endpoint(scope="admin:read:reports", user=True)
def report_show(ctx: Ctx) -> Any:
    row = reports.admin_get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return _render(ctx, [row])[0]


@endpoint(scope="admin:write:reports", user=True)
def report_resolve(ctx: Ctx) -> Any:
    row = reports.resolve(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return _render(ctx, [row])[0]


@endpoint(scope="admin:write:accounts", user=True)
def account_action(ctx: Ctx) -> Any:
    """POST /api/v1/admin/accounts/:id/action: `type` none or suspend (silence, sensitive
    and disable are refused by name), `report_id` to resolve with it. Warnings are not
    supported (`text`, `warning_preset_id` refused by name); no e-mail is ever sent, so
    `send_email_notification` is read and has nothing to change."""
    p = ctx.params
    if p.string("text"):
        raise Invalid.on("text", "ERR_INVALID", "is not supported by this server")
    if p.string("warning_preset_id"):
        raise Invalid.on("warning_preset_id", "ERR_INVALID", "is not supported by this server")
    p.flag("send_email_notification")
    kind = p.string("type") or ""
    if not kind:
        raise Invalid.on("type", "ERR_BLANK", "can't be blank")
    reports.act(ctx.db, ctx.viewer, path_id(ctx.path("id")), kind, p.id("report_id"))
    return {}


@endpoint(scope="admin:write:accounts", user=True)
def account_unsuspend(ctx: Ctx) -> Any:
    row = reports.unsuspend(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.admin_account(row, _base(ctx))
