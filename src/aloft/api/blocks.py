"""Blocks, mutes and domain blocks: /api/v1/accounts/:id/block|unblock|mute|unmute,
/api/v1/blocks, /api/v1/mutes, /api/v1/domain_blocks."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import path_id
from aloft.services import accounts, blocks


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


def _relationship(ctx: Ctx, target: int) -> Any:
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, target))


@endpoint(scope="write:blocks", user=True)
def block(ctx: Ctx) -> Any:
    target = path_id(ctx.path("id"))
    blocks.block(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


@endpoint(scope="write:blocks", user=True)
def unblock(ctx: Ctx) -> Any:
    target = path_id(ctx.path("id"))
    blocks.unblock(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


@endpoint(scope="write:mutes", user=True)
def mute(ctx: Ctx) -> Any:
    """`duration` in seconds (0 or absent: until unmuted), `notifications` (default true)."""
    target = path_id(ctx.path("id"))
    p = ctx.params
    duration = p.number("duration", 0)
    assert duration is not None
    blocks.mute(ctx.db, ctx.viewer, target, duration, p.flag("notifications", default=True))
    return _relationship(ctx, target)


@endpoint(scope="write:mutes", user=True)
def unmute(ctx: Ctx) -> Any:
    target = path_id(ctx.path("id"))
    blocks.unmute(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


@endpoint(scope="read:blocks", user=True)
def blocked(ctx: Ctx) -> Any:
    page = blocks.blocked_accounts(ctx.db, ctx.viewer, page_request(ctx, 80, 40))
    body = [entities.account(row, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:mutes", user=True)
def muted(ctx: Ctx) -> Any:
    page = blocks.muted_accounts(ctx.db, ctx.viewer, page_request(ctx, 80, 40))
    body = [entities.muted_account(row, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:blocks", user=True)
def domain_blocks(ctx: Ctx) -> Any:
    page = blocks.blocked_domains(ctx.db, ctx.viewer, page_request(ctx, 200, 100))
    return paged(ctx.request, _base(ctx), page, [row.domain for row in page.items])


@endpoint(scope="write:blocks", user=True)
def block_domain(ctx: Ctx) -> Any:
    blocks.block_domain(ctx.db, ctx.viewer, ctx.params.string("domain"))
    return {}


@endpoint(scope="write:blocks", user=True)
def unblock_domain(ctx: Ctx) -> Any:
    blocks.unblock_domain(ctx.db, ctx.viewer, ctx.params.string("domain"))
    return {}
