"""Recount statuses_count and replies_count as Mastodon keeps them.

Until now a direct post counted in its author's statuses_count, and a private or direct
reply in its parent's replies_count: numbers anyone could read that told them a hidden post
existed. The services now leave those out (`aloft.services.statuses`); this recomputes the
stored counters of existing rows the same way. Visibility codes: 0 public, 1 unlisted,
2 private, 3 direct.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UP = [
    "UPDATE accounts SET statuses_count = (SELECT COUNT(*) FROM statuses "
    "WHERE statuses.account_id = accounts.id AND statuses.visibility <> 3)",
    "UPDATE statuses SET replies_count = (SELECT COUNT(*) FROM statuses AS replies "
    "WHERE replies.in_reply_to_id = statuses.id AND replies.visibility IN (0, 1))",
]
# Back to the old counting, which counted every post and every reply.
DOWN = [
    "UPDATE accounts SET statuses_count = (SELECT COUNT(*) FROM statuses "
    "WHERE statuses.account_id = accounts.id)",
    "UPDATE statuses SET replies_count = (SELECT COUNT(*) FROM statuses AS replies "
    "WHERE replies.in_reply_to_id = statuses.id)",
]


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWN:
        op.execute(statement)
