"""Keep access tokens out of the log.

We refuse `?access_token=` (see `aloft.api.endpoint`), but the request line is still logged
(uvicorn's access log, on at debug level) before anyone reads our answer. A filter on that
logger rewrites the token's value to `[redacted]` in every record.
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"(?i)((?:^|[?&;\s])(?:access_token|bearer_token)=)[^&;\s\"]*")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return _TOKEN_IN_URL.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Redacts tokens in URLs in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "aloft")


def install() -> None:
    """Add the filter to the loggers that may see a request's URL (once each)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
