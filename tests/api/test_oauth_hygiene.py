"""OAuth hygiene as RFC 6749 / 7636 and Mastodon behave (issue 9, finding 7)."""

from __future__ import annotations

import pytest

from tests.api.oauthflow import (
    PASSWORD,
    REDIRECT,
)
from tests.api.oauthflow import challenge as _challenge
from tests.api.oauthflow import consent_form as _form
from tests.api.oauthflow import exchange_fields as _exchange
from tests.api.oauthflow import make_app as _app
from tests.api.oauthflow import sign_in_for_code as _code
from tests.conftest import Api


def test_code_needs_the_redirect_uri_it_was_issued_for(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    code = _code(api, app)
    missing = _exchange(app, code)
    del missing["redirect_uri"]
    r = api.client.post("/oauth/token", data=missing)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    other = api.client.post(
        "/oauth/token", data=_exchange(app, code, redirect_uri="https://app.example/other")
    )
    assert other.status_code == 400
    good = api.client.post("/oauth/token", data=_exchange(app, code))
    assert good.status_code == 200, "a refused exchange does not use the code up"


def test_pkce_code_still_needs_the_client_secret(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    verifier = "v" * 50
    code = _code(api, app, code_challenge=_challenge(verifier), code_challenge_method="S256")
    wrong = api.client.post(
        "/oauth/token", data=_exchange(app, code, code_verifier=verifier, client_secret="nope")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    none = _exchange(app, code, code_verifier=verifier)
    del none["client_secret"]
    assert api.client.post("/oauth/token", data=none).status_code == 401
    good = api.client.post("/oauth/token", data=_exchange(app, code, code_verifier=verifier))
    assert good.status_code == 200, good.text


def test_reused_code_revokes_its_token(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    code = _code(api, app)
    first = api.client.post("/oauth/token", data=_exchange(app, code))
    assert first.status_code == 200
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert api.client.get("/api/v1/accounts/verify_credentials", headers=headers).status_code == 200
    again = api.client.post("/oauth/token", data=_exchange(app, code))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    after = api.client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert after.status_code == 401, "the token the stolen code issued is revoked"


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript://x%0aalert(1)",
        "data:text/html,<script>x</script>",
        "file:///etc/passwd",
        "vbscript:msgbox",
        "https://",
        "not a uri",
    ],
)
def test_dangerous_redirect_uris_are_422(api: Api, uri: str) -> None:
    r = api.client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": uri})
    assert r.status_code == 422 and "redirect" in r.json()["error"].lower(), r.text


@pytest.mark.parametrize(
    "uri", ["https://app.example/cb", "http://localhost:4000/cb", "com.example.app:/oauth"]
)
def test_ordinary_redirect_uris_are_fine(api: Api, uri: str) -> None:
    r = api.client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": uri})
    assert r.status_code == 200 and r.json()["redirect_uri"] == uri, r.text


@pytest.mark.parametrize("website", ["javascript:alert(1)", "ftp://example.org", "example.org"])
def test_website_must_be_http(api: Api, website: str) -> None:
    r = api.client.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": REDIRECT, "website": website}
    )
    assert r.status_code == 422 and "website" in r.json()["error"].lower(), r.text


def test_token_answers_are_not_cached(api: Api) -> None:
    app = api.default_app()
    for data in (
        {"grant_type": "client_credentials", "client_secret": app["client_secret"]},
        {"grant_type": "client_credentials", "client_secret": "wrong"},
    ):
        r = api.client.post("/oauth/token", data={"client_id": app["client_id"], **data})
        assert r.headers["cache-control"] == "no-store", r.status_code
        assert r.headers["pragma"] == "no-cache"


def test_authorize_page_cannot_be_framed(api: Api) -> None:
    app = _app(api)
    page = api.client.get(
        "/oauth/authorize", params={"client_id": app["client_id"], "redirect_uri": REDIRECT}
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_authorize_post_needs_the_csrf_token(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    form = _form(api, app)
    assert form.get("csrf_token"), "the form carries a CSRF token"
    without = {k: v for k, v in form.items() if k != "csrf_token"}
    r = api.client.post(
        "/oauth/authorize",
        data={**without, "login": "alice", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "expired" in r.text.lower()
    forged = api.client.post(
        "/oauth/authorize",
        data={
            **form,
            # Another first character (a token may begin with "x" itself: 1 in 64).
            "csrf_token": ("y" if form["csrf_token"][0] == "x" else "x") + form["csrf_token"][1:],
            "login": "alice",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403
    # Another browser (no cookie from this page) cannot replay the form's token.
    api.client.cookies.clear()
    replayed = api.client.post(
        "/oauth/authorize",
        data={**form, "login": "alice", "password": PASSWORD},
        follow_redirects=False,
    )
    assert replayed.status_code == 403
