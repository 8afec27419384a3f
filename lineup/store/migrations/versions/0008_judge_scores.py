"""An LLM judge's verdicts on a study's answers: one row per (answer, judge, protocol, prompt
hash) with the request, the reply, the parsed score and reasons or the failure.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=False),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("judge_spec", sa.String(512), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("prompt_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("saw_image", sa.Boolean(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("owner_host", sa.String(255), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "uq_judge_scores_key",
        "judge_scores",
        ["generation_id", "judge_spec", "protocol", "prompt_hash"],
        unique=True,
    )
    op.create_index("ix_judge_scores_study", "judge_scores", ["study_id", "judge_spec", "protocol"])


def downgrade() -> None:
    op.drop_index("ix_judge_scores_study", "judge_scores")
    op.drop_index("uq_judge_scores_key", "judge_scores")
    op.drop_table("judge_scores")
