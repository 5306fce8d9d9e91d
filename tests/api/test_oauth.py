"""Apps and OAuth: password, client_credentials, authorization_code (+PKCE), revoke."""

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

from tests.api.oauthflow import consent_form
from tests.conftest import Api

REDIRECT = "https://app.example/callback"


def _challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def _app(api: Api, redirect: str = REDIRECT, scopes: str = "read write follow") -> dict:
    r = api.client.post(
        "/api/v1/apps",
        json={"client_name": "web app", "redirect_uris": [redirect], "scopes": scopes},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _csrf(api: Api, app: dict) -> str:
    """The CSRF token of the consent page (and its cookie, kept by the client)."""
    page = api.client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": app["redirect_uri"]},
    )
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _sign_in(api: Api, app: dict, **extra: str) -> str:
    """Drive the consent page like a browser: GET it, POST the form, return the code."""
    form = consent_form(api, app, **extra)
    form.update(login="alice@example.org", password="correct horse battery")
    r = api.client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    target = urlparse(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    params = parse_qs(target.query)
    if "state" in extra:
        assert params["state"] == [extra["state"]]
    return params["code"][0]


def test_authorization_code_flow_with_pkce(api: Api) -> None:
    alice = api.register("alice")
    app = _app(api)
    verifier = "v" * 50
    code = _sign_in(
        api, app, state="xyz", code_challenge=_challenge(verifier), code_challenge_method="S256"
    )
    exchange = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
    }
    wrong = api.client.post("/oauth/token", data={**exchange, "code_verifier": "w" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    r = api.client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer" and token["scope"] == "read write"
    me = api.client.get(
        "/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert me.json()["id"] == alice.id
    again = api.client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert again.status_code == 400, "a code is good for one exchange only"


def test_authorization_code_without_pkce_needs_the_client_secret(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    code = _sign_in(api, app)
    exchange = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "code": code,
        "redirect_uri": REDIRECT,
    }
    assert (
        api.client.post("/oauth/token", data={**exchange, "client_secret": "nope"}).status_code
        == 401
    )
    r = api.client.post("/oauth/token", data={**exchange, "client_secret": app["client_secret"]})
    assert r.status_code == 200, r.text


def test_out_of_band_shows_the_code(api: Api) -> None:
    api.register("alice")
    app = _app(api, redirect="urn:ietf:wg:oauth:2.0:oob")
    form = {
        "client_id": app["client_id"],
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        "scope": "read",
        "login": "alice",
        "password": "correct horse battery",
        "csrf_token": _csrf(api, app),
    }
    r = api.client.post("/oauth/authorize", data=form)
    assert r.status_code == 200
    code = re.search(r'<code class="code">([^<]+)</code>', r.text).group(1)
    token = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "code": code,
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        },
    )
    assert token.status_code == 200 and token.json()["scope"] == "read"


def test_consent_page_rejects_wrong_password_and_unknown_redirect(api: Api) -> None:
    api.register("alice")
    app = _app(api)
    form = {
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read",
        "login": "alice",
        "password": "wrong password",
        "csrf_token": _csrf(api, app),
    }
    r = api.client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert r.status_code == 401 and "Wrong email" in r.text
    bad = api.client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": "https://evil.example/"},
    )
    assert bad.status_code == 400
    unknown = api.client.get("/oauth/authorize", params={"client_id": "nope"})
    assert unknown.status_code == 401


def test_password_grant_by_email_or_username_and_scope_checks(api: Api) -> None:
    api.register("alice")
    app = api.app(scopes="read write")
    base = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "password": "correct horse battery",
    }
    for login in ("alice", "ALICE", "alice@example.org"):
        r = api.client.post("/oauth/token", data={**base, "username": login, "scope": "read"})
        assert r.status_code == 200 and r.json()["scope"] == "read"
    granular = api.client.post(
        "/oauth/token",
        data={**base, "username": "alice", "scope": "read:statuses write:favourites"},
    )
    assert granular.json()["scope"] == "read:statuses write:favourites"
    beyond = api.client.post("/oauth/token", data={**base, "username": "alice", "scope": "follow"})
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"
    wrong = api.client.post(
        "/oauth/token", data={**base, "username": "alice", "password": "nope nope"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_client_secret_by_http_basic(api: Api) -> None:
    app = api.app()
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    r = api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text


def test_revoke_makes_the_token_useless(api: Api) -> None:
    alice = api.register("alice")
    app = api.default_app()
    assert api.get("/api/v1/accounts/verify_credentials", alice).status_code == 200
    r = api.client.post(
        "/oauth/revoke",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "token": alice.token,
        },
    )
    assert r.status_code == 200 and r.json() == {}
    after = api.get("/api/v1/accounts/verify_credentials", alice)
    assert after.status_code == 401 and after.json() == {"error": "The access token is invalid"}


def test_granular_scopes_are_enforced(api: Api) -> None:
    api.register("alice")
    token = api.token_with("alice", "read:statuses")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/timelines/home", headers=headers).status_code == 200
    r = api.client.get("/api/v1/notifications", headers=headers)
    assert r.status_code == 403 and r.json() == {
        "error": "This action is outside the authorized scopes"
    }
    assert (
        api.client.post("/api/v1/statuses", headers=headers, data={"status": "x"}).status_code
        == 403
    )


def test_follow_scope_grants_follows(api: Api) -> None:
    api.register("alice")
    bob = api.register("bob")
    token = api.token_with("alice", "follow")
    r = api.client.post(
        f"/api/v1/accounts/{bob.id}/follow", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json()["following"] is True


def test_app_verify_credentials(api: Api) -> None:
    token = api.app_token("read")
    r = api.client.get(
        "/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json()["name"] == "tests"
