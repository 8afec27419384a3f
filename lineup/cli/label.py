"""python -m lineup label: a generation's relevance, marked by an annotator."""

from __future__ import annotations

import argparse

from lineup.app import RELEVANCE, Lineup, _
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, emit


def register(commands: Commands) -> None:
    """The `label` command."""
    label = commands.add_parser("label", help=_("mark a generation's relevance"))
    label.add_argument("generation_id", type=int)
    label.add_argument("--relevance", required=True, choices=RELEVANCE)
    label.add_argument("--annotator", default="cli")
    label.add_argument("--comment")
    label.add_argument("--json", action="store_true")
    label.set_defaults(func=cmd_label)


def cmd_label(app: Lineup, args: argparse.Namespace) -> int:
    label_id = app.labels.add(
        args.generation_id, args.relevance, annotator=args.annotator, comment=args.comment
    )
    document = {
        "label_id": label_id,
        "generation_id": args.generation_id,
        "relevance": args.relevance,
        "annotator": args.annotator,
        "comment": args.comment,
    }
    if args.json:
        emit(document)
    else:
        print(
            _("label {label_id}: generation {generation_id} is {relevance}").format(
                label_id=label_id, generation_id=args.generation_id, relevance=args.relevance
            )
        )
    return EXIT_OK
