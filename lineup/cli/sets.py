"""python -m lineup sets: question sets imported (from a folder, a zip, a set file or the ones
that ship) and listed."""

from __future__ import annotations

import argparse

from lineup.app import Lineup, _, shipped_set_names
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, emit, table


def register(commands: Commands) -> None:
    """The `sets` commands: import and list."""
    sets = commands.add_parser("sets", help=_("question sets for studies")).add_subparsers(
        dest="sets_command", required=True
    )
    set_import = sets.add_parser(
        "import",
        help=_(
            "store a set from a folder (questions.csv, questions.jsonl, sentences.csv or "
            "sentences.txt), a .zip of one, or a set file; or one of the sets that ship with Lineup"
        ),
    )
    source = set_import.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", help=_("a set folder, a .zip of one, or a set file"))
    source.add_argument(
        "--shipped",
        metavar=_("NAME"),
        help=_(
            "a set that ships with Lineup ({names}); one stored already is not stored again"
        ).format(names=", ".join(shipped_set_names()) or _("none found")),
    )
    set_import.add_argument(
        "--name",
        metavar=_("NAME"),
        help=_("default: the folder's, zip's or file's name (the shipped set's name)"),
    )
    set_import.add_argument("--json", action="store_true")
    set_import.set_defaults(func=cmd_sets_import)
    set_list = sets.add_parser("list", help=_("the stored sets"))
    set_list.add_argument("--json", action="store_true")
    set_list.set_defaults(func=cmd_sets_list)


def cmd_sets_import(app: Lineup, args: argparse.Namespace) -> int:
    already_stored = False
    if args.shipped is not None:
        shipped = app.sets.import_shipped(args.shipped, as_name=args.name)
        summary, already_stored = shipped.summary, shipped.already_stored
    else:
        summary = app.sets.import_path(args.path, name=args.name)
    if args.json:
        document = summary.as_dict()
        if args.shipped is not None:
            document["already_stored"] = already_stored
        emit(document)
    else:
        unknown = _("unknown")
        languages = ", ".join(f"{k or unknown} {n}" for k, n in summary.languages.items())
        said = (
            _(
                "set {name} is already stored ({kind}): {items} items, {references} with a "
                "reference answer; languages: {languages}"
            )
            if already_stored
            else _(
                "set {name} ({kind}): {items} items, {references} with a reference answer; "
                "languages: {languages}"
            )
        )
        print(
            said.format(
                name=repr(summary.name),
                kind=summary.kind,
                items=summary.items,
                references=summary.with_reference,
                languages=languages,
            )
        )
    return EXIT_OK


SET_COLUMNS = ["id", "name", "kind", "items", "with_reference", "languages", "created_at"]


def cmd_sets_list(app: Lineup, args: argparse.Namespace) -> int:
    sets = [summary.as_dict() for summary in app.sets.stored()]
    if args.json:
        emit({"sets": sets})
    elif not sets:
        print(_("No sets stored yet: python -m lineup sets import PATH"))
    else:
        rows = [
            {
                **s,
                "languages": " ".join(f"{k or '?'}:{n}" for k, n in s["languages"].items()),
                "created_at": s["created_at"][:19].replace("T", " "),
            }
            for s in sets
        ]
        print(table(rows, SET_COLUMNS))
    return EXIT_OK
