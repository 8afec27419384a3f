"""python -m lineup tts: sentences spoken by several voices, each clip stored and scored (WER
against a speech-to-text model)."""

from __future__ import annotations

import argparse

from lineup.app import (
    DEFAULT_STT,
    MAX_SEED,
    MAX_SENTENCE_CHARS,
    Lineup,
    _,
    card_line,
    grouped,
    machine_line,
    ngettext,
    said_stored,
    state_word,
)
from lineup.cli.arguments import SAMPLES, SEED, TIMEOUT_S, Commands, add_timing
from lineup.cli.output import EXIT_OK, emit, energy_line, err, table


def register(commands: Commands) -> None:
    """The `tts` command."""
    tts = commands.add_parser("tts", help=_("speak sentences with several voices, score each clip"))
    tts.add_argument(
        "--text",
        action="append",
        required=True,
        help=_("repeat for several sentences, each at most {count} characters").format(
            count=grouped(MAX_SENTENCE_CHARS)
        ),
    )
    tts.add_argument("--voice", action="append", required=True, help="KIND:MODEL[#PRESET][@URL]")
    tts.add_argument("--samples", type=SAMPLES, default=1, help=_("clips per voice and sentence"))
    tts.add_argument(
        "--stt",
        default=DEFAULT_STT,
        help=_(
            "speech-to-text for WER: `auto` (tiny.en for English, base for other languages), "
            "a model, or `none`"
        ),
    )
    tts.add_argument(
        "--seed",
        type=SEED,
        help=_("seed of the first sample (sample k: seed + k), 0 to {maximum}").format(
            maximum=MAX_SEED
        ),
    )
    tts.add_argument(
        "--timeout", type=TIMEOUT_S, help=_("seconds per clip (default LINEUP_MODEL_TIMEOUT_S)")
    )
    add_timing(tts)
    tts.add_argument("--json", action="store_true")
    tts.set_defaults(func=cmd_tts)


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
    "concurrent_max",
    "concurrent_endpoint_max",
    "cold",
    "energy_j",
    "energy_source",
    "gpu_mem_mb",
]


def cmd_tts(app: Lineup, args: argparse.Namespace) -> int:
    texts = [text for text in args.text if text.strip()]
    stt = None if args.stt.strip().lower() == "none" else args.stt
    warnings = app.compare.language_warnings(texts, args.voice, stt)
    comparison = app.compare.tts(  # checks the sentences, seed, voices and STT model
        texts=texts,
        voices=args.voice,
        samples=args.samples,
        stt=stt,
        seed=args.seed,
        timeout_s=args.timeout,
        timing=args.timing,
    )
    # After the checks: a refused STT model is said once, as the error.
    for warning in warnings:
        err(_("warning: {message}").format(message=warning))
    clips = len(comparison.clips)
    err(
        ngettext("run {run_ids}: {count} clip", "run {run_ids}: {count} clips", clips).format(
            run_ids=", ".join(map(str, comparison.run_ids)), count=clips
        )
    )
    for event in comparison.iter_events():
        if event.result is not None:
            r = event.result
            if r.status == "ok":
                line = _("  done   {voice} sample {sample} (generation {generation_id})")
            else:
                line = _("  failed {voice} sample {sample} (generation {generation_id}): {error}")
            err(
                line.format(
                    voice=r.voice,
                    sample=r.sample + 1,
                    generation_id=r.generation_id,
                    error=said_stored(r.error, r.error_said),
                )
            )
    comparison.settle()  # each voice asked about itself, after the clips (bounded)
    said_errors = {r.generation_id: r.error_said for r in comparison.results()}
    results = [
        {name: getattr(r, name) for name in TTS_RESULT_FIELDS}
        | {"provenance": comparison.provenance_of(r.voice)}
        for r in comparison.results()
    ]
    machine = app.compare.machine(comparison.run_id)
    if args.json:
        emit(
            {
                "run_id": comparison.run_id,
                "run_ids": comparison.run_ids,
                "timing": args.timing,
                "machine": machine,
                "warnings": warnings,
                "results": results,
            }
        )
        return EXIT_OK
    print(_("machine: {machine}").format(machine=machine_line(machine)))
    for voice in dict.fromkeys(r["voice"] for r in results):
        print(f"{voice}: {card_line(comparison.provenance_of(voice))}")
    print()
    for result in results:
        print(
            _("== {voice} sample {sample} [{status}] generation {generation_id}").format(
                voice=result["voice"],
                sample=result["sample"] + 1,
                status=state_word(result["status"]),
                generation_id=result["generation_id"],
            )
        )
        if result["status"] == "ok":
            heard = result["transcript"]
            print(_("heard: {transcript}").format(transcript=heard) if heard is not None else "")
            print(
                table(
                    [result],
                    ["wer", "cer", "gen_s", "audio_s", "rtf", "peak_mem_mb", "concurrent_max"],
                )
            )
            print(energy_line(result))
        else:
            error = said_stored(result["error"], said_errors.get(result["generation_id"]))
            print(_("error: {message}").format(message=error))
        print(_("audio: {path}").format(path=result["audio_path"] or "-"))
        print()
    summary = app.compare.clip_summary(comparison.results())
    print(
        table(
            summary,
            ["voice", "answers", "mean_wer", "wer_std", "mean_cer", "median_rtf", "median_gen_s"],
        )
    )
    return EXIT_OK
