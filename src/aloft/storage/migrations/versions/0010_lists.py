"""Lists: `lists` (an account's lists, with `replies_policy` and `exclusive`) and
`list_accounts` (their members).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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
        "lists",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("replies_policy", sa.String(length=10), server_default="list", nullable=False),
        sa.Column("exclusive", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("lists", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
    )
    op.create_index(op.f("ix_lists_account_id_id"), "lists", ["account_id", "id"])
    op.create_table(
        "list_accounts",
        sa.Column("list_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        _fk("list_accounts", "account_id", "accounts"),
        _fk("list_accounts", "list_id", "lists"),
        sa.PrimaryKeyConstraint("list_id", "account_id", name=op.f("pk_list_accounts")),
    )
    op.create_index(
        op.f("ix_list_accounts_account_id_list_id"), "list_accounts", ["account_id", "list_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_list_accounts_account_id_list_id"), table_name="list_accounts")
    op.drop_table("list_accounts")
    op.drop_index(op.f("ix_lists_account_id_id"), table_name="lists")
    op.drop_table("lists")
