"""Alone or together: each generation keeps the most other requests Lineup had in flight beside
it on its host (`concurrent_max`) and on its endpoint (`concurrent_endpoint_max`), measured by
the runner (lineup.run.contention). Rows from before keep NULL: nobody counted then, and a
NULL is never read as "alone". The partial index of the `ok` rows that have the figure, by
kind, model and value, lets the leaderboard read each model's largest one from it alone, as
it reads peak memory (0003).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The text of lineup.store.tables.ok_rows_with("concurrent_max"), frozen here.
OK_WITH_FIGURE = "status = 'ok' AND concurrent_max IS NOT NULL"


def upgrade() -> None:
    # Plain nullable columns: SQLite adds them in place (ALTER TABLE ... ADD COLUMN), no
    # table rebuild (which would cascade-delete, see 0006).
    op.add_column("generations", sa.Column("concurrent_max", sa.Integer(), nullable=True))
    op.add_column("generations", sa.Column("concurrent_endpoint_max", sa.Integer(), nullable=True))
    where = sa.text(OK_WITH_FIGURE)
    op.create_index(
        "ix_generations_ok_concurrent_max",
        "generations",
        ["kind", "model_spec", "status", "concurrent_max"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_generations_ok_concurrent_max", table_name="generations")
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("concurrent_endpoint_max")
        batch.drop_column("concurrent_max")
