"""A study's results, read once (StudyResult), and what renders them: tables, the summary, the CSV
export, the workbook, the HTML and Markdown report; two studies compared."""

from lineup.report.against import AGAINST_KEYS, agreement_with
from lineup.report.comparison import (
    DIFFERENCE_KEYS,
    ITEM_KEYS,
    compare_results,
)
from lineup.report.comparison_report import (
    COMPARISON_FORMATS,
    comparison_reading,
    comparison_text,
)
from lineup.report.export import write_csv
from lineup.report.files import REPORT_FORMATS, write_comparison, write_report
from lineup.report.pairs_matrix import (
    MATRIX_FIGURES,
    RANK_RULE,
    pair_matrix,
    pair_sentences,
    rank_note,
    rank_summary,
    reason_text,
)
from lineup.report.result import (
    StudyResult,
    load_study_result,
    study_summary,
    study_tables,
)
from lineup.report.summary import ARENA_KEYS, RANKING_KEYS, SUMMARY_KEYS, stop_labeling_summary
from lineup.report.tables import StudyTables
from lineup.report.words import column_word

__all__ = [
    "AGAINST_KEYS",
    "agreement_with",
    "COMPARISON_FORMATS",
    "DIFFERENCE_KEYS",
    "ITEM_KEYS",
    "compare_results",
    "comparison_reading",
    "comparison_text",
    "ARENA_KEYS",
    "MATRIX_FIGURES",
    "RANK_RULE",
    "pair_matrix",
    "pair_sentences",
    "rank_note",
    "rank_summary",
    "reason_text",
    "column_word",
    "RANKING_KEYS",
    "REPORT_FORMATS",
    "SUMMARY_KEYS",
    "StudyResult",
    "StudyTables",
    "load_study_result",
    "stop_labeling_summary",
    "study_summary",
    "study_tables",
    "write_comparison",
    "write_csv",
    "write_report",
]
