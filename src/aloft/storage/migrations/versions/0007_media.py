"""Media attachments and their files (bytes in the database; see storage/schema.py).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_attachments",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("status_id", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("ext", sa.String(length=5), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("focus_x", sa.Float(), nullable=True),
        sa.Column("focus_y", sa.Float(), nullable=True),
        sa.Column("blurhash", sa.String(length=100), nullable=True),
        sa.Column("meta", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_media_attachments_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_media_attachments_status_id_statuses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_attachments")),
    )
    op.create_index(
        op.f("ix_media_attachments_status_id"), "media_attachments", ["status_id"], unique=False
    )
    op.create_index(
        op.f("ix_media_attachments_state_id"), "media_attachments", ["state", "id"], unique=False
    )
    op.create_index(
        op.f("ix_media_attachments_account_id_created_at"),
        "media_attachments",
        ["account_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "media_files",
        sa.Column("media_id", sa.BigInteger(), nullable=False),
        sa.Column("variant", sa.String(length=10), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_attachments.id"],
            name=op.f("fk_media_files_media_id_media_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("media_id", "variant", name=op.f("pk_media_files")),
    )


def downgrade() -> None:
    op.drop_table("media_files")
    op.drop_index(op.f("ix_media_attachments_account_id_created_at"), "media_attachments")
    op.drop_index(op.f("ix_media_attachments_state_id"), "media_attachments")
    op.drop_index(op.f("ix_media_attachments_status_id"), "media_attachments")
    op.drop_table("media_attachments")
