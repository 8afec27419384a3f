"""A study's results, read once (StudyResult), and what renders them: tables, the summary, the CSV
export, the workbook, the HTML and Markdown report."""

from lineup.report.export import write_csv
from lineup.report.files import REPORT_FORMATS, write_report
from lineup.report.pairs_matrix import (
    MATRIX_FIGURES,
    RANK_RULE,
    pair_matrix,
    pair_sentences,
    rank_note,
    rank_summary,
)
from lineup.report.result import (
    StudyResult,
    load_study_result,
    study_summary,
    study_tables,
)
from lineup.report.summary import ARENA_KEYS, RANKING_KEYS, SUMMARY_KEYS
from lineup.report.tables import StudyTables

__all__ = [
    "ARENA_KEYS",
    "MATRIX_FIGURES",
    "RANK_RULE",
    "pair_matrix",
    "pair_sentences",
    "rank_note",
    "rank_summary",
    "RANKING_KEYS",
    "REPORT_FORMATS",
    "SUMMARY_KEYS",
    "StudyResult",
    "StudyTables",
    "load_study_result",
    "study_summary",
    "study_tables",
    "write_csv",
    "write_report",
]
