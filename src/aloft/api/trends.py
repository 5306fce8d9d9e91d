"""/api/v1/trends: tags (also at /api/v1/trends), statuses and links, and the statuses of a
trending link (/api/v1/timelines/link) (aloft.services.trends).

Open to anyone, as Mastodon's; a token's account only narrows what counts (its blocks and
mutes). `limit` is clamped as Mastodon clamps it (tags and links: 10, at most 20;
statuses: 20, at most 40); `offset` pages, with Link headers carrying it."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import offset_links, page_request, paged
from aloft.api.responses import json_response
from aloft.errors import Invalid
from aloft.services import trends


def _window(ctx: Ctx, default: int) -> tuple[int, int]:
    """`limit` (clamped into 1..2×default) and `offset` (not negative)."""
    limit = ctx.params.number("limit", default)
    offset = ctx.params.number("offset", 0)
    assert limit is not None and offset is not None
    if limit < 0:
        raise Invalid.on("limit", "ERR_INVALID", "must not be negative")
    if offset < 0:
        raise Invalid.on("offset", "ERR_INVALID", "must not be negative")
    return max(1, min(limit, 2 * default)), offset


def _answer(ctx: Ctx, body: list[Any], offset: int, limit: int) -> Any:
    base = ctx.settings.effective_base_url
    headers = offset_links(ctx.request, base, offset, limit, len(body) == limit)
    return json_response(body, headers=headers)


@endpoint()
def tags(ctx: Ctx) -> Any:
    limit, offset = _window(ctx, 10)
    found = trends.top_tags(ctx.db, ctx.viewer, limit, offset)
    base = ctx.settings.effective_base_url
    return _answer(ctx, [entities.tag(v, base) for v in found], offset, limit)


# Statuses carry the viewer's own flags (favourited…): a token must be one that may read them.
@endpoint(if_token="read:statuses")
def statuses(ctx: Ctx) -> Any:
    limit, offset = _window(ctx, 20)
    rows, bundle = trends.top_statuses(ctx.db, ctx.viewer, limit, offset)
    body = entities.statuses(rows, bundle, ctx.settings.effective_base_url)
    return _answer(ctx, body, offset, limit)


@endpoint()
def links(ctx: Ctx) -> Any:
    limit, offset = _window(ctx, 10)
    found = trends.top_links(ctx.db, ctx.viewer, limit, offset)
    return _answer(ctx, [entities.trends_link(v) for v in found], offset, limit)


@endpoint(if_token="read:statuses")
def link_timeline(ctx: Ctx) -> Any:
    url = ctx.params.string("url", required=True) or ""
    page, bundle = trends.link_statuses(ctx.db, ctx.viewer, url, page_request(ctx))
    base = ctx.settings.effective_base_url
    return paged(ctx.request, base, page, entities.statuses(page.items, bundle, base))
