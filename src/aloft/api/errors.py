"""The one table from domain errors to HTTP statuses, and Mastodon's error body.

Every error a client sees is `{"error": "..."}` (OAuth errors add `error_description`,
as RFC 6749 wants). Nothing a client sends may produce a 500; if one happens anyway the
body is the same shape and says nothing about our internals.
"""

from __future__ import annotations

import logging

from starlette.responses import Response

from aloft import errors
from aloft.api.responses import json_response

log = logging.getLogger("aloft.api")

STATUS: dict[type[errors.AloftError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Invalid: 422,
    errors.Conflict: 422,
    errors.TooLarge: 413,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


def error_response(exc: errors.AloftError) -> Response:
    """The HTTP response for a domain error."""
    if isinstance(exc, errors.OAuthError):
        body = {"error": exc.code, "error_description": exc.message}
        return json_response(body, status=exc.status)
    status = next(code for cls, code in STATUS.items() if isinstance(exc, cls))
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers.update(exc.headers)
    if isinstance(exc, errors.RateLimited | errors.Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    return json_response({"error": exc.message}, status=status, headers=headers)


def plain_error(status: int, message: str) -> Response:
    return json_response({"error": message}, status=status)


def internal_error(exc: BaseException) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return plain_error(500, "Internal server error")
