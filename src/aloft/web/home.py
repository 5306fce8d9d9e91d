"""Pages and forms for a signed-in person: the home timeline with its compose form, posting
(text, content warning, visibility, up to four images with alt text or a poll, replies),
voting in polls, boosting, favouriting, following, notifications, and the one-status
fragment the page's script fetches when the streaming API announces a new post.

Each form calls the same service as the API's endpoint, with the same limits, and answers
303 back to the page it came from (`back`), so every form works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aloft.api import entities
from aloft.api.media import UPLOAD_BODY
from aloft.api.params import Params, read_body
from aloft.services import (
    accounts,
    limits,
    markers,
    media,
    notifications,
    polls,
    statuses,
    timelines,
)
from aloft.services.transcoder import LIMITS
from aloft.web import session as cookies
from aloft.web.account import form, require_signed_in
from aloft.web.public import cursor, older, snowflake, status_id
from aloft.web.session import Session
from aloft.web.view import compose_context, page, render, templates

VERBS = {
    "mention": "mentioned you",
    "reblog": "boosted your post",
    "favourite": "favourited your post",
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "poll": "'s poll has ended",
    "update": "edited a post",
    "status": "posted",
}


def back(request: Request, params: Params | None = None) -> RedirectResponse:
    """303 to the page the form was sent from: its Referer when it is a page of this site,
    else home. Never another site (an open redirect)."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if referer.startswith(base + "/"):
        return RedirectResponse(referer[len(base) :], 303)
    return RedirectResponse("/home", 303)


@page
async def home(request: Request, session: Session) -> Response:
    require_signed_in(session)
    db = request.app.state.db
    result, bundle = await run_in_threadpool(timelines.home, db, session.viewer, cursor(request))
    base = request.app.state.settings.effective_base_url
    return await render(
        request,
        session,
        "home.html",
        {
            "statuses": entities.statuses(result.items, bundle, base),
            "next_max_id": older(result),
        }
        | compose_context(),
    )


@page
async def notifications_page(request: Request, session: Session) -> Response:
    """The notifications, newest first; seeing the first page marks them read (the
    notifications marker, as apps set it), which clears the badge."""
    require_signed_in(session)
    db = request.app.state.db
    cur = cursor(request)
    result, bundle = await run_in_threadpool(notifications.list_page, db, session.viewer, cur)
    if cur.max_id is None and result.items:
        newest = result.items[0].id
        await run_in_threadpool(markers.save, db, session.viewer, {"notifications": newest})
    base = request.app.state.settings.effective_base_url
    return await render(
        request,
        session,
        "notifications.html",
        {
            "items": [entities.notification(r, bundle, base) for r in result.items],
            "next_max_id": older(result),
            "verbs": VERBS,
        },
    )


def _chosen(params: Params) -> list[Any]:
    """The image inputs a file was chosen in (every input is sent, chosen or not)."""
    return [sent for sent in params.files("media")[: LIMITS.attachments] if sent and sent.size]


def _poll(params: Params) -> polls.NewPoll | None:
    """The compose form's poll: its choice inputs that are not empty (the form has one per
    option the instance allows), the duration, and the two switches; None when every
    choice is empty."""
    options = tuple(o for o in params.strings("poll_option") if o.strip())
    if not options:
        return None
    return polls.NewPoll(
        options,
        params.number("poll_expires_in"),
        params.flag("poll_multiple"),
        params.flag("poll_hide_totals"),
    )


async def _uploads(request: Request, session: Session, params: Params) -> list[int]:
    """Store each chosen image with its alt text; their ids, in the form's order."""
    state = request.app.state
    ids: list[int] = []
    alts = params.strings("alt")
    for i, sent in enumerate(params.files("media")[: LIMITS.attachments]):
        if sent is None or not sent.size:
            continue
        data = await sent.read()
        if not data:
            continue
        upload = media.Upload(sent.filename or "", sent.content_type or "", data)
        if state.settings.rate_limits:
            who = str(session.viewer.account_id)
            await run_in_threadpool(state.limiter.hit_now, limits.MEDIA, who)
        alt = alts[i] if i < len(alts) else ""
        row = await run_in_threadpool(media.upload, state.db, session.viewer, upload, alt or None)
        if row.state == media.PROCESSING:
            state.jobs.wake()
        ids.append(row.id)
    return ids


@page
async def post(request: Request, session: Session) -> Response:
    require_signed_in(session)
    state = request.app.state
    body = await read_body(request, UPLOAD_BODY)
    # Every file input is sent, chosen or not: one file each.
    params = await Params.from_request(request, body, files=LIMITS.attachments)
    cookies.check_csrf(request, session, params.string(cookies.CSRF_FIELD))
    reply_raw = params.string("in_reply_to_id") or ""
    new = statuses.NewStatus(
        text=params.string("status") or "",
        in_reply_to_id=status_id(reply_raw) if reply_raw else None,
        visibility=params.string("visibility") or None,
        spoiler_text=params.string("spoiler_text") or "",
        idempotency_key=params.string("idempotency_key") or None,
        poll=_poll(params),
    )
    # The post is checked as it will be sent (one placeholder per chosen image) before any
    # image is stored, so a refused post (a poll with images, too long…) leaves nothing.
    statuses.validate(replace(new, media_ids=(0,) * len(_chosen(params))))
    new = replace(new, media_ids=tuple(await _uploads(request, session, params)))
    await run_in_threadpool(
        statuses.create, state.db, session.viewer, state.site, new, state.settings.rate_limits
    )
    return back(request)


@page
async def vote(request: Request, session: Session) -> Response:
    """Vote in a poll (`choices`: the options' indexes), as `POST /api/v1/polls/:id/votes`."""
    require_signed_in(session)
    params = await form(request, session)
    wanted = snowflake(request.path_params["id"])
    choices = params.ids("choices")
    await run_in_threadpool(polls.vote, request.app.state.db, session.viewer, wanted, choices)
    return back(request)


Action = Callable[..., Any]


def _action(service: Action, limited: bool = False) -> Any:
    """A form that calls `service(db, viewer, id)` on the status or account in the path
    (with the rate-limit switch when `limited`), then goes back."""

    @page
    async def act(request: Request, session: Session) -> Response:
        require_signed_in(session)
        await form(request, session)
        wanted = snowflake(request.path_params["id"])
        state = request.app.state
        args: tuple[Any, ...] = (state.db, session.viewer, wanted)
        if limited:
            args += (state.settings.rate_limits,)
        await run_in_threadpool(service, *args)
        return back(request)

    return act


favourite = _action(statuses.favourite)
unfavourite = _action(statuses.unfavourite)
reblog = _action(statuses.reblog, limited=True)
unreblog = _action(statuses.unreblog)
bookmark = _action(statuses.bookmark)
unbookmark = _action(statuses.unbookmark)
follow = _action(accounts.follow, limited=True)
unfollow = _action(accounts.unfollow)


@page
async def status_fragment(request: Request, session: Session) -> Response:
    """One status as the timelines draw it (for the live timeline's script)."""
    require_signed_in(session)
    wanted = status_id(request.path_params["id"])
    row, bundle = await run_in_threadpool(
        statuses.get, request.app.state.db, session.viewer, wanted
    )
    base = request.app.state.settings.effective_base_url
    return templates.TemplateResponse(
        request,
        "fragment.html",
        {
            "status": entities.status(row, bundle, base),
            "me": {"id": str(session.viewer.account_id)},
            "csrf_token": session.csrf,
        },
        headers={"Cache-Control": "private, no-store"},
    )
