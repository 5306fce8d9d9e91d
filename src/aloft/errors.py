"""Domain errors raised by services; `aloft.api.errors` maps each to one HTTP status.

Services never speak HTTP. They raise one of these with a sentence a user can read, and
the one table in `aloft.api.errors` decides the status (and headers) for the JSON API and
the web pages alike. A new error class needs a row there: tests/api/test_errors.py walks
every subclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


class AloftError(Exception):
    """Base of every error a client can cause or see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one input field, as Mastodon's validation `details` name it:
    `code` is one of its ERR_* codes (ERR_BLANK, ERR_INVALID, ERR_TOO_LONG, ERR_TAKEN…),
    `description` the rule without the field's name ("can't be blank")."""

    field: str
    code: str
    description: str


class Invalid(AloftError):
    """The input breaks a rule (too long, empty, wrong type): 422. `fields` names the
    fields at fault when the service knows them."""

    def __init__(self, message: str, fields: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)

    @classmethod
    def on(cls, field: str, code: str, description: str, label: str | None = None) -> Invalid:
        """One field at fault, worded as Rails words it: "Validation failed: Label rule"."""
        label = label or field.replace("_", " ").capitalize()
        return cls(
            f"Validation failed: {label} {description}", [FieldError(field, code, description)]
        )


class BadRequest(AloftError):
    """The request itself is malformed (unparseable body, missing parameter): 400."""


class Unauthorized(AloftError):
    """No credentials, or credentials that are not valid: 401."""


class Forbidden(AloftError):
    """Valid credentials that do not allow this (scope, ownership): 403."""


class NotFound(AloftError):
    """Unknown, or not visible to the caller (we never reveal which): 404."""


class Gone(AloftError):
    """Was here and is no more, and may be said so (a suspended account's pages): 410."""


class Conflict(Invalid):
    """Would clash with existing state (username or email taken): 422 like Mastodon."""


class TooLarge(AloftError):
    """The request body is over the configured limit: 413."""


class RateLimited(AloftError):
    """Too many requests in the current window: 429. `headers` are the limiter's
    X-RateLimit-* values; `retry_after` is in seconds."""

    def __init__(
        self, message: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}


class Unavailable(AloftError):
    """The database cannot be reached within the deadline: 503. `retry_after` in seconds."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OAuthError(AloftError):
    """An OAuth 2 failure (RFC 6749 §4.1.2.1, §5.2). Never raised itself: each subclass is
    one of the RFC's error codes (`code`), and the code decides the status as Mastodon's
    Doorkeeper answers. The message is the `error_description`."""

    code: ClassVar[str]


class InvalidClient(OAuthError):
    """Unknown client, or client authentication failed (401)."""

    code = "invalid_client"


class InvalidGrant(OAuthError):
    """The code, or the user's credentials, are wrong, expired, used or someone else's."""

    code = "invalid_grant"


class InvalidRequest(OAuthError):
    """A parameter is missing, malformed or unsupported (PKCE method, challenge)."""

    code = "invalid_request"


class InvalidScope(OAuthError):
    """The scope is unknown, malformed, or more than the app registered."""

    code = "invalid_scope"


class InvalidRedirectUri(OAuthError):
    """The redirect URI is not one the app registered (Doorkeeper's code for it)."""

    code = "invalid_redirect_uri"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    code = "unsupported_response_type"


# Bases that group errors and are never raised themselves; they have no status of their own.
FAMILIES: tuple[type[AloftError], ...] = (OAuthError,)
