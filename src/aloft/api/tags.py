"""/api/v1/tags, /api/v1/followed_tags and /api/v1/featured_tags: hashtags, followed and
featured (aloft.services.hashtags, aloft.services.featured_tags)."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import featured_tags, hashtags


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


# Mastodon asks no scope to show a tag; a token only says whose `following` to show.
@endpoint()
def show(ctx: Ctx) -> Any:
    return entities.tag(hashtags.show(ctx.db, ctx.viewer, ctx.path("hashtag")), _base(ctx))


@endpoint(scope="write:follows", user=True)
def follow(ctx: Ctx) -> Any:
    return entities.tag(hashtags.follow(ctx.db, ctx.viewer, ctx.path("hashtag")), _base(ctx))


@endpoint(scope="write:follows", user=True)
def unfollow(ctx: Ctx) -> Any:
    return entities.tag(hashtags.unfollow(ctx.db, ctx.viewer, ctx.path("hashtag")), _base(ctx))


@endpoint(scope="read:follows", user=True)
def followed(ctx: Ctx) -> Any:
    page = hashtags.followed(
        ctx.db, ctx.viewer, page_request(ctx, max_limit=200, default_limit=100)
    )
    body = [entities.tag(v, _base(ctx)) for v in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:accounts", user=True)
def featured(ctx: Ctx) -> Any:
    return [entities.featured_tag(f, _base(ctx)) for f in featured_tags.mine(ctx.db, ctx.viewer)]


@endpoint(scope="write:accounts", user=True)
def feature(ctx: Ctx) -> Any:
    name = ctx.params.string("name", required=True) or ""
    return entities.featured_tag(featured_tags.create(ctx.db, ctx.viewer, name), _base(ctx))


@endpoint(scope="write:accounts", user=True)
def unfeature(ctx: Ctx) -> Any:
    featured_tags.delete(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


@endpoint(scope="read:accounts", user=True)
def suggestions(ctx: Ctx) -> Any:
    return [entities.tag(v, _base(ctx)) for v in featured_tags.suggestions(ctx.db, ctx.viewer)]


@endpoint(if_token="read:accounts")
def of_account(ctx: Ctx) -> Any:
    found = featured_tags.of_account(ctx.db, path_id(ctx.path("id")))
    return [entities.featured_tag(f, _base(ctx)) for f in found]
