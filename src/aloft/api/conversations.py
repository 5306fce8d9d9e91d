"""/api/v1/conversations: the viewer's direct conversations (aloft.services.conversations)."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import conversations


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


@endpoint(scope="read:statuses", user=True)
def index(ctx: Ctx) -> Any:
    page, bundle = conversations.list_page(ctx.db, ctx.viewer, page_request(ctx))
    body = [entities.conversation(row, bundle, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="write:conversations", user=True)
def read(ctx: Ctx) -> Any:
    row, bundle = conversations.mark_read(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.conversation(row, bundle, _base(ctx))


@endpoint(scope="write:conversations", user=True)
def delete(ctx: Ctx) -> Any:
    conversations.remove(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}
