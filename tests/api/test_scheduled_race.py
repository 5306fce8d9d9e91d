"""Scheduled posts are published exactly once with several publishers on one PostgreSQL
(issue 13, item 7): two `aloft serve` processes, whose background jobs both publish, and
then four threads calling the job function at once. SQLite has one writer at a time
(BEGIN IMMEDIATE), so there the claim cannot be shared; test_scheduled.py covers it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from aloft import ids
from aloft.services import scheduled
from aloft.services.statuses import Site
from aloft.storage.database import Database
from aloft.storage.schema import scheduled_statuses, statuses
from tests.api.test_poll_expiry import _person
from tests.api.test_streaming import _new_database, _register_app
from tests.conftest import start_server, stop_server

POSTS = 20


def _make_due(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(scheduled_statuses).values(
                scheduled_at=sa.func.now() - sa.text("interval '1 second'")
            )
        )


def _counts(engine: sa.Engine, prefix: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(statuses.c.text, sa.func.count())
            .where(statuses.c.text.startswith(prefix))
            .group_by(statuses.c.text)
        ).all()
    return {r[0]: r[1] for r in rows}


def _left(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(scheduled_statuses)).scalar_one()
        )


def test_two_apps_and_four_threads_publish_each_post_once(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env, drop = _new_database(request, "schedrace")
    first = start_server(tmp_path / "a", env)
    second = start_server(tmp_path / "b", env)
    db = Database.from_url(env["ALOFT_DATABASE_URL"])
    try:
        app = _register_app(first.url)
        author = _person(first.url, app, "author")
        reader = _person(second.url, app, "reader")
        reader.account_follow(author.me().id)
        at = datetime.now(UTC) + timedelta(hours=1)
        for i in range(POSTS):
            made = author.status_post(f"apps {i}", scheduled_at=at + timedelta(minutes=i))
            assert made.params.text == f"apps {i}"
        # Every post is due now: both apps' jobs (every 5 s) find them at once.
        _make_due(db.engine)
        deadline = time.monotonic() + 60
        while _left(db.engine) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _left(db.engine) == 0
        assert _counts(db.engine, "apps ") == {f"apps {i}": 1 for i in range(POSTS)}
        home = reader.timeline_home(limit=40)
        assert sorted(s.content for s in home) == sorted(f"<p>apps {i}</p>" for i in range(POSTS))
        assert author.me().statuses_count == POSTS
    finally:
        stop_server(first)
        stop_server(second)

    # The servers are gone; four publishers race on the job function itself.
    try:
        at = datetime.now(UTC) + timedelta(hours=2)
        with db.engine.begin() as conn:
            account_id = conn.execute(sa.text("SELECT id FROM accounts WHERE username = 'author'"))
            me = int(account_id.scalar_one())
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(scheduled_statuses),
                [
                    {
                        "id": ids.new_id(),
                        "account_id": me,
                        "scheduled_at": at,
                        "params": f'{{"text": "threads {i}", "visibility": "public"}}',
                        "created_at": at,
                    }
                    for i in range(POSTS)
                ],
            )
        site = Site("http://127.0.0.1:1", "127.0.0.1:1")
        published: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def publisher() -> None:
            own = Database.from_url(env["ALOFT_DATABASE_URL"])
            try:
                start.wait()
                while scheduled.publish_due(own, site, at=at + timedelta(seconds=1)):
                    published.append(1)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                own.dispose()

        threads = [threading.Thread(target=publisher) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        assert len(published) == POSTS
        assert _left(db.engine) == 0
        assert _counts(db.engine, "threads ") == {f"threads {i}": 1 for i in range(POSTS)}
    finally:
        db.dispose()
        drop()
