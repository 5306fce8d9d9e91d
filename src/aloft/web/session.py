"""The browser's session and CSRF cookies.

* `aloft_session` holds the web app's access token (aloft.services.websessions): HttpOnly
  (no script reads it), SameSite=Lax (not sent with another site's POST), Secure when the
  page was served over https.
* CSRF is a double-submit token: a random value in a cookie only this site can read, and
  the same value in every form; a POST must bring both, equal (as the OAuth sign-in page).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from aloft.errors import AloftError, Forbidden
from aloft.services import auth
from aloft.services.auth import ANONYMOUS, Viewer

SESSION_COOKIE = "aloft_session"
CSRF_COOKIE = "aloft_web_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 30 * 24 * 3600
CSRF_REFUSED = (
    "This form has expired or was not sent from this site. Go back, reload the page and try again."
)


@dataclass(frozen=True)
class Session:
    """Who the browser is: a viewer (ANONYMOUS when signed out), the session token (the
    pages' own streaming connection needs it) and the CSRF token its forms carry."""

    viewer: Viewer
    token: str | None
    csrf: str

    @property
    def signed_in(self) -> bool:
        return self.viewer.account_id is not None


async def session_of(request: Request) -> Session:
    """The request's session. A cookie whose token was revoked, or whose account is
    suspended, is a signed-out browser, not an error."""
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if len(csrf) != 43 or not csrf.isascii():
        csrf = secrets.token_urlsafe(32)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            viewer = await run_in_threadpool(auth.authenticate, request.app.state.db, token)
            return Session(viewer, token, csrf)
        except AloftError:
            pass
    return Session(ANONYMOUS, None, csrf)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def keep_csrf(request: Request, response: Response, session: Session) -> None:
    """Set the CSRF cookie the page's forms were rendered with (unchanged if it was sent)."""
    if request.cookies.get(CSRF_COOKIE) != session.csrf:
        response.set_cookie(
            CSRF_COOKIE, session.csrf, httponly=True, samesite="strict", secure=_secure(request)
        )


def check_csrf(request: Request, session: Session, sent: str | None) -> None:
    """Forbidden unless the form's token equals the cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), (sent or "").encode()):
        raise Forbidden(CSRF_REFUSED)


def start(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def end(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
