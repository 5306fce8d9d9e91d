"""/api/v1/statuses and the viewer's favourites and bookmarks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Row

from aloft.api import entities, unsupported
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import Params, path_id
from aloft.errors import Invalid
from aloft.services import edits, limits, pins, polls, scheduled, statuses
from aloft.services.auth import Viewer
from aloft.services.loader import Bundle
from aloft.storage.database import Database
from aloft.storage.schema import bookmarks, favourites


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


@endpoint(scope="write:statuses", user=True)
def create(ctx: Ctx) -> Any:
    p = ctx.params
    key = ctx.request.headers.get("idempotency-key")
    new = statuses.NewStatus(
        text=p.string("status") or "",
        in_reply_to_id=p.id("in_reply_to_id"),
        visibility=p.string("visibility"),
        spoiler_text=p.string("spoiler_text") or "",
        sensitive=p.flag("sensitive") if p.has("sensitive") else None,
        language=p.string("language") or None,
        idempotency_key=key,
        media_ids=tuple(p.ids("media_ids")),
        poll=_poll(p),
    )
    # With scheduled_at, the post waits for its time and the answer is a ScheduledStatus.
    when = p.string("scheduled_at")
    if when is not None and when.strip():
        at = scheduled.parse_time(when)
        return entities.scheduled_status(scheduled.create(ctx.db, ctx.viewer, new, at), _base(ctx))
    row, bundle = statuses.create(ctx.db, ctx.viewer, ctx.site, new, ctx.settings.rate_limits)
    return entities.status(row, bundle, _base(ctx))


def _poll(p: Params) -> polls.NewPoll | None:
    """poll[options][], poll[expires_in], poll[multiple], poll[hide_totals] (form, query or
    a JSON object); None when no poll is asked for."""
    options = p.nested_strings("poll", "options")
    expires_in = p.nested_number("poll", "expires_in")
    multiple = p.nested_flag("poll", "multiple")
    hide_totals = p.nested_flag("poll", "hide_totals")
    if not options and expires_in is None:
        return None
    return polls.NewPoll(tuple(options), expires_in, multiple, hide_totals)


@endpoint(scope="write:statuses", user=True)
def update(ctx: Ctx) -> Any:
    """PUT /api/v1/statuses/:id: edit one of the viewer's statuses."""
    p = ctx.params
    if p.has("media_attributes"):
        raise Invalid("media_attributes is not supported: describe media with PUT /api/v1/media")
    change = edits.Edit(
        text=p.string("status"),
        spoiler_text=p.string("spoiler_text"),
        sensitive=p.flag("sensitive") if p.has("sensitive") else None,
        language=p.string("language") or None,
        media_ids=tuple(p.ids("media_ids")),
        poll=_poll(p),
    )
    row, bundle = edits.edit(ctx.db, ctx.viewer, ctx.site, path_id(ctx.path("id")), change)
    return entities.status(row, bundle, _base(ctx))


@endpoint(if_token="read:statuses")
def history(ctx: Ctx) -> Any:
    found = edits.history(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return [entities.status_edit(e, found, _base(ctx)) for e in found.edits]


@endpoint(scope="read:statuses", user=True)
def source(ctx: Ctx) -> Any:
    return entities.status_source(edits.source(ctx.db, ctx.viewer, path_id(ctx.path("id"))))


@endpoint(if_token="read:statuses")
def poll_show(ctx: Ctx) -> Any:
    return entities.poll(polls.get(ctx.db, ctx.viewer, path_id(ctx.path("id"))))


@endpoint(scope="write:statuses", user=True)
def poll_vote(ctx: Ctx) -> Any:
    # Missing choices are told after the poll is found: an unknown poll is 404 first.
    choices = ctx.params.ids("choices") if ctx.params.has("choices") else None
    return entities.poll(polls.vote(ctx.db, ctx.viewer, path_id(ctx.path("id")), choices))


@endpoint(if_token="read:statuses", inline=True)
def show(ctx: Ctx) -> Any:
    row, bundle = statuses.get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.status(row, bundle, _base(ctx))


@endpoint(if_token="read:statuses")
def index(ctx: Ctx) -> Any:
    """GET /api/v1/statuses?id[]=…: several statuses at once (Mastodon 4.3)."""
    rows, bundle = statuses.get_many(ctx.db, ctx.viewer, ctx.params.ids("id"))
    return entities.statuses(rows, bundle, _base(ctx))


@endpoint(scope="write:statuses", user=True, limit=limits.DELETION)
def delete(ctx: Ctx) -> Any:
    row, bundle = statuses.delete(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.status(row, bundle, _base(ctx), with_source=True)


@endpoint(if_token="read:statuses", inline=True)
def context(ctx: Ctx) -> Any:
    ancestors, descendants, bundle = statuses.context(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {
        "ancestors": entities.statuses(ancestors, bundle, _base(ctx)),
        "descendants": entities.statuses(descendants, bundle, _base(ctx)),
    }


Action = Callable[[Database, Viewer, int], tuple[Row, Bundle]]


def _action(scope: str, action: Action, limit: limits.Rule | None = None) -> Any:
    @endpoint(scope=scope, user=True, limit=limit)
    def run(ctx: Ctx) -> Any:
        row, bundle = action(ctx.db, ctx.viewer, path_id(ctx.path("id")))
        return entities.status(row, bundle, _base(ctx))

    return run


favourite = _action("write:favourites", statuses.favourite)
unfavourite = _action("write:favourites", statuses.unfavourite)
unreblog = _action("write:statuses", statuses.unreblog, limits.DELETION)
bookmark = _action("write:bookmarks", statuses.bookmark)
unbookmark = _action("write:bookmarks", statuses.unbookmark)
pin = _action("write:accounts", pins.pin)
unpin = _action("write:accounts", pins.unpin)
mute = _action("write:mutes", pins.mute)
unmute = _action("write:mutes", pins.unmute)


@endpoint(scope="write:statuses", user=True)
def reblog(ctx: Ctx) -> Any:
    # A boost here is as visible as what it boosts (public or unlisted). `public`, which
    # toot sends on every boost, asks for no less; narrower boosts are not done here.
    if (ctx.params.string("visibility") or "public") != "public":
        raise unsupported.value("visibility")
    row, bundle = statuses.reblog(
        ctx.db, ctx.viewer, path_id(ctx.path("id")), ctx.settings.rate_limits
    )
    return entities.status(row, bundle, _base(ctx))


def _actors(ctx: Ctx, which: Callable[..., Any]) -> Any:
    page = which(ctx.db, ctx.viewer, path_id(ctx.path("id")), page_request(ctx, 80, 40))
    body = [entities.account(row, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(if_token="read:accounts")
def favourited_by(ctx: Ctx) -> Any:
    return _actors(ctx, statuses.favourited_by)


@endpoint(if_token="read:accounts")
def reblogged_by(ctx: Ctx) -> Any:
    return _actors(ctx, statuses.reblogged_by)


def _marked(ctx: Ctx, table: Any) -> Any:
    page, bundle = statuses.marked(ctx.db, ctx.viewer, page_request(ctx), table)
    body = entities.statuses(page.items, bundle, _base(ctx))
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:favourites", user=True)
def favourites_list(ctx: Ctx) -> Any:
    return _marked(ctx, favourites)


@endpoint(scope="read:bookmarks", user=True)
def bookmarks_list(ctx: Ctx) -> Any:
    return _marked(ctx, bookmarks)
