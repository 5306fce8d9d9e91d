"""/api/v1/markers: the saved reading positions in home and notifications."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.params import MAX_ID
from aloft.errors import BadRequest, Invalid
from aloft.services import markers


@endpoint(scope="read:statuses", user=True)
def index(ctx: Ctx) -> Any:
    found = markers.get(ctx.db, ctx.viewer, ctx.params.strings("timeline"))
    return {name: entities.marker(m) for name, m in found.items()}


@endpoint(scope="write:statuses", user=True)
def save(ctx: Ctx) -> Any:
    """Form (`home[last_read_id]=…`) or JSON (`{"home": {"last_read_id": "…"}}`); other
    keys are not timelines and are left alone, as in Mastodon."""
    given = {
        "home": ctx.params.nested("home", "last_read_id"),
        "notifications": ctx.params.nested("notifications", "last_read_id"),
    }
    positions: dict[str, int] = {}
    for timeline, raw in given.items():
        if raw is None:
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
            raise Invalid(f"{timeline}[last_read_id] must be an ID")
        positions[timeline] = int(raw)
    if not positions:
        raise BadRequest(
            "Missing required parameter: home[last_read_id] or notifications[last_read_id]"
        )
    saved = markers.save(ctx.db, ctx.viewer, positions)
    return {name: entities.marker(m) for name, m in saved.items()}
