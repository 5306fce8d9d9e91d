"""/api/v1/follow_requests: who waits for a locked account's answer, and the answer."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import accounts


@endpoint(scope="read:follows", user=True)
def index(ctx: Ctx) -> Any:
    page = accounts.follow_request_list(ctx.db, ctx.viewer, page_request(ctx, 80, 40))
    base = ctx.settings.effective_base_url
    body = [entities.account(row, base) for row in page.items]
    return paged(ctx.request, base, page, body)


@endpoint(scope="write:follows", user=True)
def authorize(ctx: Ctx) -> Any:
    requester = path_id(ctx.path("account_id"))
    accounts.authorize_follow_request(ctx.db, ctx.viewer, requester)
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, requester))


@endpoint(scope="write:follows", user=True)
def reject(ctx: Ctx) -> Any:
    requester = path_id(ctx.path("account_id"))
    accounts.reject_follow_request(ctx.db, ctx.viewer, requester)
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, requester))
