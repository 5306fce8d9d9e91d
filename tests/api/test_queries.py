"""Pages are served by a bounded number of queries, whatever their size (no N+1)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from aloft.services import timelines
from tests.conftest import Api


@contextmanager
def counting(api: Api) -> Iterator[list[str]]:
    engine = api.client.app.state.db.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            return
        # The token's lookup is remembered for a few seconds (auth.TOKEN_CACHE_SECONDS), so
        # whether a request reads it depends on the clock, not on the page.
        if "FROM tokens" in statement:
            return
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextmanager
def writing(api: Api) -> Iterator[list[str]]:
    """Every statement, its whitespace folded, and "COMMIT" at each commit, in order."""
    engine = api.client.app.state.db.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def statement(conn, cursor, text, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(text.split()))

    def commit(conn) -> None:  # type: ignore[no-untyped-def]
        seen.append("COMMIT")

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "commit", commit)


def _then_commit(after: list[str]) -> bool:
    """Whether `after` is the COMMIT, with nothing before it but the NOTIFYs of the unit's
    events (on PostgreSQL they go with the COMMIT, in its round trip)."""
    notifies = 0
    while notifies < len(after) and after[notifies].startswith("SELECT pg_notify("):
        notifies += 1
    return after[notifies : notifies + 1] == ["COMMIT"]


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
    # A page of one: the newest reblog, whose original is not on the page.
    small = _queries(api, alice, "/api/v1/timelines/home", 1)
    large = _queries(api, alice, "/api/v1/timelines/home", 30)
    # 6 (issue 11; 14 before): what the home page asks first (the follows' count and the
    # followed hashtags), the page's rows with the originals they reblog, the authors, the
    # facts (hashtags, mentions, the viewer's favourites, bookmarks, reblogs, pins and
    # muted threads, and whether the viewer has any filter), media and the apps posted
    # through. The viewer's filters are a seventh for a viewer who has some (below).
    assert small == large <= 6, (small, large)


def test_the_filters_are_read_only_for_a_viewer_who_has_some(api: Api) -> None:
    alice = _busy_world(api, 6)
    without = _queries(api, alice, "/api/v1/timelines/home", 6)
    made = api.client.post(
        "/api/v2/filters",
        headers=alice.headers,
        json={"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "post 3"}]},
    )
    assert made.status_code == 200, made.text
    assert _queries(api, alice, "/api/v1/timelines/home", 6) == without + 1
    shown = api.get("/api/v1/timelines/home", alice, limit=6).json()
    matched = [s for s in shown if s["filtered"]]
    assert matched and all("post 3" in (s["reblog"] or s)["content"] for s in matched), shown


def test_a_page_with_polls_pins_and_mutes_is_bounded(api: Api) -> None:
    alice = _busy_world(api, 8)
    bob = api.register("bob")
    api.follow(alice, bob)
    for i in range(12):
        poll = {"poll[options][]": ["yes", "no"], "poll[expires_in]": "600"}
        s = api.post(bob, f"poll {i}", **poll)
        api.client.post(
            f"/api/v1/polls/{s['poll']['id']}/votes", headers=alice.headers, data={"choices[]": "0"}
        )
        api.client.post(f"/api/v1/statuses/{s['id']}/mute", headers=alice.headers)
        mine = api.post(alice, f"mine {i}")
        if i < 5:
            api.client.post(f"/api/v1/statuses/{mine['id']}/pin", headers=alice.headers)
    small = _queries(api, alice, "/api/v1/timelines/home", 4)
    large = _queries(api, alice, "/api/v1/timelines/home", 30)
    # 8: the 6 above, plus polls and the viewer's votes (pins are among the facts).
    assert small == large <= 8, (small, large)


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


def _home_page_plan(api: Api, alice) -> str:
    """The engine's plan for the home timeline's page query (ids, cursors and limit)."""
    engine = api.client.app.state.db.engine  # type: ignore[attr-defined]
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args) -> None:  # type: ignore[no-untyped-def]
        if "ORDER BY statuses.id DESC" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get("/api/v1/timelines/home", alice, limit=5).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    statement, parameters = seen[0]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return "\n".join(row[-1] for row in plan)
        # A test's tables are tiny, so PostgreSQL would rightly scan them whole; with scans
        # priced out it shows the plan it uses on tables of real size.
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(row[0] for row in plan)


def test_home_page_query_walks_the_author_index(api: Api) -> None:
    alice = _busy_world(api, 6)
    plan = _home_page_plan(api, alice)
    print(plan)
    if api.client.app.state.db.is_postgres:  # type: ignore[attr-defined]
        # Backwards along the primary key, the follows hashed: it stops at the limit. One
        # IN made it read every followed status through (account_id, id) and sort them.
        assert "Index Scan Backward using pk_statuses" in plan, plan
        assert "Sort" not in plan, plan
    else:
        assert "ix_statuses_account_id_id (account_id=?)" in plan, plan
        # `account_id = me OR account_id IN (…)` was planned by SQLite as two index scans
        # merged and every followed status sorted (3.4 s a page over 1,000,000 statuses).
        assert "MULTI-INDEX OR" not in plan, plan


def test_sqlite_home_of_many_follows_walks_the_id_index(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From SQLITE_WALK_FROM follows on, SQLite walks the id index backwards (one probe per
    follow took 330 ms following 5,000 over 1,000,000 statuses); same page either way."""
    if api.client.app.state.db.is_postgres:  # type: ignore[attr-defined]
        return  # PostgreSQL's planner walks backwards by itself (the test above)
    alice = _busy_world(api, 6)
    probed = [s["id"] for s in api.get("/api/v1/timelines/home", alice, limit=5).json()]
    monkeypatch.setattr(timelines, "SQLITE_WALK_FROM", 1)
    plan = _home_page_plan(api, alice)
    assert "ix_statuses_account_id_id (account_id=?)" not in plan, plan
    assert "SCAN statuses USING INDEX sqlite_autoindex_statuses_1" in plan, plan
    walked = [s["id"] for s in api.get("/api/v1/timelines/home", alice, limit=5).json()]
    assert walked == probed and len(walked) == 5


def test_a_tag_nobody_used_is_one_lookup(api: Api) -> None:
    """A hashtag with no statuses is looked up and answered empty, with no page query (as
    a subquery, its missing id made SQLite walk every public status: 370 ms over 1,000,000)."""
    alice = _busy_world(api, 4)
    with counting(api) as seen:
        r = api.get("/api/v1/timelines/tag/nobodyusedthis", alice)
    assert r.status_code == 200 and r.json() == []
    assert len(seen) == 1 and "FROM tags" in seen[0], seen


def test_a_post_counts_its_author_last(api: Api) -> None:
    """The UPDATE of the author's counters is a post's last statement before COMMIT, and
    the answer is read after it: from that UPDATE to COMMIT the author's row is locked
    (PostgreSQL) and every other post by the author waits (issue 11: they waited through
    the whole answer's loading)."""
    alice = api.register("alice")
    with writing(api) as seen:
        posted = api.post(alice, "counted last #tagged")
    assert posted["tags"][0]["name"] == "tagged"  # the answer, read after the commit
    counted = next(i for i, s in enumerate(seen) if s.startswith("UPDATE accounts SET"))
    assert _then_commit(seen[counted + 1 :]), seen[counted:]


def test_a_post_does_not_read_back_what_it_wrote(api: Api) -> None:
    """A first attempt writes without selecting from statuses: its ID is new, so there is
    no earlier attempt to find, and INSERT ... RETURNING gives the row (issue 11: these were
    two of a post's statements inside SQLite's single write lock). A rerun still looks."""
    alice = api.register("alice")
    with writing(api) as seen:
        posted = api.post(alice, "written once")
    assert posted["content"] == "<p>written once</p>" and posted["account"]["statuses_count"] == 1
    inserted = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO statuses"))
    written = seen[: seen.index("COMMIT", inserted)]
    assert "RETURNING" in written[inserted], written[inserted]
    assert not [s for s in written if s.startswith("SELECT") and "FROM statuses" in s], written


def test_a_favourite_counts_last_and_reads_nothing_back(api: Api) -> None:
    """A favourite's UPDATE of the status's counter is its last statement before COMMIT and
    returns the row: on PostgreSQL a popular status's row stays locked from that UPDATE to
    COMMIT, and every other favourite of it waits (issue 11)."""
    alice, bob = api.register("alice"), api.register("bob")
    liked = api.post(bob, "like me")
    with writing(api) as seen:
        r = api.client.post(f"/api/v1/statuses/{liked['id']}/favourite", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    counted = next(i for i, s in enumerate(seen) if s.startswith("UPDATE statuses SET"))
    assert "RETURNING" in seen[counted] and _then_commit(seen[counted + 1 :]), seen[counted:]
    again = api.client.post(f"/api/v1/statuses/{liked['id']}/favourite", headers=alice.headers)
    assert again.json()["favourites_count"] == 1  # counted once
    gone = api.client.post(f"/api/v1/statuses/{liked['id']}/unfavourite", headers=alice.headers)
    assert gone.json()["favourited"] is False and gone.json()["favourites_count"] == 0


def test_postgres_plans_the_home_page_once_per_connection(api: Api) -> None:
    """PostgreSQL kept planning the home page's statement on every execution (its generic
    plan was costed higher, though the same plan); marked GENERIC_PLAN, it is planned once
    per connection, and the limit is written into it so that the plan knows the page's size."""
    engine = api.client.app.state.db.engine  # type: ignore[attr-defined]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no plan cache to choose in")
    alice = _busy_world(api, 6)
    for _ in range(12):  # psycopg prepares a statement at its fifth execution
        assert api.get("/api/v1/timelines/home", alice, limit=5).status_code == 200
    with engine.connect() as conn:
        plans = conn.exec_driver_sql(
            "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements"
            " WHERE statement LIKE 'WITH page AS%%'"
        ).all()
    assert plans, "the home page's statement was never prepared"
    for generic, custom, statement in plans:
        assert generic >= 1 and custom == 0, (generic, custom)
        assert "LIMIT 5" in statement, statement
