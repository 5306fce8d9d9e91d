"""Domain errors raised by services; `aloft.api.errors` maps each to one HTTP status.

Services never speak HTTP. They raise one of these with a sentence a user can read,
and the API layer turns it into Mastodon's `{"error": "..."}` body.
"""


class AloftError(Exception):
    """Base of every error a client can cause or see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(AloftError):
    """The input breaks a rule (too long, empty, wrong type): 422."""


class BadRequest(AloftError):
    """The request itself is malformed (unparseable body, missing parameter): 400."""


class Unauthorized(AloftError):
    """No credentials, or credentials that are not valid: 401."""


class Forbidden(AloftError):
    """Valid credentials that do not allow this (scope, ownership): 403."""


class NotFound(AloftError):
    """Unknown, or not visible to the caller (we never reveal which): 404."""


class Conflict(AloftError):
    """Would clash with existing state (username or email taken): 422 like Mastodon."""


class TooLarge(AloftError):
    """The request body is over the configured limit: 413."""


class RateLimited(AloftError):
    """Too many requests in the current window: 429."""

    def __init__(
        self, message: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}


class Unavailable(AloftError):
    """The database cannot be reached within the write deadline: 503."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OAuthError(AloftError):
    """An OAuth 2 failure (RFC 6749 §5.2): body {"error": code, "error_description": …}."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.status = status
