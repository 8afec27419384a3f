"""A study's results and what renders them: tables, CSV and XLSX exports, the workbook, the HTML
and Markdown report."""

from lineup.report.export import write_csv, write_xlsx
from lineup.report.html_report import write_report
from lineup.report.tables import (
    ARENA_KEYS,
    RANKING_KEYS,
    SUMMARY_KEYS,
    StudyTables,
    study_annotators,
    study_summary,
    study_tables,
)

__all__ = [
    "ARENA_KEYS",
    "RANKING_KEYS",
    "SUMMARY_KEYS",
    "StudyTables",
    "study_annotators",
    "study_summary",
    "study_tables",
    "write_csv",
    "write_report",
    "write_xlsx",
]
