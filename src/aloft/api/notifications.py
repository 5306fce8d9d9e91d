"""/api/v1/notifications and /api/v2/notifications (grouped), unread counts, and the
notification policy and requests (nothing is ever filtered here, so the policy accepts
everything and there are never requests)."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import link_headers, page_request, paged
from aloft.api.params import path_id
from aloft.api.responses import json_response
from aloft.errors import Invalid
from aloft.services import notifications
from aloft.services.pages import Page

EXPAND_ACCOUNTS = ("full", "partial_avatars")
POLICY_VALUES = ("accept", "filter", "drop")
NOT_FILTERED = "this server does not filter notifications"


def _no_fallbacks(ctx: Ctx) -> None:
    """`supported_types` asks for no fallback representation of the types named; no
    notification here has one, so the list is read (it must be a list) and changes nothing."""
    ctx.params.strings("supported_types")


def _filters(ctx: Ctx) -> notifications.Filters:
    p = ctx.params
    _no_fallbacks(ctx)
    return notifications.Filters(
        types=p.strings("types"),
        exclude_types=p.strings("exclude_types"),
        account_id=p.id("account_id"),
    )


@endpoint(scope="read:notifications", user=True, inline=True)
def index(ctx: Ctx) -> Any:
    # Nothing is ever filtered here, so every notification is already included.
    ctx.params.flag("include_filtered")
    page, bundle = notifications.list_page(
        ctx.db, ctx.viewer, page_request(ctx, 80, 40), _filters(ctx)
    )
    base = ctx.settings.effective_base_url
    body = [entities.notification(row, bundle, base) for row in page.items]
    return paged(ctx.request, base, page, body)


@endpoint(scope="read:notifications", user=True)
def show(ctx: Ctx) -> Any:
    _no_fallbacks(ctx)
    row, bundle = notifications.get(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return entities.notification(row, bundle, ctx.settings.effective_base_url)


@endpoint(scope="write:notifications", user=True)
def dismiss(ctx: Ctx) -> Any:
    notifications.dismiss(ctx.db, ctx.viewer, path_id(ctx.path("id")))
    return {}


@endpoint(scope="write:notifications", user=True)
def clear(ctx: Ctx) -> Any:
    notifications.clear(ctx.db, ctx.viewer)
    return {}


def _count_limit(ctx: Ctx) -> int:
    """Unread counts: 100 by default, at most 1,000, as Mastodon caps them."""
    limit = ctx.params.number("limit", 100)
    assert limit is not None
    if limit < 0:
        raise Invalid("limit must not be negative")
    return max(1, min(limit, 1000))


@endpoint(scope="read:notifications", user=True)
def unread_count(ctx: Ctx) -> Any:
    count = notifications.unread_count(ctx.db, ctx.viewer, _count_limit(ctx), _filters(ctx))
    return {"count": count}


# --- v2: grouped ---------------------------------------------------------------------------


def _grouped_names(ctx: Ctx) -> list[str] | None:
    return ctx.params.strings("grouped_types") if ctx.params.has("grouped_types") else None


@endpoint(scope="read:notifications", user=True)
def grouped_index(ctx: Ctx) -> Any:
    p = ctx.params
    expand = p.string("expand_accounts") or "full"
    if expand not in EXPAND_ACCOUNTS:
        raise Invalid(
            f"Invalid value for 'expand_accounts': '{expand}', "
            "allowed values are 'full' and 'partial_avatars'"
        )
    # Nothing is ever filtered here, so every notification is already included.
    p.flag("include_filtered")
    group_page = notifications.grouped_page(
        ctx.db, ctx.viewer, page_request(ctx, 80, 40), _filters(ctx), _grouped_names(ctx)
    )
    base = ctx.settings.effective_base_url
    body = entities.grouped_notifications(group_page, base, expand == "partial_avatars")
    page = Page.of(group_page.groups, group_page.keys)
    return json_response(body, headers=link_headers(ctx.request, base, page))


@endpoint(scope="read:notifications", user=True)
def grouped_show(ctx: Ctx) -> Any:
    _no_fallbacks(ctx)
    group_page = notifications.group(ctx.db, ctx.viewer, ctx.path("group_key"))
    return entities.grouped_notifications(group_page, ctx.settings.effective_base_url, False)


@endpoint(scope="read:notifications", user=True)
def grouped_accounts(ctx: Ctx) -> Any:
    page, bundle = notifications.group_accounts(
        ctx.db, ctx.viewer, ctx.path("group_key"), page_request(ctx, 80, 40)
    )
    base = ctx.settings.effective_base_url
    body = [entities.account(bundle.accounts[row.from_account_id], base) for row in page.items]
    return paged(ctx.request, base, page, body)


@endpoint(scope="write:notifications", user=True)
def grouped_dismiss(ctx: Ctx) -> Any:
    notifications.dismiss_group(ctx.db, ctx.viewer, ctx.path("group_key"))
    return {}


@endpoint(scope="read:notifications", user=True)
def grouped_unread_count(ctx: Ctx) -> Any:
    count = notifications.unread_group_count(
        ctx.db, ctx.viewer, _count_limit(ctx), _filters(ctx), _grouped_names(ctx)
    )
    return {"count": count}


# --- policy and requests -------------------------------------------------------------------


def _refuse_filtering(ctx: Ctx) -> None:
    """Only `accept` (v2) or false (v1) can be honoured: nothing is filtered here. Each name
    is read as a literal, so the fuzz test (tests/api/handlerparams.py) finds it."""
    p = ctx.params
    v2 = {
        "for_not_following": p.string("for_not_following"),
        "for_not_followers": p.string("for_not_followers"),
        "for_new_accounts": p.string("for_new_accounts"),
        "for_private_mentions": p.string("for_private_mentions"),
        "for_limited_accounts": p.string("for_limited_accounts"),
    }
    for name, value in v2.items():
        if value is None:
            continue
        if value not in POLICY_VALUES:
            raise Invalid(f"{name} must be one of accept, filter, drop")
        if value != "accept":
            raise Invalid(f"{name}={value} is not supported: {NOT_FILTERED}")
    v1 = {
        "filter_not_following": p.flag("filter_not_following"),
        "filter_not_followers": p.flag("filter_not_followers"),
        "filter_new_accounts": p.flag("filter_new_accounts"),
        "filter_private_mentions": p.flag("filter_private_mentions"),
    }
    for name, on in v1.items():
        if on:
            raise Invalid(f"{name}=true is not supported: {NOT_FILTERED}")


@endpoint(scope="read:notifications", user=True)
def policy(ctx: Ctx) -> Any:
    return entities.notification_policy()


@endpoint(scope="write:notifications", user=True)
def update_policy(ctx: Ctx) -> Any:
    _refuse_filtering(ctx)
    return entities.notification_policy()


@endpoint(scope="read:notifications", user=True)
def policy_v1(ctx: Ctx) -> Any:
    return entities.notification_policy_v1()


@endpoint(scope="write:notifications", user=True)
def update_policy_v1(ctx: Ctx) -> Any:
    _refuse_filtering(ctx)
    return entities.notification_policy_v1()


@endpoint(scope="read:notifications", user=True)
def requests(ctx: Ctx) -> Any:
    page_request(ctx, 80, 40)  # the cursors are checked even though the list is empty
    return []


@endpoint(scope="read:notifications", user=True)
def requests_merged(ctx: Ctx) -> Any:
    return {"merged": True}
