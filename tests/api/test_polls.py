"""Polls (issue 13, item 4): made with a post, read, voted in, ended; both engines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from aloft.services import poll_expiry
from aloft.storage.schema import polls
from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User

POLL = {"poll[options][]": ["tea", "coffee", "water"], "poll[expires_in]": "3600"}


def _post_poll(api: Api, user: User, **extra: Any) -> dict[str, Any]:
    r = api.client.post(
        "/api/v1/statuses", headers=user.headers, data={"status": "which?", **POLL, **extra}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _vote(api: Api, user: User, poll_id: str, *choices: int) -> Any:
    return api.client.post(
        f"/api/v1/polls/{poll_id}/votes",
        headers=user.headers,
        data={"choices[]": [str(c) for c in choices]},
    )


def _expire(api: Api, poll_id: str) -> None:
    db = api.client.app.state.db  # type: ignore[attr-defined]
    db.write(
        lambda conn: conn.execute(
            sa.update(polls)
            .where(polls.c.id == int(poll_id))
            .values(expires_at=polls.c.expires_at - sa.text("INTERVAL '2 hours'"))
            if conn.dialect.name == "postgresql"
            else sa.update(polls)
            .where(polls.c.id == int(poll_id))
            .values(expires_at=sa.func.datetime("now", "-1 hour"))
        )
    )


def test_post_with_a_poll_and_read_it(api: Api) -> None:
    alice = api.register("alice")
    status = _post_poll(api, alice, **{"poll[multiple]": "true"})
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["tea", "coffee", "water"]
    assert poll["multiple"] is True and poll["expired"] is False and poll["votes_count"] == 0
    assert poll["voted"] is True  # its author counts as having voted, as in Mastodon
    assert_conforms("Status", status)
    assert_conforms("Poll", poll)
    r = api.get(f"/api/v1/polls/{poll['id']}")
    assert r.status_code == 200 and "voted" not in r.json()
    assert api.get(f"/api/v1/statuses/{status['id']}", alice).json()["poll"]["id"] == poll["id"]


def test_poll_as_json(api: Api) -> None:
    alice = api.register("alice")
    r = api.client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        json={
            "status": "json?",
            "poll": {"options": ["a", "b"], "expires_in": 600, "hide_totals": True},
        },
    )
    assert r.status_code == 200, r.text
    poll = r.json()["poll"]
    assert poll["multiple"] is False
    assert [o["votes_count"] for o in poll["options"]] == [None, None]  # totals hidden


def test_vote_once_and_counts(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    poll = _post_poll(api, alice)["poll"]
    r = _vote(api, bob, poll["id"], 1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["voted"] is True and body["own_votes"] == [1] and body["votes_count"] == 1
    assert [o["votes_count"] for o in body["options"]] == [0, 1, 0]
    assert_conforms("Poll", body)
    # The same vote again answers as the first (a retry); another vote is refused.
    again = _vote(api, bob, poll["id"], 1)
    assert again.status_code == 200 and again.json()["votes_count"] == 1
    other = _vote(api, bob, poll["id"], 2)
    assert other.status_code == 422 and "already voted" in other.json()["error"]
    # One choice only on a single-choice poll; the author may not vote; choices in range.
    assert _vote(api, carol, poll["id"], 0, 1).status_code == 422
    assert _vote(api, carol, poll["id"], 3).status_code == 422
    assert _vote(api, alice, poll["id"], 0).status_code == 422
    missing = api.client.post(f"/api/v1/polls/{poll['id']}/votes", headers=carol.headers)
    assert missing.status_code == 400 and "choices" in missing.json()["error"]
    assert _vote(api, carol, poll["id"], 0).json()["voters_count"] == 2
    seen = api.get(f"/api/v1/polls/{poll['id']}", carol).json()
    assert seen["own_votes"] == [0] and seen["voters_count"] == 2 and seen["votes_count"] == 2


def test_multiple_choice_votes(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    poll = _post_poll(api, alice, **{"poll[multiple]": "true"})["poll"]
    body = _vote(api, bob, poll["id"], 0, 2).json()
    assert body["own_votes"] == [0, 2] and body["votes_count"] == 2 and body["voters_count"] == 1


def test_limits_and_bad_input(api: Api) -> None:
    alice = api.register("alice")

    def post(**data: Any) -> Any:
        return api.client.post(
            "/api/v1/statuses", headers=alice.headers, data={"status": "x", **data}
        )

    cases = [
        {"poll[options][]": ["only"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b", "c", "d", "e"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b" * 51], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b"]},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "299"},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": str(30 * 86400 + 1)},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "soon"},
        {"poll[options][]": ["a", "a"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "600", "poll[multiple]": "maybe"},
        {"poll": "yes"},
    ]
    for data in cases:
        r = post(**data)
        assert r.status_code == 422, (data, r.text)
        assert "error" in r.json()
    ok = post(**{"poll[options][]": ["a" * 50, "b"], "poll[expires_in]": str(30 * 86400)})
    assert ok.status_code == 200, ok.text
    # A poll and media together are refused, as Mastodon does.
    both = post(**{"poll[options][]": ["a", "b"], "poll[expires_in]": "600", "media_ids[]": "1"})
    assert both.status_code == 422
    assert api.get("/api/v1/polls/123456").status_code == 404
    assert api.get("/api/v1/polls/abc").status_code == 404
    # Nothing was posted by the refused requests.
    statuses = api.get(f"/api/v1/accounts/{alice.id}/statuses").json()
    assert len(statuses) == 1


def test_private_poll_hidden_from_others(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(bob, alice)
    poll = _post_poll(api, alice, visibility="private")["poll"]
    assert api.get(f"/api/v1/polls/{poll['id']}", carol).status_code == 404
    assert api.get(f"/api/v1/polls/{poll['id']}").status_code == 404
    assert _vote(api, carol, poll["id"], 0).status_code == 404
    assert api.get(f"/api/v1/polls/{poll['id']}", bob).status_code == 200
    assert _vote(api, bob, poll["id"], 0).status_code == 200


def test_instance_advertises_the_limits(api: Api) -> None:
    for path in ("/api/v1/instance", "/api/v2/instance"):
        limits = api.get(path).json()["configuration"]["polls"]
        assert limits == {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2592000,
        }


def test_expired_poll_refuses_votes_and_notifies_once(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    status = _post_poll(api, alice)
    poll = status["poll"]
    assert _vote(api, bob, poll["id"], 0).status_code == 200
    _expire(api, poll["id"])
    assert api.get(f"/api/v1/polls/{poll['id']}", bob).json()["expired"] is True
    r = _vote(api, carol, poll["id"], 0)
    assert r.status_code == 422 and "ended" in r.json()["error"]
    db = api.client.app.state.db  # type: ignore[attr-defined]
    # The app's own job may have noticed it already; either way it is told once.
    poll_expiry.end_expired(db)
    poll_expiry.end_expired(db)
    for user in (alice, bob):
        notes = api.get("/api/v1/notifications", user, **{"types[]": "poll"}).json()
        assert [n["type"] for n in notes] == ["poll"], notes
        assert notes[0]["status"]["id"] == status["id"]
        assert notes[0]["account"]["id"] == alice.id
        assert_conforms("Notification", notes[0])
    assert api.get("/api/v1/notifications", carol, **{"types[]": "poll"}).json() == []
