"""Keep access tokens out of the log.

We refuse `?access_token=` (see `aloft.api.endpoint`) except on the streaming API, which
takes it as Mastodon does (`aloft.api.streaming`); either way the request line is logged
(uvicorn's access log, on at debug level). At debug level the WebSocket library also logs
every handshake header, Authorization and Sec-WebSocket-Protocol (a browser's token)
included. A filter on those loggers rewrites the token's value to `[redacted]` in every
record.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"(?i)((?:^|[?&;\s])(?:access_token|bearer_token)=)[^&;\s\"]*")
REDACTED = r"\1[redacted]"


# Headers that carry a token: the WebSocket library logs every handshake header at debug
# level, and browsers' WebSocket clients send the token as the subprotocol.
SECRET_HEADERS = frozenset({"authorization", "sec-websocket-protocol"})
_SECRET_HEADER_LINE = re.compile(r"(?im)\b(authorization|sec-websocket-protocol)(\s*:\s*)[^\r\n]*")


def redact(text: str) -> str:
    text = _SECRET_HEADER_LINE.sub(r"\1\2[redacted]", text)
    return _TOKEN_IN_URL.sub(REDACTED, text)


def _redact_args(args: tuple[object, ...]) -> tuple[object, ...]:
    """Arguments with tokens redacted; a header value logged as ("%s: %s", name, value)
    is redacted when the name is one of SECRET_HEADERS."""
    out: list[object] = []
    secret_next = False
    for arg in args:
        if secret_next and isinstance(arg, str):
            out.append("[redacted]")
        else:
            out.append(redact(arg) if isinstance(arg, str) else arg)
        secret_next = isinstance(arg, str) and arg.strip().lower() in SECRET_HEADERS
    return tuple(out)


class RedactTokens(logging.Filter):
    """Redacts tokens in URLs in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = _redact_args(record.args)
        return True


LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "aloft")


def install() -> None:
    """Add the filter to the loggers that may see a request's URL (once each)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
