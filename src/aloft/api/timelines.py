"""/api/v1/timelines: home, public, tag/:hashtag, list/:id."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import timelines
from aloft.services.loader import Bundle
from aloft.services.pages import Page


def _render(ctx: Ctx, result: tuple[Page[Any], Bundle]) -> Any:
    page, bundle = result
    base = ctx.settings.effective_base_url
    return paged(ctx.request, base, page, entities.statuses(page.items, bundle, base))


@endpoint(scope="read:statuses", user=True, inline=True)
def home(ctx: Ctx) -> Any:
    return _render(ctx, timelines.home(ctx.db, ctx.viewer, page_request(ctx)))


@endpoint(if_token="read:statuses", inline=True)
def public(ctx: Ctx) -> Any:
    # Every account is local, so ?local=true and ?remote=false change nothing;
    # ?remote=true asks for statuses from other servers, of which there are none.
    ctx.params.flag("local")
    if ctx.params.flag("remote"):
        return []
    only_media = ctx.params.flag("only_media")
    return _render(ctx, timelines.public(ctx.db, ctx.viewer, page_request(ctx), only_media))


@endpoint(if_token="read:statuses")
def tag(ctx: Ctx) -> Any:
    ctx.params.flag("local")  # every account is local, as on the public timeline
    if ctx.params.flag("remote"):
        return []
    name, only_media = ctx.path("hashtag"), ctx.params.flag("only_media")
    return _render(ctx, timelines.tag(ctx.db, ctx.viewer, name, page_request(ctx), only_media))


@endpoint(scope="read:lists", user=True)
def list_(ctx: Ctx) -> Any:
    list_id = path_id(ctx.path("id"))  # Mastodon's docs call it :list_id
    return _render(ctx, timelines.list_timeline(ctx.db, ctx.viewer, list_id, page_request(ctx)))
