"""Mastodon entities: the JSON shapes clients expect, built in one place.

Field names, types and nullability follow the Mastodon documentation (checked against
`shared/mastodon-openapi/schema.json` by tests/api/test_entities.py). IDs are strings.
Fields for features this server does not have (custom emojis, cards) are
present with empty values, because clients read them unconditionally.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy.engine import Row

from aloft import VERSION_STRING, __version__
from aloft.config import Settings
from aloft.services import pins, polls, profile
from aloft.services.accounts import Relationship
from aloft.services.auth import IssuedToken
from aloft.services.conversations import participant_ids
from aloft.services.edits import History, Revision
from aloft.services.featured_tags import MAX_FEATURED, FeaturedView
from aloft.services.filtering import Match
from aloft.services.filters import FilterView, KeywordView, contexts_of
from aloft.services.hashtags import Day, TagView
from aloft.services.loader import Bundle
from aloft.services.markers import Marker
from aloft.services.notifications import GROUPABLE, Group, GroupPage, group_of
from aloft.services.polls import PollView
from aloft.services.scheduled import Scheduled
from aloft.services.transcoder import IMAGE_TYPES, LIMITS, VIDEO_TYPES, ffmpeg_missing
from aloft.services.trends import LinkView
from aloft.services.visibility import NAMES

AVATAR_PATH = "/static/avatar.png"
GROUPED_BY_DEFAULT = frozenset(GROUPABLE)
HEADER_PATH = "/static/header.png"


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as Mastodon writes times."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(ts: datetime) -> str:
    """Account creation times are given to the day (midnight UTC), as Mastodon does."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


def _picture(row: Row, base: str, part: str) -> str:
    """The URL of an account's avatar or header: its stored file (aloft.services.pictures;
    the path is on the account row, so no query), else the default. A suspended account
    shows the default, as Mastodon."""
    path = getattr(row, f"{part}_path", None)
    if path and getattr(row, "suspended_at", None) is None:
        return f"{base}/media/{path}"
    return base + (AVATAR_PATH if part == "avatar" else HEADER_PATH)


def _alt(row: Row, part: str) -> str:
    if getattr(row, "suspended_at", None) is not None:
        return ""
    return str(getattr(row, f"{part}_description", None) or "")


# Account entities by the row they are made of and the base URL, as `_shown` keeps
# statuses: a changed row is another key. A page of notifications built the same few
# accounts again and again (a quarter of its time; issue 11). Shared, so never changed:
# callers that add fields copy first (`credential_account`).
_accounts: dict[tuple[Row, str], dict[str, Any]] = {}


def account(row: Row, base: str) -> dict[str, Any]:
    """An Account (the same dict for the same row and base: never change it)."""
    key = (row, base)
    found = _accounts.get(key)
    if found is None:
        if len(_accounts) >= SHOWN_SIZE:
            _accounts.clear()
        found = _accounts[key] = _account(row, base)
    return found


def _account(row: Row, base: str) -> dict[str, Any]:
    # One file for both: an animated GIF is stored as its first frame (services/pictures).
    avatar = _picture(row, base, "avatar")
    header = _picture(row, base, "header")
    return {
        "id": str(row.id),
        "username": row.username,
        "acct": row.username,
        "display_name": row.display_name,
        "locked": row.locked,
        "bot": row.bot,
        "discoverable": row.discoverable,
        "indexable": row.indexable,
        "group": False,
        "hide_collections": row.hide_collections,
        "noindex": False,
        "created_at": _day(row.created_at),
        "note": row.note,
        "url": f"{base}/@{row.username}",
        "uri": f"{base}/users/{row.username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": _alt(row, "avatar"),
        "header": header,
        "header_static": header,
        "header_description": _alt(row, "header"),
        "followers_count": row.followers_count,
        "following_count": row.following_count,
        "statuses_count": row.statuses_count,
        "last_status_at": row.last_status_at.strftime("%Y-%m-%d") if row.last_status_at else None,
        "emojis": [],
        "fields": profile.fields_shown(row.fields, base),
        "roles": [],
    } | (_suspended() if getattr(row, "suspended_at", None) is not None else {})


def _suspended() -> dict[str, Any]:
    """What a suspended account's profile shows, as Mastodon's serializer blanks it."""
    return {
        "suspended": True,
        "display_name": "",
        "note": "",
        "locked": False,
        "bot": False,
        "discoverable": False,
        "emojis": [],
        "fields": [],
    }


def credential_account(row: Row, base: str, follow_requests_count: int = 0) -> dict[str, Any]:
    data = dict(account(row, base))  # a copy: account() is shared
    data["source"] = {
        "privacy": row.default_privacy,
        "sensitive": row.default_sensitive,
        "language": row.default_language,
        "note": row.note_source,
        "fields": profile.fields_source(row.fields),
        "follow_requests_count": follow_requests_count,
        "indexable": row.indexable,
        "hide_collections": row.hide_collections,
        "discoverable": row.discoverable,
    }
    data["role"] = {
        "id": "3" if row.is_admin else "-99",
        "name": "Admin" if row.is_admin else "",
        "color": "",
        "permissions": "1" if row.is_admin else "0",
        "highlighted": bool(row.is_admin),
    }
    return data


# The part of a Status every viewer sees alike, by everything it is made of (the status's
# row, its author's, its application's, its media, mentions and tags, the base URL): a row
# that changes (a count, an edit, a new display name) makes another key, so nothing shown
# is ever older than the rows just read. Building it was a quarter of a home page's time
# (issue 11); a popular status is shown to many viewers. Entries are shared between
# requests, so nothing may change a dict this module returns (nothing does: they are
# serialized).
SHOWN_SIZE = 4096
_shown: dict[tuple[Any, ...], dict[str, Any]] = {}


def _shown_part(row: Row, bundle: Bundle, base: str) -> dict[str, Any]:
    author = bundle.accounts[row.account_id]
    app = bundle.apps.get(row.app_id) if row.app_id else None
    media = tuple(bundle.media.get(row.id, ()))
    mentions = tuple(bundle.mentions.get(row.id, ()))
    tags = tuple(bundle.tags.get(row.id, ()))
    key = (row, author, app, media, mentions, tags, base)
    found = _shown.get(key)
    if found is not None:
        return found
    found = {
        "id": str(row.id),
        "created_at": iso(row.created_at),
        "in_reply_to_id": str(row.in_reply_to_id) if row.in_reply_to_id else None,
        "in_reply_to_account_id": (
            str(row.in_reply_to_account_id) if row.in_reply_to_account_id else None
        ),
        "sensitive": row.sensitive,
        "spoiler_text": row.spoiler_text,
        "visibility": NAMES[row.visibility],
        "language": row.language,
        "uri": f"{base}/users/{author.username}/statuses/{row.id}",
        "url": f"{base}/@{author.username}/{row.id}",
        "replies_count": row.replies_count,
        "reblogs_count": row.reblogs_count,
        "favourites_count": row.favourites_count,
        "edited_at": iso(row.edited_at),
        "content": row.content,
        "application": {"name": app.name, "website": app.website} if app else None,
        "account": account(author, base),
        "media_attachments": [media_attachment(m, base) for m in media],
        "mentions": [
            {
                "id": str(m.id),
                "username": m.username,
                "url": f"{base}/@{m.username}",
                "acct": m.username,
            }
            for m in mentions
        ],
        "tags": [{"name": t, "url": f"{base}/tags/{t}"} for t in tags],
        "emojis": [],
        "card": None,
    }
    if len(_shown) >= SHOWN_SIZE:
        _shown.clear()  # simpler than an LRU, and a page fills it again in a millisecond
    _shown[key] = found
    return found


def status(
    row: Row,
    bundle: Bundle,
    base: str,
    with_source: bool = False,
) -> dict[str, Any]:
    """A Status as `bundle.viewer_id` sees it (its author's Account comes from `account`,
    which keeps each built Account by its row)."""
    original = bundle.statuses.get(row.reblog_of_id) if row.reblog_of_id else None
    content_id = original.id if original is not None else row.id
    data = dict(_shown_part(row, bundle, base))
    data["reblog"] = status(original, bundle, base) if original is not None else None
    # The poll carries the viewer's own votes.
    data["poll"] = poll(bundle.polls[row.poll_id]) if row.poll_id in bundle.polls else None
    if bundle.viewer_id is not None:
        data["favourited"] = content_id in bundle.favourited
        data["reblogged"] = content_id in bundle.reblogged
        data["bookmarked"] = content_id in bundle.bookmarked
        data["muted"] = content_id in bundle.muted
        data["filtered"] = [filter_result(m) for m in bundle.filtered.get(row.id, ())]
        if row.account_id == bundle.viewer_id and original is None:
            # Mastodon sends `pinned` only on the viewer's own statuses.
            data["pinned"] = row.id in bundle.pinned
    if with_source:
        data["text"] = row.text
    return data


def media_attachment(row: Row, base: str) -> dict[str, Any]:
    """A MediaAttachment. `url` and `preview_url` are null while a video is processing; file
    URLs carry the attachment's random token (aloft.services.media.file)."""
    ready = row.state == "ready"
    folder = f"{base}/media/{row.id}/{row.token}"
    original = row.ext or "bin"
    small = "jpg" if row.type in ("video", "gifv") else original
    return {
        "id": str(row.id),
        "type": row.type,
        "url": f"{folder}/original.{original}" if ready else None,
        "preview_url": f"{folder}/small.{small}" if ready else None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": _media_meta(row),
        "description": row.description,
        "blurhash": row.blurhash,
    }


def scheduled_status(item: Scheduled, base: str) -> dict[str, Any]:
    """A ScheduledStatus: the post's `params` as they were asked for, and its media."""
    return {
        "id": str(item.row.id),
        "scheduled_at": iso(item.row.scheduled_at),
        "params": item.params,
        "media_attachments": [media_attachment(m, base) for m in item.media],
    }


def conversation(row: Row, bundle: Bundle, base: str) -> dict[str, Any]:
    """A Conversation: the other participants (the account itself when there are none, as
    Mastodon shows it) and the last status as the account sees it."""
    others = [bundle.accounts[i] for i in participant_ids(row) if i in bundle.accounts]
    if not others:
        others = [bundle.accounts[row.account_id]]
    last = bundle.statuses.get(row.last_status_id)
    return {
        "id": str(row.id),
        "unread": row.unread,
        "accounts": [account(a, base) for a in others],
        "last_status": status(last, bundle, base) if last is not None else None,
    }


def poll(view: PollView) -> dict[str, Any]:
    """A Poll. Totals hidden (`hide_totals`) show as null until it ends (Mastodon's
    show_totals_now?); `voted`/`own_votes` only with a viewer, and its author counts as
    having voted, as Mastodon's Poll#voted? says."""
    row = view.row
    ended = polls.expired(row)
    hidden = row.hide_totals and not ended
    data: dict[str, Any] = {
        "id": str(row.id),
        "expires_at": iso(row.expires_at),
        "expired": ended,
        "multiple": row.multiple,
        "votes_count": row.votes_count,
        "voters_count": row.voters_count,
        "options": [
            {"title": o.title, "votes_count": None if hidden else o.option_votes}
            for o in view.options
        ],
        "emojis": [],
    }
    if view.own_votes is not None:
        data["voted"] = bool(view.own_votes) or _is_author(view)
        data["own_votes"] = list(view.own_votes)
    return data


def _is_author(view: PollView) -> bool:
    return view.viewer_id is not None and view.viewer_id == view.row.account_id


def status_edit(edit: Revision, history: History, base: str) -> dict[str, Any]:
    """A StatusEdit: one revision, as `aloft.services.edits.history` returns them."""
    options = edit.poll_options
    return {
        "content": edit.content,
        "spoiler_text": edit.spoiler_text,
        "sensitive": edit.sensitive,
        "created_at": iso(edit.created_at),
        "account": account(history.accounts[edit.account_id], base),
        "poll": {"options": [{"title": t} for t in options]} if options is not None else None,
        "media_attachments": [
            media_attachment(history.media[i], base) for i in edit.media_ids if i in history.media
        ],
        "emojis": [],
    }


def status_source(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "text": row.text, "spoiler_text": row.spoiler_text}


def _media_meta(row: Row) -> dict[str, Any]:
    """Sizes from processing (stored as JSON), plus the focal point if one is set."""
    data: dict[str, Any] = orjson.loads(row.meta or "{}")
    if row.focus_x is not None:
        data["focus"] = {"x": row.focus_x, "y": row.focus_y}
    return data


def statuses(rows: list[Row], bundle: Bundle, base: str) -> list[dict[str, Any]]:
    return [status(row, bundle, base) for row in rows]


def notification(row: Row, bundle: Bundle, base: str) -> dict[str, Any]:
    status_row = bundle.statuses.get(row.status_id) if row.status_id else None
    return {
        "id": str(row.id),
        "type": row.type,
        # The group it is in for a client that groups every type we group (Mastodon 4.3):
        # a streamed notification joins its group in a grouped view by this key.
        "group_key": group_of(row, GROUPED_BY_DEFAULT),
        "created_at": iso(row.created_at),
        "account": account(bundle.accounts[row.from_account_id], base),
        "status": status(status_row, bundle, base) if status_row is not None else None,
    }


def partial_account(row: Row, base: str) -> dict[str, Any]:
    """PartialAccountWithAvatar: what grouped notifications send with
    expand_accounts=partial_avatars for accounts beyond each group's newest."""
    avatar = _picture(row, base, "avatar")
    return {
        "id": str(row.id),
        "acct": row.username,
        "locked": row.locked,
        "bot": row.bot,
        "url": f"{base}/@{row.username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": _alt(row, "avatar"),
    }


# Notification types whose group carries the status it is about.
STATUS_TYPES = ("favourite", "reblog", "status", "mention", "poll", "update")


def notification_group(group: Group) -> dict[str, Any]:
    row = group.notification
    data: dict[str, Any] = {
        "group_key": group.key,
        "notifications_count": group.count,
        "type": row.type,
        # A string, as Mastodon sends it and clients read it (the OpenAPI description says
        # integer; see KNOWN_SCHEMA_DEVIATIONS in tests/api/test_entities.py).
        "most_recent_notification_id": str(group.most_recent_id),
        "sample_account_ids": [str(i) for i in group.sample_account_ids],
    }
    if group.page_max_id is not None:
        data["page_min_id"] = str(group.page_min_id)
        data["page_max_id"] = str(group.page_max_id)
        data["latest_page_notification_at"] = iso(group.latest_at)
    if row.type in STATUS_TYPES:
        data["status_id"] = str(row.status_id) if row.status_id else None
    return data


def grouped_notifications(page: GroupPage, base: str, partial_avatars: bool) -> dict[str, Any]:
    """GroupedNotificationsResults: every account and status once, groups refer to them by
    id. With partial avatars only each group's newest account is sent in full, the others
    as partial accounts (Mastodon's GroupedNotificationsPresenter)."""
    bundle = page.bundle
    full: list[int] = []
    for group in page.groups:
        wanted = group.sample_account_ids[:1] if partial_avatars else group.sample_account_ids
        full.extend(i for i in wanted if i not in full)
    status_ids: list[int] = []
    for group in page.groups:
        sid = group.notification.status_id
        shown = group.notification.type in STATUS_TYPES and sid in bundle.statuses
        if shown and sid not in status_ids:
            status_ids.append(sid)
    data: dict[str, Any] = {
        "accounts": [account(bundle.accounts[i], base) for i in full],
        "statuses": [status(bundle.statuses[i], bundle, base) for i in status_ids],
        "notification_groups": [notification_group(g) for g in page.groups],
    }
    if partial_avatars:
        rest: list[int] = []
        for group in page.groups:
            rest.extend(i for i in group.sample_account_ids[1:] if i not in full and i not in rest)
        data["partial_accounts"] = [partial_account(bundle.accounts[i], base) for i in rest]
    return data


def marker(m: Marker) -> dict[str, Any]:
    return {
        "last_read_id": str(m.last_read_id),
        "version": m.version,
        "updated_at": iso(m.updated_at),
    }


def notification_policy() -> dict[str, Any]:
    """NotificationPolicy: nothing is filtered on this server, so every answer is accept."""
    return {
        "for_not_following": "accept",
        "for_not_followers": "accept",
        "for_new_accounts": "accept",
        "for_private_mentions": "accept",
        "for_limited_accounts": "accept",
        "summary": {
            "pending_requests_count": 0,
            "pending_notifications_count": 0,
        },
    }


def notification_policy_v1() -> dict[str, Any]:
    return {
        "filter_not_following": False,
        "filter_not_followers": False,
        "filter_new_accounts": False,
        "filter_private_mentions": False,
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }


def relationship(rel: Relationship) -> dict[str, Any]:
    return {
        "id": str(rel.id),
        "following": rel.following,
        "showing_reblogs": rel.following,
        "notifying": False,
        "languages": None,
        "followed_by": rel.followed_by,
        "blocking": rel.blocking,
        "blocked_by": rel.blocked_by,
        "muting": rel.muting,
        "muting_notifications": rel.muting_notifications,
        "requested": rel.requested,
        "requested_by": rel.requested_by,
        "domain_blocking": False,
        "endorsed": rel.endorsed,
        "note": rel.note,
    }


def application(row: Row, with_credentials: bool = False) -> dict[str, Any]:
    uris = row.redirect_uris.split("\n")
    data: dict[str, Any] = {
        "id": str(row.id),
        "name": row.name,
        "website": row.website,
        "scopes": row.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if with_credentials:
        data["client_id"] = row.client_id
        data["client_secret"] = row.client_secret
        data["client_secret_expires_at"] = 0
    return data


def token(issued: IssuedToken) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": " ".join(issued.scopes),
        "created_at": int(issued.created_at.timestamp()),
    }


def _limits() -> dict[str, Any]:
    return {
        "statuses": {
            "max_characters": 500,
            "max_media_attachments": LIMITS.attachments,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            # Video and animated GIFs need ffmpeg; without it only still images are taken.
            "supported_mime_types": list(IMAGE_TYPES)
            + ([] if ffmpeg_missing() else list(VIDEO_TYPES)),
            "image_size_limit": LIMITS.image_size,
            "image_matrix_limit": LIMITS.image_matrix,
            "video_size_limit": LIMITS.video_size,
            "video_frame_rate_limit": LIMITS.video_frame_rate,
            "video_matrix_limit": LIMITS.video_matrix,
            "description_limit": LIMITS.description,
        },
        "polls": {
            "max_options": polls.MAX_OPTIONS,
            "max_characters_per_option": polls.MAX_OPTION_CHARS,
            "min_expiration": polls.MIN_EXPIRATION,
            "max_expiration": polls.MAX_EXPIRATION,
        },
    }


def instance_v1(settings: Settings, users: int, statuses_total: int) -> dict[str, Any]:
    base = settings.effective_base_url
    config = _limits()
    config["accounts"] = {"max_featured_tags": MAX_FEATURED}
    return {
        "uri": settings.domain,
        "title": settings.instance_title,
        "short_description": settings.instance_description,
        "description": settings.instance_description,
        "email": settings.contact_email,
        "version": VERSION_STRING,
        "urls": {"streaming_api": base.replace("http", "ws", 1)},
        "stats": {"user_count": users, "status_count": statuses_total, "domain_count": 0},
        "thumbnail": None,
        "languages": ["en"],
        "registrations": settings.registrations,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": config,
        "contact_account": None,
        "rules": [],
    }


def instance_v2(settings: Settings, active_month: int) -> dict[str, Any]:
    base = settings.effective_base_url
    config = _limits()
    config["accounts"] = {"max_featured_tags": MAX_FEATURED, "max_pinned_statuses": pins.MAX_PINNED}
    config["translation"] = {"enabled": False}
    config["urls"] = {"streaming": base.replace("http", "ws", 1), "status": None}
    return {
        "domain": settings.domain,
        "title": settings.instance_title,
        "version": VERSION_STRING,
        "source_url": base,
        "description": settings.instance_description,
        "usage": {"users": {"active_month": active_month}},
        "thumbnail": {"url": base + HEADER_PATH},
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {
            "enabled": settings.registrations,
            "approval_required": False,
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": settings.contact_email, "account": None},
        "rules": [],
    }


def nodeinfo(settings: Settings, users: int, active_month: int, posts: int) -> dict[str, Any]:
    return {
        "version": "2.0",
        "software": {"name": "aloft", "version": __version__},
        "protocols": [],
        "services": {"inbound": [], "outbound": []},
        "usage": {
            "users": {"total": users, "activeMonth": active_month, "activeHalfyear": active_month},
            "localPosts": posts,
        },
        "openRegistrations": settings.registrations,
        "metadata": {"nodeName": settings.instance_title},
    }


def muted_account(row: Row, base: str) -> dict[str, Any]:
    """An account in GET /api/v1/mutes: with when its mute ends (null: never)."""
    return account(row, base) | {"mute_expires_at": iso(row.mute_expires_at)}


def report(row: Row, target: Row, base: str) -> dict[str, Any]:
    """Report, as its author sees it."""
    return {
        "id": str(row.id),
        "action_taken": row.action_taken_at is not None,
        "action_taken_at": iso(row.action_taken_at),
        "category": row.category,
        "comment": row.comment,
        "forwarded": row.forwarded,
        "created_at": iso(row.created_at),
        "status_ids": status_ids_of(row),
        "rule_ids": [],
        "target_account": account(target, base),
    }


def status_ids_of(row: Row) -> list[str]:
    return list(orjson.loads(row.status_ids or "[]"))


def admin_account(row: Row, base: str) -> dict[str, Any]:
    """Admin::Account: what a moderator sees of an account."""
    role = credential_account(row, base)["role"]
    return {
        "id": str(row.id),
        "username": row.username,
        "domain": None,
        "created_at": iso(row.created_at),
        "email": row.email,
        "ip": None,
        "ips": [],
        "locale": "",
        "invite_request": None,
        "role": role,
        "confirmed": True,
        "approved": True,
        "disabled": False,
        "silenced": False,
        "suspended": row.suspended_at is not None,
        "sensitized": False,
        "account": account(row, base),
    }


def admin_report(
    row: Row, people: dict[int, Row], shown: dict[int, Row], bundle: Bundle, base: str
) -> dict[str, Any]:
    """Admin::Report: the report with its reporter, target and statuses in full. `people`
    holds the accounts involved, `shown` the reported statuses that still exist."""
    taken_by = row.action_taken_by_account_id
    return {
        "id": str(row.id),
        "action_taken": row.action_taken_at is not None,
        "action_taken_at": iso(row.action_taken_at),
        "category": row.category,
        "comment": row.comment,
        "forwarded": row.forwarded,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.action_taken_at or row.created_at),
        "account": admin_account(people[row.account_id], base),
        "target_account": admin_account(people[row.target_account_id], base),
        "assigned_account": None,
        "action_taken_by_account": (
            admin_account(people[taken_by], base) if taken_by in people else None
        ),
        "statuses": [
            status(shown[int(i)], bundle, base) for i in status_ids_of(row) if int(i) in shown
        ],
        "rules": [],
    }


def list_entity(row: Row) -> dict[str, Any]:
    """A List (GET /api/v1/lists and the like)."""
    return {
        "id": str(row.id),
        "title": row.title,
        "replies_policy": row.replies_policy,
        "exclusive": bool(row.exclusive),
    }


def _tag_history(history: list[Day]) -> list[dict[str, str]]:
    return [{"day": str(d.day), "uses": str(d.uses), "accounts": str(d.accounts)} for d in history]


def tag(view: TagView, base: str) -> dict[str, Any]:
    """A Tag with its history; `following` only for a signed-in viewer, as Mastodon. A tag
    that is not stored (never used, never followed) has the id ""."""
    data: dict[str, Any] = {
        "id": "" if view.id is None else str(view.id),
        "name": view.name,
        "url": f"{base}/tags/{quote(view.name)}",
        "history": _tag_history(view.history),
    }
    if view.following is not None:
        data["following"] = view.following
    return data


def featured_tag(view: FeaturedView, base: str) -> dict[str, Any]:
    """A FeaturedTag: statuses_count as a string and last_status_at as a date, as Mastodon
    sends them."""
    return {
        "id": str(view.id),
        "name": view.name,
        "url": f"{base}/@{view.username}/tagged/{quote(view.tag_name)}",
        "statuses_count": str(view.statuses_count),
        "last_status_at": (
            view.last_status_at.astimezone(UTC).strftime("%Y-%m-%d")
            if view.last_status_at is not None
            else None
        ),
    }


def trends_link(view: LinkView) -> dict[str, Any]:
    """A TrendsLink: a PreviewCard with history. Nothing is fetched from the page, so what
    only the page could tell (title, description, image, author) is empty."""
    return {
        "url": view.url,
        "title": "",
        "description": "",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": "",
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "embed_url": "",
        "blurhash": None,
        "authors": [],
        "history": _tag_history(view.history),
    }


# -- filters (aloft.services.filters, aloft.services.filtering) ------------------------------


def filter_v2(row: Row, view: FilterView | None = None) -> dict[str, Any]:
    """A Filter; with its keywords and statuses when `view` has them (Mastodon leaves
    both out of the filter inside a FilterResult)."""
    data: dict[str, Any] = {
        "id": str(row.id),
        "title": row.title,
        "context": contexts_of(row),
        "expires_at": iso(row.expires_at),
        "filter_action": row.action,
    }
    if view is not None:
        data["keywords"] = [filter_keyword(k) for k in view.keywords]
        data["statuses"] = [filter_status(s) for s in view.statuses]
    return data


def filter_keyword(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "keyword": row.keyword, "whole_word": row.whole_word}


def filter_status(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "status_id": str(row.status_id)}


def filter_result(match: Match) -> dict[str, Any]:
    return {
        "filter": filter_v2(match.filter),
        "keyword_matches": list(match.keyword_matches) if match.keyword_matches else None,
        "status_matches": [str(i) for i in match.status_matches] if match.status_matches else None,
    }


def filter_v1(view: KeywordView) -> dict[str, Any]:
    """A V1::Filter: one keyword, with its filter's context, expiry and action."""
    return {
        "id": str(view.row.id),
        "phrase": view.row.keyword,
        "context": contexts_of(view.filter),
        "whole_word": view.row.whole_word,
        "expires_at": iso(view.filter.expires_at),
        "irreversible": view.filter.action == "hide",
    }
