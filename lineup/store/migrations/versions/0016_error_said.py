"""An answer's or clip's error, and a judge verdict's, as its English template and values
(`generations.error_said`, `judge_scores.error_said`: {"template": ..., "values": {...}}),
beside the English text in `error`, so a page says it in the interface's language. Additive:
old rows have none (NULL) and show their English text.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain nullable column: SQLite adds it in place, no table rebuild (see 0006).
    op.add_column("generations", sa.Column("error_said", sa.JSON(), nullable=True))
    op.add_column("judge_scores", sa.Column("error_said", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("judge_scores") as batch:
        batch.drop_column("error_said")
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("error_said")
