"""python -m lineup vlm: one question (and image) asked of several vision-language models at
once, each answer stored and timed."""

from __future__ import annotations

import argparse
from typing import Any

from lineup.app import (
    MAX_QUESTION_CHARS,
    MAX_SEED,
    MAX_SYSTEM_PROMPT_CHARS,
    GenerationResult,
    Lineup,
    MediaError,
    _,
    card_line,
    grouped,
    machine_line,
    ngettext,
    said_stored,
    state_word,
)
from lineup.cli.arguments import MAX_TOKENS, SEED, TEMPERATURE, TIMEOUT_S, Commands, add_timing
from lineup.cli.output import (
    EXIT_OK,
    BadInput,
    emit,
    energy_line,
    err,
    hardware_fields,
    table,
    terminal_safe,
)
from lineup.cli.progress import follow_comparison


def register(commands: Commands) -> None:
    """The `vlm` command."""
    vlm = commands.add_parser("vlm", help=_("ask several vision-language models at once"))
    vlm.add_argument("--image", help=_("PNG, JPEG, WebP or GIF"))
    vlm.add_argument(
        "--question",
        required=True,
        help=_("at most {count} characters").format(count=grouped(MAX_QUESTION_CHARS)),
    )
    vlm.add_argument("--model", action="append", required=True, help="KIND:MODEL[#PRESET][@URL]")
    vlm.add_argument(
        "--system",
        help=_("at most {count} characters").format(count=grouped(MAX_SYSTEM_PROMPT_CHARS)),
    )
    vlm.add_argument("--temperature", type=TEMPERATURE, help=_("0 or more"))
    vlm.add_argument("--max-tokens", type=MAX_TOKENS, help=_("1 or more"))
    vlm.add_argument("--seed", type=SEED, help=_("0 to {maximum}").format(maximum=MAX_SEED))
    vlm.add_argument(
        "--timeout", type=TIMEOUT_S, help=_("seconds per model (default LINEUP_MODEL_TIMEOUT_S)")
    )
    add_timing(vlm)
    vlm.add_argument("--json", action="store_true")
    vlm.set_defaults(func=cmd_vlm)


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
        "concurrent_max": result.concurrent_max,
        "concurrent_endpoint_max": result.concurrent_endpoint_max,
        # True: the answer included a model load; null: nothing says (lineup.measure.timing).
        "cold": timings.cold if timings else None,
        **hardware_fields(result.hardware),
    }


def cmd_vlm(app: Lineup, args: argparse.Namespace) -> int:
    image = None
    if args.image is not None:
        try:
            image = app.compare.image_file(args.image)
        except MediaError as exc:
            raise BadInput(_("{path}: {problem}").format(path=args.image, problem=exc)) from exc
    comparison = app.compare.vlm(  # checks the question, system prompt and models
        question=args.question,
        models=args.model,
        image=image,
        system=args.system,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        seed=args.seed,
        timeout_s=args.timeout,
        timing=args.timing,
    )
    err(
        ngettext(
            "run {run_id}: {count} model", "run {run_id}: {count} models", len(args.model)
        ).format(run_id=comparison.run_id, count=len(args.model))
    )
    if args.json:
        for event in comparison.iter_events():
            if event.result is not None:
                r = event.result
                if r.status == "ok":
                    err(
                        _("  done   {model} (generation {generation_id})").format(
                            model=r.model, generation_id=r.generation_id
                        )
                    )
                else:
                    err(
                        _("  failed {model} (generation {generation_id}): {error}").format(
                            model=r.model,
                            generation_id=r.generation_id,
                            error=terminal_safe(said_stored(r.error, r.error_said) or ""),
                        )
                    )
    else:
        follow_comparison(comparison)  # each model's live figures while it streams
    by_id = {r.generation_id: r for r in comparison.results()}
    comparison.settle()  # each model asked about itself, after the answers (bounded)
    results = [
        _vlm_result(by_id[job.generation_id])
        | {"provenance": comparison.provenance_of(job.model.name)}
        for job in comparison.jobs
    ]
    machine = app.compare.machine(comparison.run_id)
    run = app.compare.run(comparison.run_id)
    said = app.compare.differences(
        run.generations if run else [], app.compare.provenance(comparison.run_id)
    )
    if args.json:
        emit(
            {
                "run_id": comparison.run_id,
                "timing": args.timing,
                "machine": machine,
                "differences": said,
                "results": results,
            }
        )
        return EXIT_OK
    print(_("machine: {machine}").format(machine=machine_line(machine)))
    for sentence in said:
        print(_("note: {sentence}").format(sentence=sentence))
    print()
    for result in results:
        print(
            _("== {model} [{status}] generation {generation_id}").format(
                model=result["model"],
                status=state_word(result["status"]),
                generation_id=result["generation_id"],
            )
        )
        if result["status"] == "ok":
            print(result["text"])
        else:
            error = said_stored(result["error"], by_id[result["generation_id"]].error_said)
            print(_("error: {message}").format(message=error))
        if result["status"] == "ok":
            print(
                table(
                    [result],
                    [
                        "ttft_s",
                        "total_s",
                        "output_tokens",
                        "tokens_per_s",
                        "tokens_source",
                        "cold",
                        "concurrent_max",
                    ],
                )
            )
            print(energy_line(result))
        print(_("provenance: {card}").format(card=card_line(result["provenance"])))
        print()
    return EXIT_OK
