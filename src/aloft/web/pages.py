"""The OAuth sign-in and consent page, and the template environment of every page."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from aloft.api.errors import http_error
from aloft.api.params import Params, read_body
from aloft.errors import AloftError, Forbidden, RateLimited, Unauthorized
from aloft.services import auth, limits

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _error_page(request: Request, exc: AloftError) -> Response:
    """The HTML page for a domain error, with the status and headers the one table in
    `aloft.api.errors` gives it (404, 503 with Retry-After…), as the JSON API would."""
    mapped = http_error(exc)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"message": exc.message},
        status_code=mapped.status,
        headers=mapped.headers,
    )


def _form_page(request: Request, context: dict[str, Any], exc: AloftError) -> Response:
    """The sign-in form again, its error shown in it, with the error's status and headers."""
    mapped = http_error(exc)
    return templates.TemplateResponse(
        request, "authorize.html", context, status_code=mapped.status, headers=mapped.headers
    )


async def _authorize_request(request: Request, params: Params) -> auth.AuthorizeRequest:
    return await run_in_threadpool(
        auth.check_authorize_request,
        request.app.state.db,
        params.string("client_id"),
        params.string("redirect_uri"),
        params.string("scope"),
        params.string("response_type"),
        params.string("state") or None,
        params.string("code_challenge") or None,
        params.string("code_challenge_method") or None,
    )


# The sign-in page is never framed (clickjacking) nor cached.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}
# CSRF: a double-submit cookie. GET sets a random token in a cookie only this site can read
# and in the form; a POST must bring both, equal.
CSRF_COOKIE = "aloft_csrf"
CSRF_FIELD = "csrf_token"
CSRF_REFUSED = (
    "The sign-in form has expired or was not sent from this site. Go back, reload the page "
    "and sign in again."
)


def _csrf_ok(request: Request, params: Params) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = params.string(CSRF_FIELD) or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


async def authorize(request: Request) -> Response:
    """GET shows the sign-in form; POST checks it and hands the app a code. Any domain
    error the form does not show itself becomes an error page."""
    try:
        response = await _authorize(request)
    except AloftError as exc:
        response = _error_page(request, exc)
    response.headers.update(PAGE_HEADERS)
    return response


async def _authorize(request: Request) -> Response:
    settings = request.app.state.settings
    body = await read_body(request, settings.max_body_bytes)
    params = await Params.from_request(request, body)
    if request.method == "POST" and not _csrf_ok(request, params):
        raise Forbidden(CSRF_REFUSED)
    oauth_request = await _authorize_request(request, params)
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if len(csrf) != 43 or not csrf.isascii():
        csrf = secrets.token_urlsafe(32)
    context: dict[str, Any] = {
        "oauth": oauth_request,
        "error": None,
        "login": None,
        "csrf_token": csrf,
    }
    if request.method == "GET":
        page = templates.TemplateResponse(request, "authorize.html", context)
        page.set_cookie(
            CSRF_COOKIE,
            csrf,
            path="/oauth/authorize",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return page
    login = params.string("login") or ""
    if settings.rate_limits:
        client_ip = request.client.host if request.client else "unknown"
        key = await run_in_threadpool(auth.sign_in_key, request.app.state.db, login)
        try:
            await run_in_threadpool(limits.sign_in, request.app.state.limiter, client_ip, key)
        except RateLimited as exc:
            minutes = max(1, round(exc.retry_after / 60))
            context.update(
                error=f"Too many sign-in attempts. Try again in {minutes} minutes.", login=login
            )
            return _form_page(request, context, exc)
    try:
        code = await run_in_threadpool(
            auth.grant_code,
            request.app.state.db,
            oauth_request,
            login,
            params.string("password") or "",
        )
    except Unauthorized as exc:
        context.update(error=exc.message, login=login)
        return _form_page(request, context, exc)
    if oauth_request.redirect_uri == auth.OOB_REDIRECT:
        return templates.TemplateResponse(request, "code.html", {"code": code})
    query = {"code": code}
    if oauth_request.state:
        query["state"] = oauth_request.state
    separator = "&" if "?" in oauth_request.redirect_uri else "?"
    return RedirectResponse(f"{oauth_request.redirect_uri}{separator}{urlencode(query)}", 303)
