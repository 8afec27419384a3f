"""The rows of a set file: CSV with a header, JSON Lines, or one sentence per line; each row
with the line it starts on, every problem reported with its file and line."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from lineup.core import _
from lineup.sets.items import (
    QUESTION_COLUMNS,
    SENTENCE_COLUMNS,
    Problem,
    Report,
    Row,
    SetKind,
    at,
    line_of,
    names,
)

_REQUIRED_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": ("image", "question"), "tts": ("text",)}
_COLUMNS: dict[SetKind, tuple[str, ...]] = {"vlm": QUESTION_COLUMNS, "tts": SENTENCE_COLUMNS}


def decode(data: bytes, file_name: str, report: Report) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.fail(
            at(
                line_of(file_name, line),
                _(
                    "this is not UTF-8 text. Save the file as UTF-8 "
                    '(in a spreadsheet: "CSV UTF-8").'
                ),
            )
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
                at(
                    line_of(file_name, start_line),
                    _(
                        "the CSV cannot be read from here on ({reason}). A field holding a "
                        "comma, a double quote or a line break must be in double quotes, with "
                        'inner quotes doubled ("").'
                    ).format(reason=exc),
                )
            )
            break
        end_line = reader.line_num
        if not any(value.strip() for value in fields):
            continue
        if header is None:
            header = [value.strip().lower() for value in fields]
            kind = _check_header(header, kind, line_of(file_name, start_line), report)
            continue
        if len(fields) > len(header):
            report.add(
                at(
                    line_of(file_name, start_line),
                    _(
                        "{fields} fields, but the header has {columns} columns. A field holding "
                        "a comma, a double quote or a line break must be in double quotes, with "
                        'inner quotes doubled ("").'
                    ).format(fields=len(fields), columns=len(header)),
                )
            )
            continue
        rows.append(Row(start_line, dict(zip(header, fields, strict=False))))
    if header is None or kind is None:
        report.fail(
            _(
                "{file} is empty. It needs a header row, such as image,question or text, "
                "and one row per item."
            ).format(file=file_name)
        )
    return kind, rows


def _check_header(header: list[str], kind: SetKind | None, where: str, report: Report) -> SetKind:
    if "" in header:
        report.fail(
            at(
                where,
                _(
                    "column {number} of the header has no name. Name it, or remove the column."
                ).format(number=header.index("") + 1),
            )
        )
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        report.fail(
            at(
                where,
                _("the header names the column {columns} more than once.").format(
                    columns=names(repeated)
                ),
            )
        )
    if kind is None:
        if "question" in header:
            kind = "vlm"
        elif "text" in header:
            kind = "tts"
        else:
            report.fail(
                at(
                    where,
                    _(
                        "the header has no question column (a set of questions about images: "
                        "{question_columns}) and no text column (sentences for voices: "
                        "{sentence_columns})."
                    ).format(
                        question_columns=", ".join(QUESTION_COLUMNS),
                        sentence_columns=", ".join(SENTENCE_COLUMNS),
                    ),
                )
            )
    allowed = _COLUMNS[kind]
    unknown = [column for column in header if column not in allowed]
    if unknown:
        report.fail(
            at(
                where,
                _("unknown column {columns}. The columns allowed are {allowed}.").format(
                    columns=names(unknown), allowed=", ".join(allowed)
                ),
            )
        )
    missing = [column for column in _REQUIRED_COLUMNS[kind] if column not in header]
    if missing:
        report.fail(
            at(
                where,
                _("the header has no {columns} column. Add it.").format(columns=names(missing)),
            )
        )
    return kind


def jsonl_rows(text: str, file_name: str, report: Report) -> list[Row]:
    rows: list[Row] = []
    for line_number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        where = line_of(file_name, line_number)
        try:
            # No field of a set is a number, so every number is read as a float, which any
            # count of digits makes (int() refuses over 4,300: sys.get_int_max_str_digits),
            # then refused by its field's check, which names the field.
            value = json.loads(line, parse_int=float, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            report.add(
                at(
                    where,
                    _(
                        "this is not JSON ({reason}, column {column}). Each line must be one "
                        "JSON object, such as {example}."
                    ).format(
                        reason=exc.msg,
                        column=exc.colno,
                        example='{"image": "cat.jpg", "question": "What is this?"}',
                    ),
                )
            )
            continue
        except RecursionError:
            report.add(at(where, _("the JSON is nested too deeply. Each line is one flat object.")))
            continue
        except Problem as exc:
            report.add(at(where, str(exc)))
            continue
        if not isinstance(value, dict):
            if isinstance(value, float):
                problem = _("this is a JSON number, not an object.")
            else:
                problem = _("this is a JSON {kind}, not an object.").format(
                    kind=type(value).__name__
                )
            report.add(at(where, problem))
            continue
        unknown = [key for key in value if key not in QUESTION_COLUMNS]
        if unknown:
            report.add(
                at(
                    where,
                    _("unknown key {keys}. The keys allowed are {allowed}.").format(
                        keys=names(unknown), allowed=", ".join(QUESTION_COLUMNS)
                    ),
                )
            )
            continue
        rows.append(Row(line_number, value))
    return rows


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object; Problem when it gives a key twice (json.loads would keep the last)."""
    repeated = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
    if repeated:
        raise Problem(
            _(
                "the key {keys} is given more than once in one object; Lineup cannot tell which "
                "one is meant. Give each key once."
            ).format(keys=names(repr(key) for key in repeated))
        )
    return dict(pairs)


def txt_rows(text: str) -> list[Row]:
    return [
        Row(line_number, {"text": line})
        for line_number, line in enumerate(io.StringIO(text, newline=None), start=1)
        if line.strip()
    ]
