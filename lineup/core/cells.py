"""The cells of every CSV and XLSX file Lineup writes, so that a spreadsheet reads text as the
text it is and never runs it as a formula (CSV or formula injection).

One rule, `formula_like`, for every writer: text that starts, after any spaces, with one of
FORMULA_STARTS. That is OWASP's list (=, +, -, @, tab, carriage return) with the NUL of ASVS
1.2.10, the line feed, and the full-width forms that some spreadsheets read as the ASCII ones.
Only text is looked at: a number stored as a number (-1.5) stays a number.

- CSV (`write_table`): such text gets a single quote in front, as OWASP advises, and every text
  cell is written between double quotes (embedded quotes doubled), so a separator inside the
  text (a `;` where the spreadsheet's locale splits on it) cannot start a new cell. The quote
  shows in the spreadsheet: the cell holds `'=1+1`, and nothing is run.
- XLSX (lineup.report.export.write_sheets): such text is stored as a string cell with the
  quote-prefix style, the spreadsheet's own form of that single quote: the cell shows the text
  unchanged, and editing it does not turn it into a formula.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

FORMULA_STARTS = (
    *("=", "+", "-", "@", "\t", "\r", "\n", "\0"),
    *("\uff1d", "\uff0b", "\uff0d", "\uff20"),  # the full-width = + - @
)
QUOTE = "'"


def formula_like(value: Any) -> bool:
    """Whether `value` is text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell: formula-like text with a single quote in front; dicts and lists
    as JSON, times in ISO 8601, a NaN or an infinity as an empty cell."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, datetime):
        return value.isoformat()
    elif isinstance(value, float) and not math.isfinite(value):
        return None
    return QUOTE + value if formula_like(value) else value


def write_table(file: IO[str], columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    """`rows` under a header as CSV into `file` (opened with newline=""), every cell through
    `csv_cell`; text between double quotes, numbers bare, None as `""`."""
    writer = csv.writer(file, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([csv_cell(column) for column in columns])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
