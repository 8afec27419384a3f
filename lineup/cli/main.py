"""`python -m lineup`: the same engine as the app, for scripts and CI.

With --json, stdout carries exactly one JSON document; progress and messages go to stderr.
Exit status: 0 when the command did its job (even if some models failed), 2 for bad input,
1 for a bug in Lineup (a one-line message; LINEUP_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from lineup.app import (
    ARENA_KEYS,
    FAILED,
    INPUT_ERRORS,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    MAX_QUESTION_CHARS,
    MAX_SEED,
    MAX_SENTENCE_CHARS,
    MAX_SYSTEM_PROMPT_CHARS,
    RANKING_KEYS,
    RELEVANCE,
    SCORE_KEYS,
    SIMPLER_TEMPLATE_HINT,
    STATUS_CHOICES,
    SUMMARY_KEYS,
    TTS_COLUMNS,
    GenerationResult,
    InputError,
    JudgeRun,
    LeaderboardFilter,
    Lineup,
    MediaError,
    StudyProgress,
    StudyRun,
    check_max_tokens,
    check_seed,
    check_temperature,
    check_timeout_s,
    clean_number,
    parse_moment,
    redact,
    shipped_set_names,
)

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
# What a shell reports for a command ended by SIGPIPE (128 + 13), as `yes | head -1` does.
EXIT_READER_GONE = 128 + signal.SIGPIPE
DEBUG_ENV = "LINEUP_DEBUG"


class BadInput(Exception):
    """Input the user must fix; printed to stderr, exit status 2."""


# Errors that mean the input, the environment or backends.toml needs fixing, not a bug (see
# lineup.service.INPUT_ERRORS). Anything else is a bug in Lineup: exit 1.
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (BadInput, *INPUT_ERRORS)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _emit(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2, default=clean_number)
    sys.stdout.write("\n")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        value = clean_number(value)
        if value is None:
            return "-"
        if isinstance(value, float):
            # Three significant digits, never e-notation (999.99 is "1000", not "1e+03").
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


# Commands ------------------------------------------------------------------------------------


def cmd_backends(app: Lineup, args: argparse.Namespace) -> int:
    reports = app.endpoint_reports()
    local = app.local_models()
    document = {
        "kinds": [
            {"kind": i.kind, "modality": i.modality, "description": i.description}
            for i in app.kinds().values()
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
        _emit(document)
        return EXIT_OK
    for report in reports:
        state = "up" if report.health.ok else "DOWN"
        print(f"{report.name} ({report.kind}) {report.base_url}: {state} - {report.health.message}")
        for model in report.models:
            vision = {True: " [vision]", False: "", None: ""}[model.vision]
            print(f"  {model.spec}{vision}")
    print("local (no server needed):")
    for model in local:
        print(f"  {model.spec}")
    for named in app.config.models:
        print(f"named {named.name} = {named.spec}")
    return EXIT_OK


def _vlm_result(result: GenerationResult) -> dict[str, Any]:
    timings = result.timings
    return {
        "generation_id": result.generation_id,
        "model": result.model,
        "status": result.status,
        "text": result.text,
        "error": result.error,
        "ttft_s": timings.ttft_s if timings else None,
        "total_s": timings.total_s if timings else None,
        "output_tokens": timings.output_tokens if timings else None,
        "tokens_per_s": timings.tokens_per_s if timings else None,
        "tokens_source": (timings.tokens_per_s_source or timings.output_tokens_source)
        if timings
        else None,
    }


def cmd_vlm(app: Lineup, args: argparse.Namespace) -> int:
    image = None
    if args.image is not None:
        try:
            image = app.read_image_file(args.image)
        except MediaError as exc:
            raise BadInput(f"{args.image}: {exc}") from exc
    comparison = app.start_vlm(  # checks the question, system prompt and models
        question=args.question,
        models=args.model,
        image=image,
        system=args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        timeout_s=args.timeout,
    )
    _err(f"run {comparison.run_id}: {len(args.model)} model(s)")
    for event in comparison.iter_events():
        if event.result is not None:
            r = event.result
            if r.status == "ok":
                _err(f"  done   {r.model} (generation {r.generation_id})")
            else:
                _err(f"  failed {r.model} (generation {r.generation_id}): {r.error}")
    by_id = {r.generation_id: r for r in comparison.results()}
    results = [_vlm_result(by_id[job.generation_id]) for job in comparison.jobs]
    if args.json:
        _emit({"run_id": comparison.run_id, "results": results})
        return EXIT_OK
    for result in results:
        print(f"== {result['model']} [{result['status']}] generation {result['generation_id']}")
        print(result["text"] if result["status"] == "ok" else f"error: {result['error']}")
        if result["status"] == "ok":
            print(
                _table(
                    [result],
                    ["ttft_s", "total_s", "output_tokens", "tokens_per_s", "tokens_source"],
                )
            )
        print()
    return EXIT_OK


TTS_RESULT_FIELDS = [
    "generation_id",
    "run_id",
    "voice",
    "text",
    "sample",
    "seed",
    "status",
    "error",
    "audio_path",
    "sample_rate_hz",
    "audio_s",
    "gen_s",
    "rtf",
    "peak_mem_mb",
    "transcript",
    "wer",
    "cer",
]


def cmd_tts(app: Lineup, args: argparse.Namespace) -> int:
    texts = [text for text in args.text if text.strip()]
    stt = None if args.stt.strip().lower() == "none" else args.stt
    warnings = app.language_warnings(texts, args.voice, stt)
    for warning in warnings:
        _err(f"warning: {warning}")
    comparison = app.start_tts(  # checks the sentences, seed, voices and STT model
        texts=texts,
        voices=args.voice,
        samples=args.samples,
        stt=stt,
        seed=args.seed,
        timeout_s=args.timeout,
    )
    clips = len(comparison.clips)
    _err(f"run {', '.join(map(str, comparison.run_ids))}: {clips} clip(s)")
    for event in comparison.iter_events():
        if event.result is not None:
            r = event.result
            label = f"{r.voice} sample {r.sample + 1} (generation {r.generation_id})"
            if r.status == "ok":
                _err(f"  done   {label}")
            else:
                _err(f"  failed {label}: {r.error}")
    results = [{name: getattr(r, name) for name in TTS_RESULT_FIELDS} for r in comparison.results()]
    if args.json:
        _emit(
            {
                "run_id": comparison.run_id,
                "run_ids": comparison.run_ids,
                "warnings": warnings,
                "results": results,
            }
        )
        return EXIT_OK
    for result in results:
        print(
            f"== {result['voice']} sample {result['sample'] + 1} [{result['status']}] "
            f"generation {result['generation_id']}"
        )
        if result["status"] == "ok":
            print(f"heard: {result['transcript']}" if result["transcript"] is not None else "")
            print(_table([result], ["wer", "cer", "gen_s", "audio_s", "rtf", "peak_mem_mb"]))
        else:
            print(f"error: {result['error']}")
        print(f"audio: {result['audio_path'] or '-'}")
        print()
    summary = app.clip_summary(comparison.results())
    print(
        _table(
            summary,
            ["voice", "answers", "mean_wer", "wer_std", "mean_cer", "median_rtf", "median_gen_s"],
        )
    )
    return EXIT_OK


def cmd_label(app: Lineup, args: argparse.Namespace) -> int:
    label_id = app.add_label(
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
        _emit(document)
    else:
        print(f"label {label_id}: generation {args.generation_id} is {args.relevance}")
    return EXIT_OK


# The keys of `leaderboard --json`: issue 2's, where `n` is the labels, then the counts under
# the names that say what they are, and the interval the rows are ranked by.
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
    "median_ttft_s",
    "median_total_s",
    "median_tokens_per_s",
    "generations",
    "failed",
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
]
TTS_TEXT_COLUMNS = [c for c in TTS_COLUMNS if c != "n"]
ORDER_NOTE = {
    "vlm": "best first by the lower end of the 95% interval of pct_relevant (ci_95), not by "
    "pct_relevant itself: few labels give a wide interval",
    "tts": "best first by mean_wer",
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
    )
    rows = app.leaderboard(args.kind, board_filter)
    if args.json:
        columns = VLM_COLUMNS if args.kind == "vlm" else TTS_COLUMNS
        stable = {"n": STABLE_N[args.kind]}
        _emit(
            {
                "kind": args.kind,
                "filter": board_filter.as_query(),
                "rows": [{c: row.get(stable.get(c, c)) for c in columns} for row in rows],
            }
        )
        return EXIT_OK
    if not board_filter.is_empty:
        _err(f"filtered: {board_filter.describe()}")
    if rows:
        _err(f"rows: {ORDER_NOTE[args.kind]}")
        if args.kind == "vlm":
            shown = [{**row, "ci_95": _interval_cell(row)} for row in rows]
            print(_table(shown, VLM_TEXT_COLUMNS))
        else:
            print(_table(rows, TTS_TEXT_COLUMNS))
    elif board_filter.is_empty:
        print(f"No {args.kind} generations stored yet.")
    else:
        print(f"No {args.kind} generations match the filter.")
    return EXIT_OK


def cmd_sets_import(app: Lineup, args: argparse.Namespace) -> int:
    already_stored = False
    if args.shipped is not None:
        shipped = app.import_shipped_set(args.shipped, as_name=args.name)
        summary, already_stored = shipped.summary, shipped.already_stored
    else:
        summary = app.import_set(args.path, name=args.name)
    if args.json:
        document = summary.as_dict()
        if args.shipped is not None:
            document["already_stored"] = already_stored
        _emit(document)
    else:
        languages = ", ".join(f"{k or 'unknown'} {n}" for k, n in summary.languages.items())
        stored = " is already stored" if already_stored else ""
        print(
            f"set {summary.name!r}{stored} ({summary.kind}): {summary.items} items, "
            f"{summary.with_reference} with a reference answer; languages: {languages}"
        )
    return EXIT_OK


SET_COLUMNS = ["id", "name", "kind", "items", "with_reference", "languages", "created_at"]


def cmd_sets_list(app: Lineup, args: argparse.Namespace) -> int:
    sets = [summary.as_dict() for summary in app.sets()]
    if args.json:
        _emit({"sets": sets})
    elif not sets:
        print("No sets stored yet: python -m lineup sets import PATH")
    else:
        rows = [
            {
                **s,
                "languages": " ".join(f"{k or '?'}:{n}" for k, n in s["languages"].items()),
                "created_at": s["created_at"][:19].replace("T", " "),
            }
            for s in sets
        ]
        print(_table(rows, SET_COLUMNS))
    return EXIT_OK


# Studies -------------------------------------------------------------------------------------


def _follow(app: Lineup, run: StudyRun) -> StudyProgress:
    """Wait for a study, drawing its progress on stderr: one bar for all its answers, each
    model's done / total and errors beside it."""
    from tqdm import tqdm

    state = app.study_progress(run.study_id)
    with tqdm(
        total=state.total,
        initial=state.done,
        desc=f"study {run.study_id}",
        unit="answer",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,  # no bar when stderr is not a terminal; the lines below still come
    ) as bar:
        shown = state.done
        while not run.done:
            run.wait_for_change(1.0)
            state = app.study_progress(run.study_id)
            bar.update(state.done - shown)
            shown = state.done
            bar.set_postfix_str(
                "  ".join(f"{m.model} {m.done}/{m.total} err {m.errors}" for m in state.models)
            )
    state = app.study_progress(run.study_id)
    for model in state.models:
        _err(f"  {model.model}: {model.done}/{model.total} done, {model.errors} failed")
    return state


def _study_ran(app: Lineup, run: StudyRun, args: argparse.Namespace) -> int:
    state = _follow(app, run)
    if args.json:
        _emit(state.as_dict())
    else:
        print(
            f"study {state.study_id}: {state.status}, {state.done} of {state.total} answers, "
            f"{state.errors} failed"
        )
        if state.status != "done":
            print(f"resume it with: python -m lineup study resume {state.study_id}")
    return EXIT_OK


def cmd_study_run(app: Lineup, args: argparse.Namespace) -> int:
    if bool(args.model) == bool(args.voice):
        raise BadInput(
            "Give the models (--model) of a VLM set or the voices (--voice) of a voice set."
        )
    voices = bool(args.voice)
    if voices and args.repeats is not None:
        raise BadInput("Voices take --samples (clips per sentence), not --repeats.")
    if not voices and args.samples is not None:
        raise BadInput("Models take --repeats (answers per item), not --samples.")
    stt = None if args.stt.strip().lower() == "none" else args.stt
    run = app.start_study(
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
    )
    _err(f"study {run.study_id}: set {args.set!r}, {run.plan.total} answers")
    return _study_ran(app, run, args)


def cmd_study_resume(app: Lineup, args: argparse.Namespace) -> int:
    run = app.resume_study(args.study_id)
    return _study_ran(app, run, args)


def cmd_study_pause(app: Lineup, args: argparse.Namespace) -> int:
    info = app.pause_study(args.study_id)
    return _study_asked(app, info.id, args)


def cmd_study_cancel(app: Lineup, args: argparse.Namespace) -> int:
    info = app.cancel_study(args.study_id)
    return _study_asked(app, info.id, args)


def _study_asked(app: Lineup, study_id: int, args: argparse.Namespace) -> int:
    info = app.study(study_id)
    assert info is not None
    asked = f" ({info.requested} asked of the process running it)" if info.requested else ""
    if args.json:
        _emit({"study_id": info.id, "status": info.status, "requested": info.requested})
    else:
        print(f"study {info.id}: {info.status}{asked}")
    return EXIT_OK


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
]


def cmd_study_show(app: Lineup, args: argparse.Namespace) -> int:
    summary = app.study_result(args.study_id).summary
    if args.json:
        _emit(summary)
        return EXIT_OK
    print(
        f"study {summary['study_id']}: set {summary['set']!r} ({summary['kind']}), "
        f"{summary['status']}, {summary['done']} of {summary['total']} answers"
    )
    rows = summary["models"]
    print("\nrelevance (each annotator's latest label on each complete answer)")
    print(_table(rows, RELEVANCE_SHOWN))
    # The rest of each model's figures: speed for models, intelligibility for voices.
    keys = SUMMARY_KEYS[summary["kind"]]
    # The figures between the labels' and the scores' (speed, or the voices').
    rest = keys[keys.index("pct_relevant_ci_high") + 1 :]
    shown = ["model", *(k for k in rest if k not in (*SCORE_KEYS, *RANKING_KEYS, *ARENA_KEYS))]
    print("\nvoices" if summary["kind"] == "tts" else "\nspeed (complete answers)")
    print(_table(rows, shown))
    if summary["kind"] != "tts":
        print("\nscores (95% intervals in --json; definitions in lineup/study_scores.py)")
        print(_table(rows, SCORES_SHOWN))
    print("\nranking (Bradley-Terry from the labels, and from the arena's pairwise votes)")
    print(_table(rows, RANKING_SHOWN))
    agreement = summary["agreement"]
    print(
        f"\nagreement: Krippendorff's alpha {_shown(agreement['alpha'])} over "
        f"{agreement['n_items']} answers with two or more annotators"
    )
    for pair in agreement["kappa_pairs"]:
        print(
            f"  kappa {pair['a']} / {pair['b']}: {_shown(pair['kappa'])} "
            f"({pair['n_shared']} shared)"
        )
    judge = agreement.get("judge")
    if judge:
        print(
            f"  judge {judge['judge']} ({judge['protocol']}) against the people: Spearman "
            f"{_shown(judge['spearman'])}, kappa {_shown(judge['kappa'])} ({judge['n']} labels)"
        )
    if summary.get("reference"):
        reference = summary["reference"]
        print(
            f"\nreference model (not ranked): {reference['model']}, study "
            f"{reference['study_id']}, {reference['status']}, {reference['ok']} answers"
        )
    return EXIT_OK


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
    "bt_rating",
    "bt_ci_low",
    "bt_ci_high",
    "arena_rank",
    "arena_rating",
    "arena_votes",
]


def _shown(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}"


def cmd_study_report(app: Lineup, args: argparse.Namespace) -> int:
    for path in app.study_report(args.study_id, args.format, Path(args.out)):
        print(path)
    return EXIT_OK


def cmd_study_export(app: Lineup, args: argparse.Namespace) -> int:
    written = app.export_study(args.study_id, args.format, Path(args.out))
    for path in written:
        print(path)
    return EXIT_OK


def cmd_study_score(app: Lineup, args: argparse.Namespace) -> int:
    if not args.judge and not args.reference_model:
        raise BadInput(
            "Give a judge (--judge SPEC), a reference model (--reference-model SPEC), or both."
        )
    template = None
    if args.template_file:
        if not args.judge:
            raise BadInput("--template-file is the judge's prompt; give the judge with --judge.")
        try:
            template = Path(args.template_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"Cannot read the template {args.template_file}: {exc}") from None
    limits = {"--judge-max-tokens": args.judge_max_tokens, "--judge-timeout": args.judge_timeout}
    given = [flag for flag, value in limits.items() if value is not None]
    if given and not args.judge:
        raise BadInput(
            f"{' and '.join(given)} set the judge's limits; give the judge with --judge."
        )
    if args.judge:
        # Every check of the judge before the reference model runs: bad input stores nothing.
        app.check_judge(
            args.study_id,
            args.judge,
            args.judge_protocol,
            template,
            max_tokens=_judge_max_tokens(args),
            timeout_s=_judge_timeout_s(args),
        )
    if args.reference_model:
        run = app.start_reference(args.study_id, args.reference_model)
        state = _follow(app, run)
        _err(
            f"reference model {args.reference_model}: study {state.study_id}, {state.status}, "
            f"{state.done} of {state.total} answers, {state.errors} failed"
        )
    reference = app.reference_summary(args.study_id)
    result: dict[str, Any] = {"study_id": args.study_id, "reference": reference}
    if args.judge:
        if template is not None:
            app.set_judge_template(args.study_id, args.judge_protocol, template)
        judged = _judge(app, args)
        result |= judged.as_dict()
    if args.json:
        _emit(result)
        return EXIT_OK
    if reference is not None:
        print(
            f"study {args.study_id}: reference model {reference['model']} (study "
            f"{reference['study_id']}, {reference['status']}): {reference['ok']} answers, "
            f"{reference['errors']} failed"
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
    (lineup.judge's definitions)."""
    head = f"study {study_id}: judge {run.judge} ({run.protocol})"
    verdicts = run.scored + run.unscored
    if run.mostly_failed:
        return (
            f"{head} failed: {run.unscored} of {verdicts} verdicts have no score "
            f"({run.asked} asked, {run.cached} already judged)"
        )
    return (
        f"{head}: {run.asked} asked, {run.cached} already judged, {run.failed} failed; "
        f"{run.scored} of {verdicts} verdicts scored"
    )


def _explain_failures(run: JudgeRun) -> None:
    """The first replies without a score, and what to try (on stderr)."""
    for shown in run.failed_replies:
        error = _terminal_safe(shown.error or "-")
        _err(f"\nanswer {shown.generation_id} ({shown.status}): {error}")
        reply = shown.reply if shown.reply and shown.reply.strip() else "(no reply text)"
        _err("  reply: " + _terminal_safe(reply).replace("\n", "\n         "))
    _err(f"\n{SIMPLER_TEMPLATE_HINT}")


def _terminal_safe(text: str) -> str:
    """Model output for a terminal: control and format characters (escape sequences, bidi
    overrides) written as their escapes, so a reply cannot drive the terminal."""
    return "".join(
        char if char.isprintable() or char in "\n\t" else char.encode("unicode_escape").decode()
        for char in text
    )


def _judge(app: Lineup, args: argparse.Namespace) -> JudgeRun:
    """Run the judge with a progress bar on stderr (one step per request)."""
    from tqdm import tqdm

    with tqdm(
        desc=f"judge {args.judge}",
        unit="request",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,
    ) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = app.judge_study(
            args.study_id,
            args.judge,
            protocol=args.judge_protocol,
            max_tokens=_judge_max_tokens(args),
            timeout_s=_judge_timeout_s(args),
            on_progress=advance,
        )
    if run.busy or run.skipped:
        why = (
            "the reference model has no complete answer to their item"
            if run.protocol == "pairwise"
            else "their item has no reference"
        )
        _err(
            f"{run.skipped} answer(s) are not scored: {why}; "
            f"{run.busy} are being judged by another process"
        )
    return run


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
    for info in app.study_list():
        state = app.study_progress(info.id)
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
        _emit({"studies": rows})
    elif not rows:
        print("No studies yet: python -m lineup study run --set NAME --model SPEC")
    else:
        shown = [
            {**r, "models": ", ".join(r["models"]), "created_at": r["created_at"][:19]}
            for r in rows
        ]
        print(_table(shown, STUDY_COLUMNS))
    return EXIT_OK


# Parser --------------------------------------------------------------------------------------

T = TypeVar("T", int, float)


def _checked(convert: Callable[[str], T], check: Callable[[T], T], what: str) -> Any:
    """An argparse `type=`: a bad value is argparse's usage error (exit 2) with our message."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}.") from None
        try:
            return check(value)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _at_least_one_id(value: int) -> int:
    if value < 1:
        raise InputError(f"A study id is a whole number from 1, not {value}.")
    return value


def _at_least_one(value: int) -> int:
    if value < 1:
        raise InputError(f"The number of samples must be at least 1, not {value}.")
    return value


TIMEOUT_S = _checked(float, check_timeout_s, "a number of seconds")
TEMPERATURE = _checked(float, check_temperature, "a number")
MAX_TOKENS = _checked(int, check_max_tokens, "a whole number")
SEED = _checked(int, check_seed, f"a whole number from 0 to {MAX_SEED}")
SAMPLES = _checked(int, _at_least_one, "a whole number")
STUDY_ID = _checked(int, _at_least_one_id, "a study id (a whole number)")


def _moment(text: str) -> datetime:
    """An argparse `type=`: a UTC day (YYYY-MM-DD) or an ISO 8601 moment."""
    try:
        return parse_moment(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MOMENT = _moment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lineup", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    backends = sub.add_parser("backends", help="endpoints, their health and models")
    backends.add_argument("--json", action="store_true")
    backends.set_defaults(func=cmd_backends)

    vlm = sub.add_parser("vlm", help="ask several vision-language models at once")
    vlm.add_argument("--image", help="PNG, JPEG, WebP or GIF")
    vlm.add_argument("--question", required=True, help=f"at most {MAX_QUESTION_CHARS:,} characters")
    vlm.add_argument("--model", action="append", required=True, help="KIND:MODEL[#PRESET][@URL]")
    vlm.add_argument("--system", help=f"at most {MAX_SYSTEM_PROMPT_CHARS:,} characters")
    vlm.add_argument("--temperature", type=TEMPERATURE, help="0 or more")
    vlm.add_argument("--max-tokens", type=MAX_TOKENS, help="1 or more")
    vlm.add_argument("--seed", type=SEED, help=f"0 to {MAX_SEED}")
    vlm.add_argument(
        "--timeout", type=TIMEOUT_S, help="seconds per model (default LINEUP_MODEL_TIMEOUT_S)"
    )
    vlm.add_argument("--json", action="store_true")
    vlm.set_defaults(func=cmd_vlm)

    tts = sub.add_parser("tts", help="speak sentences with several voices, score each clip")
    tts.add_argument(
        "--text",
        action="append",
        required=True,
        help=f"repeat for several sentences, each at most {MAX_SENTENCE_CHARS:,} characters",
    )
    tts.add_argument("--voice", action="append", required=True, help="KIND:MODEL[#PRESET][@URL]")
    tts.add_argument("--samples", type=SAMPLES, default=1, help="clips per voice and sentence")
    tts.add_argument(
        "--stt", default="faster-whisper:tiny.en", help="speech-to-text for WER, or `none`"
    )
    tts.add_argument(
        "--seed", type=SEED, help=f"seed of the first sample (sample k: seed + k), 0 to {MAX_SEED}"
    )
    tts.add_argument(
        "--timeout", type=TIMEOUT_S, help="seconds per clip (default LINEUP_MODEL_TIMEOUT_S)"
    )
    tts.add_argument("--json", action="store_true")
    tts.set_defaults(func=cmd_tts)

    label = sub.add_parser("label", help="mark a generation's relevance")
    label.add_argument("generation_id", type=int)
    label.add_argument("--relevance", required=True, choices=RELEVANCE)
    label.add_argument("--annotator", default="cli")
    label.add_argument("--comment")
    label.add_argument("--json", action="store_true")
    label.set_defaults(func=cmd_label)

    board = sub.add_parser("leaderboard", help="aggregated figures per model")
    board.add_argument("--kind", choices=["vlm", "tts"], default="vlm")
    board.add_argument(
        "--study", type=STUDY_ID, metavar="ID", help="only the answers of this study"
    )
    board.add_argument(
        "--set", metavar="NAME", help="only the answers to this set's items (every study of it)"
    )
    board.add_argument("--tag", metavar="T", help="only the answers to set items with this tag")
    board.add_argument(
        "--since",
        type=MOMENT,
        metavar="YYYY-MM-DD",
        help="only generations started on or after this day (UTC)",
    )
    board.add_argument(
        "--until",
        type=MOMENT,
        metavar="YYYY-MM-DD",
        help="only generations started before this day (UTC; the day itself excluded)",
    )
    board.add_argument("--annotator", metavar="NAME", help="count only this annotator's labels")
    board.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        help=f"only generations in this state ({FAILED}: every final state but ok); the "
        "figures stay over ok answers",
    )
    board.add_argument("--json", action="store_true")
    board.set_defaults(func=cmd_leaderboard)

    sets = sub.add_parser("sets", help="question sets for studies").add_subparsers(
        dest="sets_command", required=True
    )
    set_import = sets.add_parser(
        "import",
        help="store a set from a folder (questions.csv, questions.jsonl, sentences.csv or "
        "sentences.txt), a .zip of one, or a set file; or one of the sets that ship with Lineup",
    )
    source = set_import.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", help="a set folder, a .zip of one, or a set file")
    source.add_argument(
        "--shipped",
        metavar="NAME",
        help=f"a set that ships with Lineup ({', '.join(shipped_set_names()) or 'none found'}); "
        "one stored already is not stored again",
    )
    set_import.add_argument(
        "--name", help="default: the folder's, zip's or file's name (the shipped set's name)"
    )
    set_import.add_argument("--json", action="store_true")
    set_import.set_defaults(func=cmd_sets_import)
    set_list = sets.add_parser("list", help="the stored sets")
    set_list.add_argument("--json", action="store_true")
    set_list.set_defaults(func=cmd_sets_list)

    study = sub.add_parser("study", help="a question set against several models").add_subparsers(
        dest="study_command", required=True
    )
    study_run = study.add_parser(
        "run", help="run a set against models (VLM set) or voices (voice set), K times each"
    )
    study_run.add_argument("--set", required=True, help="a stored set's name (sets list)")
    study_run.add_argument("--model", action="append", help="KIND:MODEL[#PRESET][@URL]")
    study_run.add_argument("--voice", action="append", help="KIND:MODEL[#PRESET][@URL]")
    study_run.add_argument("--repeats", type=SAMPLES, help="answers per item and model (1)")
    study_run.add_argument("--samples", type=SAMPLES, help="clips per sentence and voice (1)")
    study_run.add_argument("--system", help=f"at most {MAX_SYSTEM_PROMPT_CHARS:,} characters")
    study_run.add_argument("--temperature", type=TEMPERATURE, help="0 or more")
    study_run.add_argument("--max-tokens", type=MAX_TOKENS, help="1 or more")
    study_run.add_argument(
        "--seed", type=SEED, help="seed of the first repeat (repeat k: seed + k); default random"
    )
    study_run.add_argument(
        "--timeout", type=TIMEOUT_S, help="seconds per answer (default LINEUP_MODEL_TIMEOUT_S)"
    )
    study_run.add_argument(
        "--stt", default="faster-whisper:tiny.en", help="voices: speech-to-text for WER, or `none`"
    )
    study_run.add_argument(
        "--blind", action="store_true", help="hide model names from labelers until they label"
    )
    study_run.add_argument("--json", action="store_true")
    study_run.set_defaults(func=cmd_study_run)
    for name, func, what in [
        ("resume", cmd_study_resume, "run what a paused or killed study still lacks"),
        ("pause", cmd_study_pause, "pause a study wherever it runs (resume continues it)"),
        ("cancel", cmd_study_cancel, "stop a study for good"),
    ]:
        command = study.add_parser(name, help=what)
        command.add_argument("study_id", type=int)
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)
    study_show = study.add_parser("show", help="a study's progress and tables")
    study_show.add_argument("study_id", type=int)
    study_show.add_argument("--json", action="store_true")
    study_show.set_defaults(func=cmd_study_show)
    study_export = study.add_parser(
        "export", help="a study's tables and raw rows: CSV files in a folder, or one XLSX"
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
    study_report.add_argument("--format", choices=["html", "xlsx", "md"], required=True)
    study_report.add_argument("--out", required=True, help="a file, or a folder to write it in")
    study_report.set_defaults(func=cmd_study_report)
    study_score = study.add_parser(
        "score",
        help="run a reference model beside the study, and/or have an LLM judge score its answers",
    )
    study_score.add_argument("study_id", type=STUDY_ID)
    study_score.add_argument(
        "--reference-model",
        metavar="SPEC",
        help="a model run once per item as the study's reference column (never ranked); items "
        "without a reference answer in the set take its answer",
    )
    study_score.add_argument("--judge", metavar="SPEC", help="KIND:MODEL[@URL]")
    study_score.add_argument(
        "--judge-protocol",
        choices=["reference", "pairwise"],
        default="reference",
        help="reference: score each answer 1-10 against its item's reference answer; "
        "pairwise: score it beside the reference model's answer, in both orders",
    )
    study_score.add_argument(
        "--template-file",
        metavar="PATH",
        help="the judge's prompt, kept with the study: {question}, {reference} and {answer} "
        "(reference), or {question}, {answer_1} and {answer_2} (pairwise); see lineup.judge",
    )
    study_score.add_argument(
        "--judge-max-tokens",
        type=MAX_TOKENS,
        metavar="N",
        help=f"the judge's output token limit per request (default {JUDGE_MAX_TOKENS})",
    )
    study_score.add_argument(
        "--judge-timeout",
        type=TIMEOUT_S,
        metavar="S",
        help=f"seconds the judge may take per request (default {JUDGE_TIMEOUT_S:g})",
    )
    study_score.add_argument("--json", action="store_true")
    study_score.set_defaults(func=cmd_study_score)
    study_list = study.add_parser("list", help="the studies, newest first")
    study_list.add_argument("--json", action="store_true")
    study_list.set_defaults(func=cmd_study_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    app: Lineup | None = None
    try:
        app = Lineup.open()
        code = int(args.func(app, args))
        sys.stdout.flush()  # a reader that left shows here, not as Python exits
        return code
    except BAD_INPUT_ERRORS as exc:
        _err(f"error: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and _reader_gone():
            return _end_quietly()
        if os.environ.get(DEBUG_ENV):
            raise
        secrets = app.secrets() if app is not None else []
        _err(
            f"error: this is a bug in Lineup, not a problem with your input: "
            f"{type(exc).__name__}: {redact(str(exc), secrets)}\n"
            f"Run again with {DEBUG_ENV}=1 for the traceback, and please report it."
        )
        return EXIT_BUG


def _reader_gone() -> bool:
    """Whether whoever reads Lineup's output (stdout or stderr) has closed the pipe, as
    `head -1` does once it has its line. A broken pipe of Lineup's own (to a subprocess or a
    server) is not that: it is reported."""
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
            continue
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
        # POLLERR: a pipe with no reader left; POLLHUP: a socket or terminal whose peer left.
        if any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
            return True
    return False


def _end_quietly() -> int:
    """End as well-behaved Unix commands do when their reader leaves: no message, the status of
    SIGPIPE. What is still buffered goes nowhere instead of failing again as Python exits (the
    Python docs' recipe; setting SIGPIPE to its default would also kill Lineup when a socket
    to a model server breaks: https://docs.python.org/3/library/signal.html#note-on-sigpipe).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
    os.close(devnull)
    return EXIT_READER_GONE
