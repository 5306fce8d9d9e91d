"""Account extras: profile fields, posting defaults, profile flags, private notes,
endorsements.

* `accounts.fields`: the profile fields as their owner typed them (JSON list of
  `{"name", "value"}`), rendered when shown;
* `accounts.default_privacy`, `default_sensitive`, `default_language`: what a new status
  gets when the client does not say (`source[…]` of update_credentials);
* `accounts.discoverable`, `indexable`, `hide_collections`: the profile's flags;
* `account_notes`: an account's private note on another;
* `account_pins`: the accounts an account endorses (features on its profile).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["accounts.id"], name=op.f(f"fk_{table}_{column}_accounts"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.add_column("accounts", sa.Column("fields", sa.Text(), server_default="[]", nullable=False))
    op.add_column(
        "accounts",
        sa.Column("default_privacy", sa.String(10), server_default="public", nullable=False),
    )
    op.add_column(
        "accounts",
        sa.Column("default_sensitive", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("accounts", sa.Column("default_language", sa.String(16), nullable=True))
    op.add_column(
        "accounts",
        sa.Column("discoverable", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "accounts", sa.Column("indexable", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column(
        "accounts",
        sa.Column("hide_collections", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "account_notes",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _fk("account_notes", "account_id"),
        _fk("account_notes", "target_account_id"),
        sa.PrimaryKeyConstraint("account_id", "target_account_id", name=op.f("pk_account_notes")),
    )
    op.create_table(
        "account_pins",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("target_account_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("account_pins", "account_id"),
        _fk("account_pins", "target_account_id"),
        sa.PrimaryKeyConstraint("account_id", "target_account_id", name=op.f("pk_account_pins")),
        sa.UniqueConstraint("id", name=op.f("uq_account_pins_id")),
    )
    op.create_index(op.f("ix_account_pins_account_id_id"), "account_pins", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_pins_account_id_id"), table_name="account_pins")
    op.drop_table("account_pins")
    op.drop_table("account_notes")
    for column in (
        "hide_collections",
        "indexable",
        "discoverable",
        "default_language",
        "default_sensitive",
        "default_privacy",
        "fields",
    ):
        op.drop_column("accounts", column)
