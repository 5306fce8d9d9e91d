"""/api/v1/scheduled_statuses: the viewer's scheduled posts (made by POST /api/v1/statuses
with `scheduled_at`, see aloft.api.statuses)."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.errors import BadRequest
from aloft.services import scheduled


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


@endpoint(scope="read:statuses", user=True)
def index(ctx: Ctx) -> Any:
    page = scheduled.list_page(ctx.db, ctx.viewer, page_request(ctx))
    body = [entities.scheduled_status(s, _base(ctx)) for s in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:statuses", user=True)
def show(ctx: Ctx) -> Any:
    found = scheduled.get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.scheduled_status(found, _base(ctx))


@endpoint(scope="write:statuses", user=True)
def update(ctx: Ctx) -> Any:
    """PUT: a new `scheduled_at` (the only thing Mastodon lets change)."""
    scheduled_id = path_id(ctx.path("id"))
    raw = ctx.params.string("scheduled_at")
    if raw is None or not raw.strip():
        # An unknown one is 404 first, as Mastodon finds the record before it reads params.
        scheduled.get(ctx.db, ctx.viewer, scheduled_id)
        raise BadRequest("Missing required parameter: scheduled_at")
    found = scheduled.reschedule(ctx.db, ctx.viewer, scheduled_id, scheduled.parse_time(raw))
    return entities.scheduled_status(found, _base(ctx))


@endpoint(scope="write:statuses", user=True)
def delete(ctx: Ctx) -> Any:
    scheduled.delete(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}
