"""Indexes for speed (issue 11).

* `accounts.suspended_at`, partial (only suspended accounts): the visibility rule asks for
  the suspended accounts on every listing, which read all of `accounts` without it (17 ms
  of a home page over 10,000 accounts on PostgreSQL).

Revision ID: 0016
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

SUSPENDED = sa.text("suspended_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        op.f("ix_accounts_suspended_at"),
        "accounts",
        ["suspended_at"],
        sqlite_where=SUSPENDED,
        postgresql_where=SUSPENDED,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_suspended_at"), table_name="accounts")
