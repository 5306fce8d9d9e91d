"""Pages anyone may read, signed in or not, without JavaScript: the front page (the local
timeline), profiles (`/@username`), a post and its thread (`/@username/:id`), hashtag
pages (`/tags/:name`) and search (`/search?q=`; posts are searched for signed-in people
only, as the API's search does). What a viewer may see is decided by the services' visibility rule
(`aloft.services.visibility`), exactly as for the API.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api import entities
from aloft.errors import Gone, NotFound
from aloft.services import accounts, statuses, timelines
from aloft.services import search as search_service
from aloft.services.pages import Page, PageRequest
from aloft.web.session import Session
from aloft.web.view import compose_context, page, render

PAGE_SIZE = 20
SUSPENDED = "This account has been suspended by the moderators of this server."
NO_POST = "There is no such post: it was deleted, or it is not visible to you."
NO_ACCOUNT = "There is no account by that name on this server."
TABS = ("posts", "replies")


def cursor(request: Request) -> PageRequest:
    """The page asked for by ?max_id= (an older page); a value that is no id is the first
    page, as a link pasted without it would be."""
    raw = request.query_params.get("max_id", "")
    return PageRequest(
        limit=PAGE_SIZE, max_id=int(raw) if raw.isdigit() and len(raw) < 20 else None
    )


def older(result: Page[Any]) -> int | None:
    """The cursor of the next (older) page; none after a page that was not full."""
    return result.next_max_id if len(result.items) >= PAGE_SIZE else None


def _base(request: Request) -> str:
    return str(request.app.state.settings.effective_base_url)


@page
async def front(request: Request, session: Session) -> Response:
    result, bundle = await run_in_threadpool(
        timelines.public, request.app.state.db, session.viewer, cursor(request)
    )
    settings = request.app.state.settings
    return await render(
        request,
        session,
        "front.html",
        {
            "title": settings.instance_title,
            "description": settings.instance_description,
            "statuses": entities.statuses(result.items, bundle, _base(request)),
            "next_max_id": older(result),
        },
    )


async def account_named(request: Request, username: str) -> Any:
    """The local account `username`; NotFound, or Gone for a suspended one."""
    db = request.app.state.db
    settings = request.app.state.settings
    # No account has any other name; and PostgreSQL refuses a NUL in text (a 500).
    if not accounts.USERNAME.fullmatch(username):
        raise NotFound(NO_ACCOUNT)
    try:
        row = await run_in_threadpool(accounts.lookup, db, username, settings.domain)
    except NotFound:
        raise NotFound(NO_ACCOUNT) from None
    if row.suspended_at is not None:
        raise Gone(SUSPENDED)
    return row


@page
async def profile(request: Request, session: Session) -> Response:
    row = await account_named(request, request.path_params["username"])
    db = request.app.state.db
    tab = request.query_params.get("tab", "posts")
    if tab not in TABS:
        tab = "posts"
    cur = cursor(request)
    result, bundle = await run_in_threadpool(
        lambda: timelines.account(db, session.viewer, row.id, cur, exclude_replies=tab == "posts")
    )
    pinned: list[dict[str, Any]] = []
    if cur.max_id is None:
        pins, pin_bundle = await run_in_threadpool(
            lambda: timelines.account(
                db, session.viewer, row.id, PageRequest(limit=PAGE_SIZE), pinned=True
            )
        )
        pinned = entities.statuses(pins.items, pin_bundle, _base(request))
    relationship = None
    if session.signed_in and session.viewer.account_id != row.id:
        relationship = await run_in_threadpool(accounts.relationship, db, session.viewer, row.id)
    return await render(
        request,
        session,
        "profile.html",
        {
            "account": entities.account(row, _base(request)),
            "tab": tab,
            "pinned": pinned,
            "statuses": entities.statuses(result.items, bundle, _base(request)),
            "next_max_id": older(result),
            "relationship": relationship,
        },
    )


def snowflake(raw: str, missing: str = "Record not found") -> int:
    """An id from a path; NotFound(`missing`) for anything that cannot be one."""
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound(missing)
    return int(raw)


def status_id(raw: str) -> int:
    return snowflake(raw, NO_POST)


@page
async def thread(request: Request, session: Session) -> Response:
    author = await account_named(request, request.path_params["username"])
    db = request.app.state.db
    wanted = status_id(request.path_params["id"])
    try:
        row, bundle = await run_in_threadpool(statuses.get, db, session.viewer, wanted)
    except NotFound:
        raise NotFound(NO_POST) from None
    if row.account_id != author.id or row.reblog_of_id is not None:
        raise NotFound(NO_POST)
    above, below, context_bundle = await run_in_threadpool(
        statuses.context, db, session.viewer, wanted
    )
    base = _base(request)
    focus = entities.status(row, bundle, base)
    return await render(
        request,
        session,
        "thread.html",
        {
            "status": focus,
            "ancestors": entities.statuses(above, context_bundle, base),
            "descendants": entities.statuses(below, context_bundle, base),
        }
        | (compose_context() if session.signed_in else {}),
    )


@page
async def tag(request: Request, session: Session) -> Response:
    name = request.path_params["name"]
    result, bundle = await run_in_threadpool(
        timelines.tag, request.app.state.db, session.viewer, name, cursor(request)
    )
    return await render(
        request,
        session,
        "tag.html",
        {
            "tag": name.lstrip("#").lower(),
            "statuses": entities.statuses(result.items, bundle, _base(request)),
            "next_max_id": older(result),
        },
    )


SEARCH_SIZE = 20
SEARCH_KINDS = {"accounts", "hashtags", "statuses"}


@page
async def search(request: Request, session: Session) -> Response:
    query = request.query_params.get("q", "").strip()
    context: dict[str, Any] = {"q": query, "accounts": [], "hashtags": [], "statuses": []}
    # A NUL is no text any account, tag or post holds (and PostgreSQL refuses it).
    if query and "\x00" not in query:
        settings = request.app.state.settings
        found = await run_in_threadpool(
            search_service.search,
            request.app.state.db,
            query,
            settings.domain,
            SEARCH_KINDS,
            SEARCH_SIZE,
            0,
            session.viewer.account_id,
        )
        base = _base(request)
        context.update(
            accounts=[entities.account(row, base) for row in found.accounts],
            hashtags=[row.name for row in found.hashtags],
            statuses=entities.statuses(found.statuses, found.bundle, base),
        )
    return await render(request, session, "search.html", context)
