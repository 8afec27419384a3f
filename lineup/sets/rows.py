"""The rows of a set file: CSV with a header, JSON Lines, or one sentence per line; each row
with the line it starts on, every problem reported with its file and line."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from lineup.sets.items import (
    QUESTION_COLUMNS,
    SENTENCE_COLUMNS,
    Problem,
    Report,
    Row,
    SetKind,
    names,
)

_REQUIRED_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": ("image", "question"), "tts": ("text",)}
_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": QUESTION_COLUMNS, "tts": SENTENCE_COLUMNS}
_QUOTING_HINT = (
    "A field holding a comma, a double quote or a line break must be in double quotes, "
    'with inner quotes doubled ("").'
)


def decode(data: bytes, file_name: str, report: Report) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.fail(
            f"{file_name}, line {line}: this is not UTF-8 text. Save the file as UTF-8 "
            '(in a spreadsheet: "CSV UTF-8").'
        )


def csv_rows(
    text: str, file_name: str, kind: SetKind | None, report: Report
) -> tuple[SetKind, list[Row]]:
    """The rows of a CSV set file, each with the line it starts on; `kind` None: from the header."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[Row] = []
    end_line = 0
    while True:
        start_line = end_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.add(
                f"{file_name}, line {start_line}: the CSV cannot be read from here on ({exc}). "
                + _QUOTING_HINT
            )
            break
        end_line = reader.line_num
        if not any(value.strip() for value in fields):
            continue
        if header is None:
            header = [value.strip().lower() for value in fields]
            kind = _check_header(header, kind, f"{file_name}, line {start_line}", report)
            continue
        if len(fields) > len(header):
            report.add(
                f"{file_name}, line {start_line}: {len(fields)} fields, but the header has "
                f"{len(header)} columns. " + _QUOTING_HINT
            )
            continue
        rows.append(Row(start_line, dict(zip(header, fields, strict=False))))
    if header is None or kind is None:
        report.fail(
            f"{file_name} is empty. It needs a header row, such as image,question or text, "
            "and one row per item."
        )
    return kind, rows


def _check_header(header: list[str], kind: SetKind | None, where: str, report: Report) -> SetKind:
    if "" in header:
        report.fail(
            f"{where}: column {header.index('') + 1} of the header has no name. Name it, or "
            "remove the column."
        )
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        report.fail(f"{where}: the header names the column {names(repeated)} more than once.")
    if kind is None:
        if "question" in header:
            kind = "vlm"
        elif "text" in header:
            kind = "tts"
        else:
            report.fail(
                f"{where}: the header has no question column (a set of questions about images: "
                f"{', '.join(QUESTION_COLUMNS)}) and no text column (sentences for voices: "
                f"{', '.join(SENTENCE_COLUMNS)})."
            )
    allowed = _COLUMNS[kind]
    unknown = [column for column in header if column not in allowed]
    if unknown:
        report.fail(
            f"{where}: unknown column {names(unknown)}. The columns allowed are "
            f"{', '.join(allowed)}."
        )
    missing = [column for column in _REQUIRED_COLUMNS[kind] if column not in header]
    if missing:
        report.fail(f"{where}: the header has no {names(missing)} column. Add it.")
    return kind


def jsonl_rows(text: str, file_name: str, report: Report) -> list[Row]:
    rows: list[Row] = []
    for line_number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        where = f"{file_name}, line {line_number}"
        try:
            # No field of a set is a number, so every number is read as a float, which any
            # count of digits makes (int() refuses over 4,300: sys.get_int_max_str_digits),
            # then refused by its field's check, which names the field.
            value = json.loads(line, parse_int=float, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            report.add(
                f"{where}: this is not JSON ({exc.msg}, column {exc.colno}). Each line must be "
                'one JSON object, such as {"image": "cat.jpg", "question": "What is this?"}.'
            )
            continue
        except RecursionError:
            report.add(f"{where}: the JSON is nested too deeply. Each line is one flat object.")
            continue
        except Problem as exc:
            report.add(f"{where}: {exc}")
            continue
        if not isinstance(value, dict):
            noun = "number" if isinstance(value, float) else type(value).__name__
            report.add(f"{where}: this is a JSON {noun}, not an object.")
            continue
        unknown = [key for key in value if key not in QUESTION_COLUMNS]
        if unknown:
            report.add(
                f"{where}: unknown key {names(unknown)}. The keys allowed are "
                f"{', '.join(QUESTION_COLUMNS)}."
            )
            continue
        rows.append(Row(line_number, value))
    return rows


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object; Problem when it gives a key twice (json.loads would keep the last)."""
    repeated = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
    if repeated:
        raise Problem(
            f"the key {names(repr(key) for key in repeated)} is given more than once in one "
            "object; Lineup cannot tell which one is meant. Give each key once."
        )
    return dict(pairs)


def txt_rows(text: str) -> list[Row]:
    return [
        Row(line_number, {"text": line})
        for line_number, line in enumerate(io.StringIO(text, newline=None), start=1)
        if line.strip()
    ]
