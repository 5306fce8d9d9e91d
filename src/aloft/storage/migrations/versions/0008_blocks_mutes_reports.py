"""Blocks, mutes, domain blocks, reports, and suspended accounts.

* `blocks`, `mutes`: one row per (account, target); a mute may expire (`expires_at`,
  compared at read time) and may leave the target's notifications alone;
* `domain_blocks`: stored and listed (there is no federation yet);
* `reports`: reports to the moderators, resolved by an admin;
* `accounts.suspended_at`: a suspended account cannot sign in or use its tokens.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _pair(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=f"fk_{name}_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=f"fk_{name}_target_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "target_account_id", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
    )
    op.create_index(f"ix_{name}_target_account_id", name, ["target_account_id"])
    op.create_index(f"ix_{name}_account_id_id", name, ["account_id", "id"])


def upgrade() -> None:
    # Plain ALTER TABLE on both engines (SQLite >= 3.35 drops columns too): a batch
    # rebuild of `accounts` would cascade-delete every row that refers to it.
    op.add_column("accounts", sa.Column("suspended_at", TS, nullable=True))
    _pair("blocks")
    _pair(
        "mutes",
        sa.Column("notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
    )
    op.create_table(
        "domain_blocks",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_domain_blocks_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "domain", name="pk_domain_blocks"),
        sa.UniqueConstraint("id", name="uq_domain_blocks_id"),
    )
    op.create_index("ix_domain_blocks_account_id_id", "domain_blocks", ["account_id", "id"])
    op.create_table(
        "reports",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("status_ids", sa.Text(), server_default="[]", nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("forwarded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("action_taken_at", TS, nullable=True),
        sa.Column("action_taken_by_account_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_reports_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name="fk_reports_target_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_action_taken_at_id", "reports", ["action_taken_at", "id"])
    op.create_index("ix_reports_target_account_id", "reports", ["target_account_id"])


def downgrade() -> None:
    op.drop_table("reports")
    op.drop_table("domain_blocks")
    op.drop_table("mutes")
    op.drop_table("blocks")
    op.drop_column("accounts", "suspended_at")
