"""Documented parameters this server does not honour, refused by name.

Mastodon's API description documents parameters that a route here does not act on (an
avatar upload, a quote policy, a search offset by account…). A client that sends one must
not be told it worked when it was dropped, so the endpoint decorator answers 422 naming
the parameter (`{"error": "…unsupported parameter X…", "details": {"X": […]}}`) before
the handler runs, and nothing changes. Parameters that are neither documented nor read
(cache busters, extra fields apps send) are not in these sets and are still accepted.

`REFUSED` maps a route of `aloft.api.routes.TABLE` (method, path as written there) to the
documented names its handler does not read. The list is not kept by hand alone:
tests/api/test_documented_params.py works it out from the API description and the
handlers' own source (tests/api/handlerparams.py) and fails, saying exactly which entry to
add or remove, when a route is added or a handler starts or stops reading a parameter. A
name `a[b]` is one key of an object parameter (`source[quote_policy]`).
"""

from __future__ import annotations

from aloft.errors import FieldError, Invalid

REFUSED: dict[tuple[str, str], frozenset[str]] = {
    # Sign-up: no age check and no approval queue here.
    ("POST", "/api/v1/accounts"): frozenset({"date_of_birth", "reason"}),
    # No attribution domains or quote policies yet.
    ("PATCH", "/api/v1/accounts/update_credentials"): frozenset(
        {"attribution_domains", "source[quote_policy]"}
    ),
    # No quotes yet.
    ("POST", "/api/v1/statuses"): frozenset({"quote_approval_policy", "quoted_status_id"}),
    ("PUT", "/api/v1/statuses/{id}"): frozenset({"quote_approval_policy"}),
    # A deleted status's media are kept for a redraft.
    ("DELETE", "/api/v1/statuses/{id}"): frozenset({"delete_media"}),
    # One hashtag per timeline.
    ("GET", "/api/v1/timelines/tag/{hashtag}"): frozenset({"all", "any", "none"}),
    # Search is not paged by id, nor limited to one account's statuses.
    ("GET", "/api/v2/search"): frozenset({"account_id", "max_id", "min_id"}),
}


def value(name: str) -> Invalid:
    """The error for a parameter a handler reads but cannot honour with the value sent (a
    search `following=true`; `following=false` asks for what is done anyway)."""
    return Invalid(
        f"unsupported value for {name}: this server does not honour {name} with that value",
        [FieldError(name, "ERR_UNSUPPORTED", "is not supported with that value on this server")],
    )


def refuse(route: tuple[str, str], sent: frozenset[str]) -> None:
    """Invalid naming each documented parameter of this route (method, path) that was sent
    and is not honoured here; nothing when there is none."""
    names = sorted(REFUSED.get(route, frozenset()) & sent)
    if names:
        raise Invalid(
            f"unsupported parameter {', '.join(names)}: this server does not honour "
            f"{'it' if len(names) == 1 else 'them'}",
            [FieldError(n, "ERR_UNSUPPORTED", "is not supported on this server") for n in names],
        )
