"""python -m lineup study compare: a baseline study and a candidate study over the same items,
model by model (definitions: lineup/report/comparison.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lineup.app import COMPARISON_FORMATS, Lineup, _, short_names
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, BadInput, emit, table, terminal_safe

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


def _verdict(row: dict[str, Any]) -> str:
    if row["ci_low"] is None:
        return "no interval"
    if not row["decided"]:
        return "no difference shown"
    better = (row["diff"] > 0) != (row["figure"] == "wer")
    return "candidate better" if better else "candidate worse"


def _items_table(rows: list[dict[str, Any]], names: dict[str, str]) -> str:
    shown = [
        {**row, "model": names[row["model"]], "question": terminal_safe(row["question"])[:60]}
        for row in rows[:SHOWN_ROWS]
    ]
    more = len(rows) - len(shown)
    return table(shown, ITEMS_SHOWN) + (f"\n... and {more} more (--json lists all)" if more else "")


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
    print(
        f"baseline study {base['study_id']} (set {base['set']!r}) -> candidate study "
        f"{cand['study_id']} (set {cand['set']!r}): {items['shared']} shared items, matched by "
        f"{items['matched_by']}"
        + (
            f"; {items['baseline_only']} in the baseline only, {items['candidate_only']} in "
            "the candidate only"
            if items["baseline_only"] or items["candidate_only"]
            else ""
        )
    )
    names = short_names([m["model"] for m in document["models"]])
    for model in document["models"]:
        shown = names[model["model"]]
        if shown != model["model"]:
            print(f"  {shown}: {model['model']}")
        if model["model"] != model["baseline_model"]:
            print(f"  {shown} compared with the baseline's {model['baseline_model']}")
    judge = document["judge"]
    if judge:
        print(f"judge: {judge['spec']} ({judge['protocol']}), in both studies")
    print(
        "\npaired differences, candidate - baseline over the shared items (95% item-bootstrap "
        "interval; better: share of resamples where the candidate is better)"
    )
    rows = [
        {
            **row,
            "model": names[row["model"]],
            "better": None
            if row["share_candidate_better"] is None
            else f"{100 * row['share_candidate_better']:.0f}%",
            "verdict": _verdict(row),
        }
        for row in document["differences"]
    ]
    print(table(rows, DIFFERENCES_SHOWN) if rows else "(no figure in both studies yet)")
    for name in ("regressions", "improvements"):
        what = "worse" if name == "regressions" else "better"
        found = document[name]
        print(f"\n{name}: {len(found)} item scores {what} in the candidate, the largest first")
        if found:
            print(_items_table(found, names))
    return EXIT_OK
