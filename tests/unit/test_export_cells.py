"""No CSV or XLSX file Lineup writes holds a cell a spreadsheet would run as a formula (OWASP,
CSV injection): the study export (CSV and XLSX), the report workbook, the leaderboard's CSV
and the raw tables' CSV, with formula payloads in answers, reasoning, errors, questions,
references, model names, set names, annotators and comments. Numbers stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from lineup.cli.main import main
from lineup.core.cells import csv_cell, formula_like, write_table
from lineup.leaderboard.boards import vlm_leaderboard
from lineup.report.export import Sheet, write_sheets
from lineup.store import GENERATION_EXPORT_COLUMNS, LABEL_EXPORT_COLUMNS
from lineup.store.database import Store
from lineup.store.tables import QuestionSet, SetItemRow
from lineup.study.records import claim, create_study, load_plan
from testbed.payloads import FORMULA_PAYLOADS

SET_NAME = '=HYPERLINK("http://127.0.0.1:9/set","set")'
MODELS = ["-2+3 model", "m:good"]


def formula_study(store: Store) -> int:
    """A VLM study with a formula in every piece of text a person or a model gave it."""
    question_set = QuestionSet(name=SET_NAME, kind="vlm", source="test")
    question_set.items = [
        SetItemRow(position=i, text=p, reference=p, language="en", tags=[p])
        for i, p in enumerate(FORMULA_PAYLOADS[:3])
    ]
    with store.session() as session:
        session.add(question_set)
        session.flush()
        set_id = question_set.id
    study_id = create_study(store, set_id=set_id, models=MODELS, repeats=1, params={"seed": 1})
    payloads = iter(FORMULA_PAYLOADS * 4)
    for position, model in enumerate(MODELS):
        for item in load_plan(store, study_id).items:
            gid = claim(store, study_id, item, model, 0, position=position, seed=1)
            assert gid is not None
            store.finish_generation(
                gid,
                "ok",
                output_text=next(payloads),
                reasoning_text=next(payloads),
                total_s=1.0,
                output_tokens=3,
            )
            store.add_label(gid, "relevant", annotator="@ana", comment=next(payloads))
    return study_id


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(rows: list[list[str]], where: str) -> None:
    for row in rows:
        for cell in row:
            assert not formula_like(cell) or is_number(cell), f"{where}: {cell!r}"


def read_csv(data: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data, newline="")))


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_formula_text_gets_a_single_quote_in_front(payload: str) -> None:
    assert formula_like(payload)
    assert csv_cell(payload) == "'" + payload


def test_numbers_and_plain_text_are_written_as_they_are() -> None:
    assert [csv_cell(v) for v in (-1.5, -3, 0.0, "plain", "a=b", "", None)] == [
        -1.5, -3, 0.0, "plain", "a=b", "", None
    ]  # fmt: skip
    file = io.StringIO(newline="")
    write_table(file, ["x", "y", "z"], [[-1.5, '-1+1","=2', None]])
    assert file.getvalue() == '"x","y","z"\n-1.5,"\'-1+1"",""=2",""\n'
    assert read_csv(file.getvalue())[1] == ["-1.5", '\'-1+1","=2', ""]


def test_the_study_export_csv_holds_no_formula(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_id = formula_study(store)
    out = tmp_path / "csv"
    code = main(["study", "export", str(study_id), "--format", "csv", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    cells: list[str] = []
    for path in sorted(out.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            rows = read_csv(file.read())
        assert_no_formula(rows, path.name)
        cells += [cell for row in rows for cell in row]
    # Every payload is still there, behind its quote; the model name too.
    for payload in FORMULA_PAYLOADS:
        assert "'" + payload in cells, payload
    assert "'-2+3 model" in cells and "'@ana" in cells


def test_the_xlsx_workbooks_hold_no_formula_and_keep_numbers(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_id = formula_study(store)
    export, report = tmp_path / "export.xlsx", tmp_path / "report.xlsx"
    assert main(["study", "export", str(study_id), "--format", "xlsx", "--out", str(export)]) == 0
    assert main(["study", "report", str(study_id), "--format", "xlsx", "--out", str(report)]) == 0
    for path in (export, report):
        workbook = openpyxl.load_workbook(path)
        texts = []
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, sheet.title, cell.value)
                    if formula_like(cell.value):
                        assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell)
                        texts.append(cell.value)
        # The text is kept as it is (the quote prefix is a style, not a character).
        assert set(FORMULA_PAYLOADS[:3]) <= set(texts), path.name
        assert "-2+3 model" in texts
    generations = openpyxl.load_workbook(export)["Generations"]  # the report workbook's
    header = [cell.value for cell in generations[1]]
    total_s = [row[header.index("total_s")] for row in generations.iter_rows(min_row=2)]
    assert all(cell.data_type == "n" and cell.value == 1 for cell in total_s)


def test_the_leaderboard_and_raw_table_csvs_hold_no_formula(store: Store) -> None:
    from components.exports import frame_csv
    from components.exports import write_csv as raw_csv

    formula_study(store)
    board = read_csv(frame_csv(pd.DataFrame(vlm_leaderboard(store))).decode())
    assert_no_formula(board, "leaderboard")
    assert "'-2+3 model" in [row[0] for row in board]
    for columns, table in ((GENERATION_EXPORT_COLUMNS, "generations"),
                           (LABEL_EXPORT_COLUMNS, "labels")):  # fmt: skip
        rows = read_csv(raw_csv(columns, store.export_rows("vlm", table)).read().decode())
        assert_no_formula(rows, table)
        assert any(cell.startswith("'") for row in rows for cell in row), table


def test_a_workbook_keeps_negative_numbers_as_numbers_and_formula_text_as_text(
    tmp_path: Path,
) -> None:
    sheet = Sheet("t", ["=x", "y"], [[-1.5, "-1+1"], [-2, "plain"]])
    path = write_sheets([sheet], tmp_path / "t.xlsx")
    rows = list(openpyxl.load_workbook(path)["t"].iter_rows())
    assert [(c.value, c.data_type, bool(c.quotePrefix)) for row in rows for c in row] == [
        ("=x", "s", True), ("y", "s", False),
        (-1.5, "n", False), ("-1+1", "s", True),
        (-2, "n", False), ("plain", "s", False),
    ]  # fmt: skip
