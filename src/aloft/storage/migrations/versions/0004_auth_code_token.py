"""auth_codes.token_id: the token an exchanged authorization code issued.

Until now an exchanged code was marked by writing `used:<token id>` over its
`code_challenge` (a real PKCE challenge never holds ':'). The id now has a column of its
own and `code_challenge` keeps only the challenge; existing markers move into the column
(the challenge they replaced is gone, and was no longer needed). No foreign key: the
token is deleted when it is revoked, and the code must still read as used afterwards.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MARKER = "used:"


def upgrade() -> None:
    with op.batch_alter_table("auth_codes") as batch:
        batch.add_column(sa.Column("token_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE auth_codes SET token_id = CAST(substr(code_challenge, 6) AS BIGINT), "
        f"code_challenge = NULL WHERE code_challenge LIKE '{MARKER}%'"
    )


def downgrade() -> None:
    # Back to the marker, as the old code reads it.
    op.execute(
        f"UPDATE auth_codes SET code_challenge = '{MARKER}' || CAST(token_id AS VARCHAR(20)) "
        "WHERE token_id IS NOT NULL"
    )
    with op.batch_alter_table("auth_codes") as batch:
        batch.drop_column("token_id")
