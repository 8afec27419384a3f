"""Cold or warm, energy and GPU memory per answer: generations gain `cold` (the answer included
a model load: true, false, or NULL when nothing says), `energy_j` with its `energy_source` (the
whole device's energy over the answer's time) and `gpu_mem_mb`, all nullable; old rows keep
NULL (unknown: counted with the warm answers, as before).

The speed medians count the warm answers only (`cold IS NOT TRUE`), so their partial indexes
and the indexes of the rows they leave out are made again with that condition (and `cold`
among their columns, so each still answers alone), and a small index holds the cold answers,
shown apart. Indexes only: no row changes. The predicates are
frozen here (as lineup.store.tables wrote them at this revision).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WARM = "cold IS NOT TRUE"
COLD = "cold IS TRUE"

# The speed medians' indexes: name, columns after (kind, model_spec, status), present columns.
FIGURES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ttft_total", ("ttft_s", "total_s"), ("ttft_s", "total_s")),
    ("total_ttft", ("total_s", "ttft_s"), ("ttft_s", "total_s")),
    ("tokens_per_s", ("tokens_per_s",), ("tokens_per_s",)),
    ("rtf", ("rtf",), ("rtf",)),
    ("gen_s", ("gen_s",), ("gen_s",)),
)
GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "vlm": (("ttft_s", "total_s"), ("tokens_per_s",)),
    "tts": (("rtf",), ("gen_s",)),
}


def _ok_with(columns: tuple[str, ...]) -> str:
    return " AND ".join(["status = 'ok'", *(f"{column} IS NOT NULL" for column in columns)])


def _figure(name: str, columns: tuple[str, ...], where: str, warm: bool) -> None:
    op.create_index(
        f"ix_generations_ok_{name}",
        "generations",
        ["kind", "model_spec", "status", *columns, *(["cold"] if warm else [])],
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _gap(kind: str, columns: tuple[str, ...], with_cold: bool) -> None:
    missing = [f"{column} IS NULL" for column in columns] + ([COLD] if with_cold else [])
    where = sa.text(f"kind = '{kind}' AND ({' OR '.join(missing)})")
    op.create_index(
        f"ix_generations_{kind}_without_{'_'.join(columns)}",
        "generations",
        ["kind", "model_spec", "status", *columns, *(["cold"] if with_cold else [])],
        sqlite_where=where,
        postgresql_where=where,
    )


def _gap_names() -> list[str]:
    return [
        f"ix_generations_{kind}_without_{'_'.join(columns)}"
        for kind, groups in GROUPS.items()
        for columns in groups
    ]


def upgrade() -> None:
    op.add_column("generations", sa.Column("cold", sa.Boolean(), nullable=True))
    op.add_column("generations", sa.Column("energy_j", sa.Float(), nullable=True))
    op.add_column("generations", sa.Column("energy_source", sa.String(64), nullable=True))
    op.add_column("generations", sa.Column("gpu_mem_mb", sa.Float(), nullable=True))
    for name, columns, present in FIGURES:
        op.drop_index(f"ix_generations_ok_{name}", "generations")
        _figure(name, columns, f"{_ok_with(present)} AND {WARM}", warm=True)
    for name in _gap_names():
        op.drop_index(name, "generations")
    for kind, groups in GROUPS.items():
        for columns in groups:
            _gap(kind, columns, with_cold=True)
    op.create_index(
        "ix_generations_cold",
        "generations",
        [
            "kind",
            "model_spec",
            "status",
            "ttft_s",
            "total_s",
            "tokens_per_s",
            "rtf",
            "gen_s",
            "cold",
        ],
        sqlite_where=sa.text(COLD),
        postgresql_where=sa.text(COLD),
    )


def downgrade() -> None:
    op.drop_index("ix_generations_cold", "generations")
    for name in _gap_names():
        op.drop_index(name, "generations")
    for kind, groups in GROUPS.items():
        for columns in groups:
            _gap(kind, columns, with_cold=False)
    for name, columns, present in FIGURES:
        op.drop_index(f"ix_generations_ok_{name}", "generations")
        _figure(name, columns, _ok_with(present), warm=False)
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("gpu_mem_mb")
        batch.drop_column("energy_source")
        batch.drop_column("energy_j")
        batch.drop_column("cold")
