"""A study's report written to a file, in the format asked: each format is one renderer of the
study's StudyResult, registered in WRITERS (a new format is its module plus one line here)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lineup.report.comparison_report import COMPARISON_WRITERS
from lineup.report.html_report import render_html
from lineup.report.markdown_report import markdown_report
from lineup.report.result import StudyResult
from lineup.report.workbook import write_workbook
from lineup.store import MediaStore


def _write_text(text: str, path: Path) -> Path:
    """`text` at `path`, written whole beside it, then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# Per format, what writes the study's result at a path (media: the images and clips it shows).
WRITERS: dict[str, Callable[[StudyResult, MediaStore, Path], Path]] = {
    "html": lambda result, media, path: _write_text(render_html(result, media), path),
    "xlsx": lambda result, media, path: write_workbook(result, path),
    "md": lambda result, media, path: _write_text(markdown_report(result), path),
}
REPORT_FORMATS = tuple(WRITERS)


def write_report(result: StudyResult, media: MediaStore, fmt: str, path: Path) -> list[Path]:
    """Write the report as `fmt` (one of REPORT_FORMATS) at `path`; the files written."""
    return [WRITERS[fmt](result, media, path)]


def write_comparison(document: dict[str, Any], fmt: str, path: Path) -> Path:
    """Write two studies' comparison (lineup.report.comparison) as `fmt` (html or md)."""
    return _write_text(COMPARISON_WRITERS[fmt](document), path)
