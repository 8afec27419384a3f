"""Aggregates of TTS clips per voice: intelligibility (WER, CER), speed, memory and labels.

Definitions (one place for each):

- n: clips of the voice with status `ok`; no figure below counts a clip in another state.
  Those are counted apart: `failed` (every final state but `ok`) and one count per state
  (`errors`, `timeouts`, `cancelled`, `interrupted`; lineup.metrics.failure_counts).
- mean_wer, mean_cer: the mean of the per-clip figures over scored ok clips.
- wer_std: the sample standard deviation (ddof=1) of those per-clip WERs, the spread over
  samples and sentences; None with fewer than two scored clips.
- corpus_wer: total word errors / total reference words over the same clips, by jiwer over
  all (sentence, transcript) pairs at once (lineup.scoring.corpus_wer). Long sentences
  weigh more here than in mean_wer.
- median_rtf, median_gen_s: medians over ok clips.
- peak_mem_mb: the largest per-clip peak (see lineup.tts_runner for what a clip's peak is).
- pct_relevant: 100 * relevant / labeled, over the latest label per (ok clip, annotator)
  (lineup.metrics.counted_labels and label_counts, shared with the VLM leaderboard).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from lineup.metrics import counted_labels, failure_counts, label_counts, median_or_none
from lineup.models import OK
from lineup.scoring import corpus_wer
from lineup.store import Store

TTS_COLUMNS = [
    "voice",
    "n",
    "mean_wer",
    "mean_cer",
    "median_rtf",
    "median_gen_s",
    "peak_mem_mb",
    "pct_relevant",
]
CLIP_COLUMNS = ["status", "input_text", "transcript", "wer", "cer", "rtf", "gen_s", "peak_mem_mb"]


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def voice_figures(clips: pd.DataFrame) -> dict[str, Any]:
    """The figures of one voice's clips (columns of CLIP_COLUMNS); see the module docstring."""
    ok = clips[clips["status"] == OK]
    scored = ok[ok["wer"].notna() & ok["transcript"].notna()]
    return {
        "n": int(len(ok)),
        **failure_counts(clips["status"]),
        "scored": int(len(scored)),
        "mean_wer": _float(scored["wer"].mean()) if len(scored) else None,
        "wer_std": _float(scored["wer"].std(ddof=1)) if len(scored) >= 2 else None,
        "corpus_wer": corpus_wer(list(scored["input_text"]), list(scored["transcript"]))
        if len(scored)
        else None,
        "mean_cer": _float(scored["cer"].mean()) if len(scored) else None,
        "median_rtf": median_or_none(ok["rtf"]),
        "median_gen_s": median_or_none(ok["gen_s"]),
        "peak_mem_mb": _float(ok["peak_mem_mb"].max()) if ok["peak_mem_mb"].notna().any() else None,
    }


def tts_leaderboard(store: Store) -> list[dict[str, Any]]:
    """One row per voice over every stored TTS clip, best mean WER first."""
    generations = store.generations_frame("tts")
    labels = counted_labels(store.labels_frame("tts"), generations)
    rows = []
    for voice in sorted(generations["model_spec"].unique()) if not generations.empty else []:
        mine = generations[generations["model_spec"] == voice]
        counts = label_counts(labels, voice)
        rows.append(
            {
                "voice": voice,
                **voice_figures(mine),
                "labeled": counts["n"],
                "relevant": counts["relevant"],
                "partial": counts["partial"],
                "irrelevant": counts["irrelevant"],
                "pct_relevant": counts["pct_relevant"],
                "pct_relevant_ci_low": counts["pct_relevant_ci_low"],
                "pct_relevant_ci_high": counts["pct_relevant_ci_high"],
            }
        )
    rows.sort(key=lambda r: (r["mean_wer"] is None, r["mean_wer"] or 0.0, r["voice"]))
    return rows


def summarize_clips(results: Iterable[Any]) -> list[dict[str, Any]]:
    """The same figures per voice for the clips of one comparison (lineup.tts_runner results),
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
