"""The `endpoint` decorator: what every API handler gets for free.

A handler is a plain synchronous function `handler(ctx) -> data | Response`. The
decorator turns it into a Starlette endpoint that, in order:

1. authenticates the bearer token, if any (a bad token is 401 even where none is needed;
   a token looked up in the last few seconds is answered from memory, `auth.remembered`);
2. checks the scope the endpoint requires (no token: 401; wrong scope: 403) and whether it
   needs a user rather than an app token (422, as Mastodon answers); an endpoint open to
   anyone names in `if_token` the scope a token must hold if one is sent (Mastodon's
   `authorize_if_got_token!`): a write-only token is refused (403), never used to read;
3. counts the request against the rate limits (`aloft.services.limits`; refused requests
   count too: a 401, 403 or 422 is counted for the IP address or account) and adds
   X-RateLimit-* headers; an endpoint's own `limit` is counted exactly, in the database;
4. reads and parses the body (size-limited) into `Params`;
5. refuses a documented parameter the route does not honour (`aloft.api.unsupported`);
6. runs the handler in a worker thread (services block on the database): GET and HEAD in
   the reading pool (`ALOFT_THREADS`), other methods in the writing pool
   (`ALOFT_WRITE_THREADS`); an `inline` read on SQLite runs on the event loop instead;
7. renders the result as JSON, or maps a domain error to its HTTP error;
8. with `ALOFT_DRILL_HEADERS=on`, names the database server the request's writes committed
   on in the `Aloft-Database-Server` header (for drills; nothing when nothing was written).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from aloft.api import unsupported
from aloft.api.errors import error_response, internal_error
from aloft.api.params import Params, read_body
from aloft.api.responses import json_response
from aloft.config import Settings
from aloft.errors import AloftError, BadRequest, Forbidden, Invalid, RateLimited, Unauthorized
from aloft.services import limits, scopes
from aloft.services.auth import ANONYMOUS, Viewer, authenticate, remembered
from aloft.services.statuses import Site
from aloft.storage.database import ACTOR, COMMITS, CommitNote, Database

QUERY_TOKEN_REFUSED = (
    "access_token in the query string is not accepted: send it in the Authorization header (Bearer)"
)

# What a request whose client went away mid-way is counted as (nginx's status for it).
CLIENT_CLOSED_REQUEST = 499

# Methods whose handlers run in the reading pool (every other method runs in the writing one).
READING = frozenset({"GET", "HEAD"})

# Where the request's writes committed ("host:port"), when drill headers are on.
DATABASE_SERVER_HEADER = "Aloft-Database-Server"


@dataclass
class Ctx:
    """Everything a handler may use for one request."""

    request: Request
    params: Params
    viewer: Viewer
    settings: Settings
    db: Database
    site: Site

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def me(self) -> int:
        """The signed-in account (endpoints declared with user=True always have one)."""
        assert self.viewer.account_id is not None
        return self.viewer.account_id


Handler = Callable[[Ctx], Any]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _route_path(request: Request) -> str:
    """The path of the route table's entry that matched (its twin with a trailing slash
    is the same entry)."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", ""))
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def endpoint(
    scope: str | None = None,
    user: bool = False,
    limit: limits.Rule | None = None,
    limit_by_ip: bool = False,
    if_token: str | None = None,
    upload: int | None = None,
    files: int = 1,
    inline: bool = False,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler. `scope` is required of the token when given; `if_token` is required
    of a token only when one is sent; `user=True` also requires the token to belong to an
    account. `limit` adds a rate limit on top of the general one, counted per account (or
    per IP with `limit_by_ip`) before the handler runs, whatever it then answers. An
    `upload` endpoint takes a body of up to that many bytes, with up to `files` files.
    An `inline` endpoint runs on the event loop, not in a thread, when the database is
    SQLite: for reads that SQLite answers from its indexes in about a millisecond, without
    waiting for any lock (WAL), where the hop into a thread and back cost more than the
    read (issue 11: a home page 1,240 -> 1,410 req/s). Never on PostgreSQL, where a read may
    wait out a failover; never for a read that can take long (search, a tag's timeline)."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        route = f"{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"

        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            state = request.app.state
            settings: Settings = state.settings
            limit_headers: dict[str, str] = {}
            limiter: limits.Limiter = state.limiter
            client_ip = request.client.host if request.client else "unknown"
            counted = not settings.rate_limits
            commits = CommitNote() if settings.drill_headers else None
            try:
                if "access_token" in request.query_params:
                    # Mastodon (Doorkeeper) would take it; a token in a URL ends up in
                    # logs, proxies and browser history, so it is refused by name rather
                    # than served, and never served as anonymous (aloft.logredact keeps
                    # it out of our own log).
                    raise BadRequest(QUERY_TOKEN_REFUSED)
                viewer = ANONYMOUS
                token = _bearer(request)
                if token is not None:
                    # A token looked up a moment ago is answered from memory, without a
                    # hop into the thread pool (issue 11: 6-10 % of a home page's time).
                    known = remembered(state.db, token)
                    if known is None:
                        known = await run_in_threadpool(authenticate, state.db, token)
                    viewer = known
                who = str(viewer.account_id) if viewer.account_id else client_ip
                if not counted:
                    counted = True
                    limit_headers = limiter.hit(limits.GENERAL, who).headers()
                if scope is not None and token is None:
                    raise Unauthorized("The access token is invalid")
                needed = scope if scope is not None else if_token if token is not None else None
                if needed is not None and not scopes.allows(viewer.scopes, needed):
                    raise Forbidden("This action is outside the authorized scopes")
                if user and viewer.account_id is None:
                    raise Invalid("This method requires an authenticated user")
                if limit is not None and settings.rate_limits:
                    key = client_ip if limit_by_ip else who
                    verdict = await run_in_threadpool(limiter.hit_now, limit, key)
                    limit_headers = verdict.headers()
                # An upload endpoint takes a larger body, and files (see api/media.py).
                body = await read_body(request, upload or settings.max_body_bytes)
                # A documented parameter we do not honour is refused before anything runs
                # (one file may be parsed for it, to be refused by name: an avatar).
                route_key = (request.method, _route_path(request))
                refusing = route_key in unsupported.REFUSED
                params = await Params.from_request(
                    request, body, files=files if upload is not None else int(refusing)
                )
                unsupported.refuse(route_key, params.sent())
                if upload is None:
                    params.without_files()
                ctx = Ctx(request, params, viewer, settings, state.db, state.site)
                # The actor travels into the worker thread with the context, for
                # read-your-writes routing in the data layer.
                ACTOR.set(viewer.account_id)
                # A holder the worker thread fills in, since its context is only a copy.
                COMMITS.set(commits)
                # Reads and writes take turns in pools of their own: a write waiting out a
                # failover holds its thread for seconds, and reads must not queue behind it.
                if inline and not state.db.is_postgres and request.method in READING:
                    result = handler(ctx)
                else:
                    pool = None if request.method in READING else state.write_limiter
                    result = await to_thread.run_sync(handler, ctx, limiter=pool)
                response = result if isinstance(result, Response) else json_response(result)
            except AloftError as exc:
                error = exc
                if not counted:  # refused before it was counted: a bad or missing token
                    try:
                        limit_headers = limiter.hit(limits.GENERAL, client_ip).headers()
                    except RateLimited as limited:
                        error = limited
                response = error_response(error)
            except ClientDisconnect:
                # The client went away before its request was read: nothing was done and
                # nobody is left to answer. Not our error, so neither logged nor a 500.
                response = Response(status_code=CLIENT_CLOSED_REQUEST)
            except Exception as exc:  # a bug: log it, answer in Mastodon's shape
                response = internal_error(exc)
            for name, value in limit_headers.items():
                response.headers.setdefault(name, value)
            if commits is not None and commits.server is not None:
                response.headers[DATABASE_SERVER_HEADER] = commits.server
            state.metrics.observe(
                route, request.method, response.status_code, time.perf_counter() - started
            )
            return response

        return run

    return decorate
