"""python -m lineup backends: the endpoints, their health and models, the local models and the
named ones."""

from __future__ import annotations

import argparse

from lineup.app import Lineup, _, said
from lineup.cli.arguments import Commands
from lineup.cli.output import EXIT_OK, emit


def register(commands: Commands) -> None:
    """The `backends` command."""
    backends = commands.add_parser("backends", help=_("endpoints, their health and models"))
    backends.add_argument("--json", action="store_true")
    backends.set_defaults(func=cmd_backends)


def cmd_backends(app: Lineup, args: argparse.Namespace) -> int:
    reports = app.catalog.endpoint_reports()
    local = app.catalog.local_models()
    document = {
        "kinds": [
            {"kind": i.kind, "modality": i.modality, "description": i.description}
            for i in app.catalog.kinds().values()
        ],
        "endpoints": [
            {
                "name": r.name,
                "kind": r.kind,
                "base_url": r.base_url,
                "ok": r.health.ok,
                "message": r.health.message,
                "version": r.health.version,
                "models": [
                    {"spec": m.spec, "name": m.name, "vision": m.vision, "details": m.details}
                    for m in r.models
                ],
            }
            for r in reports
        ],
        "local": [{"spec": m.spec, "name": m.name, "vision": m.vision} for m in local],
        "named": [{"name": m.name, "spec": m.spec} for m in app.config.models],
    }
    if args.json:
        emit(document)
        return EXIT_OK
    for report in reports:
        health = said(report.health.message, report.health.template, report.health.values)
        line = (
            _("{name} ({kind}) {url}: up - {health}")
            if report.health.ok
            else _("{name} ({kind}) {url}: DOWN - {health}")
        )
        print(line.format(name=report.name, kind=report.kind, url=report.base_url, health=health))
        for model in report.models:
            vision = _(" [vision]") if model.vision else ""
            print(f"  {model.spec}{vision}")
    print(_("local (no server needed):"))
    for model in local:
        print(f"  {model.spec}")
    for named in app.config.models:
        print(_("named {name} = {spec}").format(name=named.name, spec=named.spec))
    return EXIT_OK
