"""Full-text search of statuses, with each engine's own index.

* PostgreSQL: a generated tsvector column on statuses and a GIN index on it.
* SQLite: an FTS5 table keyed by status id, kept in step by triggers.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# 'simple' configuration: no stemming or stop words, so posts in any language match
# the words they contain.
PG_UP = [
    "ALTER TABLE statuses ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', spoiler_text || ' ' || text)) STORED",
    "CREATE INDEX ix_statuses_search_vector ON statuses USING gin (search_vector)",
]
PG_DOWN = [
    "DROP INDEX ix_statuses_search_vector",
    "ALTER TABLE statuses DROP COLUMN search_vector",
]
SQLITE_UP = [
    "CREATE VIRTUAL TABLE statuses_fts USING fts5(body, tokenize = 'unicode61')",
    "INSERT INTO statuses_fts (rowid, body) "
    "SELECT id, spoiler_text || ' ' || text FROM statuses WHERE reblog_of_id IS NULL",
    "CREATE TRIGGER statuses_fts_insert AFTER INSERT ON statuses "
    "WHEN new.reblog_of_id IS NULL BEGIN "
    "INSERT INTO statuses_fts (rowid, body) VALUES (new.id, new.spoiler_text || ' ' || new.text); "
    "END",
    "CREATE TRIGGER statuses_fts_delete AFTER DELETE ON statuses BEGIN "
    "DELETE FROM statuses_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER statuses_fts_update AFTER UPDATE OF text, spoiler_text ON statuses "
    "WHEN new.reblog_of_id IS NULL BEGIN "
    "UPDATE statuses_fts SET body = new.spoiler_text || ' ' || new.text WHERE rowid = new.id; "
    "END",
]
SQLITE_DOWN = [
    "DROP TRIGGER statuses_fts_update",
    "DROP TRIGGER statuses_fts_delete",
    "DROP TRIGGER statuses_fts_insert",
    "DROP TABLE statuses_fts",
]


def upgrade() -> None:
    for statement in PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
