"""python -m lineup study show, export and report: a study's figures on the terminal, its
tables and rows as files, and its report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lineup.app import (
    ARENA_KEYS,
    LANGUAGES,
    RANK_RULE,
    RANKING_KEYS,
    REPORT_FORMATS,
    SCORE_KEYS,
    SUMMARY_KEYS,
    Lineup,
    card_line,
    contention_note,
    machine_line,
    pair_sentences,
    rank_note,
    rank_summary,
)
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, emit, table


def register(study: Commands) -> None:
    """The `study show`, `study export` and `study report` commands."""
    study_show = study.add_parser("show", help="a study's progress and tables")
    study_show.add_argument("study_id", type=int)
    study_show.add_argument(
        "--against",
        metavar="SPEC",
        help="also each other model's agreement with this model of the study (identical "
        "answers, ROUGE-L to its answer) next to its speed",
    )
    study_show.add_argument("--json", action="store_true")
    study_show.set_defaults(func=cmd_study_show)
    study_export = study.add_parser(
        "export",
        help="a study's tables and raw rows: CSV files in a folder, or the report workbook",
    )
    study_export.add_argument("study_id", type=int)
    study_export.add_argument("--format", choices=["csv", "xlsx"], required=True)
    study_export.add_argument(
        "--out", required=True, help="csv: a folder (made if missing); xlsx: a file"
    )
    study_export.set_defaults(func=cmd_study_export)
    study_report = study.add_parser(
        "report", help="a report: one self-contained HTML file, an XLSX workbook, or Markdown"
    )
    study_report.add_argument("study_id", type=int)
    study_report.add_argument("--format", choices=REPORT_FORMATS, required=True)
    study_report.add_argument("--out", required=True, help="a file, or a folder to write it in")
    study_report.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="the report's language (default: LINEUP_LANG, else LANG, else English)",
    )
    study_report.set_defaults(func=cmd_study_report)


RELEVANCE_SHOWN = [
    "model",
    "requests",
    "ok",
    "errors",
    "labeled",
    "relevant",
    "partial",
    "irrelevant",
    "pct_relevant",
    "relevance",
]


def cmd_study_show(app: Lineup, args: argparse.Namespace) -> int:
    result = app.studies.result(args.study_id)
    summary = result.summary
    against = (
        None if args.against is None else app.studies.agreement_with(args.study_id, args.against)
    )
    if args.json:
        emit(summary if against is None else {**summary, "against": against})
        return EXIT_OK
    print(
        f"study {summary['study_id']}: set {summary['set']!r} ({summary['kind']}), "
        f"{summary['status']}, {summary['done']} of {summary['total']} answers, "
        f"{summary['timing']} timing"
    )
    rows = summary["models"]
    print(
        "\nrelevance (each annotator's latest label on each complete answer; relevance: the "
        "mean item score; 95% intervals in --json)"
    )
    print(table(rows, RELEVANCE_SHOWN))
    # The rest of each model's figures: speed for models, intelligibility for voices.
    keys = SUMMARY_KEYS[summary["kind"]]
    # The figures between the labels' and the scores' (speed, or the voices').
    rest = keys[keys.index("relevance_ci_reason") + 1 :]
    left_out = (*SCORE_KEYS, *RANKING_KEYS, *ARENA_KEYS)
    # Intervals are in --json (with their method and reason), as the scores' are.
    shown = ["model", *(k for k in rest if k not in left_out and "_ci_" not in k)]
    print("\nvoices" if summary["kind"] == "tts" else "\nspeed (complete answers)")
    print(table(rows, shown))
    uneven = contention_note([(m["model"], m["concurrent_min"], m["concurrent_max"]) for m in rows])
    if uneven is not None:
        print(uneven)
    if summary["kind"] != "tts":
        print("\nscores (95% intervals in --json; definitions in lineup/score/automatic.py)")
        print(table(rows, SCORES_SHOWN))
    print("\nranking (Bradley-Terry from the labels, and from the arena's pairwise votes)")
    print(table(rows, RANKING_SHOWN))
    for model in rows:
        note = rank_note(model)
        if note:
            print(f"  {model['model']}: {note}")
    said = rank_summary(summary)
    print(f"{said + ' ' if said else ''}{RANK_RULE}")
    sentences = pair_sentences(summary, "relevance")
    if sentences:
        print("\nwhich differences are real (relevance score; every pair in --json: pairs)")
        for line in sentences:
            print(f"  {line}")
    agreement = summary["agreement"]
    print(
        f"\nagreement: Krippendorff's alpha {_shown(agreement['alpha'])}"
        f"{_reading(agreement.get('alpha_reading'))} over {agreement['n_items']} answers with "
        f"two or more annotators; raw agreement {_percent(agreement.get('raw_agreement'))} "
        "(identical labels)"
    )
    for pair in agreement["kappa_pairs"]:
        print(
            f"  kappa {pair['a']} / {pair['b']}: {_shown(pair['kappa'])}, raw "
            f"{_percent(pair.get('raw_agreement'))} ({pair['n_shared']} shared)"
        )
    judge = agreement.get("judge")
    if judge:
        print(
            f"  judge {judge['judge']} ({judge['protocol']}) against the people: Spearman "
            f"{_shown(judge['spearman'])}, kappa {_shown(judge['kappa'])} ({judge['n']} labels)"
        )
        for model in judge.get("models") or []:
            print(
                f"    {model['model']}: Spearman {_shown(model['spearman'])}, kappa "
                f"{_shown(model['kappa'])} ({model['n']} labels)"
            )
    for line in judge_reliability_lines(summary):
        print(line)
    _print_stop(summary["stop_labeling"])
    print(f"\nwhat ran where: {machine_line(summary['machine'])}")
    for model in rows:
        print(f"  {model['model']}: {card_line(model['provenance'])}")
    if against is not None:
        print(
            f"\nagreement with {against['model']} (same item and repeat; 95% item-bootstrap "
            "intervals in --json), next to the median decode tokens/s "
            f"({_shown(against['chosen_median_tokens_per_s'])} for {against['model']})"
        )
        print(table(against["models"], AGAINST_SHOWN))
    if summary.get("reference"):
        reference = summary["reference"]
        print(
            f"\nreference model (not ranked): {reference['model']}, study "
            f"{reference['study_id']}, {reference['status']}, {reference['ok']} answers"
        )
    return EXIT_OK


def _print_stop(stop: dict[str, Any]) -> None:
    """Can I stop labeling (the definitions: lineup/measure/stopping.py), in a few lines."""
    if stop["state"] in ("one model", "no labels"):
        print(f"\ncan I stop labeling: not a question yet ({stop['state']})")
        return
    best = stop["p_leader_best"]
    chance = "-" if best is None else f"{100 * best:.0f}%"
    print(
        f"\ncan I stop labeling: {'yes' if stop['can_stop'] else 'not yet'}; leader "
        f"{stop['leader']} (relevance score {_shown(stop['leader_value'])}), best in {chance} "
        "of the resamples"
    )
    for pair in stop["undecided_pairs"]:
        needed = pair["items_needed"]
        print(
            f"  undecided: {pair['a']} - {pair['b']} = {_shown(pair['diff'])} "
            f"[{_shown(pair['ci_low'])}, {_shown(pair['ci_high'])}] over {pair['items']} items; "
            + (f"about {needed} more items" if needed is not None else pair["items_needed_reason"])
        )
    if stop["items_needed"] is not None:
        print(f"  about {stop['items_needed']} more labeled items would decide them (80% power)")


AGAINST_SHOWN = [
    "model",
    "pairs",
    "identical_share",
    "rougeL_to_chosen",
    "median_tokens_per_s",
]
SCORES_SHOWN = [
    "model",
    "rouge1_f1",
    "rougeL_f1",
    "chrf",
    "judge_score",
    "judged",
    "judge_failures",
    "wrong_language",
    "language_checked",
    "latin_share",
    "other_script_chars",
    "empty",
    "refusals",
]
RANKING_SHOWN = [
    "model",
    "bt_rank",
    "rank_relevance",
    "bt_rating",
    "bt_ci_low",
    "bt_ci_high",
    "arena_rank",
    "arena_rating",
    "arena_votes",
]


def judge_reliability_lines(summary: dict[str, Any]) -> list[str]:
    """The judges' reliability as `study show` prints it (lineup/score/judge_reliability.py):
    per judge, the pairwise position figures and the disputed answers."""
    lines = []
    for judged in summary.get("judge_reliability") or []:
        lines.append(f"\njudge reliability: {judged['judge']} ({judged['protocol']})")
        if judged["pairs"] is not None:
            lines.append(
                f"  first-position win rate {_percent(judged['first_position_win_rate'])} "
                f"({judged['first_wins']} of {judged['first_wins'] + judged['second_wins']} "
                f"decided verdicts, {judged['ties']} ties apart); flip rate "
                f"{_percent(judged['flip_rate'])} ({judged['flips']} of {judged['pairs']} "
                "answers judged in both orders)"
            )
        lines.append(
            f"  disputed answers: {judged['disputed']} ({judged['flipped']} flipped, "
            f"{judged['disagreed']} against a person's label)"
        )
    return lines


def _shown(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def _reading(reading: str | None) -> str:
    return f" ({reading})" if reading else ""


def cmd_study_report(app: Lineup, args: argparse.Namespace) -> int:
    for path in app.studies.report(args.study_id, args.format, Path(args.out), args.lang):
        print(path)
    return EXIT_OK


def cmd_study_export(app: Lineup, args: argparse.Namespace) -> int:
    written = app.studies.export(args.study_id, args.format, Path(args.out))
    for path in written:
        print(path)
    return EXIT_OK
