"""App metadata is bounded (issue 9, finding 9)."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

import pytest

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


@pytest.mark.parametrize(
    "fields, word",
    [
        ({"client_name": "n" * 61}, "name"),
        ({"website": "https://example.org/" + "w" * 2000}, "website"),
        ({"redirect_uris": "https://example.org/" + "r" * 2000}, "redirect"),
        ({"redirect_uris": [f"https://example.org/{i}" for i in range(11)]}, "redirect"),
    ],
)
def test_app_metadata_is_bounded(api: Api, fields: dict, word: str) -> None:
    body = {"client_name": "x", "redirect_uris": REDIRECT, **fields}
    r = api.client.post("/api/v1/apps", json=body)
    assert r.status_code == 422 and word in r.json()["error"].lower(), r.text
    assert set(r.json()) == {"error"}


def test_app_metadata_at_the_caps_is_fine(api: Api) -> None:
    uris = [f"https://example.org/{i}" for i in range(9)] + ["https://e.org/" + "r" * 1986]
    r = api.client.post(
        "/api/v1/apps",
        json={
            "client_name": "n" * 60,
            "website": "https://example.org/" + "w" * 1980,
            "redirect_uris": uris,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uris"] == uris
