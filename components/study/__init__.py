"""A study as the Studies page shows it, one module per section: its head, progress and
controls, the tables and charts, the scores and the scoring panel, the ranking and agreement,
the per-item answers, the downloads, the list of studies, "Can I stop labeling?" (which the
label queue shows too) and two studies compared. Pages import these names from here, never from
a module of the package."""

from components.study.against import against_section
from components.study.chart_row import charts
from components.study.common import said_columns
from components.study.comparison import (
    COMPARE_KEY,
    compare_address,
    compare_control,
    comparison_view,
)
from components.study.controls import study_controls
from components.study.files import csv_zip, downloads, report_bytes
from components.study.head import study_caption, study_details
from components.study.items import per_item_section
from components.study.listing import studies_table
from components.study.progress import progress_panel
from components.study.ranking import ranking_and_agreement, ranking_table
from components.study.reliability import reliability_section
from components.study.scores import scores_section
from components.study.scoring import scoring_panel
from components.study.stop import stop_labeling_block, stop_labeling_note
from components.study.tables import (
    relevance_table,
    repeats_table,
    speed_table,
    transcripts_table,
    voices_table,
)

__all__ = [
    "said_columns",
    "against_section",
    "COMPARE_KEY",
    "compare_address",
    "compare_control",
    "comparison_view",
    "charts",
    "csv_zip",
    "downloads",
    "per_item_section",
    "progress_panel",
    "ranking_and_agreement",
    "ranking_table",
    "relevance_table",
    "reliability_section",
    "repeats_table",
    "report_bytes",
    "scores_section",
    "scoring_panel",
    "speed_table",
    "stop_labeling_block",
    "stop_labeling_note",
    "studies_table",
    "study_caption",
    "study_controls",
    "study_details",
    "transcripts_table",
    "voices_table",
]
