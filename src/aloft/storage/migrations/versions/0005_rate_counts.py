"""Rate-limit counts in the database, so every app process of a deployment shares them.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("window", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("rule", "key", "window", name=op.f("pk_rate_counts")),
    )
    op.create_index(op.f("ix_rate_counts_window"), "rate_counts", ["window"])


def downgrade() -> None:
    op.drop_index("ix_rate_counts_window", "rate_counts")
    op.drop_table("rate_counts")
