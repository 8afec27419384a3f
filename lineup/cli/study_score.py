"""python -m lineup study score: a reference model run beside a study, and an LLM judge's
scores of its answers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lineup.app import (
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    SIMPLER_TEMPLATE_HINT,
    JudgeRun,
    Lineup,
    ResolvedModel,
    _,
    said_stored,
    state_word,
)
from lineup.cli.arguments import MAX_TOKENS, STUDY_ID, TIMEOUT_S, Commands
from lineup.cli.output import EXIT_OK, BadInput, emit, err, terminal_safe
from lineup.cli.progress import follow


def register(study: Commands) -> None:
    """The `study score` command."""
    study_score = study.add_parser(
        "score",
        help=_(
            "run a reference model beside the study, and/or have an LLM judge score its answers"
        ),
    )
    study_score.add_argument("study_id", type=STUDY_ID)
    study_score.add_argument(
        "--reference-model",
        metavar=_("SPEC"),
        help=_(
            "a model run once per item as the study's reference column (never ranked); items "
            "without a reference answer in the set take its answer"
        ),
    )
    study_score.add_argument("--judge", metavar=_("SPEC"), help="KIND:MODEL[@URL]")
    study_score.add_argument(
        "--judge-protocol",
        choices=["reference", "pairwise"],
        default="reference",
        help=_(
            "reference: score each answer 1-10 against its item's reference answer; "
            "pairwise: score it beside the reference model's answer, in both orders"
        ),
    )
    study_score.add_argument(
        "--template-file",
        metavar=_("PATH"),
        help=_(
            "the judge's prompt, kept with the study: {question}, {reference} and {answer} "
            "(reference), or {question}, {answer_1} and {answer_2} (pairwise); see "
            "lineup.score.judge"
        ),
    )
    study_score.add_argument(
        "--judge-max-tokens",
        type=MAX_TOKENS,
        metavar="N",
        help=_("the judge's output token limit per request (default {default})").format(
            default=JUDGE_MAX_TOKENS
        ),
    )
    study_score.add_argument(
        "--judge-timeout",
        type=TIMEOUT_S,
        metavar="S",
        help=_("seconds the judge may take per request (default {default})").format(
            default=f"{JUDGE_TIMEOUT_S:g}"
        ),
    )
    study_score.add_argument("--json", action="store_true")
    study_score.set_defaults(func=cmd_study_score)


def cmd_study_score(app: Lineup, args: argparse.Namespace) -> int:
    if not args.judge and not args.reference_model:
        raise BadInput(
            _("Give a judge (--judge SPEC), a reference model (--reference-model SPEC), or both.")
        )
    template = None
    if args.template_file:
        if not args.judge:
            raise BadInput(_("--template-file is the judge's prompt; give the judge with --judge."))
        try:
            template = Path(args.template_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(
                _("Cannot read the template {path}: {reason}").format(
                    path=args.template_file, reason=exc
                )
            ) from None
    limits = {"--judge-max-tokens": args.judge_max_tokens, "--judge-timeout": args.judge_timeout}
    given = [flag for flag, value in limits.items() if value is not None]
    if given and not args.judge:
        raise BadInput(
            _("{flags} set the judge's limits; give the judge with --judge.").format(
                flags=given[0]
                if len(given) == 1
                else _("{first} and {last}").format(first=given[0], last=given[1])
            )
        )
    judge = None
    if args.judge:
        # Every check of the judge before the reference model runs: bad input stores nothing.
        # The judge is resolved here, once, and the run is given what it stood for.
        judge = app.scores.check_judge(
            args.study_id,
            args.judge,
            args.judge_protocol,
            template,
            max_tokens=_judge_max_tokens(args),
            timeout_s=_judge_timeout_s(args),
        )
    if args.reference_model:
        run = app.scores.start_reference(args.study_id, args.reference_model)
        state = follow(app, run)
        err(
            _(
                "reference model {model}: study {study_id}, {status}, {done} of {total} "
                "answers, {errors} failed"
            ).format(
                model=args.reference_model,
                study_id=state.study_id,
                status=state_word(state.status),
                done=state.done,
                total=state.total,
                errors=state.errors,
            )
        )
    reference = app.scores.reference_summary(args.study_id)
    result: dict[str, Any] = {"study_id": args.study_id, "reference": reference}
    if judge is not None:
        if template is not None:
            app.scores.set_template(args.study_id, args.judge_protocol, template)
        judged = _judge(app, args, judge)
        result |= judged.as_dict()
    if args.json:
        emit(result)
        return EXIT_OK
    if reference is not None:
        print(
            _(
                "study {study_id}: reference model {model} (study {reference_study_id}, "
                "{status}): {ok} answers, {errors} failed"
            ).format(
                study_id=args.study_id,
                model=reference["model"],
                reference_study_id=reference["study_id"],
                status=state_word(reference["status"]),
                ok=reference["ok"],
                errors=reference["errors"],
            )
        )
    if args.judge:
        print(_judged_line(args.study_id, judged))
        if judged.mostly_failed:
            _explain_failures(judged)
    return EXIT_OK


def _judge_max_tokens(args: argparse.Namespace) -> int:
    return JUDGE_MAX_TOKENS if args.judge_max_tokens is None else int(args.judge_max_tokens)


def _judge_timeout_s(args: argparse.Namespace) -> float:
    return JUDGE_TIMEOUT_S if args.judge_timeout is None else float(args.judge_timeout)


def _judged_line(study_id: int, run: JudgeRun) -> str:
    """How the judge's run ended, in words: a failure when most of its verdicts have no score
    (the definitions of lineup.score's judge)."""
    values = {
        "study_id": study_id,
        "judge": run.judge,
        "protocol": run.protocol,
        "verdicts": run.scored + run.unscored,
        "scored": run.scored,
        "unscored": run.unscored,
        "asked": run.asked,
        "cached": run.cached,
        "failed": run.failed,
    }
    if run.mostly_failed:
        return _(
            "study {study_id}: judge {judge} ({protocol}) failed: {unscored} of {verdicts} "
            "verdicts have no score ({asked} asked, {cached} already judged)"
        ).format(**values)
    return _(
        "study {study_id}: judge {judge} ({protocol}): {asked} asked, {cached} already judged, "
        "{failed} failed; {scored} of {verdicts} verdicts scored"
    ).format(**values)


def _explain_failures(run: JudgeRun) -> None:
    """The first replies without a score, and what to try (on stderr)."""
    for shown in run.failed_replies:
        error = terminal_safe(said_stored(shown.error, shown.error_said) or "-")
        err(
            "\n"
            + _("answer {generation_id} ({status}): {error}").format(
                generation_id=shown.generation_id, status=state_word(shown.status), error=error
            )
        )
        reply = shown.reply if shown.reply and shown.reply.strip() else _("(no reply text)")
        err(_("  reply: {reply}").format(reply=terminal_safe(reply).replace("\n", "\n         ")))
    err("\n" + _(SIMPLER_TEMPLATE_HINT))


def _judge(app: Lineup, args: argparse.Namespace, judge: ResolvedModel) -> JudgeRun:
    """Run the judge with a progress bar on stderr (one step per request)."""
    from tqdm import tqdm

    with tqdm(
        desc=_("judge {judge}").format(judge=args.judge),
        unit=_("request"),
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,
    ) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = app.scores.judge(
            args.study_id,
            judge,
            protocol=args.judge_protocol,
            max_tokens=_judge_max_tokens(args),
            timeout_s=_judge_timeout_s(args),
            on_progress=advance,
        )
    if run.busy or run.skipped:
        if run.protocol == "pairwise":
            unscored = _(
                "{skipped} answer(s) are not scored: the reference model has no complete answer "
                "to their item; {busy} are being judged by another process"
            )
        else:
            unscored = _(
                "{skipped} answer(s) are not scored: their item has no reference; {busy} are "
                "being judged by another process"
            )
        err(unscored.format(skipped=run.skipped, busy=run.busy))
    return run
