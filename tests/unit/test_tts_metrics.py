"""The TTS leaderboard against figures computed independently (numpy, jiwer) from the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import numpy as np
import pytest

from lineup.cli import main
from lineup.leaderboard.boards import TTS_COLUMNS, tts_leaderboard
from lineup.measure.voices import reference_words, summarize_clips
from lineup.measure.wer import score
from lineup.store.database import Store
from lineup.store.tables import Label
from tests.builders import fill_leaderboard_store, word_counts
from tests.expected import assert_same_rows, expected_tts

SENTENCE_13 = "She sold 3,500 tickets on the 21st of June."
# (voice, sentence, transcript, wer, cer, rtf, gen_s, peak_mem_mb, status)
CLIPS = [
    (
        "piper:a",
        "the cat sat on the mat",
        "the cat sat on the mat",
        0.0,
        0.0,
        0.10,
        0.3,
        40.0,
        "ok",
    ),
    (
        "piper:a",
        "the cat sat on the mat",
        "the cat sat on a mat",
        1 / 6,
        3 / 22,
        0.12,
        0.4,
        55.5,
        "ok",
    ),
    ("piper:a", "a dog", "a dog barks loudly here", 1.5, 1.2, 0.20, 0.2, 38.0, "ok"),
    ("piper:a", "a dog", None, None, None, None, None, None, "error"),
    ("espeak:b", "the cat sat on the mat", "the bat sat", 4 / 6, 0.5, 0.01, 0.02, None, "ok"),
    ("espeak:b", "a dog", "a dog", 0.0, 0.0, 0.02, 0.01, None, "ok"),
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'lineup.db'}")
    runs: dict[str, int] = {}
    for voice, sentence, transcript, wer, cer, rtf, gen_s, peak, status in CLIPS:
        run_id = runs.setdefault(sentence, store.create_run("tts", sentence))
        generation_id = store.add_generation(run_id, voice)
        store.finish_generation(
            generation_id,
            status,
            transcript=transcript,
            wer=wer,
            **word_counts(sentence, wer),
            cer=cer,
            rtf=rtf,
            gen_s=gen_s,
            peak_mem_mb=peak,
            error=None if status == "ok" else "boom",
        )
    return store


def _label(store: Store, voice: str, index: int, relevance: str, annotator: str) -> None:
    ids = [
        g.id for run in store.latest_runs("tts") for g in run.generations if g.model_spec == voice
    ]
    store.add_label(sorted(ids)[index], relevance, annotator=annotator)


def test_leaderboard_figures_match_an_independent_computation(store: Store) -> None:
    rows = {row["voice"]: row for row in tts_leaderboard(store)}
    for voice in ("piper:a", "espeak:b"):
        ok = [c for c in CLIPS if c[0] == voice and c[8] == "ok"]
        row = rows[voice]
        assert row["answers"] == len(ok)
        assert row["mean_wer"] == pytest.approx(np.mean([c[3] for c in ok]))
        assert row["wer_std"] == pytest.approx(np.std([c[3] for c in ok], ddof=1))
        assert row["mean_cer"] == pytest.approx(np.mean([c[4] for c in ok]))
        assert row["median_rtf"] == pytest.approx(np.median([c[5] for c in ok]))
        assert row["median_gen_s"] == pytest.approx(np.median([c[6] for c in ok]))
        assert row["corpus_wer"] == pytest.approx(jiwer.wer([c[1] for c in ok], [c[2] for c in ok]))
    assert rows["piper:a"]["peak_mem_mb"] == 55.5
    assert (rows["piper:a"]["failed"], rows["piper:a"]["errors"]) == (1, 1)
    assert rows["espeak:b"]["peak_mem_mb"] is None
    # piper:a: (0 + 1 + 3) errors over 6 + 6 + 2 reference words; the mean of clips differs.
    assert rows["piper:a"]["corpus_wer"] == pytest.approx(4 / 14)
    assert rows["piper:a"]["mean_wer"] == pytest.approx((0 + 1 / 6 + 1.5) / 3)


def test_leaderboard_puts_the_lowest_mean_wer_first(store: Store) -> None:
    assert [row["voice"] for row in tts_leaderboard(store)] == ["espeak:b", "piper:a"]


def test_pct_relevant_counts_each_annotators_latest_label(store: Store) -> None:
    _label(store, "piper:a", 0, "irrelevant", "ann")
    _label(store, "piper:a", 0, "relevant", "ann")  # supersedes ann's first label
    _label(store, "piper:a", 1, "partial", "ann")
    _label(store, "piper:a", 0, "relevant", "bob")
    row = next(r for r in tts_leaderboard(store) if r["voice"] == "piper:a")
    assert (row["labels"], row["relevant"], row["partial"]) == (3, 2, 1)
    assert row["pct_relevant"] == pytest.approx(100 * 2 / 3)
    assert (
        next(r for r in tts_leaderboard(store) if r["voice"] == "espeak:b")["pct_relevant"] is None
    )


def test_a_failed_clip_is_neither_labeled_nor_scored_nor_timed(store: Store) -> None:
    run_id = store.create_run("tts", "a dog")
    clips = []
    for status in ["timeout", "interrupted"]:
        clip = store.add_generation(run_id, "piper:a")
        store.finish_generation(
            clip,
            status,
            transcript="a dog",
            wer=0.0,
            **word_counts("a dog", 0.0),
            cer=0.0,
            rtf=50.0,
            gen_s=60.0,
            error="x",
        )
        clips.append(clip)
    # Labeled by an older build (the store refuses such labels now): the figures filter by
    # state themselves.
    with store.session() as session:
        for clip in clips:
            session.add(Label(generation_id=clip, annotator="ann", relevance="relevant"))

    row = next(r for r in tts_leaderboard(store) if r["voice"] == "piper:a")
    ok = [c for c in CLIPS if c[0] == "piper:a" and c[8] == "ok"]
    assert (row["labels"], row["pct_relevant"]) == (0, None)
    assert row["answers"] == len(ok)
    assert row["mean_wer"] == pytest.approx(np.mean([c[3] for c in ok]))
    assert row["median_rtf"] == pytest.approx(np.median([c[5] for c in ok]))
    assert row["median_gen_s"] == pytest.approx(np.median([c[6] for c in ok]))
    assert (row["failed"], row["errors"], row["timeouts"], row["interrupted"]) == (3, 1, 1, 1)


def test_summarize_clips_gives_mean_and_spread_per_voice_in_given_order() -> None:
    class Clip:
        def __init__(self, voice: str, wer: float, status: str = "ok") -> None:
            self.voice, self.status, self.text, self.transcript = voice, status, "a b", "a b"
            self.wer, self.cer, self.rtf, self.gen_s, self.peak_mem_mb = wer, wer, 0.1, 0.2, None

    summary = summarize_clips(
        [
            Clip("z:voice", 0.5),
            Clip("z:voice", 1.5),
            Clip("a:voice", 0.0),
            Clip("a:voice", 0, "error"),
        ]
    )
    assert [s["voice"] for s in summary] == ["z:voice", "a:voice"]
    assert summary[0]["mean_wer"] == 1.0
    assert summary[0]["wer_std"] == pytest.approx(np.std([0.5, 1.5], ddof=1))
    assert (summary[1]["answers"], summary[1]["errors"], summary[1]["wer_std"]) == (1, 1, None)


def test_cli_leaderboard_tts_json_prints_the_documented_columns(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LINEUP_HOME", str(tmp_path))
    monkeypatch.delenv("LINEUP_DATABASE_URL", raising=False)
    assert main(["leaderboard", "--kind", "tts", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "tts"
    assert [list(row) for row in document["rows"]] == [TTS_COLUMNS, TTS_COLUMNS]
    assert document["rows"][0]["voice"] == "espeak:b"
    assert document["rows"][0]["n"] == 2
    assert document["rows"][0]["mean_wer"] == pytest.approx(1 / 3)


def test_every_voice_figure_matches_plain_python_and_jiwer_over_the_inserted_rows(
    lineup_home: Path,
) -> None:
    store = Store(f"sqlite:///{lineup_home / 'random.db'}")
    inserted = fill_leaderboard_store(store, seed=11)
    expected = expected_tts(inserted)
    assert_same_rows(tts_leaderboard(store), expected)
    voices = {row["voice"]: row for row in expected}
    # A WER without its transcript is not a scored clip; only the in-process voice has a peak.
    assert voices["v:in-process"]["peak_mem_mb"] is not None
    assert voices["v:a"]["peak_mem_mb"] is None
    assert any(row["wer_std"] is not None for row in expected)


@pytest.mark.parametrize(
    "sentence",
    ["She sold 3,500 tickets on the 21st of June.", "Turn left at the second light.", "Оплата"],
)
def test_reference_words_are_the_words_jiwer_scores_against(sentence: str) -> None:
    # The corpus WER weighs each clip's WER by these words: 3,500 is read "three thousand five
    # hundred" and 21st "twenty-first", so the first sentence has 13 words, not 9.
    assert reference_words(sentence) == score(sentence, sentence).reference_words
    assert reference_words(SENTENCE_13) == 13


def test_summary_of_one_comparison_matches_the_stored_leaderboard(store: Store) -> None:
    class Clip:
        def __init__(self, row: tuple) -> None:
            voice, sentence, transcript, wer, cer, rtf, gen_s, peak, status = row
            self.voice, self.text, self.transcript, self.status = (
                voice,
                sentence,
                transcript,
                status,
            )
            self.wer, self.cer, self.rtf, self.gen_s, self.peak_mem_mb = wer, cer, rtf, gen_s, peak

    summary = {s["voice"]: s for s in summarize_clips(Clip(row) for row in CLIPS)}
    for row in tts_leaderboard(store):
        for key, value in summary[row["voice"]].items():
            assert row[key] == pytest.approx(value), key
