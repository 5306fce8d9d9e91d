"""/api/v1/notifications."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import notifications


@endpoint(scope="read:notifications", user=True)
def index(ctx: Ctx) -> Any:
    p = ctx.params
    page, bundle = notifications.list_page(
        ctx.db,
        ctx.viewer,
        page_request(ctx, 80, 40),
        types=p.strings("types"),
        exclude_types=p.strings("exclude_types"),
        account_id=p.id("account_id"),
    )
    base = ctx.settings.effective_base_url
    body = [entities.notification(row, bundle, base) for row in page.items]
    return paged(ctx.request, base, page, body)


@endpoint(scope="read:notifications", user=True)
def show(ctx: Ctx) -> Any:
    row, bundle = notifications.get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.notification(row, bundle, ctx.settings.effective_base_url)


@endpoint(scope="write:notifications", user=True)
def dismiss(ctx: Ctx) -> Any:
    notifications.dismiss(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


@endpoint(scope="write:notifications", user=True)
def clear(ctx: Ctx) -> Any:
    notifications.clear(ctx.db, ctx.viewer)
    return {}
