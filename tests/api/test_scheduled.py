"""Scheduled posts (issue 13, item 7), both engines: `scheduled_at` on posting answers a
ScheduledStatus; list, show, reschedule, cancel; bad input and other accounts' posts
refused; media reserved; the job publishes each post once, when due, through the normal
posting path. The job is run directly against the app's database with a clock set ahead
(`publish_due(at=…)`), so nothing waits minutes; `test_scheduled_race.py` races two real
app processes on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from aloft import ids
from aloft.services import media, scheduled
from aloft.storage.database import Database
from aloft.storage.schema import media_attachments, scheduled_statuses, statuses
from tests.api.test_entities import assert_conforms
from tests.api.test_media import png
from tests.conftest import Api, User

SCHEDULED = "/api/v1/scheduled_statuses"


def later(minutes: float = 60, days: int = 0) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes, days=days)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def schedule(api: Api, user: User, text: str, at: datetime | None = None, **fields: Any) -> Any:
    headers = dict(user.headers)
    if "key" in fields:
        headers["Idempotency-Key"] = fields.pop("key")
    data = {"status": text, "scheduled_at": stamp(at or later()), **fields}
    return api.client.post("/api/v1/statuses", headers=headers, data=data)


def db_of(api: Api) -> Database:
    return api.client.app.state.db  # type: ignore[attr-defined,no-any-return]


def site_of(api: Api) -> Any:
    return api.client.app.state.site  # type: ignore[attr-defined]


def pending(api: Api) -> int:
    return int(
        db_of(api)
        .read(lambda conn: conn.execute(sa.select(sa.func.count()).select_from(scheduled_statuses)))
        .scalar_one()
    )


def test_schedule_list_show_reschedule_cancel(api: Api) -> None:
    alice = api.register("alice")
    at = later(90)
    r = schedule(api, alice, "see you later", at, visibility="unlisted", spoiler_text="cw")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("ScheduledStatus", body)
    assert "content" not in body  # a ScheduledStatus, not a Status
    assert body["scheduled_at"] == stamp(at)
    params = body["params"]
    assert params["text"] == "see you later"
    assert params["visibility"] == "unlisted" and params["spoiler_text"] == "cw"
    assert params["scheduled_at"] is None and params["with_rate_limit"] is False
    assert body["media_attachments"] == []
    # not posted: nothing on the account
    assert api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json() == []

    second = schedule(api, alice, "second", later(120)).json()
    listed = api.get(SCHEDULED, alice)
    assert listed.status_code == 200
    assert_conforms("ScheduledStatus", listed.json(), many=True)
    assert [s["id"] for s in listed.json()] == [second["id"], body["id"]]
    page = api.get(SCHEDULED, alice, limit=1)
    assert [s["id"] for s in page.json()] == [second["id"]]
    assert f"max_id={second['id']}" in page.headers["link"]
    older = api.get(SCHEDULED, alice, limit=1, max_id=second["id"])
    assert [s["id"] for s in older.json()] == [body["id"]]

    shown = api.get(f"{SCHEDULED}/{body['id']}", alice)
    assert shown.status_code == 200 and shown.json() == body

    moved_to = later(days=2)
    moved = api.client.put(
        f"{SCHEDULED}/{body['id']}", headers=alice.headers, data={"scheduled_at": stamp(moved_to)}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduled_at"] == stamp(moved_to)
    assert_conforms("ScheduledStatus", moved.json())

    gone = api.client.delete(f"{SCHEDULED}/{body['id']}", headers=alice.headers)
    assert gone.status_code == 200 and gone.json() == {}
    assert api.get(f"{SCHEDULED}/{body['id']}", alice).status_code == 404
    assert api.client.delete(f"{SCHEDULED}/{body['id']}", headers=alice.headers).status_code == 404
    assert [s["id"] for s in api.get(SCHEDULED, alice).json()] == [second["id"]]


@pytest.mark.parametrize(
    "when",
    ["soon", "past", "garbage", "empty-date"],
)
def test_a_time_not_five_minutes_ahead_is_refused_by_name(api: Api, when: str) -> None:
    alice = api.register("alice")
    value = {
        "soon": stamp(later(4)),
        "past": stamp(later(-60)),
        "garbage": "next tuesday",
        "empty-date": "2026-13-45T99:00:00Z",
    }[when]
    r = api.client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "x", "scheduled_at": value}
    )
    assert r.status_code == 422, r.text
    assert "scheduled_at" in r.json()["details"]
    assert pending(api) == 0
    assert api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json() == []


def test_a_scheduled_post_is_checked_as_a_post_is(api: Api) -> None:
    alice = api.register("alice")
    for fields in (
        {"status": ""},
        {"status": "x" * 501},
        {"status": "x", "visibility": "everyone"},
        {"status": "x", "language": "not a code"},
        {"status": "x", "media_ids[]": "12345"},
    ):
        r = api.client.post(
            "/api/v1/statuses",
            headers=alice.headers,
            data={"scheduled_at": stamp(later()), **fields},
        )
        assert r.status_code == 422, (fields, r.text)
    r = schedule(api, alice, "reply", in_reply_to_id="12345")
    assert r.status_code == 404
    assert pending(api) == 0


def test_rescheduling_is_checked_too(api: Api) -> None:
    alice = api.register("alice")
    made = schedule(api, alice, "x").json()
    path = f"{SCHEDULED}/{made['id']}"
    soon = api.client.put(path, headers=alice.headers, data={"scheduled_at": stamp(later(2))})
    assert soon.status_code == 422 and "scheduled_at" in soon.json()["details"]
    missing = api.client.put(path, headers=alice.headers, data={})
    assert missing.status_code == 400
    assert api.get(path, alice).json()["scheduled_at"] == made["scheduled_at"]


def test_only_the_owner_sees_and_changes_a_scheduled_post(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    made = schedule(api, alice, "mine").json()
    path = f"{SCHEDULED}/{made['id']}"
    assert api.get(SCHEDULED, bob).json() == []
    assert api.get(path, bob).status_code == 404
    assert (
        api.client.put(path, headers=bob.headers, data={"scheduled_at": stamp(later(200))})
    ).status_code == 404
    assert api.client.delete(path, headers=bob.headers).status_code == 404
    assert api.get(path, alice).json() == made
    assert api.get(SCHEDULED).status_code == 401


def test_an_idempotency_key_makes_one_scheduled_post(api: Api) -> None:
    alice = api.register("alice")
    first = schedule(api, alice, "once", key="k-1")
    again = schedule(api, alice, "once", key="k-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(api.get(SCHEDULED, alice).json()) == 1


def test_mastodons_limits_per_day_and_in_all(api: Api) -> None:
    alice = api.register("alice")
    day = later(days=3).replace(hour=10, minute=0)
    for i in range(scheduled.DAILY_LIMIT):
        assert schedule(api, alice, f"p{i}", day + timedelta(minutes=i)).status_code == 200
    over = schedule(api, alice, "one too many", day + timedelta(hours=5))
    assert over.status_code == 422 and "limit of 25" in over.json()["error"]
    assert schedule(api, alice, "next day", day + timedelta(days=1)).status_code == 200
    # Fill up to the total limit directly (275 more requests would only be slower).
    me = int(alice.id)
    base = day + timedelta(days=30)
    rows = [
        {
            "id": ids.new_id(),
            "account_id": me,
            "scheduled_at": base + timedelta(days=i),
            "params": "{}",
            "created_at": datetime.now(UTC),
        }
        for i in range(scheduled.TOTAL_LIMIT - scheduled.DAILY_LIMIT - 1)
    ]
    db_of(api).write(lambda conn: conn.execute(sa.insert(scheduled_statuses), rows))
    assert pending(api) == scheduled.TOTAL_LIMIT
    full = schedule(api, alice, "over", later(days=400))
    assert full.status_code == 422 and "limit of 300" in full.json()["error"]


def _upload(api: Api, user: User) -> str:
    r = api.client.post(
        "/api/v2/media", headers=user.headers, files={"file": ("a.png", png(40, 30), "image/png")}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_media_stay_reserved_for_the_scheduled_post(api: Api) -> None:
    alice = api.register("alice")
    media_id = _upload(api, alice)
    made = schedule(api, alice, "with a picture", **{"media_ids[]": media_id}).json()
    assert [m["id"] for m in made["media_attachments"]] == [media_id]
    assert made["params"]["media_ids"] == [media_id]
    # another post cannot take it, and the cleanup of unattached uploads leaves it
    taken = api.client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "x", "media_ids[]": media_id}
    )
    assert taken.status_code == 422
    assert media.remove_unattached(db_of(api), older_than=timedelta(0)) == 0
    # published: the status has it
    assert scheduled.publish_due(db_of(api), site_of(api), at=later(120)) is True
    posted = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()
    assert [m["id"] for m in posted[0]["media_attachments"]] == [media_id]


def test_a_cancelled_post_frees_its_media(api: Api) -> None:
    alice = api.register("alice")
    media_id = _upload(api, alice)
    made = schedule(api, alice, "x", **{"media_ids[]": media_id}).json()
    api.client.delete(f"{SCHEDULED}/{made['id']}", headers=alice.headers)
    reserved = db_of(api).read(
        lambda conn: conn.execute(
            sa.select(media_attachments.c.scheduled_status_id).where(
                media_attachments.c.id == int(media_id)
            )
        ).scalar_one()
    )
    assert reserved is None
    post = api.post(alice, "now", **{"media_ids[]": media_id})
    assert [m["id"] for m in post["media_attachments"]] == [media_id]


def test_the_job_publishes_once_when_due(api: Api) -> None:
    alice, bob = api.register("alice"), api.register("bob")
    api.follow(bob, alice)
    first = api.post(alice, "first")
    made = schedule(
        api, alice, "@bob a reply, later #later", later(30), in_reply_to_id=first["id"]
    ).json()
    db, site = db_of(api), site_of(api)
    assert scheduled.publish_due(db, site) is False  # not due yet
    assert scheduled.publish_due(db, site, at=later(31)) is True
    assert scheduled.publish_due(db, site, at=later(31)) is False  # published once
    assert api.get(f"{SCHEDULED}/{made['id']}", alice).status_code == 404
    posted = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()
    assert len(posted) == 2
    status = posted[0]
    assert status["content"].startswith("<p>") and "later" in status["content"]
    assert status["in_reply_to_id"] == first["id"]
    assert [m["username"] for m in status["mentions"]] == ["bob"]
    assert [t["name"] for t in status["tags"]] == ["later"]
    assert status["application"] is not None
    me = api.get("/api/v1/accounts/verify_credentials", alice).json()
    assert me["statuses_count"] == 2
    parent = api.get(f"/api/v1/statuses/{first['id']}", alice).json()
    assert parent["replies_count"] == 1
    mentions = api.get("/api/v1/notifications", bob, **{"types[]": "mention"}).json()
    assert [n["status"]["id"] for n in mentions] == [status["id"]]
    home = api.get("/api/v1/timelines/home", bob).json()
    assert status["id"] in [s["id"] for s in home]


def test_a_post_that_cannot_be_made_any_more_is_dropped(api: Api) -> None:
    alice = api.register("alice")
    first = api.post(alice, "first")
    schedule(api, alice, "a reply", later(30), in_reply_to_id=first["id"])
    api.client.delete(f"/api/v1/statuses/{first['id']}", headers=alice.headers)
    assert scheduled.publish_due(db_of(api), site_of(api), at=later(31)) is True
    assert pending(api) == 0
    assert api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json() == []


def test_a_scheduled_poll_is_posted_with_its_poll(api: Api) -> None:
    alice = api.register("alice")
    made = schedule(
        api,
        alice,
        "which?",
        **{"poll[options][]": ["tea", "coffee"], "poll[expires_in]": "600"},
    ).json()
    assert made["params"]["poll"] == {
        "options": ["tea", "coffee"],
        "expires_in": 600,
        "multiple": False,
        "hide_totals": False,
    }
    assert scheduled.publish_due(db_of(api), site_of(api), at=later(61)) is True
    posted = api.get(f"/api/v1/accounts/{alice.id}/statuses", alice).json()
    assert [o["title"] for o in posted[0]["poll"]["options"]] == ["tea", "coffee"]
    count = db_of(api).read(
        lambda conn: conn.execute(sa.select(sa.func.count()).select_from(statuses)).scalar_one()
    )
    assert count == 1
