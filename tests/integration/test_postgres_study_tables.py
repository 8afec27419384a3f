"""A study's tables and exports on a real PostgreSQL server: the same figures as on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from lineup.report import load_study_result, study_summary, study_tables
from lineup.report import write_csv as write_study_csv
from lineup.report.export import study_sheets, write_sheets
from lineup.store.database import Store
from tests.builders import build_tts_study, build_vlm_study, fresh_database
from tests.expected import (
    assert_rows,
    expected_relevance,
    expected_repeats,
    expected_speed,
    expected_voices,
)

pytestmark = pytest.mark.integration


def write_csv(store: Store, study_id: int, folder: Path) -> list[Path]:
    """The CSV export of a stored study (its StudyResult rendered)."""
    return write_study_csv(load_study_result(store, study_id), folder)


def write_xlsx(store: Store, study_id: int, path: Path) -> Path:
    """The study's tables and raw rows (the CSV export's sheets) through the XLSX writer."""
    return write_sheets(study_sheets(load_study_result(store, study_id)), path)


def test_study_tables_and_exports_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    store = Store(fresh_database(postgres_url, "lineup_study_tables"))
    built = build_vlm_study(store)
    tables = study_tables(store, built.study_id)
    assert_rows(tables.relevance, expected_relevance(built))
    assert_rows(tables.speed, expected_speed(built))
    assert_rows(tables.repeats, expected_repeats(built))
    assert study_summary(store, built.study_id)["done"] == len(built.answers) - 1

    voices = build_tts_study(store)
    assert_rows(study_tables(store, voices.study_id).voices, expected_voices(voices))

    # PostgreSQL hands back times with their zone, which a workbook cannot hold.
    workbook = load_workbook(write_xlsx(store, built.study_id, tmp_path / "study.xlsx"))
    labels = workbook["labels"]
    header = [cell.value for cell in labels[1]]
    first = dict(zip(header, next(labels.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["created_at"].tzinfo is None
    assert len(write_csv(store, voices.study_id, tmp_path / "csv")) == 7  # with provenance.csv
