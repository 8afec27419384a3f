"""The Compare voices page, headless with Streamlit's AppTest: real espeak-ng voices and the
bundled Whisper tiny.en for the WER."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from backends.base import Audio, TTSBackend
from backends.spec import parse_spec
from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.run.tts import start_tts_comparison
from lineup.store.database import Store
from tests.builders import by_name, resolved_all
from tests.pages.helpers import FakeClock, shown_texts, unescaped

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare_voices.py")
SENTENCE = "Please restart the app and try again."


def runs_param(at: AppTest) -> str:
    value = at.query_params["runs"]
    return value[0] if isinstance(value, list) else value


def settle(at: AppTest, timeout_s: float = 120) -> AppTest:
    """The page once its clips are made. In a browser the page redraws itself while they are
    made and reruns at the end; AppTest draws once per run, so: wait, then run the page."""
    app = Lineup.open(load_settings())
    run_ids = [int(r) for r in runs_param(at).split(",")]
    deadline = time.monotonic() + timeout_s
    while app.compare.in_progress(run_ids):
        assert time.monotonic() < deadline, f"runs {run_ids} still going after {timeout_s} s"
        time.sleep(0.05)
    return at.run()


def page(**query: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def test_two_voices_play_score_and_keep_their_label(lineup_home: Path) -> None:
    at = page(annotator="ana").run()
    assert not at.exception
    at.text_area(key="sentences").set_value(SENTENCE)
    at.multiselect(key="models-tts").set_value(["espeak:en-us", "espeak:en-us+f3"])
    settle(at.button(key="speak").click().run())
    assert not at.exception

    store = Store(load_settings().database_url)
    [run] = store.latest_runs("tts")
    assert run.input_text == SENTENCE
    assert [g.model_spec for g in run.generations] == ["espeak:en-us", "espeak:en-us+f3"]
    assert all(g.status == "ok" for g in run.generations)
    assert len(at.get("audio")) == 2
    headers = [unescaped(h.value) for h in at.subheader]
    assert headers == ["espeak:en-us", "espeak:en-us+f3"]
    captions = [c.value for c in at.caption]
    for generation in run.generations:
        assert generation.wer is not None and generation.transcript
        assert any(f"WER {generation.wer:.0%}" in c and "RTF" in c for c in captions)

    first = run.generations[0]
    at.button(key=f"label-{first.id}-partial").click().run()
    assert store.current_labels([first.id], "ana")[first.id].relevance == "partial"

    again = page(annotator="ana", runs=str(run.id)).run()
    assert not again.exception
    assert again.button(key=f"label-{first.id}-partial").proto.type == "primary"
    assert again.button(key=f"label-{first.id}-partial").label == "Flawed"
    assert len(again.get("audio")) == 2


def test_russian_text_to_an_english_voice_is_warned_before_it_runs(lineup_home: Path) -> None:
    at = page().run()
    at.text_area(key="sentences").set_value("Оплата не прошла.")
    at.multiselect(key="models-tts").set_value(["espeak:en-us", "espeak:ru"])
    at.text_input(key="stt").set_value("faster-whisper:tiny.en")
    at.run()
    warnings = [w.value for w in at.warning]
    # The English voice, and the English-only speech-to-text model named to score the clips
    # (it would be refused: `auto`, the default, chooses the multilingual one).
    assert len(warnings) == 2
    assert "espeak:en-us speaks en" in warnings[0]
    assert "faster-whisper:tiny.en cannot hear 'ru'" in warnings[1]
    assert at.button(key="speak").label == "Speak anyway"
    assert Store(load_settings().database_url).latest_runs("tts") == []


def test_speak_with_an_english_only_stt_for_russian_is_refused_and_stores_nothing(
    lineup_home: Path,
) -> None:
    at = page().run()
    at.text_area(key="sentences").set_value("Привет! Сегодня десять градусов тепла.")
    at.multiselect(key="models-tts").set_value(["espeak:ru"])
    at.text_input(key="stt").set_value("faster-whisper:tiny.en")
    at.run()
    at.button(key="speak").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "faster-whisper:tiny.en cannot hear 'ru'" in error and "no WER is stored" in error
    assert Store(load_settings().database_url).latest_runs("tts") == []


def test_new_clips_after_an_old_address_are_the_runs_shown_and_labeled(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    old_run = store.create_run("tts", "An old sentence.")
    old_clip = store.add_generation(old_run, "espeak:en-us")
    store.finish_generation(old_clip, "ok", gen_s=0.1, audio_s=1.0)

    at = page(annotator="ana", runs=str(old_run)).run()
    at.sidebar.selectbox(key="recent-tts").set_value(str(old_run)).run()
    assert any("An old sentence." in text for text in shown_texts(at))
    at.text_area(key="sentences").set_value(SENTENCE)
    at.multiselect(key="models-tts").set_value(["espeak:en-us"])
    at.text_input(key="stt").set_value("")  # no transcription: this test is about the runs
    settle(at.button(key="speak").click().run())
    assert not at.exception

    new_run = store.latest_runs("tts", 1)[0]
    assert new_run.id != old_run and new_run.input_text == SENTENCE
    assert runs_param(at) == str(new_run.id)
    shown = " ".join(shown_texts(at))
    assert SENTENCE in shown and "An old sentence." not in shown

    [clip] = new_run.generations
    at.button(key=f"label-{clip.id}-relevant").click().run()
    assert runs_param(at) == str(new_run.id)
    assert store.current_labels([clip.id], "ana")[clip.id].relevance == "relevant"
    assert store.current_labels([old_clip], "ana") == {}


class StuckVoice(TTSBackend):
    """A voice that does not finish until released: a synthesis in progress to stop."""

    def __init__(self) -> None:
        super().__init__(parse_spec("espeak:en-us"))
        self.started = threading.Event()
        self.release = threading.Event()

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        self.started.set()
        self.release.wait(60)
        return Audio(np.zeros(16000, dtype=np.float32), 16000)


def test_stop_cancels_every_clip_in_progress(lineup_home: Path) -> None:
    app = Lineup.open(load_settings())
    voice = StuckVoice()
    comparison = start_tts_comparison(
        app.store,
        app.media,
        resolved_all(["espeak:en-us", "espeak:en-us+f3"], "tts"),
        [SENTENCE],
        by_name(lambda spec: voice),
        samples=2,
        stt=None,
        timeout_s=120,
    )
    try:
        assert voice.started.wait(10)
        # The page on the runs' address (a reload, another tab) finds them in progress.
        at = page(annotator="ana", runs=str(comparison.run_id)).run()
        assert not at.exception
        assert at.button(key="speak").disabled and not at.button(key="stop").disabled
        assert any("Running:" in m.value and "0 of 4 clips" in m.value for m in at.markdown)
        started = time.monotonic()
        at.button(key="stop").click().run()
        assert not at.exception
        assert time.monotonic() - started < 5
    finally:
        voice.release.set()
    run = app.store.get_run(comparison.run_id)
    assert [g.status for g in run.generations] == ["cancelled"] * 4
    assert len([i for i in at.info if "Stopped" in i.value]) == 4
    assert not [b for b in at.button if b.key and b.key.startswith("label-")]
    assert not at.button(key="speak").disabled and at.button(key="stop").disabled


def test_a_voice_named_in_backends_toml_is_warned_like_its_spec(lineup_home: Path) -> None:
    lineup_home.mkdir(parents=True, exist_ok=True)
    (lineup_home / "backends.toml").write_text('[models.narrator]\nspec = "espeak:en-us"\n')
    at = page().run()
    at.text_area(key="sentences").set_value("Оплата не прошла.")
    at.multiselect(key="models-tts").set_value(["narrator", "espeak:ru"])
    at.text_input(key="stt").set_value("faster-whisper:tiny.en")
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("narrator speaks en" in w for w in warnings), warnings
    # The speech-to-text model is checked too, as the command line does: tiny.en hears English.
    assert any("faster-whisper:tiny.en cannot hear 'ru'" in w for w in warnings), warnings
    assert len(warnings) == 2


def test_opened_runs_fill_the_form_and_run_again_with_their_inputs(lineup_home: Path) -> None:
    app = Lineup.open(load_settings())
    first = app.compare.tts(
        texts=["The card was declined.", "Call your bank."],
        voices=["espeak:en-us", "espeak:en-us+f3"],
        samples=2,
        stt=None,
        seed=5,
        timing="fair",
    )
    first.wait()
    at = page(runs=",".join(str(r) for r in first.run_ids)).run()
    assert not at.exception
    assert at.radio(key="text_source").value == "Type"
    assert at.text_area(key="sentences").value == "The card was declined.\nCall your bank."
    assert at.multiselect(key="models-tts").value == ["espeak:en-us", "espeak:en-us+f3"]
    assert at.number_input(key="samples").value == 2
    assert at.number_input(key="tts_seed").value == 5
    assert at.text_input(key="stt").value == ""
    assert at.radio(key="tts_timing").value == "fair"

    settle(at.button(key="again-tts").click().run())
    assert not at.exception
    new_ids = [int(r) for r in runs_param(at).split(",")]
    assert not set(new_ids) & set(first.run_ids)
    old, new = app.compare.runs(first.run_ids), app.compare.runs(new_ids)
    assert [run.input_text for run in new] == [run.input_text for run in old]
    assert [(g.model_spec, g.seed) for g in new[1].generations] == [
        ("espeak:en-us", 5),
        ("espeak:en-us", 6),
        ("espeak:en-us+f3", 5),
        ("espeak:en-us+f3", 6),
    ]
    # Run again keeps the fair timing: both voices on this machine, each clip made alone.
    assert {run.params["timing"] for run in new} == {"fair"}
    assert {g.concurrent_max for run in new for g in run.generations} == {0}


def test_runs_of_a_sample_set_fill_the_form_with_that_set(lineup_home: Path) -> None:
    from lineup.sets.sentences import sentence_sets

    chosen = sentence_sets()[1]
    app = Lineup.open(load_settings())
    first = app.compare.tts(texts=list(chosen.sentences), voices=["espeak:en-us"], stt=None)
    first.wait()
    at = page(runs=",".join(str(r) for r in first.run_ids)).run()
    assert not at.exception
    assert at.radio(key="text_source").value == "Sample set"
    assert at.selectbox(key="sentence_set").value == chosen


def test_a_double_click_after_a_clip_made_at_once_is_one_run(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An espeak clip (no speech-to-text) is made and drawn, with the form's next token,
    before the second click of a double click arrives: that click is the same run. A click
    on changed inputs, or one after the double-click time, is a new run."""
    import components.runs

    clock = FakeClock()
    monkeypatch.setattr(components.runs, "time", clock)
    store = Store(load_settings().database_url)
    at = page(annotator="ana").run()
    at.text_area(key="sentences").set_value("The card was declined.")
    at.multiselect(key="models-tts").set_value(["espeak:en-us"])
    at.text_input(key="stt").set_value("")
    settle(at.button(key="speak").click().run())
    [first] = [run.id for run in store.latest_runs("tts")]

    clock.now += 0.3  # the second click of a double click, on the page redrawn since
    settle(at.button(key="speak").click().run())
    assert not at.exception
    assert [run.id for run in store.latest_runs("tts")] == [first]
    assert runs_param(at) == str(first)

    clock.now += 0.3  # a third click: one run still
    settle(at.button(key="speak").click().run())
    assert [run.id for run in store.latest_runs("tts")] == [first]

    clock.now += 0.3  # quick, but on another sentence: a new run
    at.text_area(key="sentences").set_value("Call your bank.")
    settle(at.button(key="speak").click().run())
    runs = store.latest_runs("tts")
    assert [run.input_text for run in runs] == ["Call your bank.", "The card was declined."]

    clock.now += components.runs.DOUBLE_CLICK_S  # the same sentence, clicked again later
    settle(at.button(key="speak").click().run())
    assert len(store.latest_runs("tts")) == 3
