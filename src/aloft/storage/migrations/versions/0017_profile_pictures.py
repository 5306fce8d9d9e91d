"""Profile pictures: an account's avatar and header (issue 14).

* `media_attachments.profile_part`: "avatar" or "header" for a picture stored as media
  (`aloft.services.pictures`), null for a post's media; such rows are never attached to a
  post nor cleaned up as unused uploads;
* `accounts.avatar_path`, `header_path`: the stored picture's path under /media
  (`<id>/<token>/original.<ext>`), null for the default image, so an Account entity is
  drawn from the account row alone;
* `accounts.avatar_description`, `header_description`: their alt text.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("media_attachments", sa.Column("profile_part", sa.String(6), nullable=True))
    for part in ("avatar", "header"):
        op.add_column("accounts", sa.Column(f"{part}_path", sa.String(80), nullable=True))
        op.add_column(
            "accounts",
            sa.Column(f"{part}_description", sa.Text(), server_default="", nullable=False),
        )


def downgrade() -> None:
    for part in ("avatar", "header"):
        op.drop_column("accounts", f"{part}_description")
        op.drop_column("accounts", f"{part}_path")
    op.drop_column("media_attachments", "profile_part")
