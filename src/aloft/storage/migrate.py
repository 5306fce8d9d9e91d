"""Alembic migrations, run from code: `aloft db migrate` and the server's start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

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
