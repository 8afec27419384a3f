"""The judge's own limits, kept with each verdict: the output token limit it was sent and the
timeout it was asked under. Verdicts from before keep NULL: no limit was sent, and the timeout
was the per-model one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain nullable columns: SQLite adds them in place (ALTER TABLE ... ADD COLUMN), no
    # table rebuild (which would cascade-delete, see 0006).
    op.add_column("judge_scores", sa.Column("max_tokens", sa.Integer(), nullable=True))
    op.add_column("judge_scores", sa.Column("timeout_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("judge_scores") as batch:
        batch.drop_column("timeout_s")
        batch.drop_column("max_tokens")
