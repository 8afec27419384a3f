"""A study as the Studies page shows it, one module per section: its head, progress and
controls, the tables and charts, the scores and the scoring panel, the ranking and agreement,
the per-item answers, the downloads, and the list of studies. Pages import these names from
here, never from a module of the package."""

from components.study.chart_row import charts
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
from components.study.tables import (
    relevance_table,
    repeats_table,
    speed_table,
    transcripts_table,
    voices_table,
)

__all__ = [
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
    "studies_table",
    "study_caption",
    "study_controls",
    "study_details",
    "transcripts_table",
    "voices_table",
]
