"""`python -m lineup tts` end to end in a subprocess, with espeak-ng voices, Whisper tiny.en and a
temporary LINEUP_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends.wav import from_wav_bytes

REPO_DIR = Path(__file__).resolve().parents[2]
RESULT_KEYS = {
    "generation_id",
    "voice",
    "sample",
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
    "cold",
    "energy_j",
    "energy_source",
    "gpu_mem_mb",
}


def lineup(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LINEUP_HOME": str(home)}
    env.pop("LINEUP_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "lineup", *args],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lineup-home")


@pytest.fixture(scope="module")
def tts_run(home: Path) -> dict:
    done = lineup(
        home,
        "tts",
        "--text",
        "Please call Stella and ask her to bring 3 red bags.",
        "--voice",
        "espeak:en-us",
        "--voice",
        "espeak:en-us+f3",
        "--voice",
        "espeak:xx-nowhere",
        "--samples",
        "2",
        "--seed",
        "9",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tts_json_has_one_scored_result_per_voice_and_sample(tts_run: dict, home: Path) -> None:
    results = tts_run["results"]
    assert isinstance(tts_run["run_id"], int)
    assert [(r["voice"], r["sample"], r["status"]) for r in results] == [
        ("espeak:en-us", 0, "ok"),
        ("espeak:en-us", 1, "ok"),
        ("espeak:en-us+f3", 0, "ok"),
        ("espeak:en-us+f3", 1, "ok"),
        ("espeak:xx-nowhere", 0, "error"),
        ("espeak:xx-nowhere", 1, "error"),
    ]
    for result in results:
        assert RESULT_KEYS <= set(result)
        # Voices say nothing about loads; no energy counter on this machine (n/a: null).
        assert result["cold"] is None
        assert result["energy_j"] is None or result["energy_source"]
    # What ran where: this machine (no GPU here), and each voice's engine and its version.
    machine = tts_run["machine"]
    assert machine["gpus"] == [] and machine["cores"] >= 1 and machine["memory_gb"] > 0
    card = results[0]["provenance"]
    assert card["engine"] == "espeak" and card["voice"] == "en-us"
    assert card["engine_version"].startswith("eSpeak NG text-to-speech")
    assert results[4]["provenance"]["reasons"]["probe"].startswith("not asked: the voice")
    for result in results[:4]:
        assert result["error"] is None
        assert result["sample_rate_hz"] == 22_050
        assert 1.5 < result["audio_s"] < 10
        assert result["rtf"] == pytest.approx(result["gen_s"] / result["audio_s"])
        assert result["peak_mem_mb"] is None  # a subprocess engine
        assert result["transcript"]
        assert 0 <= result["wer"] <= 1.0 and 0 <= result["cer"] <= 1.0
        audio_path = Path(result["audio_path"])
        assert audio_path.is_relative_to(home / "media")
        stored = from_wav_bytes(audio_path.read_bytes())
        assert stored.audio_s == pytest.approx(result["audio_s"])
    assert [r["seed"] for r in results[:2]] == [9, 10]
    assert "espeak-ng has no voice 'xx-nowhere'" in results[4]["error"]


def test_label_then_tts_leaderboard_shows_the_voice(tts_run: dict, home: Path) -> None:
    first = tts_run["results"][0]
    labeled = lineup(home, "label", str(first["generation_id"]), "--relevance", "relevant")
    assert labeled.returncode == 0, labeled.stderr
    board = lineup(home, "leaderboard", "--kind", "tts", "--json")
    assert board.returncode == 0, board.stderr
    rows = {row["voice"]: row for row in json.loads(board.stdout)["rows"]}
    assert rows["espeak:en-us"]["n"] == 2
    assert rows["espeak:en-us"]["pct_relevant"] == 100.0
    expected_wer = sum(r["wer"] for r in tts_run["results"][:2]) / 2
    assert rows["espeak:en-us"]["mean_wer"] == pytest.approx(expected_wer)
    assert rows["espeak:xx-nowhere"]["n"] == 0


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        ("en-us", "neither a spec"),
        ("nosuchkind:voice", "Unknown backend kind 'nosuchkind'"),
        ("ocr:eng", "is not a TTS backend"),
    ],
)
def test_bad_voice_spec_exits_2_before_running(home: Path, voice: str, message: str) -> None:
    done = lineup(home, "tts", "--text", "Hi", "--voice", voice, "--json")
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_bad_stt_spec_exits_2(home: Path) -> None:
    done = lineup(home, "tts", "--text", "Hi", "--voice", "espeak:en-us", "--stt", "espeak:en-us")
    assert done.returncode == 2
    assert "is not a STT backend" in done.stderr


def test_cyrillic_text_to_an_english_voice_warns_on_stderr_and_still_runs(home: Path) -> None:
    done = lineup(home, "tts", "--text", "Привет, как дела?", "--voice", "espeak:en-us", "--json")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    # The voice only: `auto` hears the Russian sentence with the multilingual Whisper.
    assert len(warnings) == 1
    assert "Cyrillic script (probably ru), but espeak:en-us speaks en" in warnings[0]
    document = json.loads(done.stdout)
    assert document["warnings"] == [w.removeprefix("warning: ") for w in warnings]
    assert document["results"][0]["status"] == "ok"
    assert isinstance(document["results"][0]["wer"], float)


def test_stt_none_skips_scoring(home: Path) -> None:
    done = lineup(
        home, "tts", "--text", "Hello.", "--voice", "espeak:en-us", "--stt", "none", "--json"
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["status"] == "ok" and result["audio_s"] > 0
    assert (result["transcript"], result["wer"], result["cer"]) == (None, None, None)
