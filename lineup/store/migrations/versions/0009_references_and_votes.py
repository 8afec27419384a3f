"""A study's reference model (its own study, `reference_for`) and its judge templates; the
judge's pairwise protocol (the position shown and the reference answer with its score);
pairwise votes from the labeling queue's arena mode.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REFERENCE_ROWS = sa.text("reference_for IS NOT NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite adds a referencing column in place; Alembic would rebuild the table (see 0006).
    if sqlite:
        op.execute("ALTER TABLE studies ADD COLUMN reference_for INTEGER REFERENCES studies (id)")
        op.execute(
            "ALTER TABLE judge_scores ADD COLUMN reference_id INTEGER REFERENCES generations (id)"
        )
    else:
        op.add_column(
            "studies",
            sa.Column("reference_for", sa.Integer(), sa.ForeignKey("studies.id"), nullable=True),
        )
        op.add_column(
            "judge_scores",
            sa.Column("reference_id", sa.Integer(), sa.ForeignKey("generations.id"), nullable=True),
        )
    op.add_column("studies", sa.Column("judge_templates", sa.JSON(), nullable=True))
    op.create_index(
        "uq_studies_reference_for",
        "studies",
        ["reference_for"],
        unique=True,
        sqlite_where=REFERENCE_ROWS,
        postgresql_where=REFERENCE_ROWS,
    )
    op.add_column(
        "judge_scores",
        sa.Column("position", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("judge_scores", sa.Column("reference_score", sa.Float(), nullable=True))
    op.drop_index("uq_judge_scores_key", "judge_scores")
    op.create_index(
        "uq_judge_scores_key",
        "judge_scores",
        ["generation_id", "judge_spec", "protocol", "prompt_hash", "position"],
        unique=True,
    )
    op.create_table(
        "pairwise_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("set_items.id"), nullable=False),
        sa.Column("annotator", sa.String(128), nullable=False),
        sa.Column(
            "generation_a",
            sa.Integer(),
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "generation_b",
            sa.Integer(),
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pairwise_votes_study", "pairwise_votes", ["study_id", "annotator"])


def downgrade() -> None:
    op.drop_index("ix_pairwise_votes_study", "pairwise_votes")
    op.drop_table("pairwise_votes")
    op.drop_index("uq_judge_scores_key", "judge_scores")
    op.create_index(
        "uq_judge_scores_key",
        "judge_scores",
        ["generation_id", "judge_spec", "protocol", "prompt_hash"],
        unique=True,
    )
    op.drop_index("uq_studies_reference_for", "studies")
    with op.batch_alter_table("judge_scores") as batch:
        batch.drop_column("reference_score")
        batch.drop_column("reference_id")
        batch.drop_column("position")
    with op.batch_alter_table("studies") as batch:
        batch.drop_column("judge_templates")
        batch.drop_column("reference_for")
