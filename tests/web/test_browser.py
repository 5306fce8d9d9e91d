"""The web interface in a real browser (Chromium through Playwright) against a real
`aloft serve`: two people sign up, sign in, follow, post a photo with alt text, see it
arrive live, favourite it, and see the notification badge move; public pages read with
JavaScript off. Every page is checked for console errors (tests/web/conftest.py)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.conftest import Server, register_http

PASSWORD = "correct horse battery"
LIVE_MS = 20_000  # generous: the machine is shared; an update usually takes well under 1 s


def sign_up(page: Any, name: str) -> None:
    page.goto("/sign_up")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/home")


def wait_streaming(page: Any) -> None:
    page.wait_for_selector("body[data-stream=open]", timeout=LIVE_MS)


def photo(tmp_path: Any) -> Any:
    path = tmp_path / "sunrise.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (230, 120, 40)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_sign_up_post_photo_arrives_live_follow_favourite_badge(
    open_page: Any, tmp_path: Any
) -> None:
    alice = open_page()
    sign_up(alice, "alice")
    # Sign out, and back in.
    alice.get_by_role("button", name="Sign out").click()
    alice.wait_for_url("**/")
    assert alice.get_by_role("link", name="Sign in").is_visible()
    alice.goto("/sign_in")
    alice.get_by_label("Email or username").fill("alice")
    alice.get_by_label("Password").fill("wrong password")
    alice.get_by_role("button", name="Sign in").click()
    assert "do not match" in alice.get_by_role("alert").inner_text()
    alice.get_by_label("Password").fill(PASSWORD)
    alice.get_by_role("button", name="Sign in").click()
    alice.wait_for_url("**/home")

    # Her avatar, with alt text, from the settings form; her profile shows it at 400x400.
    alice.goto("/settings")
    alice.get_by_label("New avatar").set_input_files(str(photo(tmp_path)))
    alice.get_by_label("Avatar description").fill("A small orange square")
    alice.get_by_role("button", name="Save").click()
    assert alice.get_by_role("status").inner_text() == "Saved."
    alice.goto("/@alice")
    avatar = alice.get_by_role("img", name="A small orange square")
    assert avatar.evaluate("img => img.complete && img.naturalWidth") == 400

    bob = open_page()
    sign_up(bob, "bob")
    bob.goto("/@alice")
    bob.get_by_role("button", name="Follow").click()
    assert bob.get_by_role("button", name="Unfollow").is_visible()
    bob.goto("/home")
    wait_streaming(bob)

    # Alice posts a photo with alt text; the counter follows what she types.
    alice.goto("/home")
    wait_streaming(alice)
    assert alice.locator("#unread").inner_text() == "1"  # bob's follow
    alice.get_by_label("What's on your mind?").fill("Sunrise over the bay")
    assert alice.locator("#compose-count").inner_text() == str(500 - len("Sunrise over the bay"))
    alice.get_by_text("Images (up to 4").click()
    alice.locator("#media-0").set_input_files(str(photo(tmp_path)))
    alice.locator("#alt-0").fill("An orange sky above calm water")
    alice.get_by_role("button", name="Post").click()
    alice.wait_for_url("**/home")
    mine = alice.locator("article.status", has_text="Sunrise over the bay")
    # She was on /home already, so the URL matched before the new page came: wait for the
    # post to show (is_visible does not wait; this raced once in CI).
    picture = mine.get_by_role("img", name="An orange sky above calm water")
    picture.wait_for(state="visible")
    assert picture.is_visible()
    assert "An orange sky above calm water" in mine.locator("figcaption").inner_text()

    # It arrives on bob's open home timeline without a reload.
    arrived = bob.locator("#timeline article.status", has_text="Sunrise over the bay")
    arrived.wait_for(timeout=LIVE_MS)
    assert arrived.get_by_role("img", name="An orange sky above calm water").count() == 1

    # Bob favourites it; alice's badge moves while she looks at her page.
    wait_streaming(alice)
    arrived.get_by_role("button", name="Favourite").click()
    bob.wait_for_url("**/home")
    liked = bob.locator("article.status", has_text="Sunrise over the bay")
    assert liked.get_by_role("button", name="Favourite 1").get_attribute("aria-pressed") == "true"
    alice.wait_for_function(
        "document.getElementById('unread').textContent.trim() === '2'", timeout=LIVE_MS
    )

    # Her notifications say who did what; reading them clears the badge.
    alice.get_by_role("link", name="Notifications").click()
    listed = alice.locator(".notifications").inner_text()
    assert "followed you" in listed and "favourited your post" in listed
    alice.goto("/home")
    assert alice.locator("#unread").is_hidden()


@pytest.fixture(scope="module")
def public_thread(site: Server) -> dict[str, Any]:
    with httpx.Client(base_url=site.url) as client:
        token = register_http(client, "carol").json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        first = client.post(
            "/api/v1/statuses", headers=headers, data={"status": "Tides today #sea"}
        ).json()
        reply = client.post(
            "/api/v1/statuses",
            headers=headers,
            data={"status": "and tomorrow", "in_reply_to_id": first["id"]},
        ).json()
    return {"first": first, "reply": reply}


def test_public_profile_and_thread_without_javascript(
    open_page: Any, public_thread: dict[str, Any]
) -> None:
    page = open_page(js=False)
    page.goto("/@carol")
    assert "carol" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("article.status", has_text="Tides today").count() == 1
    feed = page.locator('link[rel=alternate][type="application/rss+xml"]')
    assert feed.get_attribute("href") == "/@carol.rss"
    page.get_by_role("link", name="Posts and replies").click()
    assert page.locator("article.status", has_text="and tomorrow").count() == 1

    first = public_thread["first"]
    page.goto(first["url"])
    assert page.locator("article.status.focus", has_text="Tides today").count() == 1
    assert page.locator(".descendants article", has_text="and tomorrow").count() == 1
    og = page.locator('meta[property="og:url"]').get_attribute("content")
    assert og == first["url"]
    assert page.locator('meta[name="twitter:card"]').count() == 1
    # Signed out: no forms to act with, and no stream.
    assert page.get_by_role("button", name="Favourite").count() == 0
    page.get_by_role("link", name="#sea").click()
    assert page.get_by_role("heading", level=1).inner_text() == "#sea"


def test_keyboard_reaches_the_content_first(open_page: Any, public_thread: dict[str, Any]) -> None:
    page = open_page()
    page.goto("/@carol")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
