"""A study's report written to a file, in the format asked: each format one renderer of the
study's StudyResult (html_report, markdown_report, workbook)."""

from __future__ import annotations

import os
from pathlib import Path

from lineup.report.html_report import render_html
from lineup.report.markdown_report import markdown_report
from lineup.report.result import StudyResult
from lineup.report.workbook import write_workbook
from lineup.store import MediaStore

REPORT_FORMATS = ("html", "xlsx", "md")


def write_report(result: StudyResult, media: MediaStore, fmt: str, path: Path) -> list[Path]:
    """Write the report as `fmt` (html, md or xlsx) at `path` (written whole, then moved into
    place); the files written."""
    if fmt == "xlsx":
        return [write_workbook(result, path)]
    text = render_html(result, media) if fmt == "html" else markdown_report(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return [path]
