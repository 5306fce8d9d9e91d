"""Status edits, polls, pins and conversation mutes.

* `statuses.edited_at` (the last edit) and `statuses.poll_id` (its poll, if any);
* `status_edits`: every revision of an edited status, the original first;
* `polls`, `poll_options`, `poll_votes`: a status's poll, its options with their counts,
  and each account's choices; `polls.ended` once the poll's end has been notified;
* `status_pins`: an account's pinned statuses;
* `conversation_mutes`: the threads (by their root status) an account muted.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.add_column("statuses", sa.Column("edited_at", TS, nullable=True))
    op.add_column("statuses", sa.Column("poll_id", ID, nullable=True))
    op.create_table(
        "status_edits",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("media_ids", sa.Text(), server_default="[]", nullable=False),
        sa.Column("poll_options", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _fk("status_edits", "account_id", "accounts"),
        _fk("status_edits", "status_id", "statuses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_edits")),
    )
    op.create_index(op.f("ix_status_edits_status_id_id"), "status_edits", ["status_id", "id"])
    op.create_table(
        "polls",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("hide_totals", sa.Boolean(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("votes_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("voters_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ended", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("polls", "account_id", "accounts"),
        _fk("polls", "status_id", "statuses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("status_id", name=op.f("uq_polls_status_id")),
    )
    op.create_index(op.f("ix_polls_ended_expires_at"), "polls", ["ended", "expires_at"])
    op.create_table(
        "poll_options",
        sa.Column("poll_id", ID, nullable=False),
        sa.Column("position", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("votes_count", sa.Integer(), server_default="0", nullable=False),
        _fk("poll_options", "poll_id", "polls"),
        sa.PrimaryKeyConstraint("poll_id", "position", name=op.f("pk_poll_options")),
    )
    op.create_table(
        "poll_votes",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("poll_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("choice", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("poll_votes", "account_id", "accounts"),
        _fk("poll_votes", "poll_id", "polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint(
            "poll_id", "account_id", "choice", name=op.f("uq_poll_votes_poll_id_account_id_choice")
        ),
    )
    op.create_index(
        op.f("ix_poll_votes_account_id_poll_id"), "poll_votes", ["account_id", "poll_id"]
    )
    op.create_table(
        "status_pins",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("status_pins", "account_id", "accounts"),
        _fk("status_pins", "status_id", "statuses"),
        sa.PrimaryKeyConstraint("account_id", "status_id", name=op.f("pk_status_pins")),
        sa.UniqueConstraint("id", name=op.f("uq_status_pins_id")),
    )
    op.create_index(op.f("ix_status_pins_account_id_id"), "status_pins", ["account_id", "id"])
    op.create_table(
        "conversation_mutes",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("status_id", ID, nullable=False),
        _fk("conversation_mutes", "account_id", "accounts"),
        _fk("conversation_mutes", "status_id", "statuses"),
        sa.PrimaryKeyConstraint("account_id", "status_id", name=op.f("pk_conversation_mutes")),
    )


def downgrade() -> None:
    op.drop_table("conversation_mutes")
    op.drop_index(op.f("ix_status_pins_account_id_id"), table_name="status_pins")
    op.drop_table("status_pins")
    op.drop_index(op.f("ix_poll_votes_account_id_poll_id"), table_name="poll_votes")
    op.drop_table("poll_votes")
    op.drop_table("poll_options")
    op.drop_index(op.f("ix_polls_ended_expires_at"), table_name="polls")
    op.drop_table("polls")
    op.drop_index(op.f("ix_status_edits_status_id_id"), table_name="status_edits")
    op.drop_table("status_edits")
    op.drop_column("statuses", "poll_id")
    op.drop_column("statuses", "edited_at")
