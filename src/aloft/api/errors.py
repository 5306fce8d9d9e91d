"""The one table from domain errors to HTTP, for the JSON API and the web pages alike.

`http_error(exc)` decides the status and headers of any `AloftError` (Retry-After for
RateLimited and Unavailable, X-RateLimit-* for RateLimited) and Mastodon's body for it:
`{"error": "..."}`; OAuth errors are `{"error": code, "error_description": "..."}` as
RFC 6749 wants; a 422 always carries `details` (the fields at fault, `{}` when the service
did not name one), as Mastodon's ValidationError does. The JSON API sends that body
(`error_response`); the web pages render the same status and headers as an HTML page.

Nothing a client sends may produce a 500; if one happens anyway the body is the same shape
and says nothing about our internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from aloft import errors
from aloft.api.responses import json_response

log = logging.getLogger("aloft.api")

# Looked up by the error's exact class, so each class has exactly one status and a new one
# must be added here (tests/api/test_errors.py walks every subclass).
STATUS: dict[type[errors.AloftError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.Invalid: 422,
    errors.Conflict: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    # OAuth: as Doorkeeper answers them, 401 for a client that failed to authenticate
    # (RFC 6749 §5.2), 400 for everything else.
    errors.InvalidClient: 401,
    errors.InvalidGrant: 400,
    errors.InvalidRequest: 400,
    errors.InvalidScope: 400,
    errors.InvalidRedirectUri: 400,
    errors.UnsupportedGrantType: 400,
    errors.UnsupportedResponseType: 400,
}

INTERNAL = "Internal server error"


@dataclass(frozen=True)
class HttpError:
    """How one error goes out over HTTP: status, headers, and Mastodon's JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def http_error(exc: errors.AloftError) -> HttpError:
    """The status, headers and body for a domain error. A class missing from STATUS is a
    bug: it is logged and answered as a 500."""
    status = STATUS.get(type(exc))
    if status is None:
        log.error("no HTTP status for %s", type(exc).__name__, exc_info=exc)
        return HttpError(500, {"error": INTERNAL})
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers.update(exc.headers)
    if isinstance(exc, errors.RateLimited | errors.Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    body: dict[str, Any]
    if isinstance(exc, errors.OAuthError):
        body = {"error": exc.code, "error_description": exc.message}
    else:
        body = {"error": exc.message}
    if status == 422:
        body["details"] = _details(exc)
    return HttpError(status, body, headers)


def _details(exc: errors.AloftError) -> dict[str, list[dict[str, str]]]:
    """Mastodon's ValidationError details: field → [{"error": ERR_*, "description": …}]."""
    details: dict[str, list[dict[str, str]]] = {}
    for problem in getattr(exc, "fields", ()):
        entry = {"error": problem.code, "description": problem.description}
        details.setdefault(problem.field, []).append(entry)
    return details


def error_response(exc: errors.AloftError) -> Response:
    """The JSON API's response for a domain error."""
    mapped = http_error(exc)
    return json_response(mapped.body, status=mapped.status, headers=mapped.headers)


# Starlette's own errors (no route, wrong method), worded as Mastodon words them.
ROUTING_MESSAGES = {404: "Record not found", 405: "Method not allowed"}


def routing_error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """The response for an HTTPException raised by Starlette's routing (its headers, such as
    a 405's Allow, are kept)."""
    body: dict[str, Any] = {"error": ROUTING_MESSAGES.get(status, detail)}
    if status == 422:
        body["details"] = {}
    return json_response(body, status=status, headers=dict(headers or {}))


def internal_error(exc: BaseException) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return json_response({"error": INTERNAL}, status=500)
