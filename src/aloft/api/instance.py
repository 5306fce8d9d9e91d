"""Instance metadata: /api/v1/instance, /api/v2/instance, NodeInfo, OAuth server metadata."""

from __future__ import annotations

from typing import Any

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.services import instance, scopes


@endpoint(inline=True)
def instance_v1(ctx: Ctx) -> Any:
    stats = instance.stats(ctx.db)
    return entities.instance_v1(ctx.settings, stats.users, stats.statuses)


@endpoint(inline=True)
def instance_v2(ctx: Ctx) -> Any:
    stats = instance.stats(ctx.db)
    return entities.instance_v2(ctx.settings, stats.active_month)


@endpoint()
def nodeinfo_links(ctx: Ctx) -> Any:
    base = ctx.settings.effective_base_url
    return {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": f"{base}/nodeinfo/2.0",
            }
        ]
    }


@endpoint()
def nodeinfo(ctx: Ctx) -> Any:
    stats = instance.stats(ctx.db)
    return entities.nodeinfo(ctx.settings, stats.users, stats.active_month, stats.statuses)


@endpoint()
def oauth_metadata(ctx: Ctx) -> Any:
    base = ctx.settings.effective_base_url
    return {
        "issuer": f"{base}/",
        "service_documentation": f"{base}/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(scopes.KNOWN),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }


@endpoint()
def empty_list(ctx: Ctx) -> Any:
    """Features we do not have (filters, lists, custom emojis…) answer with nothing."""
    return []
