"""Filters (Mastodon's v2 filters; v1 filters are read from the same rows).

* `filters`: an account's filter: its title, the contexts it applies in (space-separated
  names), its action (warn, hide, blur) and when it expires;
* `filter_keywords`: the keywords a filter matches (whole words or anywhere);
* `filter_statuses`: the statuses a filter matches, unique per (filter, status).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "filters",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=10), server_default="warn", nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _fk("filters", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filters")),
    )
    op.create_index(op.f("ix_filters_account_id_id"), "filters", ["account_id", "id"])
    op.create_table(
        "filter_keywords",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("filter_id", ID, nullable=False),
        sa.Column("keyword", sa.Text(), nullable=False),
        sa.Column("whole_word", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("filter_keywords", "filter_id", "filters"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filter_keywords")),
    )
    op.create_index(op.f("ix_filter_keywords_filter_id_id"), "filter_keywords", ["filter_id", "id"])
    op.create_table(
        "filter_statuses",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("filter_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("filter_statuses", "filter_id", "filters"),
        _fk("filter_statuses", "status_id", "statuses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filter_statuses")),
        sa.UniqueConstraint(
            "filter_id", "status_id", name=op.f("uq_filter_statuses_filter_id_status_id")
        ),
    )
    op.create_index(op.f("ix_filter_statuses_status_id"), "filter_statuses", ["status_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_filter_statuses_status_id"), table_name="filter_statuses")
    op.drop_table("filter_statuses")
    op.drop_index(op.f("ix_filter_keywords_filter_id_id"), table_name="filter_keywords")
    op.drop_table("filter_keywords")
    op.drop_index(op.f("ix_filters_account_id_id"), table_name="filters")
    op.drop_table("filters")
