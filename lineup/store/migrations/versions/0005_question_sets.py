"""Question sets: a stored list of items (a question about an image, or a sentence), each with
an optional reference answer, language and tags (lineup.question_sets reads them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_sets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "set_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "set_id",
            sa.Integer(),
            sa.ForeignKey("question_sets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("image_hash", sa.String(64), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("language", sa.String(35), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
    )
    op.create_index("uq_set_items_position", "set_items", ["set_id", "position"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_set_items_position", "set_items")
    op.drop_table("set_items")
    op.drop_table("question_sets")
