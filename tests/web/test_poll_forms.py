"""Polls on the web pages, on SQLite and PostgreSQL: made from the compose form (without
JavaScript: a fixed set of choice inputs, the empty ones left out), refused with images as
the API refuses them (and nothing stored), voted in from any page that shows one, and shown
with their results as the API's Poll entity says (hidden totals, the end)."""

from __future__ import annotations

import io
import re
from typing import Any

import sqlalchemy as sa
from PIL import Image
from tests.api.test_polls import _expire
from tests.conftest import Api
from tests.web.test_pages import page, sign_in, valid_html

from aloft.storage.schema import media_attachments

BASE = "http://127.0.0.1:8080"


def _form(api: Api, path: str = "/home") -> dict[str, str]:
    """The compose form's hidden fields, as the page gave them."""
    text = page(api, path).text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', text)
    assert key is not None
    return {"csrf_token": api.client.cookies["aloft_web_csrf"], "idempotency_key": key.group(1)}


def _newest(api: Api, user: Any) -> dict[str, Any]:
    found = api.get(f"/api/v1/accounts/{user.id}/statuses", user).json()
    return found[0]


def _uploads(api: Api) -> int:
    db = api.client.app.state.db  # type: ignore[attr-defined]
    return int(
        db.read(
            lambda conn: conn.execute(
                sa.select(sa.func.count()).select_from(media_attachments)
            ).scalar_one()
        )
    )


def test_compose_form_offers_the_instances_poll_limits(api: Api) -> None:
    api.register("alice")
    assert sign_in(api.client, "alice").status_code == 303
    home = page(api, "/home")
    valid_html(home.text)
    polls = api.get("/api/v2/instance").json()["configuration"]["polls"]
    # One input per option the instance allows, each labelled.
    assert home.text.count('name="poll_option"') == polls["max_options"]
    for i in range(polls["max_options"]):
        assert f'<label for="poll-option-{i}">' in home.text
    assert f'maxlength="{polls["max_characters_per_option"]}"' in home.text
    # Mastodon's durations, within the advertised bounds; one day chosen.
    durations = [int(s) for s in re.findall(r'<option value="(\d+)"', home.text)]
    assert durations == [300, 1800, 3600, 21600, 86400, 259200, 604800]
    assert all(polls["min_expiration"] <= d <= polls["max_expiration"] for d in durations)
    assert '<option value="86400" selected>' in home.text
    assert 'name="poll_multiple"' in home.text and 'name="poll_hide_totals"' in home.text


def test_post_a_poll_from_the_form(api: Api) -> None:
    alice = api.register("alice")
    assert sign_in(api.client, "alice").status_code == 303
    fields = _form(api) | {
        "status": "Tea or coffee?",
        "visibility": "public",
        "poll_option": ["tea", "", "coffee", "  "],
        "poll_expires_in": "3600",
    }
    for _ in range(2):  # sent twice (a double click): posted once
        r = api.client.post("/web/statuses", data=fields, headers={"Referer": f"{BASE}/home"})
        assert r.status_code == 200, r.text[:2000]
    made = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()
    assert len(made) == 1
    poll = made[0]["poll"]
    assert [o["title"] for o in poll["options"]] == ["tea", "coffee"]
    assert poll["multiple"] is False and poll["expired"] is False
    # The author does not vote in her own poll: the results, not a form.
    mine = page(api, f"/@alice/{made[0]['id']}").text
    assert f"/web/polls/{poll['id']}/votes" not in mine
    assert "tea</span>: 0 %" in mine and "0 people voted" in mine

    # Refused as the API refuses it, and nothing is made or stored.
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 90, 0)).save(png, "PNG")
    before = _uploads(api)
    r = api.client.post(
        "/web/statuses",
        data=_form(api)
        | {"status": "with a picture", "poll_option": ["a", "b"], "poll_expires_in": "300"},
        files={"media": ("x.png", png.getvalue(), "image/png")},
    )
    assert r.status_code == 422 and "a poll cannot be attached to a post with media" in r.text
    valid_html(r.text)
    assert _uploads(api) == before
    r = api.client.post(
        "/web/statuses",
        data=_form(api) | {"status": "one", "poll_option": ["only", ""], "poll_expires_in": "300"},
    )
    assert r.status_code == 422 and "at least 2 options" in r.text
    r = api.client.post(
        "/web/statuses",
        data=_form(api) | {"status": "too long", "poll_option": ["a", "b"], "poll_expires_in": "5"},
    )
    assert r.status_code == 422 and "must be between 300 and" in r.text
    assert len(api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()) == 1


def test_vote_from_the_page_and_see_the_results(api: Api) -> None:
    alice = api.register("alice")
    bob = api.register("bob")
    assert sign_in(api.client, "alice").status_code == 303
    single = _form(api) | {"status": "Pick one", "poll_option": ["sun", "rain", "snow"]}
    single["poll_expires_in"] = "86400"
    assert api.client.post("/web/statuses", data=single).status_code == 200
    hidden = _form(api) | {
        "status": "Pick any",
        "poll_option": ["red", "green", "blue"],
        "poll_multiple": "true",
        "poll_hide_totals": "true",
        "poll_expires_in": "300",
    }
    assert api.client.post("/web/statuses", data=hidden).status_code == 200
    statuses = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()
    any_of, one_of = statuses[0], statuses[1]
    assert any_of["poll"]["multiple"] and one_of["poll"]["multiple"] is False

    assert sign_in(api.client, "bob").status_code == 303
    profile = page(api, "/@alice").text
    valid_html(profile)
    # A radio group for one choice, checkboxes for several; each choice a labelled control.
    one_form = f'action="/web/polls/{one_of["poll"]["id"]}/votes"'
    any_form = f'action="/web/polls/{any_of["poll"]["id"]}/votes"'
    assert one_form in profile and any_form in profile
    assert '<label class="check"><input type="radio" name="choices" value="1"> rain</label>' in (
        profile
    )
    assert '<input type="checkbox" name="choices" value="2"> blue</label>' in profile

    csrf = api.client.cookies["aloft_web_csrf"]
    r = api.client.post(
        f"/web/polls/{one_of['poll']['id']}/votes",
        data={"csrf_token": csrf, "choices": "1"},
        headers={"Referer": f"{BASE}/@alice"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/@alice"
    seen = api.get(f"/api/v1/polls/{one_of['poll']['id']}", bob).json()
    assert seen["voted"] is True and seen["own_votes"] == [1] and seen["votes_count"] == 1
    # Voting again is refused as the API refuses it; a form without its token changes nothing.
    again = api.client.post(
        f"/web/polls/{one_of['poll']['id']}/votes", data={"csrf_token": csrf, "choices": "0"}
    )
    assert again.status_code == 422 and "already voted" in again.text
    r = api.client.post(f"/web/polls/{any_of['poll']['id']}/votes", data={"choices": "0"})
    assert r.status_code == 403
    none = api.client.post(f"/web/polls/{any_of['poll']['id']}/votes", data={"csrf_token": csrf})
    assert none.status_code == 422 and "can&#39;t be blank" in none.text
    r = api.client.post(
        f"/web/polls/{any_of['poll']['id']}/votes",
        data={"csrf_token": csrf, "choices": ["0", "2"]},
    )
    assert r.status_code == 200

    after = page(api, "/@alice").text
    valid_html(after)
    assert one_form not in after and any_form not in after
    assert "rain</span>: 100 %" in after and "your choice" in after
    assert "sun</span>: 0 %" in after and "1 person voted" in after
    # Hidden totals: no shares until the end, and the page says so.
    assert "red</span>: " not in after and "results are shown when voting ends" in after

    _expire(api, any_of["poll"]["id"])
    ended = page(api, f"/@alice/{any_of['id']}").text
    assert "voting has ended" in ended and "results are shown" not in ended
    # Of the voters, in a multiple-choice poll: bob chose red and blue.
    assert "red</span>: 100 %" in ended and "green</span>: 0 %" in ended
    # Signed out: results, never a form.
    api.client.cookies.delete("aloft_session")
    public = page(api, "/@alice").text
    assert "/votes" not in public and "rain</span>: 100 %" in public
