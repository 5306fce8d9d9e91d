"""Alembic migrations, run from code: `aloft db migrate` and the server's start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to `revision` (idempotent: a current database is left alone).

    The default is every head: work done side by side may add migrations that branch from
    the same parent, and a database must still reach all of them."""
    command.upgrade(alembic_config(engine), revision)


def is_current(conn: Connection) -> bool:
    """Whether the database `conn` reads (any server, a standby too) already has every
    migration: its alembic_version rows are exactly the scripts' heads."""
    script = ScriptDirectory.from_config(alembic_config(conn.engine))
    try:
        stamped = {
            row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        }
    except sa_exc.DBAPIError:
        return False  # no alembic_version table: never migrated
    return stamped == set(script.get_heads())
