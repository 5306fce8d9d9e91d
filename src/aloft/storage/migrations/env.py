"""Alembic environment: the engine comes from `aloft.storage.migrate`, never from a file."""

from alembic import context

from aloft.storage.migrations.env_filters import include_object
from aloft.storage.schema import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
