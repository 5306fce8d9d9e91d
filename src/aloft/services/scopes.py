"""OAuth scopes as Mastodon defines them: read, write, follow, push and read:x / write:x.

A token's scopes are a space-separated list. A granular scope ("read:statuses") is granted
by itself or by its top-level scope ("read"). The legacy "follow" scope grants the
follow/block/mute scopes. The admin scopes (admin:read, admin:write:reports…) are granted
only by themselves or their admin:read / admin:write parent.
"""

from aloft.errors import Invalid

TOP_LEVEL = ("read", "write", "follow", "push", "profile")
GRANULAR = {
    "read": (
        "accounts",
        "blocks",
        "bookmarks",
        "favourites",
        "filters",
        "follows",
        "lists",
        "mutes",
        "notifications",
        "search",
        "statuses",
    ),
    "write": (
        "accounts",
        "blocks",
        "bookmarks",
        "conversations",
        "favourites",
        "filters",
        "follows",
        "lists",
        "media",
        "mutes",
        "notifications",
        "reports",
        "statuses",
    ),
}
# Mastodon's admin scopes: admin:read and admin:write grant their granular scopes; the
# top-level read and write grant none of them.
ADMIN_GRANULAR = (
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
)
ADMIN = frozenset(
    {"admin:read", "admin:write"}
    | {f"admin:{mode}:{sub}" for mode in ("read", "write") for sub in ADMIN_GRANULAR}
)
FOLLOW_GRANTS = frozenset(
    {"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes"}
)
KNOWN = (
    frozenset(TOP_LEVEL)
    | {f"{top}:{sub}" for top, subs in GRANULAR.items() for sub in subs}
    | ADMIN
)
DEFAULT = "read"


def parse(raw: str | None, default: str = DEFAULT) -> tuple[str, ...]:
    """Split and validate a scope string; unknown scopes are an Invalid error."""
    words = tuple(dict.fromkeys((raw or default).replace("+", " ").split()))
    unknown = [w for w in words if w not in KNOWN]
    if unknown:
        raise Invalid(f"The requested scope is invalid, unknown, or malformed: {' '.join(unknown)}")
    return words or (DEFAULT,)


def allows(granted: tuple[str, ...] | frozenset[str], required: str) -> bool:
    """Whether a token holding `granted` may use an endpoint that requires `required`."""
    if required in granted:
        return True
    if required.startswith("admin:"):
        return required.rsplit(":", 1)[0] in granted
    top = required.split(":", 1)[0]
    if top in granted:
        return True
    return "follow" in granted and required in FOLLOW_GRANTS


def covers(granted: tuple[str, ...], requested: tuple[str, ...]) -> bool:
    """Whether an app registered with `granted` may hand out a token for `requested`."""
    return all(allows(granted, r) or (r == "follow" and "follow" in granted) for r in requested)
