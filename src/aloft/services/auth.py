"""Apps, OAuth grants and access tokens.

Tokens and authorization codes are random 256-bit strings; only their SHA-256 is stored,
so reading the database does not let anyone act as a user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import (
    Forbidden,
    Invalid,
    InvalidClient,
    InvalidGrant,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    NotFound,
    Unauthorized,
    UnsupportedResponseType,
)
from aloft.services import scopes as scope_rules
from aloft.services.passwords import verify_password
from aloft.storage.database import Database
from aloft.storage.schema import accounts, apps, auth_codes, tokens

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)

# Mastodon's caps on app metadata (OAuth::Application): a name of 60 characters, a website
# and each redirect URI of 2,000; and, ours, at most 10 redirect URIs.
APP_NAME_LIMIT = 60
APP_URI_LIMIT = 2000
APP_REDIRECT_URIS_LIMIT = 10
# Schemes a redirect could use to run code in, or read from, the user's browser.
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})
SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")


@dataclass(frozen=True)
class Viewer:
    """Who is calling: an account (None for an app-only token) and what it may do."""

    account_id: int | None
    scopes: frozenset[str]
    app_id: int | None


ANONYMOUS = Viewer(account_id=None, scopes=frozenset(), app_id=None)


def digest(secret: str) -> str:
    """What is stored of a token or code: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _same(a: str, b: str) -> bool:
    """Constant-time comparison that takes any text: compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(a.encode(), b.encode())


# RFC 7636 §4.1-4.2: 43 to 128 characters of the unreserved set.
PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime


def create_app(
    db: Database, name: str, redirect_uris: list[str], scopes: str | None, website: str | None
) -> Row:
    """Register a client application and return its row (with client id and secret)."""
    name = name.strip()
    if not name:
        raise Invalid.on("client_name", "ERR_BLANK", "can't be blank", APP_NAME)
    if len(name) > APP_NAME_LIMIT:
        raise Invalid.on("client_name", "ERR_TOO_LONG", _too_long(APP_NAME_LIMIT), APP_NAME)
    website = (website or "").strip() or None
    if website is not None:
        if len(website) > APP_URI_LIMIT:
            raise Invalid.on("website", "ERR_TOO_LONG", _too_long(APP_URI_LIMIT))
        if not _web_url(website):
            raise Invalid.on("website", "ERR_INVALID", "is not a valid http(s) URL")
    uris = [u.strip() for u in redirect_uris if u.strip()] or [OOB_REDIRECT]
    if len(uris) > APP_REDIRECT_URIS_LIMIT:
        raise Invalid.on(
            "redirect_uris",
            "ERR_TOO_LONG",
            f"are too many (maximum is {APP_REDIRECT_URIS_LIMIT})",
            "Redirect URIs",
        )
    for uri in uris:
        if len(uri) > APP_URI_LIMIT:
            raise Invalid.on("redirect_uris", "ERR_TOO_LONG", _too_long(APP_URI_LIMIT), REDIRECT)
        _check_redirect_uri(uri)
    granted = scope_rules.parse(scopes)
    row = {
        "id": ids.new_id(),
        "name": name,
        "website": website,
        "redirect_uris": "\n".join(uris),
        "scopes": " ".join(granted),
        "client_id": secrets.token_urlsafe(32),
        "client_secret": secrets.token_urlsafe(32),
        "created_at": now(),
    }

    def unit(conn: Connection) -> Row:
        conn.execute(sa.insert(apps).values(**row))
        return conn.execute(sa.select(apps).where(apps.c.id == row["id"])).one()

    return db.write(unit)


# How the fields are named in messages ("Validation failed: Application name …").
APP_NAME = "Application name"
REDIRECT = "Redirect URI"


def _too_long(limit: int) -> str:
    return f"is too long (maximum is {limit} characters)"


def _web_url(url: str) -> bool:
    """An absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and url.isprintable()


def _check_redirect_uri(uri: str) -> None:
    """http(s), the out-of-band URN, or an app's own scheme (com.example.app:/cb); never a
    scheme that runs code or reads files in the browser, nor a fragment (RFC 6749 §3.1.2)."""
    if uri == OOB_REDIRECT:
        return
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    scheme = parts.scheme.lower() if parts else ""
    if parts is None or not SCHEME.fullmatch(scheme) or not uri.isprintable() or " " in uri:
        raise Invalid.on("redirect_uris", "ERR_INVALID", "must be an absolute URI.", REDIRECT)
    if scheme in FORBIDDEN_SCHEMES:
        raise Invalid.on(
            "redirect_uris", "ERR_INVALID", f"scheme {scheme}: is not allowed.", REDIRECT
        )
    if scheme in ("http", "https") and not _web_url(uri):
        raise Invalid.on("redirect_uris", "ERR_INVALID", "must be an absolute URI.", REDIRECT)
    if parts.fragment:
        raise Invalid.on("redirect_uris", "ERR_INVALID", "cannot contain a fragment.", REDIRECT)


LOGIN_DISABLED = "Your login is currently disabled"


# How long a token's lookup is remembered by the process that made it. A token revoked
# (or an account suspended) through this process is forgotten at once; through another
# replica, this process may still accept it for up to this long.
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 10_000


class TokenCache:
    """Recent token lookups of one Database, by token digest: the Viewer, or None for a
    suspended account's token. Unknown tokens are never remembered (a token just issued
    through another replica must work at once, and guesses must not fill the cache)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, int | None, Viewer | None]] = {}

    def get(self, key: str) -> tuple[Viewer | None] | None:
        """(Viewer or None if suspended,) while fresh; None if not remembered."""
        entry = self._found.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return (entry[2],)

    def put(self, key: str, account_id: int | None, viewer: Viewer | None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._found) >= TOKEN_CACHE_SIZE:
                self._found = {k: v for k, v in self._found.items() if v[0] >= now}
                if len(self._found) >= TOKEN_CACHE_SIZE:
                    self._found.clear()
            self._found[key] = (now + TOKEN_CACHE_SECONDS, account_id, viewer)

    def forget(self, key: str | None = None, account_id: int | None = None) -> None:
        """Drop one token (by digest), or every token of an account."""
        with self._lock:
            if key is not None:
                self._found.pop(key, None)
            if account_id is not None:
                self._found = {k: v for k, v in self._found.items() if v[1] != account_id}


_caches: weakref.WeakKeyDictionary[Database, TokenCache] = weakref.WeakKeyDictionary()


def token_cache(db: Database) -> TokenCache:
    """The token cache of `db` (one per Database, so per process)."""
    cache = _caches.get(db)
    if cache is None:
        cache = _caches.setdefault(db, TokenCache())
    return cache


def remembered(db: Database, bearer: str) -> Viewer | None:
    """`authenticate` answered from memory, without I/O: the Viewer if the token was looked
    up in the last TOKEN_CACHE_SECONDS; Forbidden if its account is suspended; None if it
    has to be looked up."""
    found = token_cache(db).get(digest(bearer))
    if found is None:
        return None
    if found[0] is None:
        raise Forbidden(LOGIN_DISABLED)
    return found[0]


def authenticate(db: Database, bearer: str) -> Viewer:
    """The Viewer behind a bearer token; Unauthorized if it is unknown or revoked,
    Forbidden if its account is suspended (Mastodon's 403 "Your login is currently
    disabled"); one query either way, none while the answer is remembered (see
    TOKEN_CACHE_SECONDS)."""
    known = remembered(db, bearer)
    if known is not None:
        return known
    key = digest(bearer)
    query = (
        sa.select(tokens.c.account_id, tokens.c.scopes, tokens.c.app_id, accounts.c.suspended_at)
        .select_from(tokens.outerjoin(accounts, accounts.c.id == tokens.c.account_id))
        .where(tokens.c.token_hash == key)
    )
    found = db.read(lambda conn: conn.execute(query).first())
    if found is None:
        # A token issued a moment ago may not have reached a standby yet.
        found = db.read(lambda conn: conn.execute(query).first(), prefer="primary")
    if found is None:
        raise Unauthorized("The access token is invalid")
    if found.suspended_at is not None:
        token_cache(db).put(key, found.account_id, None)
        raise Forbidden(LOGIN_DISABLED)
    viewer = Viewer(found.account_id, frozenset(found.scopes.split()), found.app_id)
    token_cache(db).put(key, found.account_id, viewer)
    return viewer


def _client(conn: Connection, client_id: str | None, client_secret: str | None) -> Row:
    app = None
    if client_id:
        app = conn.execute(sa.select(apps).where(apps.c.client_id == client_id)).first()
    if app is None or not _same(app.client_secret, client_secret or ""):
        raise InvalidClient(
            "Client authentication failed due to unknown client, no client authentication "
            "included, or unsupported authentication method."
        )
    return app


def _requested_scopes(app: Row, scope: str | None) -> tuple[str, ...]:
    try:
        requested = scope_rules.parse(scope, default=app.scopes.split()[0])
    except Invalid as exc:
        raise InvalidScope(exc.message) from None
    if scope is None:
        requested = tuple(app.scopes.split())
    if not scope_rules.covers(tuple(app.scopes.split()), requested):
        raise InvalidScope("The requested scope is invalid, unknown, or malformed.")
    return requested


def insert_token(
    conn: Connection,
    app_id: int,
    account_id: int | None,
    scopes: tuple[str, ...],
    token_id: int | None = None,
    token: str | None = None,
    created_at: datetime | None = None,
) -> IssuedToken:
    """Write a token row inside the caller's transaction and return the token. A unit that
    must be safe to rerun draws `token_id`, `token` and `created_at` before its first
    attempt and passes them in; by default they are drawn here."""
    token = token or secrets.token_urlsafe(32)
    created = created_at or now()
    conn.execute(
        sa.insert(tokens).values(
            id=token_id if token_id is not None else ids.new_id(),
            token_hash=digest(token),
            app_id=app_id,
            account_id=account_id,
            scopes=" ".join(scopes),
            created_at=created,
        )
    )
    return IssuedToken(token, scopes, created)


def find_account_by_login(conn: Connection, login: str) -> Row | None:
    """The account whose email or username (any case) is `login`."""
    login = login.strip().lower()
    column = accounts.c.email if "@" in login else accounts.c.username_lower
    return conn.execute(sa.select(accounts).where(column == login)).first()


BAD_LOGIN = (
    "The provided authorization grant is invalid, expired, revoked, does not match "
    "the redirection URI used in the authorization request, or was issued to another "
    "client."
)


def sign_in_key(db: Database, login: str) -> str:
    """What sign-in attempts for `login` are counted by: the account it names (by email or
    username alike), or the login text itself when no account has it."""
    account = db.read(lambda conn: find_account_by_login(conn, login))
    return f"account:{account.id}" if account else f"login:{login.strip().lower()}"


def check_login(db: Database, login: str, password: str) -> int:
    """The account id for these credentials, or InvalidGrant. The hash is read
    in a read unit and checked (argon2, ~64 MiB, tens of ms) outside any transaction, so a
    guess never holds SQLite's write lock or a PostgreSQL connection."""
    account = db.read(lambda conn: find_account_by_login(conn, login))
    if not verify_password(account.password_hash if account else None, password) or not account:
        raise InvalidGrant(BAD_LOGIN)
    if account.suspended_at is not None:
        raise InvalidGrant(LOGIN_DISABLED)
    return int(account.id)


def password_grant(
    db: Database,
    client_id: str | None,
    client_secret: str | None,
    username: str,
    password: str,
    scope: str | None,
) -> IssuedToken:
    def client(conn: Connection) -> tuple[int, tuple[str, ...]]:
        app = _client(conn, client_id, client_secret)
        return app.id, _requested_scopes(app, scope)

    app_id, requested = db.read(client)
    account_id = check_login(db, username, password)
    return db.write(lambda conn: insert_token(conn, app_id, account_id, requested))


def client_credentials_grant(
    db: Database, client_id: str | None, client_secret: str | None, scope: str | None
) -> IssuedToken:
    def unit(conn: Connection) -> IssuedToken:
        app = _client(conn, client_id, client_secret)
        return insert_token(conn, app.id, None, _requested_scopes(app, scope))

    return db.write(unit)


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated GET /oauth/authorize: what the consent page shows and posts back."""

    app_name: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


def check_authorize_request(
    db: Database,
    client_id: str | None,
    redirect_uri: str | None,
    scope: str | None,
    response_type: str | None,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> AuthorizeRequest:
    """Validate an authorization request before showing the sign-in page."""
    if response_type not in (None, "code"):
        raise UnsupportedResponseType("Only response_type=code is supported.")
    if code_challenge and (code_challenge_method or "plain") != "S256":
        raise InvalidRequest("Only code_challenge_method=S256 is supported.")
    if code_challenge and not PKCE_VALUE.fullmatch(code_challenge):
        raise InvalidRequest(
            "The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_'"
            " or '~'.",
        )
    app = db.read(
        lambda conn: conn.execute(
            sa.select(apps).where(apps.c.client_id == (client_id or ""))
        ).first()
    )
    if app is None:
        raise InvalidClient("Unknown client_id.")
    allowed = app.redirect_uris.split("\n")
    uri = redirect_uri or allowed[0]
    if uri not in allowed:
        raise InvalidRedirectUri("The redirect URI is not registered for this app.")
    return AuthorizeRequest(
        app.name, app.client_id, uri, _requested_scopes(app, scope), state, code_challenge
    )


WRONG_LOGIN = "Wrong email, username or password."


def grant_code(db: Database, request: AuthorizeRequest, login: str, password: str) -> str:
    """Sign the user in and return a one-time authorization code for the app; Unauthorized
    when the login or password is wrong."""
    code = secrets.token_urlsafe(32)

    try:
        account_id = check_login(db, login, password)
    except InvalidGrant as exc:
        # On the sign-in page this is a person's wrong password (or suspended account),
        # not an OAuth grant.
        raise Unauthorized(WRONG_LOGIN if exc.message == BAD_LOGIN else exc.message) from None

    def unit(conn: Connection) -> None:
        app = conn.execute(sa.select(apps).where(apps.c.client_id == request.client_id)).one()
        conn.execute(
            sa.insert(auth_codes).values(
                code_hash=digest(code),
                app_id=app.id,
                account_id=account_id,
                scopes=" ".join(request.scopes),
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                created_at=now(),
            )
        )

    db.write(unit)
    return code


def _s256(verifier: str) -> str:
    hashed = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode()


def code_grant(
    db: Database,
    client_id: str | None,
    client_secret: str | None,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> IssuedToken:
    """Exchange an authorization code (once) for a token. The client authenticates with its
    secret (every app is confidential, PKCE or not); redirect_uri must be the one the code
    was issued for; PKCE S256 is checked when the code has a challenge; a code presented
    again revokes the token it issued (RFC 6749 §4.1.2, §4.1.3; RFC 7636 §4.6)."""
    bad_grant = InvalidGrant("The authorization code is invalid or expired.")
    # Made before the first attempt, so a rerun of the unit after an ambiguous commit
    # recognises its own exchange instead of taking it for a replay.
    token_id, token = ids.new_id(), secrets.token_urlsafe(32)

    def unit(conn: Connection) -> IssuedToken | None:
        app = conn.execute(sa.select(apps).where(apps.c.client_id == (client_id or ""))).first()
        row = conn.execute(
            sa.select(auth_codes).where(auth_codes.c.code_hash == digest(code or ""))
        ).first()
        if app is None:
            raise InvalidClient("Unknown client_id.")
        if row is None or row.app_id != app.id:
            raise bad_grant
        # An exchanged code's row stays, with the id of the token it issued, so a second
        # exchange can revoke that token (RFC 6749 §4.1.2).
        if row.token_id == token_id:
            mine = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()
            return IssuedToken(token, tuple(mine.scopes.split()), mine.created_at)
        if row.token_id is not None:
            gone = conn.execute(
                sa.delete(tokens).where(tokens.c.id == row.token_id).returning(tokens.c.token_hash)
            ).scalar()
            token_cache(db).forget(key=gone)
            return None  # committed: the revocation stands; the caller refuses the grant
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        if now() - created > CODE_LIFETIME:
            raise bad_grant
        if not redirect_uri or not _same(redirect_uri, row.redirect_uri):
            raise InvalidGrant(
                "The redirect_uri must be the one the authorization code was issued for."
            )
        if not _same(app.client_secret, client_secret or ""):
            raise InvalidClient("Client authentication failed.")
        challenge = row.code_challenge or ""
        if challenge and (
            not code_verifier
            or not PKCE_VALUE.fullmatch(code_verifier)
            or not _same(_s256(code_verifier), challenge)
        ):
            raise InvalidGrant("The code_verifier does not match.")
        issued = insert_token(
            conn, app.id, row.account_id, tuple(row.scopes.split()), token_id, token
        )
        conn.execute(
            sa.update(auth_codes)
            .where(auth_codes.c.code_hash == row.code_hash)
            .values(token_id=token_id)
        )
        return issued

    # A refused exchange consumes nothing: errors roll the transaction back.
    issued = db.write(unit)
    if issued is None:
        raise bad_grant
    return issued


def revoke(db: Database, client_id: str | None, client_secret: str | None, token: str) -> None:
    """Revoke a token the client owns; unknown tokens are ignored (RFC 7009 §2.2)."""

    def unit(conn: Connection) -> None:
        app = _client(conn, client_id, client_secret)
        conn.execute(
            sa.delete(tokens).where(tokens.c.token_hash == digest(token), tokens.c.app_id == app.id)
        )

    db.write(unit)
    token_cache(db).forget(key=digest(token))


def app_row(db: Database, app_id: int) -> Row:
    """The app a token belongs to."""
    row = db.read(lambda conn: conn.execute(sa.select(apps).where(apps.c.id == app_id)).first())
    if row is None:
        raise NotFound("Record not found")
    return row
