"""Alembic migrations run on both engines, match the schema, and can be undone."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from aloft.storage.database import create_engine
from aloft.storage.migrate import alembic_config, upgrade
from aloft.storage.migrations.env_filters import include_object
from aloft.storage.schema import metadata
from tests import pg


def _check(engine: sa.Engine) -> None:
    upgrade(engine)
    upgrade(engine)  # a second run changes nothing
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, metadata) == []
    command.downgrade(alembic_config(engine), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert "statuses" in sa.inspect(engine).get_table_names()


def test_migrations_form_one_line(tmp_path: Path) -> None:
    """Work done side by side branches from the same parent (`upgrade` reaches every head
    meanwhile); what lands is one line, so every database walks the same path."""
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads {heads}: point each branch's down_revision at one line"
    revisions = list(script.walk_revisions())
    assert not any(isinstance(r.down_revision, tuple) for r in revisions), "a merge revision"


def test_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _check(engine)
    engine.dispose()


def test_postgresql(postgres: pg.PostgresServer) -> None:
    postgres.psql("CREATE DATABASE migrations_check")
    engine = create_engine(postgres.url("migrations_check"))
    try:
        _check(engine)
    finally:
        engine.dispose()
        postgres.psql("DROP DATABASE migrations_check WITH (FORCE)")


def test_search_index_exists_after_migration(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert "statuses_fts" in sa.inspect(engine).get_table_names()
    engine.dispose()


def _recount(engine: sa.Engine) -> None:
    """Rows counted the old way (direct posts, hidden replies) are recounted by 0003."""
    from datetime import UTC, datetime

    from aloft.storage.schema import accounts, statuses

    upgrade(engine, "0002")
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(accounts).values(
                id=1,
                username="alice",
                username_lower="alice",
                email="alice@example.org",
                password_hash="x",
                created_at=at,
                statuses_count=6,  # the old count: every post, the direct one too
            )
        )
        conn.execute(sa.insert(statuses).values(id=10, account_id=1, visibility=0, created_at=at))
        conn.execute(sa.update(statuses).where(statuses.c.id == 10).values(replies_count=4))
        for status_id, visibility in ((11, 0), (12, 1), (13, 2), (14, 3)):
            conn.execute(
                sa.insert(statuses).values(
                    id=status_id,
                    account_id=1,
                    in_reply_to_id=10,
                    visibility=visibility,
                    created_at=at,
                )
            )
        conn.execute(sa.insert(statuses).values(id=15, account_id=1, visibility=3, created_at=at))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(accounts.c.statuses_count)).scalar_one() == 4
        replies = sa.select(statuses.c.replies_count).where(statuses.c.id == 10)
        assert conn.execute(replies).scalar_one() == 2
    command.downgrade(alembic_config(engine), "0002")
    with engine.connect() as conn:
        assert conn.execute(sa.select(accounts.c.statuses_count)).scalar_one() == 6
        assert conn.execute(replies).scalar_one() == 4


def test_counts_are_recomputed_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _recount(engine)
    engine.dispose()


def test_counts_are_recomputed_on_postgresql(postgres: pg.PostgresServer) -> None:
    postgres.psql("CREATE DATABASE migrations_recount")
    engine = create_engine(postgres.url("migrations_recount"))
    try:
        _recount(engine)
    finally:
        engine.dispose()
        postgres.psql("DROP DATABASE migrations_recount WITH (FORCE)")


def _used_codes(engine: sa.Engine) -> None:
    """0004 moves a used code's `used:<token id>` marker out of code_challenge into
    auth_codes.token_id, leaves real challenges alone, and puts the marker back on downgrade."""
    from datetime import UTC, datetime

    upgrade(engine, "0003")
    at = datetime.now(UTC)
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, username, username_lower, email, password_hash, "
                "created_at) VALUES (1, 'alice', 'alice', 'alice@example.org', 'x', :at)"
            ),
            {"at": at},
        )
        conn.execute(
            sa.text(
                "INSERT INTO apps (id, name, redirect_uris, scopes, client_id, client_secret, "
                "created_at) VALUES (2, 'app', 'urn:ietf:wg:oauth:2.0:oob', 'read', 'c', 's', :at)"
            ),
            {"at": at},
        )
        for code, marker in (("used", "used:7346209512345678"), ("fresh", challenge), ("no", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO auth_codes (code_hash, app_id, account_id, scopes, redirect_uri, "
                    "code_challenge, created_at) "
                    "VALUES (:code, 2, 1, 'read', 'urn:x', :marker, :at)"
                ),
                {"code": code, "marker": marker, "at": at},
            )
    query = sa.text("SELECT code_hash, code_challenge, token_id FROM auth_codes ORDER BY code_hash")
    upgrade(engine, "0004")
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [
            ("fresh", challenge, None),
            ("no", None, None),
            ("used", None, 7346209512345678),
        ]
    command.downgrade(alembic_config(engine), "0003")
    assert "token_id" not in {c["name"] for c in sa.inspect(engine).get_columns("auth_codes")}
    before = sa.text("SELECT code_hash, code_challenge FROM auth_codes ORDER BY code_hash")
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(before)] == [
            ("fresh", challenge),
            ("no", None),
            ("used", "used:7346209512345678"),
        ]


def test_used_codes_move_to_their_column_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _used_codes(engine)
    engine.dispose()


def test_used_codes_move_to_their_column_on_postgresql(postgres: pg.PostgresServer) -> None:
    postgres.psql("CREATE DATABASE migrations_codes")
    engine = create_engine(postgres.url("migrations_codes"))
    try:
        _used_codes(engine)
    finally:
        engine.dispose()
        postgres.psql("DROP DATABASE migrations_codes WITH (FORCE)")
