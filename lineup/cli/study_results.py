"""python -m lineup study show, export and report: a study's figures on the terminal, its
tables and rows as files, and its report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lineup.app import (
    ARENA_KEYS,
    LANGUAGES,
    N_,
    RANK_RULE,
    RANKING_KEYS,
    REPORT_FORMATS,
    SCORE_KEYS,
    SUMMARY_KEYS,
    Lineup,
    _,
    card_line,
    column_word,
    contention_note,
    machine_line,
    ngettext,
    pair_sentences,
    percent,
    rank_note,
    rank_summary,
    reason_text,
    state_word,
)
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, decimal_text, emit, said_table


def register(study: Commands) -> None:
    """The `study show`, `study export` and `study report` commands."""
    study_show = study.add_parser("show", help=_("a study's progress and tables"))
    study_show.add_argument("study_id", type=int)
    study_show.add_argument(
        "--against",
        metavar=_("SPEC"),
        help=_(
            "also each other model's agreement with this model of the study (identical "
            "answers, ROUGE-L to its answer) next to its speed"
        ),
    )
    study_show.add_argument("--json", action="store_true")
    study_show.set_defaults(func=cmd_study_show)
    study_export = study.add_parser(
        "export",
        help=_("a study's tables and raw rows: CSV files in a folder, or the report workbook"),
    )
    study_export.add_argument("study_id", type=int)
    study_export.add_argument("--format", choices=["csv", "xlsx"], required=True)
    study_export.add_argument(
        "--out", required=True, help=_("csv: a folder (made if missing); xlsx: a file")
    )
    study_export.set_defaults(func=cmd_study_export)
    study_report = study.add_parser(
        "report", help=_("a report: one self-contained HTML file, an XLSX workbook, or Markdown")
    )
    study_report.add_argument("study_id", type=int)
    study_report.add_argument("--format", choices=REPORT_FORMATS, required=True)
    study_report.add_argument("--out", required=True, help=_("a file, or a folder to write it in"))
    study_report.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_("the report's language (default: LINEUP_LANG, else LANG, else English)"),
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
        ngettext(
            "study {study_id}: set {set} ({kind}), {status}, {done} of {total} answers, "
            "{timing} timing",
            "study {study_id}: set {set} ({kind}), {status}, {done} of {total} answers, "
            "{timing} timing",
            summary["total"],
        ).format(
            study_id=summary["study_id"],
            set=repr(summary["set"]),
            kind=summary["kind"],
            status=state_word(summary["status"]),
            done=summary["done"],
            total=summary["total"],
            timing=_(summary["timing"]),  # parallel or fair, as the catalog says them
        )
    )
    rows = summary["models"]
    print(
        "\n"
        + _(
            "relevance (each annotator's latest label on each complete answer; relevance: the "
            "mean item score; 95% intervals in --json)"
        )
    )
    print(_table(rows, RELEVANCE_SHOWN))
    # The rest of each model's figures: speed for models, intelligibility for voices.
    keys = SUMMARY_KEYS[summary["kind"]]
    # The figures between the labels' and the scores' (speed, or the voices').
    rest = keys[keys.index("relevance_ci_reason") + 1 :]
    left_out = (*SCORE_KEYS, *RANKING_KEYS, *ARENA_KEYS)
    # Intervals are in --json (with their method and reason), as the scores' are.
    shown = ["model", *(k for k in rest if k not in left_out and "_ci_" not in k)]
    print("\n" + (_("voices") if summary["kind"] == "tts" else _("speed (complete answers)")))
    print(_table(rows, shown))
    uneven = contention_note([(m["model"], m["concurrent_min"], m["concurrent_max"]) for m in rows])
    if uneven is not None:
        print(uneven)
    if summary["kind"] != "tts":
        print(
            "\n" + _("scores (95% intervals in --json; definitions in lineup/score/automatic.py)")
        )
        print(_table(rows, SCORES_SHOWN))
    print("\n" + _("ranking (Bradley-Terry from the labels, and from the arena's pairwise votes)"))
    print(_table(rows, RANKING_SHOWN))
    for model in rows:
        note = rank_note(model)
        if note:
            print(f"  {model['model']}: {note}")
    said = rank_summary(summary)
    print(f"{said + ' ' if said else ''}{_(RANK_RULE)}")
    sentences = pair_sentences(summary, "relevance")
    if sentences:
        print("\n" + _("which differences are real (relevance score; every pair in --json: pairs)"))
        for line in sentences:
            print(f"  {line}")
    _print_agreement(summary["agreement"])
    for line in judge_reliability_lines(summary):
        print(line)
    _print_stop(summary["stop_labeling"])
    print("\n" + _("what ran where: {machine}").format(machine=machine_line(summary["machine"])))
    for model in rows:
        print(f"  {model['model']}: {card_line(model['provenance'])}")
    if against is not None:
        print(
            "\n"
            + _(
                "agreement with {model} (same item and repeat; 95% item-bootstrap intervals in "
                "--json), next to the median decode tokens/s ({value} for {model})"
            ).format(model=against["model"], value=_shown(against["chosen_median_tokens_per_s"]))
        )
        print(_table(against["models"], AGAINST_SHOWN))
    if summary.get("reference"):
        reference = summary["reference"]
        print(
            "\n"
            + ngettext(
                "reference model (not ranked): {model}, study {study_id}, {status}, {count} "
                "answers",
                "reference model (not ranked): {model}, study {study_id}, {status}, {count} "
                "answers",
                reference["ok"],
            ).format(
                model=reference["model"],
                study_id=reference["study_id"],
                status=state_word(reference["status"]),
                count=reference["ok"],
            )
        )
    return EXIT_OK


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A table of `study show`, headed in another language than English by the report's words
    for its keys (lineup.report.words)."""
    return said_table(rows, columns, _column)


# The columns of `study show` whose words are not the report's: in the summary, "requests"
# counts the answers asked for (the report's tables count labels under that key), and the
# rating's interval and the --against table's columns, which the report has not.
SHOW_WORDS = {
    "requests": N_("Answers"),
    "bt_ci_low": N_("Rating: 95% CI low"),
    "bt_ci_high": N_("Rating: 95% CI high"),
    "pairs": N_("Pairs"),
    "rougeL_to_chosen": N_("ROUGE-L to it"),
}


def _column(key: str) -> str:
    """A column's words in a language other than English (the key when it has none)."""
    if key in SHOW_WORDS:
        return _(SHOW_WORDS[key])
    return column_word(key) or key


def _print_agreement(agreement: dict[str, Any]) -> None:
    """The labels' agreement (lineup/score/agreement.py): alpha, each pair's kappa, the judge
    against the people."""
    reading = agreement.get("alpha_reading")
    print(
        "\n"
        + ngettext(
            "agreement: Krippendorff's alpha {alpha}{reading} over {count} answers with two or "
            "more annotators; raw agreement {raw} (identical labels)",
            "agreement: Krippendorff's alpha {alpha}{reading} over {count} answers with two or "
            "more annotators; raw agreement {raw} (identical labels)",
            agreement["n_items"],
        ).format(
            alpha=_shown(agreement["alpha"]),
            reading=_reading(_(reading) if reading else None),
            count=agreement["n_items"],
            raw=_percent(agreement.get("raw_agreement")),
        )
    )
    for pair in agreement["kappa_pairs"]:
        print(
            "  "
            + ngettext(
                "kappa {a} / {b}: {kappa}, raw {raw} ({count} shared)",
                "kappa {a} / {b}: {kappa}, raw {raw} ({count} shared)",
                pair["n_shared"],
            ).format(
                a=pair["a"],
                b=pair["b"],
                kappa=_shown(pair["kappa"]),
                raw=_percent(pair.get("raw_agreement")),
                count=pair["n_shared"],
            )
        )
    judge = agreement.get("judge")
    if judge:
        print(
            "  "
            + ngettext(
                "judge {judge} ({protocol}) against the people: Spearman {spearman}, kappa "
                "{kappa} ({count} labels)",
                "judge {judge} ({protocol}) against the people: Spearman {spearman}, kappa "
                "{kappa} ({count} labels)",
                judge["n"],
            ).format(
                judge=judge["judge"],
                protocol=judge["protocol"],
                spearman=_shown(judge["spearman"]),
                kappa=_shown(judge["kappa"]),
                count=judge["n"],
            )
        )
        for model in judge.get("models") or []:
            print(
                "    "
                + ngettext(
                    "{model}: Spearman {spearman}, kappa {kappa} ({count} labels)",
                    "{model}: Spearman {spearman}, kappa {kappa} ({count} labels)",
                    model["n"],
                ).format(
                    model=model["model"],
                    spearman=_shown(model["spearman"]),
                    kappa=_shown(model["kappa"]),
                    count=model["n"],
                )
            )


def _print_stop(stop: dict[str, Any]) -> None:
    """Can I stop labeling (the definitions: lineup/measure/stopping.py), in a few lines."""
    if stop["state"] == "one model":
        print("\n" + _("can I stop labeling: not a question yet (one model)"))
        return
    if stop["state"] == "no labels":
        print("\n" + _("can I stop labeling: not a question yet (no labels)"))
        return
    best = stop["p_leader_best"]
    chance = "-" if best is None else percent(best)
    if stop["can_stop"]:
        sentence = _(
            "can I stop labeling: yes; leader {leader} (relevance score {value}), best in "
            "{chance} of the resamples"
        )
    else:
        sentence = _(
            "can I stop labeling: not yet; leader {leader} (relevance score {value}), best in "
            "{chance} of the resamples"
        )
    print(
        "\n"
        + sentence.format(leader=stop["leader"], value=_shown(stop["leader_value"]), chance=chance)
    )
    for pair in stop["undecided_pairs"]:
        needed = pair["items_needed"]
        print(
            "  "
            + ngettext(
                "undecided: {a} - {b} = {diff} [{low}, {high}] over {items} items; {needed}",
                "undecided: {a} - {b} = {diff} [{low}, {high}] over {items} items; {needed}",
                pair["items"],
            ).format(
                a=pair["a"],
                b=pair["b"],
                diff=_shown(pair["diff"]),
                low=_shown(pair["ci_low"]),
                high=_shown(pair["ci_high"]),
                items=pair["items"],
                needed=(
                    ngettext("about {count} more items", "about {count} more items", needed).format(
                        count=needed
                    )
                    if needed is not None
                    else reason_text(pair["items_needed_reason"])
                ),
            )
        )
    if stop["items_needed"] is not None:
        print(
            "  "
            + ngettext(
                "about {count} more labeled items would decide them (80% power)",
                "about {count} more labeled items would decide them (80% power)",
                stop["items_needed"],
            ).format(count=stop["items_needed"])
        )


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
        lines.append(
            "\n"
            + _("judge reliability: {judge} ({protocol})").format(
                judge=judged["judge"], protocol=judged["protocol"]
            )
        )
        if judged["pairs"] is not None:
            decided = judged["first_wins"] + judged["second_wins"]
            lines.append(
                "  "
                + ngettext(
                    "first-position win rate {rate} ({wins} of {decided} decided verdicts, "
                    "{ties} ties apart); flip rate {flip_rate} ({flips} of {pairs} answers "
                    "judged in both orders)",
                    "first-position win rate {rate} ({wins} of {decided} decided verdicts, "
                    "{ties} ties apart); flip rate {flip_rate} ({flips} of {pairs} answers "
                    "judged in both orders)",
                    judged["pairs"],
                ).format(
                    rate=_percent(judged["first_position_win_rate"]),
                    wins=judged["first_wins"],
                    decided=decided,
                    ties=judged["ties"],
                    flip_rate=_percent(judged["flip_rate"]),
                    flips=judged["flips"],
                    pairs=judged["pairs"],
                )
            )
        lines.append(
            "  "
            + _(
                "disputed answers: {disputed} ({flipped} flipped, {disagreed} against a "
                "person's label)"
            ).format(
                disputed=judged["disputed"],
                flipped=judged["flipped"],
                disagreed=judged["disagreed"],
            )
        )
    return lines


def _shown(value: Any) -> str:
    """A figure to three significant digits, with the language's decimal mark."""
    return "-" if value is None else decimal_text(f"{value:.3g}")


def _percent(share: float | None) -> str:
    return "-" if share is None else percent(share)


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
