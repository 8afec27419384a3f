"""Aggregates of TTS clips per voice: intelligibility (WER, CER), speed, memory and labels.

Definitions (one place for each):

- answers: clips of the voice with status `ok` (`n` in `leaderboard --json`, a key that
  never changes meaning); no figure below counts a clip in another state. Those are counted apart:
  `failed` (every final state but `ok`) and one count per state (`errors`, `timeouts`,
  `cancelled`, `interrupted`; lineup.measure.figures.failure_counts).
- scored: the ok clips with a WER and a transcript.
- mean_wer, mean_cer: the mean of the per-clip figures over scored clips (a scored clip
  without a CER does not count for mean_cer).
- wer_std: the sample standard deviation (ddof=1) of those per-clip WERs, the spread over
  samples and sentences; None with fewer than two scored clips.
- corpus_wer: total word errors / total reference words over the same clips (jiwer's WER
  over all (sentence, transcript) pairs at once). Each clip stores both counts when it is
  scored (lineup.measure.wer), so the database sums them. Long sentences weigh more here than
  in mean_wer.
- median_rtf, median_gen_s: medians over ok clips that have the figure.
- peak_mem_mb: the largest per-clip peak (see lineup.run.tts for what a clip's peak is).
- labels: the latest label per (ok clip, annotator); pct_relevant: 100 * relevant / labels
  (lineup.measure.figures.label_figures, shared with the VLM leaderboard).

The leaderboard reads these from the database (lineup.store, "Frames for the metrics");
`voice_figures` computes the same from the clips of one comparison, with the same functions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from lineup.core import OK
from lineup.measure.figures import failure_counts, median_or_none
from lineup.measure.wer import normalize

CLIP_COLUMNS = ["status", "input_text", "transcript", "wer", "cer", "rtf", "gen_s", "peak_mem_mb"]


@lru_cache(maxsize=4096)
def reference_words(sentence: str) -> int:
    """The words of a sentence once normalised as WER normalises it (lineup.measure.wer)."""
    return len(normalize(sentence).split())


def wer_figures(scored: ScoredClips) -> dict[str, Any]:
    """scored, mean_wer, wer_std, corpus_wer and mean_cer from the sums over scored clips."""
    n = scored.n
    words, errors = scored.reference_words, scored.word_errors
    return {
        "scored": n,
        "mean_wer": scored.wer_sum / n if n else None,
        "wer_std": math.sqrt(scored.wer_squares / (n - 1))
        if n >= 2 and scored.wer_squares is not None
        else None,
        "corpus_wer": errors / words if words else None,
        "mean_cer": scored.cer_sum / scored.cer_n if scored.cer_n else None,
    }


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def voice_figures(clips: pd.DataFrame) -> dict[str, Any]:
    """The figures of one voice's clips (columns of CLIP_COLUMNS); see the module docstring."""
    records = clips.to_dict("records")
    ok = [c for c in records if c["status"] == OK]
    scored = [c for c in ok if _present(c["wer"]) and _present(c["transcript"])]
    wers = [float(c["wer"]) for c in scored]
    cers = [float(c["cer"]) for c in scored if _present(c["cer"])]
    mean_wer = sum(wers) / len(wers) if wers else 0.0
    words = [reference_words(c["input_text"]) for c in scored]
    peaks = [float(c["peak_mem_mb"]) for c in ok if _present(c["peak_mem_mb"])]
    sums = ScoredClips(
        n=len(wers),
        wer_sum=sum(wers),
        wer_squares=sum((w - mean_wer) ** 2 for w in wers) if wers else None,
        cer_n=len(cers),
        cer_sum=sum(cers),
        word_errors=sum(float(c["wer"]) * n for c, n in zip(scored, words, strict=True)),
        reference_words=sum(words),
    )
    return {
        "answers": len(ok),
        **failure_counts(Counter(c["status"] for c in records)),
        **wer_figures(sums),
        "median_rtf": median_or_none(c["rtf"] for c in ok),
        "median_gen_s": median_or_none(c["gen_s"] for c in ok),
        "peak_mem_mb": max(peaks) if peaks else None,
    }


def summarize_clips(results: Iterable[Any]) -> list[dict[str, Any]]:
    """The same figures per voice for the clips of one comparison (lineup.run.tts results),
    in the order the voices were given: the mean and spread over its K samples."""
    records = [
        {
            "voice": r.voice,
            "status": r.status,
            "input_text": r.text,
            "transcript": r.transcript,
            "wer": r.wer,
            "cer": r.cer,
            "rtf": r.rtf,
            "gen_s": r.gen_s,
            "peak_mem_mb": r.peak_mem_mb,
        }
        for r in results
    ]
    if not records:
        return []
    frame = pd.DataFrame(records, columns=["voice", *CLIP_COLUMNS])
    return [
        {"voice": voice, **voice_figures(frame[frame["voice"] == voice])}
        for voice in dict.fromkeys(frame["voice"])
    ]


@dataclass(frozen=True)
class ScoredClips:
    """Sums over a voice's scored clips (Store.scored_clips): `wer_squares` is the sum of
    squared deviations from their mean WER; `word_errors` and `reference_words` are the sums
    of each clip's (lineup.measure.wer)."""

    n: int
    wer_sum: float
    wer_squares: float | None
    cer_n: int
    cer_sum: float
    word_errors: float
    reference_words: int

    @classmethod
    def from_sums(
        cls,
        n: Any,
        wer_sum: Any,
        wer_square_sum: Any,
        cer_n: Any,
        cer_sum: Any,
        errors: Any,
        words: Any,
    ) -> ScoredClips:
        """From the database's COUNT and SUMs over scored clips (NULL sums over no row)."""
        if not n:
            return cls(0, 0.0, None, 0, 0.0, 0.0, 0)
        wer_sum = float(wer_sum or 0.0)
        # The sum of squared deviations from the mean, from the sum of squares (one pass).
        squares = max(float(wer_square_sum or 0.0) - wer_sum * wer_sum / n, 0.0)
        return cls(
            int(n),
            wer_sum,
            squares,
            int(cer_n),
            float(cer_sum or 0.0),
            float(errors or 0),
            int(words or 0),
        )
