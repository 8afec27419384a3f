"""python -m lineup study compare: a baseline study and a candidate study over the same items,
model by model (definitions: lineup/report/comparison.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lineup.app import COMPARISON_FORMATS, N_, Lineup, _, ngettext, percent, short_names
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, BadInput, emit, said_table, terminal_safe

SHOWN_ROWS = 10  # regressions and improvements printed per list (--json has them all)


def register(study: Commands) -> None:
    compare = study.add_parser(
        "compare",
        help=_("two studies of the same items: paired differences, regressions, improvements"),
    )
    compare.add_argument("baseline", type=int, help=_("the baseline study's id"))
    compare.add_argument("candidate", type=int, help=_("the candidate study's id"))
    compare.add_argument(
        "--match",
        action="append",
        metavar="BASELINE_MODEL=CANDIDATE_MODEL",
        help=_("compare these two models (repeatable); default: the models in both studies"),
    )
    compare.add_argument("--json", action="store_true")
    compare.add_argument(
        "--format",
        choices=COMPARISON_FORMATS,
        help=_("write a report instead (html: one self-contained file; md: Markdown)"),
    )
    compare.add_argument("--out", help=_("with --format: a file, or a folder to write it in"))
    compare.set_defaults(func=cmd_study_compare)


def _matches(given: list[str] | None) -> dict[str, str] | None:
    if not given:
        return None
    matches: dict[str, str] = {}
    for pair in given:
        base, sep, cand = pair.partition("=")
        if not sep or not base.strip() or not cand.strip():
            raise BadInput(
                _("--match takes BASELINE_MODEL=CANDIDATE_MODEL, not {pair}.").format(
                    pair=repr(pair)
                )
            )
        matches[base.strip()] = cand.strip()
    return matches


DIFFERENCES_SHOWN = [
    "model",
    "figure",
    "baseline",
    "candidate",
    "diff",
    "ci_low",
    "ci_high",
    "better",
    "items",
    "verdict",
]
ITEMS_SHOWN = ["model", "figure", "item", "baseline", "candidate", "change", "question"]


# The columns' words in another language than English (English shows the keys).
COLUMN_WORDS = {
    "model": N_("Model"),
    "figure": N_("Figure"),
    "baseline": N_("Baseline"),
    "candidate": N_("Candidate"),
    "diff": N_("Difference"),
    "ci_low": N_("95% CI low"),
    "ci_high": N_("95% CI high"),
    "better": N_("Candidate better"),
    "items": N_("Items"),
    "verdict": N_("Verdict"),
    "item": N_("Item"),
    "change": N_("Change"),
    "question": N_("Question"),
}


def _column(key: str) -> str:
    return _(COLUMN_WORDS[key]) if key in COLUMN_WORDS else key


def _verdict(row: dict[str, Any]) -> str:
    if row["ci_low"] is None:
        return _("no interval")
    if not row["decided"]:
        return _("no difference shown")
    better = (row["diff"] > 0) != (row["figure"] == "wer")
    return _("candidate better") if better else _("candidate worse")


def _items_table(rows: list[dict[str, Any]], names: dict[str, str]) -> str:
    shown = [
        {**row, "model": names[row["model"]], "question": terminal_safe(row["question"])[:60]}
        for row in rows[:SHOWN_ROWS]
    ]
    more = len(rows) - len(shown)
    said = said_table(shown, ITEMS_SHOWN, _column)
    if not more:
        return said
    return (
        said
        + "\n"
        + ngettext(
            "... and {count} more (--json lists all)",
            "... and {count} more (--json lists all)",
            more,
        ).format(count=more)
    )


def cmd_study_compare(app: Lineup, args: argparse.Namespace) -> int:
    matches = _matches(args.match)
    if args.format:
        if not args.out:
            raise BadInput(_("--format writes a report: give the file or folder with --out."))
        path = app.studies.compare_report(
            args.baseline, args.candidate, args.format, Path(args.out), matches
        )
        print(path)
        return EXIT_OK
    if args.out:
        raise BadInput(_("--out goes with --format html or md."))
    document = app.studies.compare(args.baseline, args.candidate, matches)
    if args.json:
        emit(document)
        return EXIT_OK
    base, cand, items = document["baseline"], document["candidate"], document["items"]
    if items["baseline_only"] or items["candidate_only"]:
        studies = ngettext(
            "baseline study {baseline} (set {baseline_set}) -> candidate study {candidate} (set "
            "{candidate_set}): {shared} shared items, matched by {matched_by}; {baseline_only} "
            "in the baseline only, {candidate_only} in the candidate only",
            "baseline study {baseline} (set {baseline_set}) -> candidate study {candidate} (set "
            "{candidate_set}): {shared} shared items, matched by {matched_by}; {baseline_only} "
            "in the baseline only, {candidate_only} in the candidate only",
            items["shared"],
        )
    else:
        studies = ngettext(
            "baseline study {baseline} (set {baseline_set}) -> candidate study {candidate} (set "
            "{candidate_set}): {shared} shared items, matched by {matched_by}",
            "baseline study {baseline} (set {baseline_set}) -> candidate study {candidate} (set "
            "{candidate_set}): {shared} shared items, matched by {matched_by}",
            items["shared"],
        )
    studies = studies.format(
        baseline=base["study_id"],
        baseline_set=repr(base["set"]),
        candidate=cand["study_id"],
        candidate_set=repr(cand["set"]),
        shared=items["shared"],
        matched_by=_(items["matched_by"]),  # marked in lineup.report's MATCHED_BY
        baseline_only=items["baseline_only"],
        candidate_only=items["candidate_only"],
    )
    print(studies)
    names = short_names([m["model"] for m in document["models"]])
    for model in document["models"]:
        shown = names[model["model"]]
        if shown != model["model"]:
            print(f"  {shown}: {model['model']}")
        if model["model"] != model["baseline_model"]:
            print(
                "  "
                + _("{model} compared with the baseline's {baseline_model}").format(
                    model=shown, baseline_model=model["baseline_model"]
                )
            )
    judge = document["judge"]
    if judge:
        print(
            _("judge: {judge} ({protocol}), in both studies").format(
                judge=judge["spec"], protocol=judge["protocol"]
            )
        )
    print(
        "\n"
        + _(
            "paired differences, candidate - baseline over the shared items (95% item-bootstrap "
            "interval; better: share of resamples where the candidate is better)"
        )
    )
    rows = [
        {
            **row,
            "model": names[row["model"]],
            "better": None
            if row["share_candidate_better"] is None
            else percent(row["share_candidate_better"]),
            "verdict": _verdict(row),
        }
        for row in document["differences"]
    ]
    print(
        said_table(rows, DIFFERENCES_SHOWN, _column)
        if rows
        else _("(no figure in both studies yet)")
    )
    for name in ("regressions", "improvements"):
        found = document[name]
        if name == "regressions":
            said = ngettext(
                "regressions: {count} item scores worse in the candidate, the largest first",
                "regressions: {count} item scores worse in the candidate, the largest first",
                len(found),
            )
        else:
            said = ngettext(
                "improvements: {count} item scores better in the candidate, the largest first",
                "improvements: {count} item scores better in the candidate, the largest first",
                len(found),
            )
        print("\n" + said.format(count=len(found)))
        if found:
            print(_items_table(found, names))
    return EXIT_OK
