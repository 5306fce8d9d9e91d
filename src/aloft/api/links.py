"""Paged responses: the items as JSON plus Mastodon's Link header.

`Link: <…?max_id=OLDEST>; rel="next", <…?min_id=NEWEST>; rel="prev"` — next first, then
prev, keeping every other query parameter of the request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from aloft.api.responses import JSONResponse, json_response
from aloft.services.pages import Page, PageRequest

CURSORS = ("max_id", "since_id", "min_id")


def page_request(ctx: Any, max_limit: int = 40, default_limit: int = 20) -> PageRequest:
    p = ctx.params
    return PageRequest.build(
        p.number("limit"),
        p.id("max_id"),
        p.id("since_id"),
        p.id("min_id"),
        max_limit,
        default_limit,
    )


def link_headers(request: Request, base: str, page: Page[Any]) -> dict[str, str]:
    """The Link header of a page (none for an empty page)."""
    if page.next_max_id is None or page.prev_min_id is None:
        return {}
    # The request's other parameters are encoded once for both links, and the path read
    # from the scope: building a URL object twice was a twentieth of a home page (issue 11).
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in CURSORS]
    start = f"{base}{request.scope['path']}?" + (f"{urlencode(kept)}&" if kept else "")
    next_url = f"{start}max_id={page.next_max_id}"
    prev_url = f"{start}min_id={page.prev_min_id}"
    return {"Link": f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'}


def paged(request: Request, base: str, page: Page[Any], body: list[Any]) -> JSONResponse:
    return json_response(body, headers=link_headers(request, base, page))


def offset_links(
    request: Request, base: str, offset: int, limit: int, full: bool
) -> dict[str, str]:
    """The Link header of a page chosen by `offset` (trends), as Mastodon's: next when the
    page is full, prev when there is a whole page before it."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    links = []
    if full:
        links.append((offset + limit, "next"))
    if offset > limit:
        links.append((offset - limit, "prev"))
    parts = [
        f'<{base}{request.url.path}?{urlencode([*kept, ("offset", str(at))])}>; rel="{rel}"'
        for at, rel in links
    ]
    return {"Link": ", ".join(parts)} if parts else {}
