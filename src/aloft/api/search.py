"""/api/v2/search: what clients call to turn "@name" into an account (toot does for
follow, whois and followers)."""

from __future__ import annotations

from typing import Any

from aloft.api import entities, unsupported
from aloft.api.endpoint import Ctx, endpoint
from aloft.errors import Invalid
from aloft.services import search as search_service

KINDS = {"accounts", "hashtags", "statuses"}


@endpoint(if_token="read:search")
def search(ctx: Ctx) -> Any:
    p = ctx.params
    query = p.string("q", required=True) or ""
    kind = p.string("type")
    if kind and kind not in KINDS:
        raise Invalid("type must be one of accounts, hashtags, statuses")
    # No account lives elsewhere, so there is nothing to resolve: read, and no effect.
    p.flag("resolve")
    # False asks for what is done anyway; true for what is not done here.
    if p.flag("following"):
        raise unsupported.value("following")
    # Hashtags are not reviewed here: none is held back as unreviewed, so leaving the
    # unreviewed out (Mastodon.py sends true on every search) changes nothing. Read, honoured.
    p.flag("exclude_unreviewed")
    limit = max(1, min(p.number("limit", 20) or 20, 40))
    offset = max(0, p.number("offset", 0) or 0)
    found = search_service.search(
        ctx.db,
        query,
        ctx.settings.domain,
        {kind} if kind else KINDS,
        limit,
        offset,
        ctx.viewer.account_id,
    )
    base = ctx.settings.effective_base_url
    return {
        "accounts": [entities.account(row, base) for row in found.accounts],
        "statuses": entities.statuses(found.statuses, found.bundle, base),
        "hashtags": [
            {"name": row.name, "url": f"{base}/tags/{row.name}", "history": [], "following": False}
            for row in found.hashtags
        ],
    }
