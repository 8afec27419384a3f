"""Runs, generations and labels.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("input_text", sa.Text(), nullable=False),
        sa.Column("image_hash", sa.String(64), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("model_spec", sa.String(512), nullable=False),
        sa.Column("sample_index", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("reasoning_text", sa.Text(), nullable=True),
        sa.Column("audio_hash", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ttft_s", sa.Float(), nullable=True),
        sa.Column("reasoning_ttft_s", sa.Float(), nullable=True),
        sa.Column("total_s", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens_source", sa.String(8), nullable=True),
        sa.Column("tokens_per_s", sa.Float(), nullable=True),
        sa.Column("tokens_per_s_source", sa.String(8), nullable=True),
        sa.Column("chars_per_s", sa.Float(), nullable=True),
        sa.Column("load_s", sa.Float(), nullable=True),
        sa.Column("prompt_eval_s", sa.Float(), nullable=True),
        sa.Column("gen_s", sa.Float(), nullable=True),
        sa.Column("audio_s", sa.Float(), nullable=True),
        sa.Column("rtf", sa.Float(), nullable=True),
        sa.Column("sample_rate_hz", sa.Integer(), nullable=True),
        sa.Column("peak_mem_mb", sa.Float(), nullable=True),
        sa.Column("stt_spec", sa.String(512), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("wer", sa.Float(), nullable=True),
        sa.Column("cer", sa.Float(), nullable=True),
        sa.Column("backend_metadata", sa.JSON(), nullable=False),
    )
    op.create_index("ix_generations_run_id", "generations", ["run_id"])
    op.create_index("ix_generations_model_spec", "generations", ["model_spec"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("annotator", sa.String(128), nullable=False),
        sa.Column("relevance", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_labels_generation_id", "labels", ["generation_id"])


def downgrade() -> None:
    op.drop_table("labels")
    op.drop_table("generations")
    op.drop_table("runs")
