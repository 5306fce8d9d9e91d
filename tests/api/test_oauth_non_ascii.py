"""Non-ASCII client secrets and PKCE values are a 4xx, never a 500 (issue 9, finding 5)."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

from tests.conftest import Api

REDIRECT = "https://app.example/callback"
PASSWORD = "correct horse battery"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _app(api: Api, redirect: str = REDIRECT) -> dict:
    r = api.client.post(
        "/api/v1/apps",
        json={"client_name": "web app", "redirect_uris": [redirect], "scopes": "read write"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _form(api: Api, app: dict, **extra: str) -> dict[str, str]:
    """GET the consent page like a browser and return its form's hidden fields."""
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "scope": "read write",
        **extra,
    }
    page = api.client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))


def _code(api: Api, app: dict, **extra: str) -> str:
    form = _form(api, app, **extra)
    form.update(login="alice", password=PASSWORD)
    r = api.client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return parse_qs(urlparse(r.headers["location"]).query)["code"][0]


def _exchange(app: dict, code: str, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
        **fields,
    }


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
