"""POST /api/v1/reports: report an account (and some of its statuses) to the moderators."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.errors import Invalid, NotFound
from aloft.services import accounts, reports


@endpoint(scope="write:reports", user=True)
def create(ctx: Ctx) -> Any:
    p = ctx.params
    if p.strings("collection_ids"):
        # Featured collections do not exist here: refused by name, never ignored.
        raise Invalid.on("collection_ids", "ERR_INVALID", "are not supported by this server")
    account_id = p.id("account_id")
    if account_id is None:
        raise NotFound("Record not found")  # as Mastodon: no account to find
    new = reports.NewReport(
        account_id=account_id,
        status_ids=p.ids("status_ids"),
        comment=p.string("comment", default="") or "",
        category=p.string("category"),
        rule_ids=p.strings("rule_ids"),
        # Accepted and meaningless: there is no remote server to forward a report to.
        forward=p.flag("forward"),
    )
    row = reports.create(ctx.db, ctx.viewer, new)
    target = accounts.get(ctx.db, row.target_account_id)
    return entities.report(row, target, ctx.settings.effective_base_url)
