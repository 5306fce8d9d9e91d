"""Pages are served by a bounded number of queries, whatever their size (no N+1)."""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tests.conftest import Api


@contextmanager
def counting(api: Api) -> Iterator[list[str]]:
    engine = api.client.app.state.db.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _busy_world(api: Api, posts: int):
    alice = api.register("alice")
    others = [api.register(f"user{i}") for i in range(4)]
    for u in others:
        api.follow(alice, u)
    for i in range(posts):
        author = others[i % len(others)]
        s = api.post(author, f"@alice post {i} #tag{i % 3}", in_reply_to_id=None)
        api.client.post(f"/api/v1/statuses/{s['id']}/favourite", headers=alice.headers)
        if i % 2:
            api.client.post(
                f"/api/v1/statuses/{s['id']}/reblog", headers=others[(i + 1) % 4].headers
            )
            api.client.post(f"/api/v1/statuses/{s['id']}/bookmark", headers=alice.headers)
    return alice


def _queries(api: Api, alice, path: str, limit: int) -> int:
    with counting(api) as seen:
        r = api.get(path, alice, limit=limit)
        assert r.status_code == 200 and len(r.json()) == limit
    return len(seen)


def test_home_timeline_query_count_does_not_grow_with_page_size(api: Api) -> None:
    alice = _busy_world(api, 24)
    small = _queries(api, alice, "/api/v1/timelines/home", 2)
    large = _queries(api, alice, "/api/v1/timelines/home", 30)
    assert small == large <= 10, (small, large)


def test_notifications_and_account_lists_are_bounded(api: Api) -> None:
    alice = _busy_world(api, 24)
    assert _queries(api, alice, "/api/v1/notifications", 2) == _queries(
        api, alice, "/api/v1/notifications", 20
    )
    assert _queries(api, alice, "/api/v1/favourites", 2) == _queries(
        api, alice, "/api/v1/favourites", 20
    )
    path = f"/api/v1/accounts/{alice.id}/following"
    assert _queries(api, alice, path, 1) == _queries(api, alice, path, 4)
