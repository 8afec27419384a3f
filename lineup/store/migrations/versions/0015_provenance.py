"""What ran where: the machine that ran a comparison or a study (`runs.machine`,
`studies.machine`: CPU, cores, memory, OS, Python, torch, GPUs; nothing that names a person),
and what each model's server or engine said about itself, once per model per comparison or
study (`model_provenance`). Additive: old runs and studies have no machine (NULL) and no
provenance rows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

MODEL_SPEC_MAX_CHARS = 512


def upgrade() -> None:
    # Plain nullable columns: SQLite adds them in place, no table rebuild (see 0006).
    op.add_column("runs", sa.Column("machine", sa.JSON(), nullable=True))
    op.add_column("studies", sa.Column("machine", sa.JSON(), nullable=True))
    op.create_table(
        "model_provenance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("studies.id"), nullable=True),
        sa.Column("model_spec", sa.String(MODEL_SPEC_MAX_CHARS), nullable=False),
        sa.Column("resolved_spec", sa.String(MODEL_SPEC_MAX_CHARS), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    for owner in ("run_id", "study_id"):
        op.create_index(
            f"uq_model_provenance_{owner}",
            "model_provenance",
            [owner, "model_spec"],
            unique=True,
            sqlite_where=sa.text(f"{owner} IS NOT NULL"),
            postgresql_where=sa.text(f"{owner} IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_table("model_provenance")
    with op.batch_alter_table("studies") as batch:
        batch.drop_column("machine")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("machine")
