"""Follow requests, markers, and notification groups.

* `follow_requests`: a follow of a locked account waits here for the target's answer;
* `markers`: where an account last read its home timeline and notifications;
* `notifications.group_key`: the group a favourite, reblog or follow notification belongs
  to (grouped notifications, /api/v2/notifications). Notifications written before this
  revision keep NULL and are each a group of their own.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "follow_requests",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_follow_requests_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name="fk_follow_requests_target_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "target_account_id", name="pk_follow_requests"),
        sa.UniqueConstraint("id", name="uq_follow_requests_id"),
    )
    op.create_index(
        "ix_follow_requests_target_account_id_id", "follow_requests", ["target_account_id", "id"]
    )
    op.create_table(
        "markers",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("timeline", sa.String(20), nullable=False),
        sa.Column("last_read_id", ID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_markers_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "timeline", name="pk_markers"),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("group_key", sa.String(80), nullable=True))
    op.create_index(
        "ix_notifications_account_id_group_key_id",
        "notifications",
        ["account_id", "group_key", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_account_id_group_key_id", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("group_key")
    op.drop_table("markers")
    op.drop_index("ix_follow_requests_target_account_id_id", table_name="follow_requests")
    op.drop_table("follow_requests")
