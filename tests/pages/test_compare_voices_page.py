"""The Compare voices page, headless with Streamlit's AppTest: real espeak-ng voices and the
bundled Whisper tiny.en for the WER."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lineup.settings import load_settings
from lineup.store import Store

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare_voices.py")
SENTENCE = "Please restart the app and try again."


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
    at.button(key="speak").click().run()
    assert not at.exception

    store = Store(load_settings().database_url)
    [run] = store.latest_runs("tts")
    assert run.input_text == SENTENCE
    assert [g.model_spec for g in run.generations] == ["espeak:en-us", "espeak:en-us+f3"]
    assert all(g.status == "ok" for g in run.generations)
    assert len(at.get("audio")) == 2
    headers = [h.value for h in at.subheader]
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
    at.run()
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "espeak:en-us" in warnings[0]
    assert at.button(key="speak").label == "Speak anyway"
    assert Store(load_settings().database_url).latest_runs("tts") == []
