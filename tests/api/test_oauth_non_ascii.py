"""Non-ASCII client secrets and PKCE values are a 4xx, never a 500 (issue 9, finding 5)."""

from __future__ import annotations

import base64

from tests.api.oauthflow import (
    PASSWORD,
    REDIRECT,
)
from tests.api.oauthflow import challenge as _challenge
from tests.api.oauthflow import exchange_fields as _exchange
from tests.api.oauthflow import make_app as _app
from tests.api.oauthflow import sign_in_for_code as _code
from tests.conftest import Api


def test_non_ascii_client_secret_is_401(api: Api) -> None:
    api.register("alice")
    app = api.default_app()
    for grant in ("password", "client_credentials"):
        r = api.client.post(
            "/oauth/token",
            data={
                "grant_type": grant,
                "client_id": app["client_id"],
                "client_secret": "sécret",
                "username": "alice",
                "password": PASSWORD,
            },
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    revoke = api.client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": "ключ", "token": "x"},
    )
    assert revoke.status_code == 401 and revoke.json()["error"] == "invalid_client"
    basic = base64.b64encode(f"{app['client_id']}:sécret".encode()).decode()
    by_basic = api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 401


def test_non_ascii_pkce_values_are_400(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    page = api.client.get(
        "/oauth/authorize",
        params={
            "client_id": app["client_id"],
            "redirect_uri": REDIRECT,
            "code_challenge": "é" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 400 and "code_challenge" in page.text
    code = _code(api, app, code_challenge=_challenge("v" * 50), code_challenge_method="S256")
    r = api.client.post("/oauth/token", data=_exchange(app, code, code_verifier="é" * 50))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
