"""RSS 2.0 feeds of a profile's public posts (`/@username.rss`) and of a hashtag
(`/tags/:name.rss`), read anonymously through the same timelines as the pages. Built with
ElementTree, so every value is escaped as XML; a post's HTML is the item's description,
as Mastodon's feeds carry it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api import entities
from aloft.errors import AloftError
from aloft.services import timelines
from aloft.services.auth import ANONYMOUS
from aloft.services.pages import PageRequest
from aloft.web.public import account_named
from aloft.web.session import session_of
from aloft.web.view import error_page

FEED_SIZE = 20
MEDIA_TYPE = "application/rss+xml; charset=utf-8"


def _rss(title: str, link: str, description: str, items: list[dict[str, Any]]) -> bytes:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = description
    for s in items:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "guid", isPermaLink="true").text = s["url"]
        ET.SubElement(item, "link").text = s["url"]
        when = datetime.fromisoformat(s["created_at"].replace("Z", "+00:00"))
        ET.SubElement(item, "pubDate").text = format_datetime(when)
        body = s["content"]
        if s["spoiler_text"]:
            ET.SubElement(item, "title").text = s["spoiler_text"]
        ET.SubElement(item, "description").text = body
        for m in s["media_attachments"]:
            if m["url"]:
                ET.SubElement(item, "enclosure", url=m["url"], type=m["type"], length="0")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="utf-8")


def _base(request: Request) -> str:
    return str(request.app.state.settings.effective_base_url)


async def _feed(request: Request, make: Any) -> Response:
    try:
        return await make()
    except AloftError as exc:
        return await error_page(request, await session_of(request), exc)


async def profile(request: Request) -> Response:
    async def make() -> Response:
        row = await account_named(request, request.path_params["username"])
        # Public posts only (a feed is read by anybody): no replies to others, no boosts.
        result, bundle = await run_in_threadpool(
            lambda: timelines.account(
                request.app.state.db,
                ANONYMOUS,
                row.id,
                PageRequest(limit=FEED_SIZE),
                exclude_replies=True,
                exclude_reblogs=True,
            )
        )
        items = [
            s
            for s in entities.statuses(result.items, bundle, _base(request))
            if s["visibility"] == "public"
        ]
        account = entities.account(row, _base(request))
        body = _rss(
            f"{account['display_name'] or row.username} (@{row.username})",
            account["url"],
            f"Public posts from @{row.username}",
            items,
        )
        return Response(body, media_type=MEDIA_TYPE)

    return await _feed(request, make)


async def tag(request: Request) -> Response:
    async def make() -> Response:
        name = request.path_params["name"].lstrip("#").lower()
        result, bundle = await run_in_threadpool(
            timelines.tag,
            request.app.state.db,
            ANONYMOUS,
            name,
            PageRequest(limit=FEED_SIZE),
        )
        items = entities.statuses(result.items, bundle, _base(request))
        body = _rss(f"#{name}", f"{_base(request)}/tags/{name}", f"Posts tagged #{name}", items)
        return Response(body, media_type=MEDIA_TYPE)

    return await _feed(request, make)
