"""A study's files: the CSV zip, the workbook and the reports, written when a button is clicked."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

import streamlit as st

from lineup.app import Lineup, _, current_language


def csv_zip(app: Lineup, study_id: int) -> bytes:
    """Every table of the study and its raw rows as CSV files in one zip."""
    with tempfile.TemporaryDirectory(prefix="lineup-study-") as folder:
        paths = app.studies.export(study_id, "csv", Path(folder))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, arcname=path.name)
    return buffer.getvalue()


def _written(write: Callable[[Path], list[Path]], name: str) -> bytes:
    """The bytes of the one file `write` makes at `name` in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lineup-study-") as folder:
        [path] = write(Path(folder) / name)
        return path.read_bytes()


def report_bytes(
    app: Lineup, study_id: int, fmt: Literal["html", "md", "xlsx"], language: str | None = None
) -> bytes:
    """The study's report (lineup.report) as a file's bytes, in `language` (the interface's
    when the button was drawn: the file is written later, outside the page's run)."""
    return _written(lambda out: app.studies.report(study_id, fmt, out, language), f"study.{fmt}")


def downloads(app: Lineup, study_id: int) -> None:
    """Download buttons; the files are written only when one is clicked."""
    row = st.container(horizontal=True)
    buttons = [
        (
            _("CSV (zip)"),
            partial(csv_zip, app, study_id),
            ("csv", f"lineup-study-{study_id}-csv.zip"),
            "application/zip",
            ":material/download:",
            _("A CSV per table, plus every answer and every label of the study."),
        ),
        (
            _("Report (HTML)"),
            partial(report_bytes, app, study_id, "html", current_language()),
            ("report-html", f"lineup-study-{study_id}-report.html"),
            "text/html",
            ":material/summarize:",
            _(
                "One file that opens anywhere with no network: the tables, scores, ranking, "
                "agreement, every item with its answers, and how each figure is defined."
            ),
        ),
        (
            _("Report (XLSX)"),
            partial(report_bytes, app, study_id, "xlsx", current_language()),
            ("report-xlsx", f"lineup-study-{study_id}-report.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ":material/summarize:",
            _(
                "The study as one workbook: summary, automatic metrics, answers per item, the "
                "judge's verdicts with its reasons, labels, agreement and every raw answer, a "
                "sheet each."
            ),
        ),
        (
            _("Report (Markdown)"),
            partial(report_bytes, app, study_id, "md", current_language()),
            ("report-md", f"lineup-study-{study_id}-report.md"),
            "text/markdown",
            ":material/download:",
            _("The tables in Markdown, for a ticket or a wiki page."),
        ),
    ]
    for label, make, (key, file_name), mime, icon, help_text in buttons:
        row.download_button(
            label,
            make,
            file_name=file_name,
            mime=mime,
            icon=icon,
            key=f"study-{key}-{study_id}",
            on_click="ignore",
            help=help_text,
        )
