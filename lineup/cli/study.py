"""python -m lineup study: a question set run against several models (or voices), K times
each; paused, resumed, cancelled and listed. Its results (show, export, report) and its
scores (score) are commands of their own modules, under `study` too."""

from __future__ import annotations

import argparse
from typing import Any

from lineup.app import (
    DEFAULT_STT,
    MAX_SYSTEM_PROMPT_CHARS,
    Lineup,
    StudyRun,
    _,
    grouped,
    ngettext,
    state_word,
)
from lineup.cli import study_compare, study_results, study_score
from lineup.cli.arguments import (
    MAX_TOKENS,
    SAMPLES,
    SEED,
    TEMPERATURE,
    TIMEOUT_S,
    Commands,
    add_timing,
)
from lineup.cli.output import EXIT_OK, BadInput, emit, err, table
from lineup.cli.progress import follow


def register(commands: Commands) -> None:
    """The `study` commands, in the order of their help."""
    study = commands.add_parser(
        "study", help=_("a question set against several models")
    ).add_subparsers(dest="study_command", required=True)
    study_run = study.add_parser(
        "run", help=_("run a set against models (VLM set) or voices (voice set), K times each")
    )
    study_run.add_argument("--set", required=True, help=_("a stored set's name (sets list)"))
    study_run.add_argument("--model", action="append", help="KIND:MODEL[#PRESET][@URL]")
    study_run.add_argument("--voice", action="append", help="KIND:MODEL[#PRESET][@URL]")
    study_run.add_argument("--repeats", type=SAMPLES, help=_("answers per item and model (1)"))
    study_run.add_argument("--samples", type=SAMPLES, help=_("clips per sentence and voice (1)"))
    study_run.add_argument(
        "--system",
        help=_("at most {count} characters").format(count=grouped(MAX_SYSTEM_PROMPT_CHARS)),
    )
    study_run.add_argument("--temperature", type=TEMPERATURE, help=_("0 or more"))
    study_run.add_argument("--max-tokens", type=MAX_TOKENS, help=_("1 or more"))
    study_run.add_argument(
        "--seed", type=SEED, help=_("seed of the first repeat (repeat k: seed + k); default random")
    )
    study_run.add_argument(
        "--timeout", type=TIMEOUT_S, help=_("seconds per answer (default LINEUP_MODEL_TIMEOUT_S)")
    )
    study_run.add_argument(
        "--stt",
        default=DEFAULT_STT,
        help=_(
            "voices: speech-to-text for WER: `auto` (tiny.en for English, base for other "
            "languages), a model, or `none`"
        ),
    )
    study_run.add_argument(
        "--blind", action="store_true", help=_("hide model names from labelers until they label")
    )
    add_timing(study_run)
    study_run.add_argument(
        "--warmup",
        action="store_true",
        help=_("each model first answers one warm-up request (stored apart, never counted)"),
    )
    study_run.add_argument("--json", action="store_true")
    study_run.set_defaults(func=cmd_study_run)
    for name, func, what in [
        ("resume", cmd_study_resume, _("run what a paused or killed study still lacks")),
        ("pause", cmd_study_pause, _("pause a study wherever it runs (resume continues it)")),
        ("cancel", cmd_study_cancel, _("stop a study for good")),
    ]:
        command = study.add_parser(name, help=what)
        command.add_argument("study_id", type=int)
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)
    study_results.register(study)
    study_score.register(study)
    study_compare.register(study)
    study_list = study.add_parser("list", help=_("the studies, newest first"))
    study_list.add_argument("--json", action="store_true")
    study_list.set_defaults(func=cmd_study_list)


def _study_ran(app: Lineup, run: StudyRun, args: argparse.Namespace) -> int:
    state = follow(app, run)
    if args.json:
        emit(state.as_dict())
    else:
        print(
            ngettext(
                "study {study_id}: {status}, {done} of {total} answer, {errors} failed",
                "study {study_id}: {status}, {done} of {total} answers, {errors} failed",
                state.total,
            ).format(
                study_id=state.study_id,
                status=state_word(state.status),
                done=state.done,
                total=state.total,
                errors=state.errors,
            )
        )
        if state.status != "done":
            print(
                _("resume it with: python -m lineup study resume {study_id}").format(
                    study_id=state.study_id
                )
            )
    return EXIT_OK


def cmd_study_run(app: Lineup, args: argparse.Namespace) -> int:
    if bool(args.model) == bool(args.voice):
        raise BadInput(
            _("Give the models (--model) of a VLM set or the voices (--voice) of a voice set.")
        )
    voices = bool(args.voice)
    if voices and args.repeats is not None:
        raise BadInput(_("Voices take --samples (clips per sentence), not --repeats."))
    if not voices and args.samples is not None:
        raise BadInput(_("Models take --repeats (answers per item), not --samples."))
    stt = None if args.stt.strip().lower() == "none" else args.stt
    run = app.studies.start(
        set_name=args.set,
        models=args.voice if voices else args.model,
        repeats=(args.samples if voices else args.repeats) or 1,
        system=args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        timeout_s=args.timeout,
        stt=stt,
        blind=args.blind,
        timing=args.timing,
        warmup=args.warmup,
    )
    err(
        ngettext(
            "study {study_id}: set {set}, {total} answer",
            "study {study_id}: set {set}, {total} answers",
            run.plan.total,
        ).format(study_id=run.study_id, set=repr(args.set), total=run.plan.total)
    )
    return _study_ran(app, run, args)


def cmd_study_resume(app: Lineup, args: argparse.Namespace) -> int:
    run = app.studies.resume(args.study_id)
    return _study_ran(app, run, args)


def cmd_study_pause(app: Lineup, args: argparse.Namespace) -> int:
    info = app.studies.pause(args.study_id)
    return _study_asked(app, info.id, args)


def cmd_study_cancel(app: Lineup, args: argparse.Namespace) -> int:
    info = app.studies.cancel(args.study_id)
    return _study_asked(app, info.id, args)


def _study_asked(app: Lineup, study_id: int, args: argparse.Namespace) -> int:
    info = app.studies.get(study_id)
    assert info is not None
    if args.json:
        emit({"study_id": info.id, "status": info.status, "requested": info.requested})
    elif info.requested:
        print(
            _("study {study_id}: {status} ({requested} asked of the process running it)").format(
                study_id=info.id,
                status=state_word(info.status),
                requested=state_word(info.requested),
            )
        )
    else:
        print(
            _("study {study_id}: {status}").format(study_id=info.id, status=state_word(info.status))
        )
    return EXIT_OK


STUDY_COLUMNS = [
    "id",
    "set",
    "kind",
    "status",
    "done",
    "total",
    "errors",
    "models",
    "reference_for",
    "created_at",
]


def cmd_study_list(app: Lineup, args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for info in app.studies.latest():
        state = app.studies.progress(info.id)
        rows.append(
            {
                "id": info.id,
                "set": info.set_name,
                "kind": info.kind,
                "status": info.status,
                "done": state.done,
                "total": state.total,
                "errors": state.errors,
                "models": list(info.models),
                "reference_for": info.reference_for,  # a reference model's own study
                "created_at": info.created_at.isoformat(),
            }
        )
    if args.json:
        emit({"studies": rows})
    elif not rows:
        print(_("No studies yet: python -m lineup study run --set NAME --model SPEC"))
    else:
        shown = [
            {**r, "models": ", ".join(r["models"]), "created_at": r["created_at"][:19]}
            for r in rows
        ]
        print(table(shown, STUDY_COLUMNS))
    return EXIT_OK
