"""Indexes for the aggregates: each leaderboard filter reads an index, never the rows.

The runs of a kind; the model specs of a run; the states of a spec; one partial index per
figure (the `ok` rows that have it, by spec then value, so a median is a walk to its middle);
each annotator's latest label. The single-column indexes on generations.run_id,
generations.model_spec and labels.generation_id are replaced by the composite ones that lead
with the same column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (name, columns, the rows it holds): a frozen copy of lineup.models at this revision.
FIGURE_INDEXES = [
    ("ttft_total", ["ttft_s", "total_s"], "ttft_s IS NOT NULL AND total_s IS NOT NULL"),
    ("total_ttft", ["total_s", "ttft_s"], "ttft_s IS NOT NULL AND total_s IS NOT NULL"),
    ("tokens_per_s", ["tokens_per_s"], "tokens_per_s IS NOT NULL"),
    ("rtf", ["rtf"], "rtf IS NOT NULL"),
    ("gen_s", ["gen_s"], "gen_s IS NOT NULL"),
    ("peak_mem_mb", ["peak_mem_mb"], "peak_mem_mb IS NOT NULL"),
    ("wer", ["wer", "cer", "run_id"], "wer IS NOT NULL"),
]
WER_WITHOUT_TRANSCRIPT = "wer IS NOT NULL AND transcript IS NULL"


def _partial(name: str, columns: list[str], where: str) -> None:
    predicate = sa.text(where)
    op.create_index(
        name,
        "generations",
        columns,
        sqlite_where=predicate,
        postgresql_where=predicate,
    )


def upgrade() -> None:
    op.create_index("ix_runs_kind_id", "runs", ["kind", "id"])
    op.drop_index("ix_generations_run_id", "generations")
    op.create_index("ix_generations_run_id_model_spec", "generations", ["run_id", "model_spec"])
    op.drop_index("ix_generations_model_spec", "generations")
    op.create_index("ix_generations_model_spec_status", "generations", ["model_spec", "status"])
    for name, columns, present in FIGURE_INDEXES:
        _partial(
            f"ix_generations_ok_{name}",
            ["model_spec", "status", *columns],
            f"status = 'ok' AND {present}",
        )
    _partial("ix_generations_wer_without_transcript", ["model_spec"], WER_WITHOUT_TRANSCRIPT)
    op.drop_index("ix_labels_generation_id", "labels")
    op.create_index(
        "ix_labels_latest",
        "labels",
        ["generation_id", "annotator", "created_at", "id", "relevance"],
    )


def downgrade() -> None:
    op.drop_index("ix_labels_latest", "labels")
    op.create_index("ix_labels_generation_id", "labels", ["generation_id"])
    op.drop_index("ix_generations_wer_without_transcript", "generations")
    for name, _, _ in reversed(FIGURE_INDEXES):
        op.drop_index(f"ix_generations_ok_{name}", "generations")
    op.drop_index("ix_generations_model_spec_status", "generations")
    op.create_index("ix_generations_model_spec", "generations", ["model_spec"])
    op.drop_index("ix_generations_run_id_model_spec", "generations")
    op.create_index("ix_generations_run_id", "generations", ["run_id"])
    op.drop_index("ix_runs_kind_id", "runs")
