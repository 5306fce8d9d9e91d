"""Rendering a page for people: the one template environment, what every page is told
(who is signed in, their unread notifications, the CSRF token, the instance's limits), the
error pages, and `page`, the wrapper every page handler goes through.

Pages are drawn from the Mastodon entities (`aloft.api.entities`), built by the same
services as the API, so a page and an app show the same statuses to the same viewer.
Templates escape every value (Jinja2 autoescape); only a status's `content` and an
account's `note` are inserted as HTML, and those are sanitized when written
(`aloft.services.text`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.api import entities
from aloft.api.errors import http_error
from aloft.errors import AloftError, Gone, NotFound
from aloft.services import accounts, notifications, polls, text
from aloft.services.transcoder import LIMITS
from aloft.web.pages import templates
from aloft.web.session import Session, keep_csrf, session_of

# Pages may be framed by nobody; scripts and styles only from this server.
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
UNREAD_CAP = 99  # the badge says "99" at most, and the count stops there
# A poll's durations as Mastodon's compose form offers them (seconds, label); the form shows
# those within the limits the instance advertises (configuration.polls).
POLL_DURATIONS = (
    (300, "5 minutes"),
    (1800, "30 minutes"),
    (3600, "1 hour"),
    (21600, "6 hours"),
    (86400, "1 day"),
    (259200, "3 days"),
    (604800, "7 days"),
)
POLL_DEFAULT_DURATION = 86400

Handler = Callable[[Request, Session], Awaitable[Response]]


async def _common(request: Request, session: Session) -> dict[str, Any]:
    settings = request.app.state.settings
    base = settings.effective_base_url
    context: dict[str, Any] = {
        "instance_title": settings.instance_title,
        "base": base,
        "csrf_token": session.csrf,
        "registrations": settings.registrations,
        "me": None,
        "unread": 0,
        "stream_token": None,
    }
    if session.signed_in:
        db = request.app.state.db
        assert session.viewer.account_id is not None
        row = await run_in_threadpool(accounts.get, db, session.viewer.account_id)
        context["me"] = entities.account(row, base) | {"is_admin": bool(row.is_admin)}
        # The page's script opens the streaming API with it (an EventSource cannot send
        # the HttpOnly cookie's token as a header), as Mastodon's web app embeds its token.
        context["stream_token"] = session.token
        context["unread"] = await run_in_threadpool(
            notifications.unread_count, db, session.viewer, UNREAD_CAP
        )
    return context


def compose_context() -> dict[str, Any]:
    """What the compose form needs: the instance's limits (those `GET /api/v2/instance`
    reports), and a fresh idempotency key."""
    return {
        "max_characters": text.MAX_CHARACTERS,
        "max_media": LIMITS.attachments,
        "max_description": LIMITS.description,
        "poll_max_options": polls.MAX_OPTIONS,
        "poll_max_characters": polls.MAX_OPTION_CHARS,
        "poll_durations": [
            (seconds, label)
            for seconds, label in POLL_DURATIONS
            if polls.MIN_EXPIRATION <= seconds <= polls.MAX_EXPIRATION
        ],
        "poll_default_duration": POLL_DEFAULT_DURATION,
        # One key per rendered form: sending it twice (a double click, a retried request)
        # posts once (the Idempotency-Key of POST /api/v1/statuses).
        "idempotency_key": secrets.token_urlsafe(16),
    }


async def render(
    request: Request,
    session: Session,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    full = await _common(request, session) | context
    response = templates.TemplateResponse(
        request, template, full, status_code=status, headers=headers
    )
    response.headers.update(HEADERS)
    if session.signed_in:
        response.headers["Cache-Control"] = "private, no-store"
    keep_csrf(request, response, session)
    return response


# What the error page says of the usual errors, in words for people.
HEADINGS = {
    NotFound: "Not found",
    Gone: "Gone",
}


async def error_page(request: Request, session: Session, exc: AloftError) -> Response:
    """The page for a domain error, with the status and headers the one table in
    `aloft.api.errors` gives it."""
    mapped = http_error(exc)
    heading = HEADINGS.get(type(exc), "Something is wrong with this request")
    return await render(
        request,
        session,
        "error.html",
        {"heading": heading, "message": exc.message},
        status=mapped.status,
        headers=dict(mapped.headers),
    )


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page handler: it is given the session, and a domain error it raises becomes the
    error page."""

    @wraps(handler)
    async def run(request: Request) -> Response:
        session = await session_of(request)
        try:
            return await handler(request, session)
        except AloftError as exc:
            return await error_page(request, session, exc)

    return run
