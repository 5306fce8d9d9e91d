"""How much one status may store. Mastodon counts every link as 23 characters, so without
caps of their own a 500-character post could carry megabytes of URL (each written twice into
the HTML: once as the link, once as its text)."""

from __future__ import annotations

from aloft.services import text
from tests.conftest import Api


def url(length: int) -> str:
    head = "https://example.org/"
    return head + "a" * (length - len(head))


def test_a_link_longer_than_the_cap_is_refused(api: Api) -> None:
    alice = api.register("alice")
    r = api.client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        data={"status": f"look {url(text.MAX_URL_CHARACTERS + 1)}"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == (
        f"Validation failed: Links may be at most {text.MAX_URL_CHARACTERS} characters"
    )
    assert r.json()["details"]["status"][0]["error"] == "ERR_TOO_LONG"


def test_a_link_of_the_largest_size_is_posted(api: Api) -> None:
    alice = api.register("alice")
    link = url(text.MAX_URL_CHARACTERS)
    posted = api.post(alice, f"look {link}")
    assert f'href="{link}"' in posted["content"]


def test_the_stored_text_is_capped_whatever_the_links(api: Api) -> None:
    alice = api.register("alice")
    # Ten links of the largest size: 250 characters as Mastodon counts them, 20 KB of text.
    status = " ".join([url(text.MAX_URL_CHARACTERS)] * 10)
    assert text.weighted_length(status) <= text.MAX_CHARACTERS
    r = api.client.post("/api/v1/statuses", headers=alice.headers, data={"status": status})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == (
        f"Validation failed: Text may be at most {text.MAX_STORED_CHARACTERS} "
        "characters long, links included"
    )
    assert r.json()["details"]["status"][0]["error"] == "ERR_TOO_LONG"
    r = api.client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        data={"status": "short", "spoiler_text": "x" * (text.MAX_STORED_CHARACTERS + 1)},
    )
    assert r.status_code == 422, r.text


def test_the_largest_post_stays_small(api: Api) -> None:
    """Text at the cap, all of it links: the HTML stays a few times the text, not megabytes."""
    alice = api.register("alice")
    n = text.MAX_STORED_CHARACTERS // (text.MAX_URL_CHARACTERS + 1)
    status = " ".join([url(text.MAX_URL_CHARACTERS)] * n)
    posted = api.post(alice, status)
    assert len(posted["content"]) < 3 * text.MAX_STORED_CHARACTERS
    r = api.get("/api/v1/timelines/public")
    assert r.status_code == 200
    assert len(r.content) < 4 * text.MAX_STORED_CHARACTERS
