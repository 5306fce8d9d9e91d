"""Signing up, in and out in the browser, and the profile settings page.

Every form is checked for its CSRF token first. Sign-in is counted against the same limits
as the API's password grant and the OAuth page (`limits.sign_in`), sign-up against the
API's registration limit, per address; a refused attempt shows the form again with the
error's status (429 with Retry-After).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aloft.api.accounts import PICTURES_BODY
from aloft.api.params import Params, read_body
from aloft.errors import Forbidden, Invalid, InvalidGrant, RateLimited
from aloft.services import accounts, auth, limits, pictures, websessions
from aloft.web import session as cookies
from aloft.web.session import Session
from aloft.web.view import page, render

REGISTRATIONS_CLOSED = "Sign-ups are closed on this server."
SIGNED_OUT = "You are signed out. Sign in to do that."


async def form(request: Request, session: Session) -> Params:
    """The POSTed form, once its CSRF token is checked."""
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    params = await Params.from_request(request, body)
    cookies.check_csrf(request, session, params.string(cookies.CSRF_FIELD))
    return params


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signed_in_home(request: Request, token: str) -> Response:
    response = RedirectResponse("/home", 303)
    cookies.start(request, response, token)
    return response


def require_signed_in(session: Session) -> None:
    if not session.signed_in:
        raise Forbidden(SIGNED_OUT)


@page
async def sign_in(request: Request, session: Session) -> Response:
    if request.method == "GET":
        return await render(request, session, "signin.html", {"error": None, "login": None})
    params = await form(request, session)
    login = params.string("login") or ""
    state = request.app.state
    try:
        if state.settings.rate_limits:
            key = await run_in_threadpool(auth.sign_in_key, state.db, login)
            await run_in_threadpool(limits.sign_in, state.limiter, client_ip(request), key)
        token = await run_in_threadpool(
            websessions.sign_in, state.db, login, params.string("password") or ""
        )
    except RateLimited as exc:
        minutes = max(1, round(exc.retry_after / 60))
        error = f"Too many sign-in attempts. Try again in {minutes} minutes."
        return await render(
            request,
            session,
            "signin.html",
            {"error": error, "login": login},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except InvalidGrant as exc:
        error = (
            exc.message
            if exc.message == auth.LOGIN_DISABLED
            else "That email or username and password do not match an account."
        )
        return await render(
            request, session, "signin.html", {"error": error, "login": login}, status=401
        )
    return signed_in_home(request, token)


@page
async def sign_up(request: Request, session: Session) -> Response:
    state = request.app.state
    if not state.settings.registrations:
        raise Forbidden(REGISTRATIONS_CLOSED)
    if request.method == "GET":
        return await render(request, session, "signup.html", {"form": {}, "errors": []})
    params = await form(request, session)
    values = {
        "username": params.string("username") or "",
        "email": params.string("email") or "",
    }
    try:
        if not params.flag("agreement"):
            raise Invalid.on("agreement", "ERR_ACCEPTED", "must be accepted")
        if state.settings.rate_limits:
            await _count_registration(request)
        new = accounts.NewAccount(
            username=values["username"],
            email=values["email"],
            password=params.string("password") or "",
        )
        token = await run_in_threadpool(websessions.sign_up, state.db, new)
    except Invalid as exc:
        return await render(
            request,
            session,
            "signup.html",
            {"form": values, "errors": _errors(exc)},
            status=422,
        )
    return signed_in_home(request, token)


def _errors(exc: Invalid) -> list[str]:
    """What a refused form says: a sentence per field at fault, else the error's own."""
    named = [f"{f.field.replace('_', ' ').capitalize()} {f.description}" for f in exc.fields]
    return named or [exc.message]


async def _count_registration(request: Request) -> None:
    """Count one sign-up against the API's registration limit for this address;
    RateLimited when it is spent (the error page, 429 with Retry-After)."""
    limiter = request.app.state.limiter
    await run_in_threadpool(limiter.hit_now, limits.REGISTRATION, client_ip(request))


@page
async def sign_out(request: Request, session: Session) -> Response:
    await form(request, session)
    if session.token is not None:
        await run_in_threadpool(websessions.sign_out, request.app.state.db, session.token)
    response = RedirectResponse("/", 303)
    cookies.end(response)
    return response


@page
async def settings(request: Request, session: Session) -> Response:
    require_signed_in(session)
    state = request.app.state
    assert session.viewer.account_id is not None
    saved = False
    errors: list[str] = []
    if request.method == "POST":
        # Multipart, with an avatar and a header file input (either may be left empty).
        body = await read_body(request, PICTURES_BODY)
        params = await Params.from_request(request, body, files=2)
        cookies.check_csrf(request, session, params.string(cookies.CSRF_FIELD))
        try:
            await _save_settings(request, session, params)
            saved = True
        except Invalid as exc:
            errors = _errors(exc)
    row = await run_in_threadpool(accounts.get, state.db, session.viewer.account_id)
    return await render(
        request,
        session,
        "settings.html",
        {"saved": saved, "errors": errors, "note_source": row.note_source},
        status=422 if errors else 200,
    )


async def _save_settings(request: Request, session: Session, params: Params) -> None:
    """The profile form as one update_credentials: pictures are checked and cropped first,
    so a bad file changes nothing."""
    state = request.app.state
    new_pictures: list[pictures.Picture] = []
    for part, sent in (
        (pictures.AVATAR, params.files("avatar")),
        (pictures.HEADER, params.files("header")),
    ):
        chosen = sent[-1] if sent else None
        if chosen is not None:
            data = await chosen.read()
            new_pictures.append(await run_in_threadpool(pictures.prepare, part, data))
    cleared = [
        part
        for part, asked in (
            (pictures.AVATAR, params.flag("remove_avatar")),
            (pictures.HEADER, params.flag("remove_header")),
        )
        if asked and part not in {p.part for p in new_pictures}
    ]
    await run_in_threadpool(
        lambda: accounts.update_credentials(
            state.db,
            session.viewer,
            state.settings.effective_base_url,
            state.settings.domain,
            params.string("display_name") or "",
            params.string("note") or "",
            locked=params.flag("locked"),
            # A picture put back to the default loses its alt text with it.
            extras=accounts.ProfileExtras(
                avatar_description=None
                if pictures.AVATAR in cleared
                else params.string("avatar_description"),
                header_description=None
                if pictures.HEADER in cleared
                else params.string("header_description"),
            ),
            new_pictures=new_pictures,
            cleared_pictures=cleared,
        )
    )
