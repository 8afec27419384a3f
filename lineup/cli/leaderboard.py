"""python -m lineup leaderboard: the figures per model (or voice) over the whole store, or over
what its filters keep."""

from __future__ import annotations

import argparse
from typing import Any

from lineup.app import (
    FAILED,
    N_,
    STATUS_CHOICES,
    TTS_COLUMNS,
    LeaderboardFilter,
    Lineup,
    _,
    contention_note,
)
from lineup.cli.arguments import MOMENT, STUDY_ID, Commands
from lineup.cli.output import EXIT_OK, emit, err, table


def register(commands: Commands) -> None:
    """The `leaderboard` command and its filters."""
    board = commands.add_parser("leaderboard", help=_("aggregated figures per model"))
    board.add_argument("--kind", choices=["vlm", "tts"], default="vlm")
    board.add_argument(
        "--study", type=STUDY_ID, metavar=_("ID"), help=_("only the answers of this study")
    )
    board.add_argument(
        "--set",
        metavar=_("NAME"),
        help=_("only the answers to this set's items (every study of it)"),
    )
    board.add_argument("--tag", metavar="T", help=_("only the answers to set items with this tag"))
    board.add_argument(
        "--since",
        type=MOMENT,
        metavar="YYYY-MM-DD",
        help=_("only generations started on or after this day (UTC)"),
    )
    board.add_argument(
        "--until",
        type=MOMENT,
        metavar="YYYY-MM-DD",
        help=_("only generations started before this day (UTC; the day itself excluded)"),
    )
    board.add_argument(
        "--annotator", metavar=_("NAME"), help=_("count only this annotator's labels")
    )
    board.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        help=_(
            "only generations in this state ({failed}: every final state but ok); the "
            "figures stay over ok answers"
        ).format(failed=FAILED),
    )
    board.add_argument(
        "--alone",
        action="store_true",
        help=_(
            "only answers measured alone: no other request of Lineup's in flight on their "
            "host (concurrent_max 0)"
        ),
    )
    board.add_argument("--json", action="store_true")
    board.set_defaults(func=cmd_leaderboard)


# The keys of `leaderboard --json`: the first ones as they always were, where `n` is the labels,
# then the counts under the names that say what they are, and the interval the rows are ranked
# by.
VLM_COLUMNS = [
    "model",
    "n",
    "labels",
    "answers",
    "relevant",
    "partial",
    "irrelevant",
    "pct_relevant",
    "pct_relevant_ci_low",
    "pct_relevant_ci_high",
    "pct_relevant_ci_method",
    "median_ttft_s",
    "median_total_s",
    "median_tokens_per_s",
    "generations",
    "failed",
    "concurrent_min",
    "concurrent_max",
    # The medians above are over warm answers; the cold ones apart (lineup.measure.figures).
    "cold_answers",
    "cold_median_ttft_s",
    "cold_median_total_s",
    "cold_median_tokens_per_s",
]
# The stable `n` of the JSON, by kind: the count it always was.
STABLE_N = {"vlm": "labels", "tts": "answers"}
# The text table: each count once, under its name; the interval as one cell.
VLM_TEXT_COLUMNS = [
    "model",
    "labels",
    "pct_relevant",
    "ci_95",
    "relevant",
    "partial",
    "irrelevant",
    "median_ttft_s",
    "median_total_s",
    "median_tokens_per_s",
    "answers",
    "failed",
    "generations",
    "concurrent_max",
    "cold_answers",
    "cold_median_ttft_s",
]
TTS_TEXT_COLUMNS = [c for c in TTS_COLUMNS if c != "n"]
ORDER_NOTE = {
    "vlm": N_(
        "rows: best first by the lower end of the 95% interval of pct_relevant (ci_95), not by "
        "pct_relevant itself: few labels give a wide interval"
    ),
    "tts": N_("rows: best first by mean_wer"),
}


def _interval_cell(row: dict[str, Any]) -> str | None:
    low, high = row.get("pct_relevant_ci_low"), row.get("pct_relevant_ci_high")
    return None if low is None or high is None else f"{low:.0f}-{high:.0f}"


def cmd_leaderboard(app: Lineup, args: argparse.Namespace) -> int:
    board_filter = LeaderboardFilter(
        study_id=args.study,
        set_name=args.set,
        tag=args.tag,
        since=args.since,
        until=args.until,
        annotator=args.annotator,
        status=args.status,
        alone=args.alone,
    )
    rows = app.leaderboard.rows(args.kind, board_filter)
    if args.json:
        columns = VLM_COLUMNS if args.kind == "vlm" else TTS_COLUMNS
        stable = {"n": STABLE_N[args.kind]}
        emit(
            {
                "kind": args.kind,
                "filter": board_filter.as_query(),
                "rows": [{c: row.get(stable.get(c, c)) for c in columns} for row in rows],
            }
        )
        return EXIT_OK
    if not board_filter.is_empty:
        err(_("filtered: {filters}").format(filters=board_filter.describe()))
    if rows:
        err(_(ORDER_NOTE[args.kind]))
        note = contention_note(
            [
                (row.get("model") or row["voice"], row["concurrent_min"], row["concurrent_max"])
                for row in rows
            ]
        )
        if note is not None:
            err(note)
        if args.kind == "vlm":
            shown = [{**row, "ci_95": _interval_cell(row)} for row in rows]
            print(table(shown, VLM_TEXT_COLUMNS))
        else:
            print(table(rows, TTS_TEXT_COLUMNS))
    elif board_filter.is_empty:
        print(_("No {kind} generations stored yet.").format(kind=args.kind))
    else:
        print(_("No {kind} generations match the filter.").format(kind=args.kind))
    return EXIT_OK
