"""Intelligibility and speed of the offline voices: WER (Whisper tiny.en round trip), RTF and
generation seconds per sentence, through the same runner the app and the CLI use.

Usage: .venv/bin/python bench/tts_offline.py [--samples K] [--voice SPEC ...]
Prints a Markdown report on stdout (machine, load, per-clip table, per-voice summary).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import registry  # noqa: E402
from lineup.catalog import BackendsConfig, resolve  # noqa: E402
from lineup.measure import summarize_clips  # noqa: E402
from lineup.run import DEFAULT_STT, start_tts_comparison  # noqa: E402
from lineup.store import (
    MediaStore,  # noqa: E402
    Store,  # noqa: E402
)

VOICES = ["piper:en_US-joe-medium#default", "espeak:en-us", "espeak:en-us+f3"]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Our meeting starts at 10 o'clock and should take about 45 minutes.",
    "She sold 3,500 tickets on the 21st of June, more than twice last year's total.",
]


def _cell(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--voice", action="append", help="default: the three offline voices")
    args = parser.parse_args()
    voices = args.voice or VOICES
    config = BackendsConfig()  # the specs as typed, no backends.toml

    # Loads are timed on their own: they are not part of any clip's gen_s.
    load_s: dict[str, float] = {}
    for spec in [*voices, DEFAULT_STT]:
        started = time.perf_counter()
        registry.create_backend(spec)
        load_s[spec] = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as home:
        store = Store(f"sqlite:///{Path(home) / 'bench.db'}")
        started = time.perf_counter()
        comparison = start_tts_comparison(
            store,
            MediaStore(Path(home) / "media"),
            [resolve(voice, "tts", config) for voice in voices],
            SENTENCES,
            samples=args.samples,
            stt=resolve(DEFAULT_STT, "stt", config),
            seed=1,
        )
        results = comparison.wait()
        wall_s = time.perf_counter() - started

    load_1, load_5, _ = os.getloadavg()
    print(
        f"# Offline TTS voices: WER, RTF, generation time ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
    )
    print()
    print(
        f"Machine: `{platform.machine()}` (uname -m), {len(os.sched_getaffinity(0))} CPU "
        f"cores (nproc), "
        f"Python {platform.python_version()}; load average at the end {load_1:.1f} (1 min), "
        f"{load_5:.1f} (5 min). STT: `{DEFAULT_STT}` (bundled, int8). "
        f"{args.samples} sample(s) per voice and sentence; all voices ran concurrently "
        f"(in-process engines one at a time); wall time {wall_s:.1f} s."
    )
    print()
    print(
        "Model loads (once per process, not in gen_s): "
        + ", ".join(f"`{spec}` {seconds:.2f} s" for spec, seconds in load_s.items())
    )
    print()
    print("| voice | sentence | sample | WER | CER | gen_s | audio_s | RTF | peak_mem_mb | heard |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: (voices.index(r.voice), r.sentence_index, r.sample)):
        heard = (r.transcript or r.error or "").replace("|", "/")
        print(
            f"| `{r.voice}` | {r.sentence_index + 1} | {r.sample + 1} | {_cell(r.wer)} | "
            f"{_cell(r.cer)} | {_cell(r.gen_s)} | {_cell(r.audio_s, 2)} | {_cell(r.rtf)} | "
            f"{_cell(r.peak_mem_mb, 1)} | {heard} |"
        )
    print()
    print(
        "| voice | clips | mean WER | WER std | corpus WER | mean CER | median RTF | median gen_s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in summarize_clips(results):
        print(
            f"| `{row['voice']}` | {row['n']} | {_cell(row['mean_wer'])} | "
            f"{_cell(row['wer_std'])} | {_cell(row['corpus_wer'])} | {_cell(row['mean_cer'])} | "
            f"{_cell(row['median_rtf'])} | {_cell(row['median_gen_s'])} |"
        )
    print()
    print("Sentences:")
    for index, sentence in enumerate(SENTENCES, 1):
        print(f"{index}. {sentence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
