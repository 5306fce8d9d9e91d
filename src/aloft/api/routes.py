"""The API route table, flat and in the order of the Mastodon documentation.

Every path also answers with a trailing slash (some clients add one), by registering
both forms rather than redirecting: a redirected POST loses its body in some clients.

The table also says which writes may be sent twice (`IDEMPOTENT`, `KEYED`). HAProxy's
configuration is rendered from these sets (`aloft.cluster.render.haproxy_config`): a request
lost with the app that was serving it is replayed on another app only if it reads, or if it
is listed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.routing import Route

import aloft.api.conversations as conversations_api
import aloft.api.media as media_api
import aloft.api.scheduled as scheduled_api
from aloft.api import (
    accounts,
    admin,
    blocks,
    filters,
    follow_requests,
    instance,
    lists,
    markers,
    notifications,
    oauth,
    reports,
    search,
    statuses,
    tags,
    timelines,
    trends,
)

GET, POST, DELETE, PATCH, PUT = ["GET"], ["POST"], ["DELETE"], ["PATCH"], ["PUT"]

TABLE: list[tuple[str, list[str], Callable[..., Any]]] = [
    # instance and discovery
    ("/api/v1/instance", GET, instance.instance_v1),
    ("/api/v2/instance", GET, instance.instance_v2),
    ("/.well-known/nodeinfo", GET, instance.nodeinfo_links),
    ("/nodeinfo/2.0", GET, instance.nodeinfo),
    ("/.well-known/oauth-authorization-server", GET, instance.oauth_metadata),
    # apps and OAuth (GET/POST /oauth/authorize are pages: aloft.web)
    ("/api/v1/apps", POST, oauth.create_app),
    ("/api/v1/apps/verify_credentials", GET, oauth.verify_app),
    ("/oauth/token", POST, oauth.token),
    ("/oauth/revoke", POST, oauth.revoke),
    # accounts
    ("/api/v1/accounts", POST, accounts.register),
    ("/api/v1/accounts/verify_credentials", GET, accounts.verify_credentials),
    ("/api/v1/accounts/update_credentials", PATCH, accounts.update_credentials),
    ("/api/v1/profile/avatar", DELETE, accounts.delete_avatar),
    ("/api/v1/profile/header", DELETE, accounts.delete_header),
    ("/api/v1/accounts/relationships", GET, accounts.relationships),
    ("/api/v1/accounts/lookup", GET, accounts.lookup),
    ("/api/v1/accounts/search", GET, accounts.search_accounts),
    ("/api/v1/accounts/familiar_followers", GET, accounts.familiar_followers),
    ("/api/v1/accounts/{id}", GET, accounts.show),
    ("/api/v1/accounts/{id}/statuses", GET, accounts.statuses),
    ("/api/v1/accounts/{id}/followers", GET, accounts.followers),
    ("/api/v1/accounts/{id}/following", GET, accounts.following),
    ("/api/v1/accounts/{id}/follow", POST, accounts.follow),
    ("/api/v1/accounts/{id}/unfollow", POST, accounts.unfollow),
    ("/api/v1/accounts/{id}/remove_from_followers", POST, accounts.remove_from_followers),
    ("/api/v1/accounts/{id}/note", POST, accounts.note),
    ("/api/v1/accounts/{id}/pin", POST, accounts.endorse),
    ("/api/v1/accounts/{id}/unpin", POST, accounts.unendorse),
    ("/api/v1/accounts/{id}/endorse", POST, accounts.endorse),
    ("/api/v1/accounts/{id}/unendorse", POST, accounts.unendorse),
    ("/api/v1/accounts/{id}/endorsements", GET, accounts.endorsements_of),
    ("/api/v1/endorsements", GET, accounts.endorsements_mine),
    ("/api/v1/preferences", GET, accounts.preferences),
    ("/api/v1/accounts/{id}/block", POST, blocks.block),
    ("/api/v1/accounts/{id}/unblock", POST, blocks.unblock),
    ("/api/v1/accounts/{id}/mute", POST, blocks.mute),
    ("/api/v1/accounts/{id}/unmute", POST, blocks.unmute),
    ("/api/v1/accounts/{id}/featured_tags", GET, tags.of_account),
    ("/api/v1/accounts/{id}/lists", GET, lists.containing),
    # blocks, mutes, domain blocks, reports
    ("/api/v1/blocks", GET, blocks.blocked),
    ("/api/v1/mutes", GET, blocks.muted),
    ("/api/v1/domain_blocks", GET, blocks.domain_blocks),
    ("/api/v1/domain_blocks", POST, blocks.block_domain),
    ("/api/v1/domain_blocks", DELETE, blocks.unblock_domain),
    ("/api/v1/reports", POST, reports.create),
    # statuses
    ("/api/v1/statuses", POST, statuses.create),
    ("/api/v1/statuses", GET, statuses.index),
    ("/api/v1/statuses/{id}", GET, statuses.show),
    ("/api/v1/statuses/{id}", DELETE, statuses.delete),
    ("/api/v1/statuses/{id}", PUT, statuses.update),
    ("/api/v1/statuses/{id}/history", GET, statuses.history),
    ("/api/v1/statuses/{id}/source", GET, statuses.source),
    ("/api/v1/statuses/{id}/context", GET, statuses.context),
    ("/api/v1/statuses/{id}/favourite", POST, statuses.favourite),
    ("/api/v1/statuses/{id}/unfavourite", POST, statuses.unfavourite),
    ("/api/v1/statuses/{id}/reblog", POST, statuses.reblog),
    ("/api/v1/statuses/{id}/unreblog", POST, statuses.unreblog),
    ("/api/v1/statuses/{id}/bookmark", POST, statuses.bookmark),
    ("/api/v1/statuses/{id}/unbookmark", POST, statuses.unbookmark),
    ("/api/v1/statuses/{id}/pin", POST, statuses.pin),
    ("/api/v1/statuses/{id}/unpin", POST, statuses.unpin),
    ("/api/v1/statuses/{id}/mute", POST, statuses.mute),
    ("/api/v1/statuses/{id}/unmute", POST, statuses.unmute),
    ("/api/v1/statuses/{id}/favourited_by", GET, statuses.favourited_by),
    ("/api/v1/statuses/{id}/reblogged_by", GET, statuses.reblogged_by),
    ("/api/v1/favourites", GET, statuses.favourites_list),
    ("/api/v1/bookmarks", GET, statuses.bookmarks_list),
    # scheduled statuses (made by POST /api/v1/statuses with scheduled_at)
    ("/api/v1/scheduled_statuses", GET, scheduled_api.index),
    ("/api/v1/scheduled_statuses/{id}", GET, scheduled_api.show),
    ("/api/v1/scheduled_statuses/{id}", PUT, scheduled_api.update),
    ("/api/v1/scheduled_statuses/{id}", DELETE, scheduled_api.delete),
    # polls
    ("/api/v1/polls/{id}", GET, statuses.poll_show),
    ("/api/v1/polls/{id}/votes", POST, statuses.poll_vote),
    # media (the files themselves: /media/..., in aloft.app)
    ("/api/v2/media", POST, media_api.create_v2),
    ("/api/v1/media", POST, media_api.create_v1),
    ("/api/v1/media/{id}", GET, media_api.show),
    ("/api/v1/media/{id}", ["PUT"], media_api.update),
    # conversations (direct posts)
    ("/api/v1/conversations", GET, conversations_api.index),
    ("/api/v1/conversations/{id}", DELETE, conversations_api.delete),
    ("/api/v1/conversations/{id}/read", POST, conversations_api.read),
    # timelines
    ("/api/v1/timelines/home", GET, timelines.home),
    ("/api/v1/timelines/public", GET, timelines.public),
    ("/api/v1/timelines/tag/{hashtag}", GET, timelines.tag),
    ("/api/v1/timelines/list/{id}", GET, timelines.list_),
    # lists
    ("/api/v1/lists", GET, lists.index),
    ("/api/v1/lists", POST, lists.create),
    ("/api/v1/lists/{id}", GET, lists.show),
    ("/api/v1/lists/{id}", PUT, lists.update),
    ("/api/v1/lists/{id}", DELETE, lists.delete),
    ("/api/v1/lists/{id}/accounts", GET, lists.members),
    ("/api/v1/lists/{id}/accounts", POST, lists.add_members),
    ("/api/v1/lists/{id}/accounts", DELETE, lists.remove_members),
    # follow requests
    ("/api/v1/follow_requests", GET, follow_requests.index),
    ("/api/v1/follow_requests/{account_id}/authorize", POST, follow_requests.authorize),
    ("/api/v1/follow_requests/{account_id}/reject", POST, follow_requests.reject),
    # markers
    ("/api/v1/markers", GET, markers.index),
    ("/api/v1/markers", POST, markers.save),
    # notifications (fixed paths before {id}: the first matching route wins)
    ("/api/v1/notifications", GET, notifications.index),
    ("/api/v1/notifications/clear", POST, notifications.clear),
    ("/api/v1/notifications/unread_count", GET, notifications.unread_count),
    ("/api/v1/notifications/policy", GET, notifications.policy_v1),
    ("/api/v1/notifications/policy", PATCH, notifications.update_policy_v1),
    ("/api/v1/notifications/requests", GET, notifications.requests),
    ("/api/v1/notifications/requests/merged", GET, notifications.requests_merged),
    ("/api/v1/notifications/{id}", GET, notifications.show),
    ("/api/v1/notifications/{id}/dismiss", POST, notifications.dismiss),
    ("/api/v2/notifications", GET, notifications.grouped_index),
    ("/api/v2/notifications/unread_count", GET, notifications.grouped_unread_count),
    ("/api/v2/notifications/policy", GET, notifications.policy),
    ("/api/v2/notifications/policy", PATCH, notifications.update_policy),
    ("/api/v2/notifications/{group_key}", GET, notifications.grouped_show),
    ("/api/v2/notifications/{group_key}/accounts", GET, notifications.grouped_accounts),
    ("/api/v2/notifications/{group_key}/dismiss", POST, notifications.grouped_dismiss),
    # filters (v2, fixed paths before {id}; v1 is a v2 filter's keyword)
    ("/api/v2/filters", GET, filters.index),
    ("/api/v2/filters", POST, filters.create),
    ("/api/v2/filters/keywords/{id}", GET, filters.keyword_show),
    ("/api/v2/filters/keywords/{id}", PUT, filters.keyword_update),
    ("/api/v2/filters/keywords/{id}", DELETE, filters.keyword_delete),
    ("/api/v2/filters/statuses/{id}", GET, filters.status_show),
    ("/api/v2/filters/statuses/{id}", DELETE, filters.status_delete),
    ("/api/v2/filters/{id}", GET, filters.show),
    ("/api/v2/filters/{id}", PUT, filters.update),
    ("/api/v2/filters/{id}", DELETE, filters.delete),
    ("/api/v2/filters/{id}/keywords", GET, filters.keywords_index),
    ("/api/v2/filters/{id}/keywords", POST, filters.keyword_create),
    ("/api/v2/filters/{id}/statuses", GET, filters.statuses_index),
    ("/api/v2/filters/{id}/statuses", POST, filters.status_create),
    ("/api/v1/filters", GET, filters.v1_index),
    ("/api/v1/filters", POST, filters.v1_create),
    ("/api/v1/filters/{id}", GET, filters.v1_show),
    ("/api/v1/filters/{id}", PUT, filters.v1_update),
    ("/api/v1/filters/{id}", DELETE, filters.v1_delete),
    # search
    ("/api/v2/search", GET, search.search),
    # hashtags: followed and featured
    ("/api/v1/tags/{hashtag}", GET, tags.show),
    ("/api/v1/tags/{hashtag}/follow", POST, tags.follow),
    ("/api/v1/tags/{hashtag}/unfollow", POST, tags.unfollow),
    ("/api/v1/followed_tags", GET, tags.followed),
    ("/api/v1/featured_tags", GET, tags.featured),
    ("/api/v1/featured_tags", POST, tags.feature),
    ("/api/v1/featured_tags/suggestions", GET, tags.suggestions),
    ("/api/v1/featured_tags/{id}", DELETE, tags.unfeature),
    # trends (/api/v1/trends is the older path of trending tags)
    ("/api/v1/trends", GET, trends.tags),
    ("/api/v1/trends/tags", GET, trends.tags),
    ("/api/v1/trends/statuses", GET, trends.statuses),
    ("/api/v1/trends/links", GET, trends.links),
    ("/api/v1/timelines/link", GET, trends.link_timeline),
    # moderation (admins only)
    ("/api/v1/admin/reports", GET, admin.reports_index),
    ("/api/v1/admin/reports/{id}", GET, admin.report_show),
    ("/api/v1/admin/reports/{id}/resolve", POST, admin.report_resolve),
    ("/api/v1/admin/accounts/{id}/action", POST, admin.account_action),
    ("/api/v1/admin/accounts/{id}/unsuspend", POST, admin.account_unsuspend),
    # what apps ask for at start-up; we have none of these, so the answer is empty
    ("/api/v1/custom_emojis", GET, instance.empty_list),
    ("/api/v1/announcements", GET, instance.empty_list),
    ("/api/v1/instance/rules", GET, instance.empty_list),
]


# Writes that are idempotent by nature: sending one twice leaves the same state as sending it
# once, and nothing is created twice (each service says why in its docstring). Unique
# constraints make follow, favourite, bookmark and reblog add at most one row (and one
# notification, by its dedupe key); their undo and the deletes remove what is there and
# succeed when there is nothing left. Profile updates and token revocation set a value. A
# replay may answer differently from the first run (a status deleted twice: 404 the second
# time), but it never changes anything the first run did not.
IDEMPOTENT: frozenset[tuple[str, str]] = frozenset(
    {
        ("PATCH", "/api/v1/accounts/update_credentials"),
        ("DELETE", "/api/v1/profile/avatar"),
        ("DELETE", "/api/v1/profile/header"),
        ("POST", "/oauth/revoke"),
        ("POST", "/api/v1/accounts/{id}/follow"),
        ("POST", "/api/v1/accounts/{id}/unfollow"),
        ("POST", "/api/v1/accounts/{id}/remove_from_followers"),
        ("POST", "/api/v1/accounts/{id}/note"),
        ("POST", "/api/v1/accounts/{id}/pin"),
        ("POST", "/api/v1/accounts/{id}/unpin"),
        ("POST", "/api/v1/accounts/{id}/endorse"),
        ("POST", "/api/v1/accounts/{id}/unendorse"),
        ("POST", "/api/v1/accounts/{id}/block"),
        ("POST", "/api/v1/accounts/{id}/unblock"),
        ("POST", "/api/v1/accounts/{id}/mute"),
        ("POST", "/api/v1/accounts/{id}/unmute"),
        ("POST", "/api/v1/domain_blocks"),
        ("POST", "/api/v1/tags/{hashtag}/follow"),
        ("POST", "/api/v1/tags/{hashtag}/unfollow"),
        ("DELETE", "/api/v1/featured_tags/{id}"),
        ("DELETE", "/api/v1/domain_blocks"),
        ("POST", "/api/v1/admin/reports/{id}/resolve"),
        ("DELETE", "/api/v1/statuses/{id}"),
        ("POST", "/api/v1/statuses/{id}/favourite"),
        ("POST", "/api/v1/statuses/{id}/unfavourite"),
        ("POST", "/api/v1/statuses/{id}/reblog"),
        ("POST", "/api/v1/statuses/{id}/unreblog"),
        ("POST", "/api/v1/statuses/{id}/bookmark"),
        ("POST", "/api/v1/statuses/{id}/unbookmark"),
        ("POST", "/api/v1/statuses/{id}/pin"),
        ("POST", "/api/v1/statuses/{id}/unpin"),
        ("POST", "/api/v1/statuses/{id}/mute"),
        ("POST", "/api/v1/statuses/{id}/unmute"),
        ("POST", "/api/v1/polls/{id}/votes"),
        ("PUT", "/api/v1/lists/{id}"),
        ("DELETE", "/api/v1/lists/{id}"),
        ("POST", "/api/v1/lists/{id}/accounts"),
        ("DELETE", "/api/v1/lists/{id}/accounts"),
        ("POST", "/api/v1/notifications/clear"),
        ("POST", "/api/v1/notifications/{id}/dismiss"),
        ("POST", "/api/v2/notifications/{group_key}/dismiss"),
        ("POST", "/api/v1/follow_requests/{account_id}/authorize"),
        ("POST", "/api/v1/follow_requests/{account_id}/reject"),
        ("POST", "/api/v1/markers"),
        ("DELETE", "/api/v2/filters/{id}"),
        ("PUT", "/api/v2/filters/keywords/{id}"),
        ("DELETE", "/api/v2/filters/keywords/{id}"),
        ("DELETE", "/api/v2/filters/statuses/{id}"),
        ("DELETE", "/api/v1/filters/{id}"),
        ("PATCH", "/api/v2/notifications/policy"),
        ("PATCH", "/api/v1/notifications/policy"),
        ("PUT", "/api/v1/scheduled_statuses/{id}"),
        ("DELETE", "/api/v1/scheduled_statuses/{id}"),
        ("POST", "/api/v1/conversations/{id}/read"),
        ("DELETE", "/api/v1/conversations/{id}"),
    }
)

# Writes that honour an Idempotency-Key header: a second request with the same key returns
# what the first one stored. On any other route the header means nothing to us, so it does
# not make a write safe to send twice (a second POST /api/v1/apps is a second app).
KEYED: frozenset[tuple[str, str]] = frozenset({("POST", "/api/v1/statuses")})


def path_pattern(paths: Iterable[str]) -> str:
    """One anchored regular expression that matches exactly these route paths, with or
    without a trailing slash; `{name}` stands for one path segment. Plain syntax that
    Python's `re` and PCRE (HAProxy's `path_reg`) read alike."""
    alternatives = sorted(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) for p in paths)
    return "^(?:" + "|".join(alternatives) + ")/?$"


def routes() -> list[Route]:
    out = []
    for path, methods, handler in TABLE:
        out.append(Route(path, handler, methods=methods))
        out.append(Route(path + "/", handler, methods=methods))
    return out
