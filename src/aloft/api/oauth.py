"""Apps and OAuth: POST /api/v1/apps, /oauth/token, /oauth/revoke, /api/v1/apps/verify_credentials.

The interactive GET/POST /oauth/authorize lives in `aloft.web.oauth` (it is a page).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import Response

from aloft.api import entities
from aloft.api.endpoint import Ctx, endpoint
from aloft.api.errors import error_response
from aloft.api.responses import json_response
from aloft.errors import AloftError, InvalidClient, UnsupportedGrantType
from aloft.services import auth, limits


@endpoint()
def create_app(ctx: Ctx) -> Any:
    p = ctx.params
    uris = p.strings("redirect_uris")
    if len(uris) == 1:  # one string holding several URIs, one per line
        uris = str(uris[0]).split()
    row = auth.create_app(
        ctx.db,
        name=p.string("client_name", required=True) or "",
        redirect_uris=uris,
        scopes=p.string("scopes"),
        website=p.string("website"),
    )
    return entities.application(row, with_credentials=True)


@endpoint(scope="read")
def verify_app(ctx: Ctx) -> Any:
    return entities.application(auth.app_row(ctx.db, ctx.viewer.app_id or 0))


def _client_credentials(ctx: Ctx) -> tuple[str | None, str | None]:
    """client_id/secret from the body, or from HTTP Basic auth (RFC 6749 §2.3.1)."""
    header = ctx.request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient("Malformed Basic authorization.") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return ctx.params.string("client_id"), ctx.params.string("client_secret")


# RFC 6749 §5.1: token answers, errors too, are never cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@endpoint()
def token(ctx: Ctx) -> Any:
    response: Response
    try:
        response = json_response(_token(ctx))
    except AloftError as exc:
        response = error_response(exc)
    response.headers.update(NO_STORE)
    return response


def _token(ctx: Ctx) -> Any:
    p = ctx.params
    client_id, client_secret = _client_credentials(ctx)
    grant = p.string("grant_type")
    if grant == "password":
        if ctx.settings.rate_limits:
            client_ip = ctx.request.client.host if ctx.request.client else "unknown"
            key = auth.sign_in_key(ctx.db, p.string("username") or "")
            limits.sign_in(ctx.request.app.state.limiter, client_ip, key)
        issued = auth.password_grant(
            ctx.db,
            client_id,
            client_secret,
            p.string("username") or "",
            p.string("password") or "",
            p.string("scope"),
        )
    elif grant == "client_credentials":
        issued = auth.client_credentials_grant(ctx.db, client_id, client_secret, p.string("scope"))
    elif grant == "authorization_code":
        issued = auth.code_grant(
            ctx.db,
            client_id,
            client_secret,
            p.string("code"),
            p.string("redirect_uri"),
            p.string("code_verifier"),
        )
    else:
        raise UnsupportedGrantType(
            "The authorization grant type is not supported by the authorization server."
        )
    return entities.token(issued)


@endpoint()
def revoke(ctx: Ctx) -> Any:
    client_id, client_secret = _client_credentials(ctx)
    token_value = ctx.params.string("token", required=True) or ""
    auth.revoke(ctx.db, client_id, client_secret, token_value)
    return {}
