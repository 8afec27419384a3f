"""Russian speech scored offline, end to end in the CLI: espeak-ng's Russian voices heard by the
multilingual Whisper base (chosen by itself, told the language), and an English-only model
refused for Russian sentences before anything is stored."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest
from num2words import num2words

# Eight clips transcribed by Whisper base in a subprocess: about a minute on 2 loaded cores.
pytestmark = pytest.mark.timeout(600)

REPO_DIR = Path(__file__).resolve().parents[2]
RUSSIAN_SET = REPO_DIR / "sample_media" / "sets" / "voice-sentences-ru" / "sentences.csv"
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
# The first two sentences of the shipped Russian set, normalised by hand: lower case, ё as е,
# numbers in words (num2words' masculine nominative), punctuation gone.
HAND_NORMALISED = {
    "Привет! Сегодня 10 градусов тепла.": "привет сегодня десять градусов тепла",
    "Вы ещё не получили заказ номер 4021?": (
        "вы еще не получили заказ номер четыре тысячи двадцать один"
    ),
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
        timeout=600,
        check=False,
    )


def _percent_word(number: int) -> str:
    """процент / процента / процентов, as Russian grammar has it (written out here, apart from
    lineup.measure.wer)."""
    if number % 10 == 1 and number % 100 != 11:
        return "процент"
    if number % 10 in (2, 3, 4) and number % 100 not in (12, 13, 14):
        return "процента"
    return "процентов"


def normalise_russian(text: str) -> str:
    """The test's own normalisation of a Whisper transcript: the rules of lineup.measure.wer,
    written again with plain string operations (integers and % only: Whisper's transcripts of
    these sentences hold no decimals or thousands separators)."""
    text = text.lower().replace("ё", "е").replace("\u0301", "")
    text = re.sub(r"(\d+)\s*%", lambda m: f"{m.group(1)} {_percent_word(int(m.group(1)))}", text)
    text = re.sub(r"\d+", lambda m: num2words(int(m.group()), lang="ru"), text)
    text = "".join(char if char.isalnum() or char.isspace() else " " for char in text)
    return " ".join(text.split())


def test_the_hand_normalised_references_agree_with_the_tests_normaliser() -> None:
    for sentence, normalised in HAND_NORMALISED.items():
        assert normalise_russian(sentence) == normalised


def test_a_russian_sentence_is_heard_by_whisper_base_told_it_is_russian(tmp_path: Path) -> None:
    """The issue's example: tiny.en used to store an invented English transcript and its WER."""
    home = tmp_path / "home"
    sentence = "Привет! Сегодня десять градусов тепла."
    done = lineup(home, "tts", "--text", sentence, "--voice", "espeak:ru", "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["status"] == "ok", result["error"]
    assert CYRILLIC.search(result["transcript"]), result["transcript"]
    expected = jiwer.wer(
        "привет сегодня десять градусов тепла", normalise_russian(result["transcript"])
    )
    assert result["wer"] == pytest.approx(expected)
    with sqlite3.connect(home / "lineup.db") as db:
        [(stt_spec, params)] = db.execute(
            "SELECT generations.stt_spec, runs.params FROM generations JOIN runs "
            "ON runs.id = generations.run_id"
        ).fetchall()
    assert stt_spec == "faster-whisper:base"
    assert json.loads(params)["stt"] == "auto"


def test_an_english_only_stt_named_for_a_russian_sentence_exits_2_and_stores_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    sentence = "Привет! Сегодня десять градусов тепла."
    done = lineup(
        home, "tts", "--text", sentence, "--voice", "espeak:ru", "--stt", "faster-whisper:tiny.en"
    )
    assert done.returncode == 2
    assert done.stderr.count("faster-whisper:tiny.en cannot hear 'ru'") == 1  # not warned too
    assert "no WER is stored" in done.stderr
    assert done.stdout == ""
    with sqlite3.connect(home / "lineup.db") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM generations").fetchone() == (0,)

    assert lineup(home, "sets", "import", "--shipped", "voice-sentences-ru").returncode == 0
    study = lineup(
        home, "study", "run", "--set", "voice-sentences-ru", "--voice", "espeak:ru",
        "--stt", "faster-whisper:tiny.en",
    )  # fmt: skip
    assert study.returncode == 2
    assert "faster-whisper:tiny.en cannot hear 'ru'" in study.stderr
    with sqlite3.connect(home / "lineup.db") as db:
        assert db.execute("SELECT count(*) FROM studies").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM generations").fetchone() == (0,)


def test_a_russian_study_is_heard_by_whisper_base_and_each_stored_wer_is_jiwers(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    header, *rows = RUSSIAN_SET.read_text(encoding="utf-8").splitlines()
    two = tmp_path / "two-russian-sentences.csv"
    two.write_text("\n".join([header, *rows[:2]]) + "\n", encoding="utf-8")
    imported = lineup(home, "sets", "import", str(two), "--name", "russian")
    assert imported.returncode == 0, imported.stderr
    ran = lineup(
        home, "study", "run", "--set", "russian", "--voice", "espeak:ru",
        "--voice", "espeak:ru+f3", "--samples", "2", "--seed", "3", "--json",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    state = json.loads(ran.stdout)
    assert (state["status"], state["done"], state["errors"]) == ("done", 8, 0)
    with sqlite3.connect(home / "lineup.db") as db:
        clips = db.execute(
            "SELECT runs.input_text, generations.model_spec, generations.transcript, "
            "generations.wer, generations.stt_spec FROM generations JOIN runs "
            "ON runs.id = generations.run_id"
        ).fetchall()
    assert len(clips) == 8
    assert {voice for _, voice, _, _, _ in clips} == {"espeak:ru", "espeak:ru+f3"}
    for sentence, _voice, transcript, wer, stt_spec in clips:
        assert stt_spec == "faster-whisper:base"
        assert CYRILLIC.search(transcript), transcript
        expected = jiwer.wer(HAND_NORMALISED[sentence], normalise_russian(transcript))
        assert wer == pytest.approx(expected), (sentence, transcript)
