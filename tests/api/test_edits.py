"""Editing statuses (issue 13, item 3): PUT /api/v1/statuses/:id, history, source; both
engines."""

from __future__ import annotations

from typing import Any

from tests.api.test_entities import assert_conforms
from tests.conftest import Api, User


def _edit(api: Api, user: User, status_id: str, **data: Any) -> Any:
    return api.client.put(f"/api/v1/statuses/{status_id}", headers=user.headers, data=data)


def test_edit_history_and_source(api: Api) -> None:
    alice = api.register("alice")
    status = api.post(alice, "first #one", spoiler_text="cw")
    assert status["edited_at"] is None
    # A status never edited has one revision: itself.
    history = api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()
    assert len(history) == 1 and history[0]["content"] == status["content"]

    r = _edit(api, alice, status["id"], status="second #two", language="de")
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["id"] == status["id"] and edited["edited_at"] is not None
    assert "second" in edited["content"] and [t["name"] for t in edited["tags"]] == ["two"]
    assert edited["spoiler_text"] == "cw" and edited["language"] == "de"  # kept / changed
    assert_conforms("Status", edited)
    assert api.get(f"/api/v1/statuses/{status['id']}", alice).json()["edited_at"]

    _edit(api, alice, status["id"], status="third", spoiler_text="")
    history = api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()
    assert ["first" in h["content"] for h in history] == [True, False, False]
    assert "third" in history[-1]["content"] and history[-1]["spoiler_text"] == ""
    assert history[0]["spoiler_text"] == "cw"
    assert_conforms("StatusEdit", history, many=True)

    source = api.get(f"/api/v1/statuses/{status['id']}/source", alice).json()
    assert source == {"id": status["id"], "text": "third", "spoiler_text": ""}
    assert_conforms("StatusSource", source)


def test_edit_sanitizes_and_limits_as_posting(api: Api) -> None:
    alice = api.register("alice")
    status = api.post(alice, "plain")
    r = _edit(api, alice, status["id"], status="<script>alert(1)</script> hi")
    assert r.status_code == 200 and "<script>" not in r.json()["content"]
    too_long = _edit(api, alice, status["id"], status="x" * 501)
    assert too_long.status_code == 422 and "error" in too_long.json()
    blank = _edit(api, alice, status["id"], status="   ")
    assert blank.status_code == 422
    bad = _edit(api, alice, status["id"], status="ok", language="not a language")
    assert bad.status_code == 422
    refused = _edit(api, alice, status["id"], status="ok", **{"media_attributes[]": "x"})
    assert refused.status_code == 422 and "media_attributes" in refused.json()["error"]
    # Nothing changed by the refused edits.
    history = api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()
    assert len(history) == 2


def test_only_the_author_edits(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    status = api.post(alice, "mine")
    assert _edit(api, bob, status["id"], status="yours").status_code == 404
    assert _edit(api, alice, "123", status="x").status_code == 404
    assert _edit(api, alice, "nope", status="x").status_code == 404
    # The source of a status one may see is anyone's to read, as Mastodon's.
    assert api.get(f"/api/v1/statuses/{status['id']}/source", bob).json()["text"] == "mine"
    assert (
        api.client.put(f"/api/v1/statuses/{status['id']}", data={"status": "x"}).status_code == 401
    )
    assert "mine" in api.get(f"/api/v1/statuses/{status['id']}", alice).json()["content"]


def test_private_history_hidden_from_others(api: Api) -> None:
    alice, bob, carol = api.register("alice"), api.register("bob"), api.register("carol")
    api.follow(bob, alice)
    status = api.post(alice, "friends only", visibility="private")
    _edit(api, alice, status["id"], status="friends only, edited")
    path = f"/api/v1/statuses/{status['id']}/history"
    assert api.get(path, carol).status_code == 404
    assert api.get(path).status_code == 404
    assert len(api.get(path, bob).json()) == 2
    source = f"/api/v1/statuses/{status['id']}/source"
    assert api.get(source, carol).status_code == 404
    assert api.get(source, bob).status_code == 200


def test_an_edit_that_changes_nothing_writes_nothing(api: Api) -> None:
    alice = api.register("alice")
    status = api.post(alice, "same")
    r = _edit(api, alice, status["id"], status="same")
    assert r.status_code == 200 and r.json()["edited_at"] is None
    assert len(api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()) == 1


def test_edit_poll_resets_votes_and_edit_removes_it(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    poll_fields = {"poll[options][]": ["a", "b"], "poll[expires_in]": "600"}
    status = api.post(alice, "vote", **poll_fields)
    poll_id = status["poll"]["id"]
    vote = api.client.post(
        f"/api/v1/polls/{poll_id}/votes", headers=bob.headers, data={"choices[]": "0"}
    )
    assert vote.status_code == 200
    same = _edit(api, alice, status["id"], status="vote!", **poll_fields).json()
    assert same["poll"]["votes_count"] == 1  # same options: votes kept
    changed = _edit(
        api, alice, status["id"], status="vote!", **{**poll_fields, "poll[options][]": ["a", "c"]}
    ).json()
    assert changed["poll"]["votes_count"] == 0 and changed["poll"]["id"] == poll_id
    history = api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()
    assert history[-1]["poll"] == {"options": [{"title": "a"}, {"title": "c"}]}
    assert history[0]["poll"] == {"options": [{"title": "a"}, {"title": "b"}]}
    removed = _edit(api, alice, status["id"], status="no poll").json()
    assert removed["poll"] is None
    assert api.get(f"/api/v1/polls/{poll_id}", alice).status_code == 404


def test_rebloggers_are_told_of_each_edit(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    status = api.post(alice, "original")
    api.client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
    _edit(api, alice, status["id"], status="edited once")
    _edit(api, alice, status["id"], status="edited twice")
    notes = api.get("/api/v1/notifications", bob, **{"types[]": "update"}).json()
    assert [n["type"] for n in notes] == ["update", "update"]
    assert notes[0]["status"]["id"] == status["id"]
    assert "twice" in notes[0]["status"]["content"]
    assert_conforms("Notification", notes[0])


def test_edit_media_and_its_history(api: Api) -> None:
    from tests.api.test_media import png

    alice, bob = api.register("alice"), api.register("bob")

    def media() -> str:
        r = api.client.post(
            "/api/v2/media", headers=alice.headers, files={"file": ("a.png", png(), "image/png")}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    first, second = media(), media()
    status = api.post(alice, "a picture", **{"media_ids[]": first})
    edited = _edit(
        api, alice, status["id"], status="two pictures", **{"media_ids[]": [second, first]}
    )
    assert edited.status_code == 200, edited.text
    assert [m["id"] for m in edited.json()["media_attachments"]] == [second, first]
    history = api.get(f"/api/v1/statuses/{status['id']}/history", alice).json()
    assert [[m["id"] for m in h["media_attachments"]] for h in history] == [
        [first],
        [second, first],
    ]
    assert_conforms("StatusEdit", history, many=True)
    # Someone else's media, and a poll with media, are refused; media left out are removed.
    theirs = api.client.post(
        "/api/v2/media", headers=bob.headers, files={"file": ("b.png", png(), "image/png")}
    ).json()["id"]
    assert _edit(api, alice, status["id"], status="x", **{"media_ids[]": theirs}).status_code == 422
    with_poll = _edit(
        api,
        alice,
        status["id"],
        status="x",
        **{"media_ids[]": first, "poll[options][]": ["a", "b"], "poll[expires_in]": "600"},
    )
    assert with_poll.status_code == 422
    bare = _edit(api, alice, status["id"], status="no pictures").json()
    assert bare["media_attachments"] == []
