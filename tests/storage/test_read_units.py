"""How a read runs on each engine (issue 11): on PostgreSQL without BEGIN and COMMIT (two
round trips of a page's nine) and with JIT off for the connection; on SQLite in one read
transaction, one snapshot. A write is one transaction on both."""

import functools
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft.config import Settings
from aloft.storage.database import Database, Policy, create_engine
from aloft.storage.failures import retry_reason
from aloft.storage.schema import accounts, tags
from aloft.storage.statement import GENERIC_PLAN, Statement, rows_together

# Whether the statement runs inside a transaction begun before it: in autocommit, each
# statement is its own transaction and starts with it.
_IN_EARLIER_TRANSACTION = (
    "SELECT xact_start < query_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
)


def _second_statement(conn: Connection) -> bool:
    conn.execute(sa.text("SELECT pg_sleep(0.02)"))
    return bool(conn.execute(sa.text(_IN_EARLIER_TRANSACTION)).scalar())


def test_postgres_reads_run_without_a_transaction(settings: Settings) -> None:
    db = Database.from_settings(settings)
    try:
        if not db.is_postgres:
            # One snapshot for the whole unit: a write committed by another connection
            # in between is not seen by the unit's second statement.
            def unit(conn: Connection) -> tuple[int, int]:
                before = conn.execute(sa.text("SELECT count(*) FROM tags")).scalar_one()
                other = sqlite3.connect(settings.data_dir / "aloft.db", isolation_level=None)
                other.execute("INSERT INTO tags (id, name) VALUES (7, 'between')")
                other.close()
                after = conn.execute(sa.text("SELECT count(*) FROM tags")).scalar_one()
                return before, after

            before, after = db.read(unit)
            assert before == after
            return
        assert db.read(_second_statement) is False
        assert db.write(_second_statement) is True
        assert db.read(lambda conn: conn.execute(sa.text("SHOW jit")).scalar()) == "off"
    finally:
        db.dispose()


def test_a_read_after_a_write_sees_it(settings: Settings) -> None:
    """A read unit run after a write has committed sees it (the connection's autocommit
    state does not leak into the pool as a stale snapshot)."""
    db = Database.from_settings(settings)
    try:
        count = sa.text("SELECT count(*) FROM tags")
        first = db.read(lambda conn: conn.execute(count).scalar_one())
        db.write(lambda conn: conn.execute(sa.text("INSERT INTO tags (id, name) VALUES (8, 'x')")))
        assert db.read(lambda conn: conn.execute(count).scalar_one()) == first + 1
    finally:
        db.dispose()


def test_a_writes_answer_is_never_read_on_a_standby(settings: Settings) -> None:
    """`write_then` reads the answer after the commit, on the primary only: a standby may not
    have applied the write yet. Here the "standby" is a database without our tables, so an
    answer read there fails."""
    if not settings.database_url:
        return  # SQLite has no standby
    url = sa.make_url(settings.database_url)
    primary = create_engine(settings.database_url)
    elsewhere = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    db = Database(primary, Policy(reads="prefer-standby"), standby=elsewhere, anywhere=elsewhere)
    try:

        def write(conn: Connection) -> int:
            conn.execute(sa.text("INSERT INTO tags (id, name) VALUES (9, 'answered')"))
            return 9

        def answer(conn: Connection, tag_id: int) -> str:
            return str(
                conn.execute(sa.text("SELECT name FROM tags WHERE id = :i"), {"i": tag_id}).scalar()
            )

        assert db.write_then(write, answer) == "answered"
    finally:
        db.dispose()


_PLAN_MODE = sa.text("SHOW plan_cache_mode")


def test_a_read_plans_once_what_is_marked_generic_and_leaves_the_rest(settings: Settings) -> None:
    """A statement marked GENERIC_PLAN runs, in a read, with plan_cache_mode =
    force_generic_plan; the next unmarked one with the server's own choice again; a
    write's transaction sends no SET (one would be undone by a rollback)."""
    db = Database.from_settings(settings)
    if not db.is_postgres:
        db.dispose()
        pytest.skip("SQLite has no plan cache to choose in")
    marked = _PLAN_MODE.execution_options(**GENERIC_PLAN)
    try:
        assert db.read(lambda conn: conn.execute(marked).scalar()) == "force_generic_plan"
        assert db.read(lambda conn: conn.execute(marked).scalar()) == "force_generic_plan"
        assert db.read(lambda conn: conn.execute(_PLAN_MODE).scalar()) == "auto"
        assert db.read(lambda conn: conn.execute(marked).scalar()) == "force_generic_plan"
        # The write's unmarked statement is left as the read before it left the connection.
        assert db.write(lambda conn: conn.execute(_PLAN_MODE).scalar()) == "force_generic_plan"
    finally:
        db.dispose()


_TAGS = Statement(lambda among: sa.select(tags.c.id, tags.c.name).where(among(tags.c.id, "ids")))
_NAMED = Statement(lambda among: sa.select(tags.c.id).where(among(tags.c.name, "names")))


def test_statements_run_together_give_what_each_gives_alone(settings: Settings) -> None:
    """`rows_together` (one round trip on PostgreSQL) gives each statement's rows, with the
    values and the attribute names that running it alone gives, in order."""
    db = Database.from_settings(settings)
    try:
        db.write(
            lambda conn: conn.execute(
                sa.insert(tags), [{"id": i, "name": f"tag{i}"} for i in range(1, 6)]
            )
        )
        batch = [(_TAGS, {"ids": [2, 4, 9]}), (_NAMED, {"names": ["tag5"]}), (_TAGS, {"ids": []})]

        def both(conn: Connection) -> tuple[list[list[tuple]], list[list[tuple]]]:
            together = rows_together(conn, batch)
            alone = [list(conn.execute(s.on(conn), p)) for s, p in batch]
            return [sorted(tuple(r) for r in rows) for rows in together], [
                sorted(tuple(r) for r in rows) for rows in alone
            ]

        together, alone = db.read(both)
        assert together == alone == [[(2, "tag2"), (4, "tag4")], [(5,)], []]
        names = db.read(lambda conn: [r.name for r in rows_together(conn, batch[:1])[0]])
        assert sorted(names) == ["tag2", "tag4"]
    finally:
        db.dispose()


# Booleans and timestamps (SQLite gives them as integers and text), a LIMIT written into
# the SQL, and an IN of constants expanded into parameters: what the page statements have.
_CONVERTED = Statement(
    lambda among: (
        sa.select(accounts.c.id, accounts.c.locked, accounts.c.created_at)
        .where(among(accounts.c.id, "ids"), accounts.c.default_privacy.in_(["public", "unlisted"]))
        .order_by(accounts.c.id)
        .limit(sa.bindparam("n", type_=sa.Integer, literal_execute=True))
    )
)


def test_statements_run_together_convert_values_as_sqlalchemy_does(settings: Settings) -> None:
    """On both engines `rows_together` gives booleans, timestamps and the rows of a page
    (its limit written into the SQL, once for each limit) exactly as SQLAlchemy gives
    them, and the engine's listeners see each statement."""
    db = Database.from_settings(settings)
    at = datetime(2026, 11, 30, 12, 34, 56, 789012, tzinfo=UTC)
    try:
        made: list[dict[str, Any]] = [
            {
                "id": i,
                "username": f"u{i}",
                "username_lower": f"u{i}",
                "email": f"u{i}@example.org",
                "password_hash": "-",
                "locked": i % 2 == 0,
                "created_at": at,
            }
            for i in range(1, 5)
        ]
        db.write(lambda conn: conn.execute(sa.insert(accounts), made))
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
            seen.append(sql)

        sa.event.listen(db.engine, "before_cursor_execute", record)

        def both(conn: Connection, n: int) -> tuple[list[tuple], list[tuple]]:
            params: dict[str, Any] = {"ids": [1, 2, 3, 4], "n": n}
            together = [tuple(r) for r in rows_together(conn, [(_CONVERTED, params)])[0]]
            alone = [tuple(r) for r in conn.execute(_CONVERTED.on(conn), params)]
            return together, alone

        for n in (3, 2, 3):
            together, alone = db.read(functools.partial(both, n=n))
            assert together == alone, (together, alone)
            assert [(i, locked) for i, locked, _ in together] == [
                (1, False),
                (2, True),
                (3, False),
            ][:n]
            # SQLite keeps no zone: SQLAlchemy gives its timestamps naive, and so do we.
            assert all(created.replace(tzinfo=UTC) == at for *_, created in together)
            assert all(type(locked) is bool for _, locked, _ in together)
        assert sum("FROM accounts" in sql for sql in seen) == 6, seen
    finally:
        db.dispose()


def test_a_statement_run_together_fails_as_sqlalchemy_fails(settings: Settings) -> None:
    """A statement the database refuses is raised as SQLAlchemy raises it, on both engines."""
    db = Database.from_settings(settings)
    missing = sa.table("no_such_table", sa.column("id", sa.BigInteger))
    wrong = Statement(lambda among: sa.select(missing.c.id).where(among(missing.c.id, "ids")))
    try:
        with pytest.raises(sa.exc.ProgrammingError if db.is_postgres else sa.exc.OperationalError):
            db.read(
                lambda conn: rows_together(conn, [(_TAGS, {"ids": [1]}), (wrong, {"ids": [1]})])
            )
    finally:
        db.dispose()


def test_statements_run_together_fail_as_sqlalchemy_fails(settings: Settings) -> None:
    """A connection lost under `rows_together` is raised as SQLAlchemy raises it, so that
    a read is retried on a fresh connection (a failover), as any other statement's."""
    db = Database.from_settings(settings)
    if not db.is_postgres:
        db.dispose()
        pytest.skip("a SQLite database has no server connection to lose")
    try:

        def lost(conn: Connection) -> None:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with db.engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            rows_together(conn, [(_TAGS, {"ids": [1]})])

        with db.engine.connect() as conn:
            try:
                lost(conn)
            except sa.exc.DBAPIError as exc:
                assert retry_reason(exc) is not None, exc
            else:
                raise AssertionError("a terminated connection answered")
        # And a read unit does retry it: the second attempt runs on a fresh connection.
        tries: list[int] = []

        def unit(conn: Connection) -> int:
            tries.append(1)
            if len(tries) == 1:
                lost(conn)
            return len(rows_together(conn, [(_TAGS, {"ids": [1]})])[0])

        assert db.read(unit) == 0 and len(tries) == 2
    finally:
        db.dispose()
