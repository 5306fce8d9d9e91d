"""A web app's OAuth authorization-code flow, driven as a browser would: register the app,
load the consent page, sign in, take the code, exchange it. Shared by the OAuth tests."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

from tests.conftest import Api

REDIRECT = "https://app.example/callback"
PASSWORD = "correct horse battery"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_app(api: Api, redirect: str = REDIRECT) -> dict:
    r = api.client.post(
        "/api/v1/apps",
        json={"client_name": "web app", "redirect_uris": [redirect], "scopes": "read write"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def consent_form(api: Api, app: dict, **extra: str) -> dict[str, str]:
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
    # The page names the app asking and asks for the password (both app helpers call the
    # app "web app").
    assert "web app" in page.text and 'name="password"' in page.text
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))


def sign_in_for_code(api: Api, app: dict, **extra: str) -> str:
    form = consent_form(api, app, **extra)
    form.update(login="alice", password=PASSWORD)
    r = api.client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    return parse_qs(urlparse(r.headers["location"]).query)["code"][0]


def exchange_fields(app: dict, code: str, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
        **fields,
    }
