"""Alembic migrations run on both engines, match the schema, and can be undone."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
