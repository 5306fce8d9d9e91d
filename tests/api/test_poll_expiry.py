"""The end of a poll is told once (issue 13, item 4): two `aloft serve` processes on one
PostgreSQL both run the expiry job; every poll's author and voters get exactly one `poll`
notification, whichever app noticed it (SQLite has one writer: the reruns in
tests/services/test_edit_poll_reruns.py cover it)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from mastodon import Mastodon

from aloft.storage.database import Database
from aloft.storage.schema import notifications, polls
from tests.api.test_streaming import _new_database, _register_app
from tests.conftest import start_server, stop_server

PASSWORD = "correct horse battery"
POLLS = 30


def _person(url: str, app: tuple[str, str], name: str) -> Mastodon:
    api = Mastodon(
        client_id=app[0],
        client_secret=app[1],
        api_base_url=url,
        version_check_mode="none",
        request_timeout=60,
    )
    api.create_account(
        name, PASSWORD, f"{name}@example.org", agreement=True, scopes=["read", "write", "follow"]
    )
    return api


def test_two_apps_race_to_end_polls_on_postgresql(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env, drop = _new_database(request, "pollrace")
    first = start_server(tmp_path / "a", env)
    second = start_server(tmp_path / "b", env)
    db = Database.from_url(env["ALOFT_DATABASE_URL"])
    engine = db.engine
    try:
        app = _register_app(first.url)
        author = _person(first.url, app, "author")
        voters = [_person(second.url, app, f"voter{i}") for i in range(3)]
        made = []
        for i in range(POLLS):
            status = author.status_post(f"poll {i}", poll=author.make_poll(["a", "b"], 600))
            for v in voters:
                v.poll_vote(status.poll.id, [i % 2])
            made.append(status)
        # Every poll ends now: both apps' jobs (every 5 s) find them at once.
        with engine.begin() as conn:
            conn.execute(
                sa.update(polls).values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(
                    sa.select(sa.func.count()).where(polls.c.ended.is_(False))
                ).scalar_one()
            if not left:
                break
            time.sleep(0.5)
        assert left == 0
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(notifications.c.account_id, notifications.c.status_id, sa.func.count())
                .where(notifications.c.type == "poll")
                .group_by(notifications.c.account_id, notifications.c.status_id)
            ).all()
        assert len(rows) == POLLS * 4 and all(r[2] == 1 for r in rows)
        # And as the apps list them: each voter has one poll notification per poll.
        notes = voters[0].notifications(types=["poll"], limit=40)
        assert len(notes) == POLLS
        assert {str(n.status.id) for n in notes} == {str(s.id) for s in made}
        assert httpx.get(f"{second.url}/api/v1/polls/{made[0].poll.id}").json()["expired"] is True
    finally:
        db.dispose()
        stop_server(first)
        stop_server(second)
        drop()
