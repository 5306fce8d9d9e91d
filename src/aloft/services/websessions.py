"""Web sessions: a signed-in browser holds an access token of the server's own web app.

As Mastodon's web interface does, the pages act through an ordinary OAuth token (of an app
this server makes for itself, `WEB_CLIENT_ID`), so everything the pages do passes through
the same `authenticate`, scopes and services as a Mastodon app's requests, and signing out
is revoking that token. The token travels only in an HttpOnly cookie (aloft.web.session).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft import ids
from aloft.services import accounts
from aloft.services.auth import (
    OOB_REDIRECT,
    check_login,
    digest,
    insert_token,
    now,
    token_cache,
)
from aloft.storage.database import Database, insert_ignore
from aloft.storage.schema import apps, tokens

WEB_CLIENT_ID = "aloft-web"
WEB_APP_NAME = "Web"
WEB_SCOPES = ("read", "write", "follow", "push")


def web_app_id(db: Database) -> int:
    """The id of the web app, made on first use. Safe to run twice, and from many processes
    at once: the app is unique by its client id, so the losers of a race find the winner's."""
    find = sa.select(apps.c.id).where(apps.c.client_id == WEB_CLIENT_ID)
    found = db.read(lambda conn: conn.execute(find).scalar())
    if found is not None:
        return int(found)
    row = {
        "id": ids.new_id(),
        "name": WEB_APP_NAME,
        "website": None,
        "redirect_uris": OOB_REDIRECT,
        "scopes": " ".join(WEB_SCOPES),
        "client_id": WEB_CLIENT_ID,
        # Nobody can use the web app's credentials: its secret is never shown anywhere.
        "client_secret": secrets.token_urlsafe(32),
        "created_at": now(),
    }

    def unit(conn: Connection) -> int:
        insert_ignore(conn, apps, row)
        return int(conn.execute(find).scalar_one())

    return db.write(unit)


def sign_in(db: Database, login: str, password: str) -> str:
    """A new session token for these credentials; InvalidGrant otherwise (also for a
    suspended account). The token id and secret are drawn before the write, so a rerun
    writes the same row."""
    account_id = check_login(db, login, password)
    app_id = web_app_id(db)
    token_id, token, created = ids.new_id(), secrets.token_urlsafe(32), now()

    def unit(conn: Connection) -> str:
        if conn.execute(sa.select(tokens.c.id).where(tokens.c.id == token_id)).first() is None:
            insert_token(conn, app_id, account_id, WEB_SCOPES, token_id, token, created)
        return token

    return db.write(unit)


def sign_up(db: Database, new: accounts.NewAccount) -> str:
    """Create the account and its first session token in one unit of work
    (`accounts.register`); Invalid or Conflict as the API's registration."""
    _row, issued = accounts.register(db, new, web_app_id(db), WEB_SCOPES)
    return issued.access_token


def sign_out(db: Database, token: str) -> None:
    """Revoke a session token; an unknown one is ignored (signing out twice is fine). This
    process forgets it at once, as `auth.revoke` does (another replica may still accept it
    for up to TOKEN_CACHE_SECONDS)."""
    app_id = web_app_id(db)
    key = digest(token)
    db.write(
        lambda conn: conn.execute(
            sa.delete(tokens).where(tokens.c.token_hash == key, tokens.c.app_id == app_id)
        )
    )
    token_cache(db).forget(key=key)
