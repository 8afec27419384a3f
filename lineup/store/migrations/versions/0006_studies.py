"""Studies: a question set against several models with K repeats. Runs and generations carry
their study and item, generations their repeat; each (study, item, model, repeat) is one
generation at most. Clips gain their transcription time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STUDY_ROWS = sa.text("study_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("set_id", sa.Integer(), sa.ForeignKey("question_sets.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested", sa.String(16), nullable=True),
        sa.Column("owner_host", sa.String(255), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    references = {"study_id": "studies", "item_id": "set_items"}
    for table in ("runs", "generations"):
        for column, target in references.items():
            _add_reference(table, column, target)
    op.add_column("generations", sa.Column("repeat", sa.Integer(), nullable=True))
    # A clip's transcription time (a voice study reports it per sentence).
    op.add_column("generations", sa.Column("stt_s", sa.Float(), nullable=True))
    op.create_index(
        "uq_runs_study_item",
        "runs",
        ["study_id", "item_id"],
        unique=True,
        sqlite_where=STUDY_ROWS,
        postgresql_where=STUDY_ROWS,
    )
    op.create_index(
        "uq_generations_study_key",
        "generations",
        ["study_id", "item_id", "model_spec", "repeat"],
        unique=True,
        sqlite_where=STUDY_ROWS,
        postgresql_where=STUDY_ROWS,
    )


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable integer column referencing `target`.id. SQLite adds it in place with its
    reference (ALTER TABLE ... ADD COLUMN ... REFERENCES), which Alembic only offers through a
    table rebuild; a rebuild would cascade-delete labels, as foreign keys are on."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(
            table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=True)
        )


def downgrade() -> None:
    op.drop_index("uq_generations_study_key", "generations")
    op.drop_index("uq_runs_study_item", "runs")
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("stt_s")
        batch.drop_column("repeat")
        batch.drop_column("item_id")
        batch.drop_column("study_id")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("item_id")
        batch.drop_column("study_id")
    op.drop_table("studies")
