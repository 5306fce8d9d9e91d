"""/api/v1/accounts: registration, profiles, follows, relationships, search."""

from __future__ import annotations

from typing import Any

from aloft.api import entities, unsupported
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.links import page_request, paged
from aloft.api.params import Params, path_id
from aloft.errors import Forbidden, Invalid
from aloft.services import (
    account_notes,
    accounts,
    endorsements,
    limits,
    pictures,
    search,
    timelines,
)
from aloft.services.statuses import LANGUAGE


def _base(ctx: Ctx) -> str:
    return ctx.settings.effective_base_url


@endpoint(scope="write:accounts", limit=limits.REGISTRATION, limit_by_ip=True)
def register(ctx: Ctx) -> Any:
    if not ctx.settings.registrations:
        raise Forbidden("Registrations are closed on this server")
    p = ctx.params
    if not p.flag("agreement"):
        raise Invalid.on("agreement", "ERR_ACCEPTED", "must be accepted")
    # The language of e-mails and pages for the person; this server sends none and its
    # pages are in English, so it is checked and has no effect.
    locale = p.string("locale")
    if locale and not LANGUAGE.match(locale):
        raise Invalid.on("locale", "ERR_INVALID", "is not a valid language code")
    new = accounts.NewAccount(
        username=p.string("username", required=True) or "",
        email=p.string("email", required=True) or "",
        password=p.string("password", required=True) or "",
    )
    app_scopes = tuple(sorted(ctx.viewer.scopes)) or ("read",)
    # One unit of work: the account and its token commit together or not at all.
    _account, issued = accounts.register(ctx.db, new, ctx.viewer.app_id or 0, app_scopes)
    return entities.token(issued)


def _credential(ctx: Ctx, row: Any) -> Any:
    waiting = accounts.follow_requests_count(ctx.db, ctx.me)
    return entities.credential_account(row, _base(ctx), waiting)


@endpoint(scope="read:accounts", user=True, inline=True)
def verify_credentials(ctx: Ctx) -> Any:
    return _credential(ctx, accounts.get(ctx.db, ctx.me))


# An avatar and a header, each within the pictures' limit, and the form around them.
PICTURES_BODY = 2 * pictures.SIZE_LIMIT + 1024 * 1024


@endpoint(scope="write:accounts", user=True, upload=PICTURES_BODY, files=2)
def update_credentials(ctx: Ctx) -> Any:
    p = ctx.params
    # Checked and cropped before the one write: a bad file changes nothing.
    new_pictures = [
        pictures.prepare(part, sent.file.read())
        for part, sent in ((pictures.AVATAR, p.file("avatar")), (pictures.HEADER, p.file("header")))
        if sent is not None
    ]
    row = accounts.update_credentials(
        ctx.db,
        ctx.viewer,
        _base(ctx),
        ctx.settings.domain,
        display_name=p.string("display_name"),
        note=p.string("note"),
        locked=p.flag("locked") if p.has("locked") else None,
        bot=p.flag("bot") if p.has("bot") else None,
        extras=accounts.ProfileExtras(
            fields=_fields(p),
            privacy=p.nested("source", "privacy"),
            sensitive=p.nested_flag("source", "sensitive")
            if p.nested_has("source", "sensitive")
            else None,
            language=p.nested("source", "language"),
            discoverable=p.flag("discoverable") if p.has("discoverable") else None,
            indexable=p.flag("indexable") if p.has("indexable") else None,
            hide_collections=p.flag("hide_collections") if p.has("hide_collections") else None,
            avatar_description=p.string("avatar_description"),
            header_description=p.string("header_description"),
        ),
        new_pictures=new_pictures,
    )
    return _credential(ctx, row)


@endpoint(scope="write:accounts", user=True)
def delete_avatar(ctx: Ctx) -> Any:
    """DELETE /api/v1/profile/avatar: the default avatar back (Mastodon 4.2)."""
    return _credential(ctx, pictures.remove(ctx.db, ctx.viewer, pictures.AVATAR))


@endpoint(scope="write:accounts", user=True)
def delete_header(ctx: Ctx) -> Any:
    """DELETE /api/v1/profile/header: the default header back (Mastodon 4.2)."""
    return _credential(ctx, pictures.remove(ctx.db, ctx.viewer, pictures.HEADER))


def _fields(p: Params) -> list[tuple[str, str]] | None:
    """fields_attributes[i][name|value] (or JSON objects) as (name, value) pairs; None when
    not sent."""
    if "fields_attributes" not in p.sent():
        return None
    pairs = []
    for field in p.object_list("fields_attributes"):
        name, value = field.get("name", ""), field.get("value", "")
        if not (isinstance(name, str) and isinstance(value, str)):
            raise Invalid.on("fields_attributes", "ERR_INVALID", "name and value must be text")
        pairs.append((name, value))
    return pairs


@endpoint(scope="read:accounts", user=True)
def preferences(ctx: Ctx) -> Any:
    """GET /api/v1/preferences: the posting defaults set through update_credentials'
    source[…]; reading preferences have no setting here, so they are Mastodon's defaults."""
    row = accounts.get(ctx.db, ctx.me)
    return {
        "posting:default:visibility": row.default_privacy,
        "posting:default:sensitive": row.default_sensitive,
        "posting:default:language": row.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }


@endpoint(if_token="read:accounts")
def lookup(ctx: Ctx) -> Any:
    acct = ctx.params.string("acct", required=True) or ""
    return entities.account(accounts.lookup(ctx.db, acct, ctx.settings.domain), _base(ctx))


@endpoint(if_token="read:accounts", inline=True)
def show(ctx: Ctx) -> Any:
    return entities.account(accounts.get(ctx.db, path_id(ctx.path("id"))), _base(ctx))


@endpoint(if_token="read:statuses")
def statuses(ctx: Ctx) -> Any:
    p = ctx.params
    page, bundle = timelines.account(
        ctx.db,
        ctx.viewer,
        path_id(ctx.path("id")),
        page_request(ctx),
        exclude_replies=p.flag("exclude_replies"),
        exclude_reblogs=p.flag("exclude_reblogs"),
        only_media=p.flag("only_media"),
        pinned=p.flag("pinned"),
        tagged=p.string("tagged"),
    )
    body = entities.statuses(page.items, bundle, _base(ctx))
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="write:follows", user=True)
def follow(ctx: Ctx) -> Any:
    p = ctx.params
    # A follow here always shows the account's reblogs, never notifies of its posts and
    # takes every language: those values are honoured, any other is refused by name.
    if not p.flag("reblogs", True):
        raise unsupported.value("reblogs")
    if p.flag("notify"):
        raise unsupported.value("notify")
    if p.strings("languages"):
        raise unsupported.value("languages")
    target = path_id(ctx.path("id"))
    accounts.follow(ctx.db, ctx.viewer, target, ctx.settings.rate_limits)
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, target))


@endpoint(scope="write:follows", user=True)
def unfollow(ctx: Ctx) -> Any:
    target = path_id(ctx.path("id"))
    accounts.unfollow(ctx.db, ctx.viewer, target)
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, target))


def _follow_list(ctx: Ctx, direction: str) -> Any:
    page = accounts.follow_list(
        ctx.db, path_id(ctx.path("id")), page_request(ctx, 80, 40), direction, ctx.viewer.account_id
    )
    body = [entities.account(row, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(if_token="read:accounts")
def followers(ctx: Ctx) -> Any:
    return _follow_list(ctx, "followers")


@endpoint(if_token="read:accounts")
def following(ctx: Ctx) -> Any:
    return _follow_list(ctx, "following")


@endpoint(scope="read:follows", user=True)
def relationships(ctx: Ctx) -> Any:
    p = ctx.params
    rels = accounts.relationships(
        ctx.db, ctx.viewer, p.ids("id"), with_suspended=p.flag("with_suspended")
    )
    return [entities.relationship(r) for r in rels]


@endpoint(scope="read:accounts", user=True)
def search_accounts(ctx: Ctx) -> Any:
    """GET /api/v1/accounts/search: local accounts by name prefix. `resolve` would look up
    remote accounts; there are none here, so it is read (it must be a boolean) and has no
    effect."""
    p = ctx.params
    q = p.string("q", required=True) or ""
    limit = p.number("limit", 40)
    offset = p.number("offset", 0)
    assert limit is not None and offset is not None
    if limit < 0 or offset < 0:
        raise Invalid("limit and offset must not be negative")
    p.flag("resolve")
    rows = search.accounts_by_name(
        ctx.db,
        q,
        ctx.settings.domain,
        max(1, min(limit, 80)),
        offset,
        ctx.me,
        following=p.flag("following"),
    )
    return [entities.account(row, _base(ctx)) for row in rows]


@endpoint(scope="read:follows", user=True)
def familiar_followers(ctx: Ctx) -> Any:
    """GET /api/v1/accounts/familiar_followers?id[]=…: who the viewer follows among each
    account's followers (Elk shows them on profiles)."""
    found = accounts.familiar_followers(ctx.db, ctx.viewer, ctx.params.ids("id"))
    return [
        {"id": str(target), "accounts": [entities.account(row, _base(ctx)) for row in rows]}
        for target, rows in found
    ]


def _relationship(ctx: Ctx, target: int) -> Any:
    return entities.relationship(accounts.relationship(ctx.db, ctx.viewer, target))


@endpoint(scope="write:accounts", user=True)
def note(ctx: Ctx) -> Any:
    """POST /api/v1/accounts/:id/note: the viewer's private note on an account (`comment`;
    blank or absent removes it)."""
    target = path_id(ctx.path("id"))
    account_notes.set_note(ctx.db, ctx.viewer, target, ctx.params.string("comment") or "")
    return _relationship(ctx, target)


@endpoint(scope="write:follows", user=True)
def remove_from_followers(ctx: Ctx) -> Any:
    target = path_id(ctx.path("id"))
    accounts.remove_from_followers(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


@endpoint(scope="write:accounts", user=True)
def endorse(ctx: Ctx) -> Any:
    """POST /api/v1/accounts/:id/pin (and /endorse, its 4.4 name)."""
    target = path_id(ctx.path("id"))
    endorsements.endorse(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


@endpoint(scope="write:accounts", user=True)
def unendorse(ctx: Ctx) -> Any:
    """POST /api/v1/accounts/:id/unpin (and /unendorse)."""
    target = path_id(ctx.path("id"))
    endorsements.unendorse(ctx.db, ctx.viewer, target)
    return _relationship(ctx, target)


def _endorsed(ctx: Ctx, account_id: int) -> Any:
    page = endorsements.endorsed(ctx.db, account_id, page_request(ctx, 80, 40))
    body = [entities.account(row, _base(ctx)) for row in page.items]
    return paged(ctx.request, _base(ctx), page, body)


@endpoint(scope="read:accounts", user=True)
def endorsements_mine(ctx: Ctx) -> Any:
    """GET /api/v1/endorsements: the accounts the viewer endorses, newest first."""
    return _endorsed(ctx, ctx.me)


@endpoint(if_token="read:accounts")
def endorsements_of(ctx: Ctx) -> Any:
    """GET /api/v1/accounts/:id/endorsements: the accounts an account endorses."""
    return _endorsed(ctx, path_id(ctx.path("id")))
