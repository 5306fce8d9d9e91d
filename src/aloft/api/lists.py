"""Lists: /api/v1/lists (CRUD), /api/v1/lists/:id/accounts and /api/v1/accounts/:id/lists
(the list timeline is in `aloft.api.timelines`). The rules are `aloft.services.lists`'."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import lists

MEMBERS_DEFAULT, MEMBERS_MAX = 40, 80


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


def _changes(ctx: Ctx) -> lists.Changes:
    """title, replies_policy, exclusive: each only if the request sends it."""
    p = ctx.params
    return lists.Changes(
        title=p.string("title"),
        replies_policy=p.string("replies_policy"),
        exclusive=p.flag("exclusive") if p.has("exclusive") else None,
    )


@endpoint(scope="read:lists", user=True)
def index(ctx: Ctx) -> Any:
    return [entities.list_entity(row) for row in lists.index(ctx.db, ctx.viewer)]


@endpoint(scope="write:lists", user=True)
def create(ctx: Ctx) -> Any:
    return entities.list_entity(lists.create(ctx.db, ctx.viewer, _changes(ctx)))


@endpoint(scope="read:lists", user=True)
def show(ctx: Ctx) -> Any:
    return entities.list_entity(lists.show(ctx.db, ctx.viewer, path_id(ctx.path("id"))))


@endpoint(scope="write:lists", user=True)
def update(ctx: Ctx) -> Any:
    row = lists.update(ctx.db, ctx.viewer, path_id(ctx.path("id")), _changes(ctx))
    return entities.list_entity(row)


@endpoint(scope="write:lists", user=True)
def delete(ctx: Ctx) -> Any:
    lists.delete(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


@endpoint(scope="read:lists", user=True)
def members(ctx: Ctx) -> Any:
    """Paged like the other account lists; `limit=0` is every member on one page, without
    Link headers (as Mastodon)."""
    list_id = path_id(ctx.path("id"))
    unlimited = ctx.params.number("limit") == 0
    page = None if unlimited else page_request(ctx, MEMBERS_MAX, MEMBERS_DEFAULT)
    found = lists.members(ctx.db, ctx.viewer, list_id, page)
    body = [entities.account(row, _base(ctx)) for row in found.items]
    return paged(ctx.request, _base(ctx), found, body)


@endpoint(scope="write:lists", user=True)
def add_members(ctx: Ctx) -> Any:
    ids = ctx.params.ids("account_ids")
    lists.add_members(ctx.db, ctx.viewer, path_id(ctx.path("id")), ids)
    return {}


@endpoint(scope="write:lists", user=True)
def remove_members(ctx: Ctx) -> Any:
    ids = ctx.params.ids("account_ids")
    lists.remove_members(ctx.db, ctx.viewer, path_id(ctx.path("id")), ids)
    return {}


@endpoint(scope="read:lists", user=True)
def containing(ctx: Ctx) -> Any:
    rows = lists.containing(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return [entities.list_entity(row) for row in rows]
