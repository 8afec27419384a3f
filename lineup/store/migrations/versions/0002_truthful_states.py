"""Truthful states: timeout / cancelled / interrupted, the owner and heartbeat of a running
generation, an index on status; existing rows moved to the states they really are in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Messages written into rows that this migration moves; they say how the state was found.
EMPTY_ANSWER = "The model returned an empty answer (found when the store was upgraded)."
LEFT_RUNNING = (
    "Its process stopped before it finished; the text streamed until then was not saved by "
    "the Lineup version that ran it (found when the store was upgraded)."
)


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("owner_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("owner_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_generations_status", "generations", ["status"])

    generations = sa.table(
        "generations",
        sa.column("status", sa.String),
        sa.column("error", sa.Text),
        sa.column("output_text", sa.Text),
        sa.column("run_id", sa.Integer),
    )
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    # A timeout used to be an `error` row whose message starts "Timed out after".
    op.execute(
        generations.update()
        .where(generations.c.status == "error", generations.c.error.like("Timed out after%"))
        .values(status="timeout")
    )
    # A VLM answer with no text is not a complete answer.
    op.execute(
        generations.update()
        .where(
            generations.c.status == "ok",
            sa.or_(generations.c.output_text.is_(None), generations.c.output_text == ""),
            generations.c.run_id.in_(sa.select(runs.c.id).where(runs.c.kind == "vlm")),
        )
        .values(status="error", error=EMPTY_ANSWER)
    )
    # Rows left `running` by a version that had no owner or heartbeat can never finish.
    op.execute(
        generations.update()
        .where(generations.c.status == "running")
        .values(status="interrupted", error=LEFT_RUNNING)
    )


def downgrade() -> None:
    generations = sa.table("generations", sa.column("status", sa.String))
    op.execute(
        generations.update()
        .where(generations.c.status.in_(["timeout", "cancelled", "interrupted"]))
        .values(status="error")
    )
    op.drop_index("ix_generations_status", "generations")
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
