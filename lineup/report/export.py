"""A study's tables and raw rows written as one CSV per table, from its StudyResult; and how any
sheet of a study is written as CSV or XLSX (the workbook, lineup.report.workbook, is the one
XLSX product).

The tables are those of lineup.report.tables (relevance; speed and repeats for VLM studies,
voices and transcripts for voice studies; the answers per item), then the study's raw rows:
its generations (the columns of lineup.store.GENERATION_EXPORT_COLUMNS, which leave out the
bookkeeping of a running row, plus the item's position) and the labels on its complete
answers (lineup.store.LABEL_EXPORT_COLUMNS plus whether each counts, its item and repeat).
A table with no rows is still written, as its header.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Select

from lineup.core import formula_like, write_table
from lineup.measure import clean_number
from lineup.store import (
    GENERATION_EXPORT_COLUMNS,
    LABEL_EXPORT_COLUMNS,
    Generation,
    Label,
    Run,
    SetItemRow,
    Store,
)
from lineup.study import study_answers

if TYPE_CHECKING:
    from lineup.report.result import StudyResult

GENERATION_COLUMNS = (*GENERATION_EXPORT_COLUMNS, "item_position")
LABEL_COLUMNS = (*LABEL_EXPORT_COLUMNS, "counted", "item_id", "item_position", "repeat")

# Excel's limit on the characters of one cell; a longer answer is cut there in the workbook
# (the CSV keeps it whole).
XLSX_MAX_CELL_CHARS = 32_767
# Columns are sized to fit the header and the first rows, between these widths (characters).
XLSX_SIZED_ROWS = 1_000
XLSX_MIN_WIDTH, XLSX_MAX_WIDTH = 6, 60
# Raw rows are read from the store in batches of this many.
BATCH_ROWS = 5_000


@dataclass(frozen=True)
class Sheet:
    """One table of a workbook (or one CSV file): its name, its columns, its rows."""

    name: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]


def _frame_rows(frame: pd.DataFrame) -> Iterator[list[Any]]:
    """A table's rows as plain Python values (NaN as None)."""
    for row in frame.astype(object).itertuples(index=False, name=None):
        yield [clean_number(value) for value in row]


def _streamed(store: Store, query: Select[*tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
            query
        )
        for row in result:
            yield tuple(row)


def _generations_query(study_id: int) -> Select[*tuple[Any, ...]]:
    generation = Generation.__table__.c
    return (
        study_answers(
            study_id,
            *(generation[name] for name in GENERATION_EXPORT_COLUMNS[:-1]),
            Run.input_text,
            SetItemRow.position,
            with_item="outer",
        )
        .join(Run, Generation.run_id == Run.id)
        .order_by(SetItemRow.position, Generation.model_spec, Generation.repeat, Generation.id)
    )


def _labels_query(study_id: int) -> Select[*tuple[Any, ...]]:
    # Every label on the complete answers, counted or not (the `counted` column says which).
    return (
        study_answers(
            study_id,
            Label.id,
            Label.generation_id,
            Label.annotator,
            Label.relevance,
            Label.comment,
            Label.created_at,
            Label.model_spec,
            Label.counted,
            Generation.item_id,
            SetItemRow.position,
            Generation.repeat,
            complete=True,
            with_item="outer",
        )
        .join(Label, Label.generation_id == Generation.id)
        .order_by(Label.id)
    )


PROVENANCE_COLUMNS = ("model", "field", "value", "why_empty")


def provenance_sheet(result: StudyResult, name: str = "provenance") -> Sheet:
    """What ran where, one row per fact: the machine's (model `(machine)`), then each model's
    card (lineup.run.provenance), an empty field with why it is empty."""
    rows: list[list[Any]] = []
    machine = result.machine or {}
    for field, value in machine.items():
        if field == "gpus":
            value = (
                "; ".join(
                    f"{gpu.get('name')} ({gpu.get('memory_gb')} GiB, driver {gpu.get('driver')})"
                    for gpu in value
                )
                or "no GPU"
            )
        rows.append(["(machine)", field, value, None])
    for model in result.study.models:
        card = result.provenance.get(model)
        if card is None:
            rows.append([model, "provenance", None, "not asked (the model has not answered yet)"])
            continue
        reasons = card.get("reasons") or {}
        for field, value in card.items():
            if field != "reasons":
                rows.append([model, field, value, reasons.get(field) if value is None else None])
        for field, why in reasons.items():
            if field not in card:
                rows.append([model, field, None, why])
    return Sheet(name, PROVENANCE_COLUMNS, rows)


def study_sheets(result: StudyResult) -> list[Sheet]:
    """The study's tables, then its raw generations and labels (read as they are written)."""
    tables, store, study_id = result.tables, result.store, result.study.id
    return [
        *(
            Sheet(name, [str(c) for c in frame.columns], _frame_rows(frame))
            for name, frame in tables.tables().items()
        ),
        Sheet("generations", GENERATION_COLUMNS, _streamed(store, _generations_query(study_id))),
        Sheet("labels", LABEL_COLUMNS, _streamed(store, _labels_query(study_id))),
        provenance_sheet(result),
    ]


def write_csv(result: StudyResult, folder: Path) -> list[Path]:
    """One UTF-8 CSV per table in `folder` (made if missing), named study-<id>-<table>.csv,
    its cells as lineup.core.cells writes them (no formula; None as an empty cell). The paths
    written, in table order."""
    study_id = result.study.id
    tables = study_sheets(result)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in tables:
        path = folder / f"study-{study_id}-{table.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            write_table(file, table.columns, table.rows)
        paths.append(path)
    return paths


def _xlsx_value(value: Any) -> Any:
    """A value Excel can hold: text without the control characters XML refuses and cut at
    Excel's cell limit, times in UTC without a zone (Excel has none), no NaN or infinity."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:XLSX_MAX_CELL_CHARS]
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _width(value: Any) -> int:
    if value is None:
        return 0
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def write_sheets(sheets: Iterable[Sheet], path: Path) -> Path:
    """One workbook with a sheet per table: the header in bold and frozen, columns sized to
    their first XLSX_SIZED_ROWS rows, numbers as numbers, text as text (`_as_text`).
    Written whole beside `path`, then moved over it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    # The folder first: a write-only workbook that is never saved leaves its sheets' writers
    # open.
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in sheets:
        sheet = workbook.create_sheet(table.name)
        sheet.freeze_panes = "A2"
        rows = (list(map(_xlsx_value, row)) for row in table.rows)
        first = list(itertools.islice(rows, XLSX_SIZED_ROWS))
        for index, column in enumerate(table.columns):
            width = max([len(column), *(_width(row[index]) for row in first)])
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(
                max(width + 2, XLSX_MIN_WIDTH), XLSX_MAX_WIDTH
            )
        header = []
        for column in table.columns:
            cell = _as_text(sheet, _xlsx_value(column))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in itertools.chain(first, rows):
            sheet.append([_as_text(sheet, v) if formula_like(v) else v for v in row])
    partial = path.with_name(f".{path.name}.partial")
    try:
        workbook.save(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _as_text(sheet: Any, value: Any) -> Any:
    """A cell that holds `value` as text, never a formula (openpyxl would store text that
    starts with "=" as one); formula-like text (lineup.core.cells) also gets the quote-prefix style,
    the spreadsheet's own leading single quote, so editing the cell does not run it either."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    if formula_like(value):
        cell.quotePrefix = True
    return cell
