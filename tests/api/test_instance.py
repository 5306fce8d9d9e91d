"""Instance metadata, NodeInfo, OAuth server metadata, CORS, the front page."""

from tests.conftest import Api


def test_instance_v1_and_v2(api: Api) -> None:
    alice = api.register("alice")
    api.post(alice, "one")
    v1 = api.get("/api/v1/instance").json()
    assert v1["version"].startswith("4.3.0 (compatible; Aloft ")
    assert v1["stats"]["user_count"] == 1 and v1["stats"]["status_count"] == 1
    assert v1["configuration"]["statuses"]["max_characters"] == 500
    v2 = api.get("/api/v2/instance").json()
    assert v2["version"] == v1["version"] and v2["api_versions"] == {"mastodon": 2}
    assert v2["configuration"]["urls"]["streaming"].startswith("ws://")
    assert v2["registrations"]["enabled"] is True and v2["usage"]["users"]["active_month"] == 1


def test_counts_are_kept_but_a_new_account_or_post_here_counts_at_once(api: Api) -> None:
    """The figures are counted at most once a minute per process, but the process that
    makes an account or a status counts again at the next ask."""
    stats = api.get("/api/v1/instance").json()["stats"]
    assert (stats["user_count"], stats["status_count"]) == (0, 0)
    bob = api.register("bob")
    assert api.get("/api/v1/instance").json()["stats"]["user_count"] == 1
    api.post(bob, "counted")
    assert api.get("/api/v1/instance").json()["stats"]["status_count"] == 1
    assert api.get("/api/v2/instance").json()["usage"]["users"]["active_month"] == 1


def test_nodeinfo(api: Api) -> None:
    links = api.get("/.well-known/nodeinfo").json()["links"]
    assert links[0]["href"].endswith("/nodeinfo/2.0")
    info = api.get("/nodeinfo/2.0").json()
    assert info["software"]["name"] == "aloft" and info["usage"]["users"]["total"] == 0
    assert info["openRegistrations"] is True


def test_oauth_server_metadata(api: Api) -> None:
    meta = api.get("/.well-known/oauth-authorization-server").json()
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "password",
        "client_credentials",
    }
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint"].endswith("/oauth/token")
    assert "read:statuses" in meta["scopes_supported"]


def test_cors_for_browser_clients(api: Api) -> None:
    pre = api.client.options(
        "/api/v1/timelines/home",
        headers={
            "Origin": "https://elk.zone",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] in ("*", "https://elk.zone")
    r = api.client.get("/api/v1/timelines/public", headers={"Origin": "https://elk.zone"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "Link" in r.headers["access-control-expose-headers"]


def test_front_page_shows_public_posts_and_how_to_connect(api: Api) -> None:
    alice = api.register("alice")
    api.post(alice, "visible <b>on</b> the front page")
    api.post(alice, "for followers only", visibility="private")
    page = api.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "visible &lt;b&gt;on&lt;/b&gt; the front page" in page.text
    assert "for followers only" not in page.text
    assert "toot login_cli" in page.text and "Mastodon.py" in page.text


def test_default_avatar_is_served(api: Api) -> None:
    alice = api.register("alice")
    avatar = api.get(f"/api/v1/accounts/{alice.id}").json()["avatar"]
    r = api.client.get(avatar.replace("http://127.0.0.1:8080", ""))
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
