"""The shipped six-sentence voice set as a study, end to end in the CLI: two espeak-ng voices,
two samples each, every clip transcribed by Whisper tiny.en (offline), and the voice table
checked against the stored clips."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

# Two voices x six sentences x two samples, each clip transcribed by Whisper, in the CLI: 53 s
# under a load of 5 on 2 cores.
pytestmark = pytest.mark.timeout(300)

REPO_DIR = Path(__file__).resolve().parents[2]
VOICE_SET = REPO_DIR / "sample_media" / "sets" / "voice-sentences"


def lineup(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LINEUP_HOME": str(home)}
    env.pop("LINEUP_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "lineup", *args],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_voice_set_runs_as_a_study_and_its_table_sums_its_clips(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert lineup(home, "sets", "import", str(VOICE_SET)).returncode == 0
    voices = ["espeak:en-us", "espeak:en-us+f3"]
    ran = lineup(
        home,
        "study", "run", "--set", "voice-sentences", "--samples", "2", "--seed", "5",
        "--voice", voices[0], "--voice", voices[1], "--json",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    state = json.loads(ran.stdout)
    assert (state["status"], state["done"], state["total"], state["errors"]) == (
        "done",
        24,
        24,
        0,
    )
    shown = lineup(home, "study", "show", str(state["study_id"]), "--json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["kind"] == "tts" and [m["model"] for m in summary["models"]] == voices

    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{home / 'lineup.db'}")
    with engine.connect() as connection:
        clips = connection.execute(
            text(
                "SELECT model_spec, wer, word_errors, reference_words, gen_s, stt_s, rtf, "
                "transcript FROM generations WHERE study_id = :s AND status = 'ok'"
            ),
            {"s": state["study_id"]},
        ).all()
    assert len(clips) == 24
    for entry in summary["models"]:
        mine = [c for c in clips if c.model_spec == entry["model"]]
        assert entry["requests"] == entry["ok"] == 12
        assert all(c.transcript and c.stt_s and c.stt_s > 0 for c in mine)
        assert entry["mean_wer"] == pytest.approx(statistics.mean(c.wer for c in mine))
        assert entry["corpus_wer"] == pytest.approx(
            sum(c.word_errors for c in mine) / sum(c.reference_words for c in mine)
        )
        assert entry["gen_s_per_sentence"] == pytest.approx(statistics.mean(c.gen_s for c in mine))
        assert entry["stt_s_per_sentence"] == pytest.approx(statistics.mean(c.stt_s for c in mine))
        assert entry["rtf"] == pytest.approx(statistics.median(c.rtf for c in mine))
        # espeak-ng is intelligible to Whisper: most words come back.
        assert entry["corpus_wer"] < 0.5
