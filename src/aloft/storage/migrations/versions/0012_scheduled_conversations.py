"""Scheduled statuses and conversations (issue 13, items 7 and 10).

* `scheduled_statuses`: a post waiting for its time, with the parameters it was made with
  (JSON) and the Idempotency-Key it was made under (unique per account, NULLs apart);
* `media_attachments.scheduled_status_id`: the scheduled post an upload is reserved for
  (the unattached-upload cleanup leaves it alone; publishing moves it to the status);
* `conversations`: Mastodon's AccountConversation, one row per participant and thread of
  direct posts (by the thread's root and the other participants);
* `conversation_statuses`: the direct posts each conversation holds, so a deleted post
  gives its conversation the previous one as `last_status`.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduled_statuses",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("scheduled_at", TS, nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_scheduled_statuses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_statuses")),
        sa.UniqueConstraint(
            "account_id",
            "idempotency_key",
            name=op.f("uq_scheduled_statuses_account_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_scheduled_statuses_scheduled_at"), "scheduled_statuses", ["scheduled_at"]
    )
    op.create_index(
        op.f("ix_scheduled_statuses_account_id_id"), "scheduled_statuses", ["account_id", "id"]
    )
    # No foreign key: SQLite adds none to an existing table without rebuilding it, and
    # rebuilding media_attachments would cascade to media_files. The service clears it.
    op.add_column("media_attachments", sa.Column("scheduled_status_id", ID, nullable=True))
    op.create_index(
        op.f("ix_media_attachments_scheduled_status_id"),
        "media_attachments",
        ["scheduled_status_id"],
    )
    op.create_table(
        "conversations",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("thread_id", ID, nullable=False),
        sa.Column("participants_key", sa.String(length=64), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("last_status_id", ID, nullable=False),
        sa.Column("unread", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_conversations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "account_id",
            "thread_id",
            "participants_key",
            name=op.f("uq_conversations_account_id_thread_id_participants_key"),
        ),
    )
    op.create_index(
        op.f("ix_conversations_account_id_last_status_id"),
        "conversations",
        ["account_id", "last_status_id"],
    )
    op.create_table(
        "conversation_statuses",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_statuses_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_conversation_statuses_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "status_id", name=op.f("pk_conversation_statuses")
        ),
    )
    op.create_index(
        op.f("ix_conversation_statuses_status_id"), "conversation_statuses", ["status_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_statuses_status_id"), table_name="conversation_statuses")
    op.drop_table("conversation_statuses")
    op.drop_index(op.f("ix_conversations_account_id_last_status_id"), table_name="conversations")
    op.drop_table("conversations")
    op.drop_index(op.f("ix_media_attachments_scheduled_status_id"), table_name="media_attachments")
    op.drop_column("media_attachments", "scheduled_status_id")
    op.drop_index(op.f("ix_scheduled_statuses_account_id_id"), table_name="scheduled_statuses")
    op.drop_index(op.f("ix_scheduled_statuses_scheduled_at"), table_name="scheduled_statuses")
    op.drop_table("scheduled_statuses")
