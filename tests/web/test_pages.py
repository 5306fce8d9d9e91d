"""The web pages over plain HTTP, on SQLite and PostgreSQL: status codes (404 for what does
not exist or may not be seen, 410 for a suspended account), valid HTML, the RSS feeds,
the session cookie and CSRF, the sign-in limit, and every value a user can set escaped."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import html5lib
import pytest
from PIL import Image
from starlette.testclient import TestClient
from tests.api.test_reports import _admin
from tests.conftest import Api

from aloft.app import create_app
from aloft.config import Settings

PASSWORD = "correct horse battery"
# Markup a person might type anywhere, to see it shown and never run.
MARKUP = """<script>alert(1)</script><img src=x onerror="alert(2)">"'&"""


def valid_html(text: str) -> Any:
    """The page's document; fails on any HTML parse error (an unclosed or misnested tag, a
    stray end tag, a duplicate attribute) as html5lib's strict mode reports them."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        return parser.parse(text)
    except html5lib.html5parser.ParseError as exc:
        pytest.fail(f"invalid HTML: {exc}\n{text[:3000]}")


def page(api: Api, path: str, status: int = 200, **kwargs: Any) -> Any:
    r = api.client.get(path, **kwargs)
    assert r.status_code == status, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    return r


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> Any:
    client.get("/sign_in")
    return client.post(
        "/sign_in",
        data={"csrf_token": client.cookies["aloft_web_csrf"], "login": login, "password": password},
        follow_redirects=False,
    )


@pytest.fixture
def thread(api: Api) -> dict[str, Any]:
    alice = api.register("alice")
    bob = api.register("bob")
    first = api.post(alice, "Low tide at noon #sea")
    reply = api.post(bob, "@alice thanks", in_reply_to_id=first["id"])
    own = api.post(alice, "replying to myself", in_reply_to_id=first["id"])
    private = api.post(alice, "for my followers", visibility="private")
    return {
        "alice": alice,
        "bob": bob,
        "first": first,
        "reply": reply,
        "own": own,
        "private": private,
    }


def test_public_pages(api: Api, thread: dict[str, Any]) -> None:
    first = thread["first"]
    # The API's urls are these pages.
    assert first["url"].endswith(f"/@alice/{first['id']}")
    assert first["account"]["url"].endswith("/@alice")

    front = page(api, "/")
    valid_html(front.text)
    assert 'rel="next"' not in front.text  # one page holds them all
    assert "Low tide at noon" in front.text and "for my followers" not in front.text

    profile = page(api, "/@alice")
    valid_html(profile.text)
    assert "Low tide at noon" in profile.text
    assert "replying to myself" in profile.text  # a thread of her own is a post
    assert "for my followers" not in profile.text
    assert '<link rel="alternate" type="application/rss+xml"' in profile.text
    assert 'property="og:url" content="http://127.0.0.1:8080/@alice"' in profile.text
    bob = page(api, "/@bob")
    assert "thanks" not in bob.text  # replies are on the other tab
    assert "thanks" in page(api, "/@bob?tab=replies").text

    focus = page(api, f"/@alice/{first['id']}")
    valid_html(focus.text)
    assert "Low tide at noon" in focus.text and "thanks" in focus.text
    assert f'<link rel="canonical" href="{first["url"]}">' in focus.text
    assert 'name="twitter:card"' in focus.text
    # The reply's page shows what it answers.
    reply_page = page(api, f"/@bob/{thread['reply']['id']}")
    assert "Low tide at noon" in reply_page.text

    tag = page(api, "/tags/sea")
    valid_html(tag.text)
    assert "Low tide at noon" in tag.text
    assert 'href="/tags/sea.rss"' in tag.text
    # Pages of older posts; a cursor that is not an id is the first page.
    assert page(api, f"/@alice?max_id={first['id']}").text.count('class="status') == 0
    assert "Low tide" in page(api, "/?max_id=junk").text


def test_search(api: Api, thread: dict[str, Any]) -> None:
    valid_html(page(api, "/search").text)
    found = page(api, "/search?q=ali")
    valid_html(found.text)
    assert 'href="/@alice"' in found.text
    assert 'href="/tags/sea"' in page(api, "/search?q=%23se").text
    # Posts are searched for signed-in people only, as the API does.
    assert "Low tide" not in page(api, "/search?q=tide").text
    assert sign_in(api.client, "bob").status_code == 303
    assert "Low tide at noon" in page(api, "/search?q=tide").text
    page(api, "/search?q=%00")


def test_older_pages(api: Api) -> None:
    fred = api.register("fred")
    made = [api.post(fred, f"number {n}")["id"] for n in range(21)]
    first = page(api, "/@fred")
    assert first.text.count('class="status') == 20 and f'id="s-{made[0]}"' not in first.text
    older = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert older is not None
    second = page(api, older.group(1).replace("&amp;", "&"))
    assert second.text.count('class="status') == 1 and f'id="s-{made[0]}"' in second.text
    assert 'rel="next"' not in second.text


def test_not_found_and_gone(api: Api, thread: dict[str, Any]) -> None:
    assert "no account by that name" in page(api, "/@nobody", 404).text
    valid_html(page(api, "/@nobody", 404).text)
    assert "no such post" in page(api, "/@alice/123", 404).text
    assert "no such post" in page(api, "/@alice/not-a-number", 404).text
    # A post is at its author's address only.
    page(api, f"/@bob/{thread['first']['id']}", 404)
    # Signed out, a followers-only post does not exist.
    page(api, f"/@alice/{thread['private']['id']}", 404)
    deleted = api.post(thread["alice"], "soon gone")
    api.client.delete(f"/api/v1/statuses/{deleted['id']}", headers=thread["alice"].headers)
    page(api, f"/@alice/{deleted['id']}", 404)

    root = _admin(api)
    r = api.client.post(
        f"/api/v1/admin/accounts/{thread['bob'].id}/action",
        headers=root.headers,
        data={"type": "suspend"},
    )
    assert r.status_code == 200, r.text
    gone = page(api, "/@bob", 410)
    assert "suspended" in gone.text
    page(api, f"/@bob/{thread['reply']['id']}", 410)
    assert api.client.get("/@bob.rss").status_code == 410


def test_rss_feeds(api: Api, thread: dict[str, Any]) -> None:
    r = api.client.get("/@alice.rss")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/rss+xml")
    channel = ET.fromstring(r.content).find("channel")
    assert channel is not None and channel.findtext("link") == "http://127.0.0.1:8080/@alice"
    links = [item.findtext("link") for item in channel.iter("item")]
    # Public posts and her own thread's, newest first; no replies to others, nothing private.
    assert links == [thread["own"]["url"], thread["first"]["url"]]
    assert "replying to myself" in (channel.find("item").findtext("description") or "")  # type: ignore[union-attr]

    r = api.client.get("/tags/SEA.rss")
    channel = ET.fromstring(r.content).find("channel")
    assert channel is not None and channel.findtext("title") == "#sea"
    assert [i.findtext("link") for i in channel.iter("item")] == [thread["first"]["url"]]
    assert api.client.get("/@nobody.rss").status_code == 404


def test_sign_up_session_cookie_csrf_and_sign_out(api: Api) -> None:
    client = api.client
    form = page(api, "/sign_up")
    valid_html(form.text)
    csrf = client.cookies["aloft_web_csrf"]
    fields = {
        "username": "dora",
        "email": "dora@example.org",
        "password": PASSWORD,
        "agreement": "true",
    }
    # Without the form's token: refused, and no account made.
    refused = client.post("/sign_up", data=fields, follow_redirects=False)
    assert refused.status_code == 403 and "form has expired" in refused.text
    made = client.post("/sign_up", data=fields | {"csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/home"
    cookie = made.headers["set-cookie"]
    assert cookie.startswith("aloft_session=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain http here
    home = page(api, "/home")
    valid_html(home.text)
    assert "What's on your mind?" in home.text and 'data-max="500"' in home.text
    for path in ("/settings", "/notifications", "/@dora"):
        valid_html(page(api, path).text)

    # The name is taken now: the form again, saying why, with what was typed.
    client.cookies.delete("aloft_session")
    again = client.post("/sign_up", data=fields | {"csrf_token": csrf})
    assert again.status_code == 422 and "taken" in again.text and 'value="dora"' in again.text

    signed = sign_in(client, "dora")
    assert signed.status_code == 303
    token = client.cookies["aloft_session"]
    out = client.post("/sign_out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and 'aloft_session=""' in out.headers["set-cookie"]
    # The token is revoked, not only forgotten by this browser.
    client.cookies.set("aloft_session", token)
    assert page(api, "/home", 403).text.count("Sign in to do that") == 1
    assert (
        api.client.get(
            "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_wrong_password_and_secure_cookie_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://aloft.example") as client:
        Api(client).register("erin")
        wrong = sign_in(client, "erin", "not the password")
        assert wrong.status_code == 401 and "do not match" in wrong.text
        right = sign_in(client, "erin")
        assert right.status_code == 303 and "Secure" in right.headers["set-cookie"]


def test_sign_in_is_rate_limited_as_the_api(tmp_path: Any) -> None:
    limited = Settings(data_dir=tmp_path / "data", rate_limits=True)
    with TestClient(create_app(limited), base_url="http://127.0.0.1:8080") as client:
        statuses = [sign_in(client, "nobody", "guess").status_code for _ in range(26)]
        assert statuses[:25] == [401] * 25 and statuses[25] == 429
        last = sign_in(client, "nobody", "guess")
        assert "Too many sign-in attempts" in last.text and "retry-after" in last.headers


def test_forms_post_favourite_follow_and_settings(api: Api, thread: dict[str, Any]) -> None:
    client = api.client
    assert sign_in(client, "bob").status_code == 303
    csrf = client.cookies["aloft_web_csrf"]
    first = thread["first"]
    base = "http://127.0.0.1:8080"
    # Each form answers 303 back where it came from (only ever this site).
    r = client.post(
        f"/web/statuses/{first['id']}/favourite",
        data={"csrf_token": csrf},
        headers={"Referer": f"{base}/@alice/{first['id']}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/@alice/{first['id']}"
    r = client.post(
        f"/web/accounts/{thread['alice'].id}/follow",
        data={"csrf_token": csrf},
        headers={"Referer": "https://elsewhere.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/home"
    r = client.post("/web/statuses", data={"csrf_token": csrf, "status": "", "visibility": ""})
    assert r.status_code == 422 and "can&#39;t be blank" in r.text
    r = client.post(
        "/settings",
        data={"csrf_token": csrf, "display_name": "Bobby", "note": "Sailor", "locked": "true"},
    )
    assert r.status_code == 200 and "Saved." in r.text
    me = api.get("/api/v1/accounts/verify_credentials", thread["bob"]).json()
    assert (me["display_name"], me["locked"]) == ("Bobby", True)
    r = client.post(f"/web/statuses/{first['id']}/bookmark", data={"csrf_token": csrf})
    assert r.status_code == 200 and 'aria-pressed="true">Bookmark' in r.text
    # A reply from the thread page's form.
    thread_page = page(api, f"/@alice/{first['id']}")
    assert f'name="in_reply_to_id" value="{first["id"]}"' in thread_page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', thread_page.text)
    assert key is not None
    reply = {
        "csrf_token": csrf,
        "status": "@alice see you there",
        "in_reply_to_id": first["id"],
        "visibility": "public",
        "spoiler_text": "plans",
        "idempotency_key": key.group(1),
    }
    for _ in range(2):  # sent twice (a double click): posted once
        r = client.post("/web/statuses", data=reply, headers={"Referer": first["url"]})
        assert r.status_code == 200
    replies = api.get(f"/api/v1/statuses/{first['id']}/context").json()["descendants"]
    assert [s["spoiler_text"] for s in replies].count("plans") == 1
    seen = api.get(f"/api/v1/statuses/{first['id']}", thread["bob"]).json()
    assert seen["favourited"] is True and seen["bookmarked"] is True
    rel = api.get("/api/v1/accounts/relationships", thread["bob"], id=thread["alice"].id)
    assert rel.json()[0]["following"] is True
    # A form without its token changes nothing.
    r = client.post(f"/web/statuses/{first['id']}/unfavourite", data={})
    assert r.status_code == 403
    assert api.get(f"/api/v1/statuses/{first['id']}", thread["bob"]).json()["favourited"]


def _image(size: tuple[int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 90, 0)).save(buffer, kind)
    return buffer.getvalue()


def test_settings_form_sets_and_removes_the_avatar_and_header(api: Api) -> None:
    dora = api.register("dora")
    client = api.client
    assert sign_in(client, "dora").status_code == 303
    form = valid_html(page(api, "/settings").text)
    (settings_form,) = [f for f in form.iter("form") if f.get("action") == "/settings"]
    assert settings_form.get("enctype") == "multipart/form-data"
    labelled = {label.get("for") for label in form.iter("label")}
    assert {"avatar", "header", "avatar_description", "header_description"} <= labelled
    fields = {"csrf_token": client.cookies["aloft_web_csrf"], "display_name": "Dora"}
    r = client.post(
        "/settings",
        data=fields | {"avatar_description": "An orange square", "header_description": ""},
        files={
            "avatar": ("me.png", _image((640, 480)), "image/png"),
            "header": ("", b"", "application/octet-stream"),  # an input left empty
        },
    )
    assert r.status_code == 200 and "Saved." in r.text, r.text[:2000]
    valid_html(r.text)
    me = api.get("/api/v1/accounts/verify_credentials", dora).json()
    assert "/media/" in me["avatar"] and "/media/" not in me["header"]
    assert me["avatar_description"] == "An orange square"
    served = client.get(me["avatar"].removeprefix("http://127.0.0.1:8080"))
    assert Image.open(io.BytesIO(served.content)).size == (400, 400)
    # The profile shows it with its alt text; statuses show the author's avatar.
    api.post(dora, "hello with a face")
    profile = page(api, "/@dora").text
    assert f'src="{me["avatar"]}" alt="An orange square"' in profile
    assert profile.count(f'src="{me["avatar"]}"') >= 2
    me = api.get("/api/v1/accounts/verify_credentials", dora).json()
    # A bad file: 422 with the form again, naming the field, and nothing changed.
    r = client.post(
        "/settings",
        data=fields | {"display_name": "Not saved"},
        files={"header": ("h.png", b"not an image at all", "image/png")},
    )
    assert r.status_code == 422 and "Header must be a JPEG, PNG, GIF or WebP image" in r.text
    valid_html(r.text)
    assert api.get("/api/v1/accounts/verify_credentials", dora).json() == me
    # A header, then the avatar removed: the default back, its alt text gone.
    r = client.post(
        "/settings",
        data=fields | {"remove_avatar": "true", "avatar_description": "An orange square"},
        files={"header": ("h.jpg", _image((3000, 1000), "JPEG"), "image/jpeg")},
    )
    assert r.status_code == 200, r.text[:2000]
    after = api.get("/api/v1/accounts/verify_credentials", dora).json()
    assert "/media/" not in after["avatar"] and after["avatar_description"] == ""
    assert "/media/" in after["header"]
    header = client.get(after["header"].removeprefix("http://127.0.0.1:8080"))
    assert Image.open(io.BytesIO(header.content)).size == (1500, 500)
    assert client.get(me["avatar"].removeprefix("http://127.0.0.1:8080")).status_code == 404
    # Without its CSRF token the form changes nothing.
    r = client.post(
        "/settings",
        data={"display_name": "x"},
        files={"avatar": ("me.png", _image((50, 50)), "image/png")},
    )
    assert r.status_code == 403
    assert api.get("/api/v1/accounts/verify_credentials", dora).json() == after


def _scripts_and_handlers(document: Any) -> list[str]:
    """What would run in a browser: script elements other than our own file, and event
    handler attributes."""
    found = []
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "script" and element.get("src") != "/static/aloft.js":
            found.append(f"<script> {element.text!r}")
        found += [f"{element.tag} {name}" for name in element.attrib if name.startswith("on")]
    return found


def test_every_user_value_is_escaped(api: Api) -> None:
    mallory = api.register("mallory")
    r = api.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=mallory.headers,
        data={
            "display_name": MARKUP[:30],
            "note": MARKUP,
            "avatar_description": MARKUP,
            "header_description": MARKUP,
        },
    )
    assert r.status_code == 200, r.text
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(buffer, "PNG")
    png = buffer.getvalue()
    upload = api.client.post(
        "/api/v2/media",
        headers=mallory.headers,
        files={"file": ("x.png", png, "image/png")},
        data={"description": MARKUP},
    )
    assert upload.status_code == 200, upload.text
    status = api.post(
        mallory,
        f"{MARKUP} #tagged",
        spoiler_text=MARKUP,
        **{"media_ids[]": upload.json()["id"]},
    )
    assert sign_in(api.client, "mallory").status_code == 303
    paths = ["/", "/@mallory", f"/@mallory/{status['id']}", "/tags/tagged", "/home", "/settings"]
    for path in paths:
        text = page(api, path).text
        document = valid_html(text)
        assert _scripts_and_handlers(document) == [], path
        assert MARKUP not in text and MARKUP[:30] not in text, path
        # Shown as text: the escaped form is there.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
    # The alt text is in the image's alt attribute and its caption, as text.
    thread_text = page(api, f"/@mallory/{status['id']}").text
    assert re.search(r'alt="&lt;script&gt;alert\(1\)&lt;/script&gt;', thread_text)
    feed = api.client.get("/@mallory.rss")
    assert ET.fromstring(feed.content).find("channel") is not None
    assert MARKUP not in feed.text


def test_moderation_queue(api: Api, thread: dict[str, Any]) -> None:
    alice, bob = thread["alice"], thread["bob"]
    r = api.client.post(
        "/api/v1/reports",
        headers=alice.headers,
        data={
            "account_id": bob.id,
            "status_ids[]": thread["reply"]["id"],
            "comment": "<b>rude</b> reply",
        },
    )
    assert r.status_code == 200, r.text
    # Not for people who are not admins.
    assert sign_in(api.client, "alice").status_code == 303
    assert page(api, "/admin", 403).status_code == 403
    _admin(api)
    assert sign_in(api.client, "root").status_code == 303
    queue = page(api, "/admin")
    valid_html(queue.text)
    assert "&lt;b&gt;rude&lt;/b&gt; reply" in queue.text and "thanks" in queue.text
    report_id = re.search(r"/admin/reports/(\d+)/suspend", queue.text)
    assert report_id is not None
    csrf = api.client.cookies["aloft_web_csrf"]
    done = api.client.post(
        f"/admin/reports/{report_id.group(1)}/suspend",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "No open reports." in page(api, "/admin").text
    page(api, "/@bob", 410)
