"""The rows that lack a figure of a median, by kind: normally few `ok` ones among them, so a
leaderboard counts the rows of a median as the `ok` count minus theirs instead of walking every
value (lineup.models.rows_without).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As lineup.models.MEDIAN_GROUPS was when this migration was written.
GROUPS = {
    "vlm": (("ttft_s", "total_s"), ("tokens_per_s",)),
    "tts": (("rtf",), ("gen_s",)),
}


def _indexes() -> list[tuple[str, list[str], sa.TextClause]]:
    indexes = []
    for kind, groups in GROUPS.items():
        for columns in groups:
            missing = " OR ".join(f"{column} IS NULL" for column in columns)
            where = sa.text(f"kind = '{kind}' AND ({missing})")
            name = f"ix_generations_{kind}_without_{'_'.join(columns)}"
            indexes.append((name, ["kind", "model_spec", "status", *columns], where))
    return indexes


def upgrade() -> None:
    for name, columns, where in _indexes():
        op.create_index(
            name,
            "generations",
            columns,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name, _, _ in _indexes():
        op.drop_index(name, "generations")
