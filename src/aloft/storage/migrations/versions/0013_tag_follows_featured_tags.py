"""Followed and featured hashtags.

* `tag_follows`: the hashtags an account follows (public statuses with them reach its home
  timeline), paged by their own id;
* `featured_tags`: the hashtags an account features on its profile.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
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
        "tag_follows",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("tag_follows", "account_id", "accounts"),
        _fk("tag_follows", "tag_id", "tags"),
        sa.PrimaryKeyConstraint("account_id", "tag_id", name=op.f("pk_tag_follows")),
        sa.UniqueConstraint("id", name=op.f("uq_tag_follows_id")),
    )
    op.create_index(op.f("ix_tag_follows_account_id_id"), "tag_follows", ["account_id", "id"])
    op.create_index(op.f("ix_tag_follows_tag_id"), "tag_follows", ["tag_id"])
    op.create_table(
        "featured_tags",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("featured_tags", "account_id", "accounts"),
        _fk("featured_tags", "tag_id", "tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_featured_tags")),
        sa.UniqueConstraint(
            "account_id", "tag_id", name=op.f("uq_featured_tags_account_id_tag_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("featured_tags")
    op.drop_index(op.f("ix_tag_follows_tag_id"), table_name="tag_follows")
    op.drop_index(op.f("ix_tag_follows_account_id_id"), table_name="tag_follows")
    op.drop_table("tag_follows")
