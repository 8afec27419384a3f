"""The interface's language (components.language): English by default, the browser's when it
is Russian, `?lang=` and the sidebar switch kept in the address and the session; and, with the
pseudo-locale (tests/pages/pseudo.py), no text on a translated page outside the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lineup.app import short_names
from lineup.app.facade import Lineup
from tests.builders import MODELS, make_study
from tests.pages.pseudo import shown_strings, untranslated

APP = str(Path(__file__).resolve().parents[2] / "app.py")
# Words that are the same in both languages (names of things, abbreviations).
TERMS = ["VLM", "Lineup", "Ollama", "ollama", "CLI", "UTC"]
TRANSLATED_PAGES = [
    "app_pages/sets.py",
    "app_pages/endpoints.py",
    "app_pages/compare_vlms.py",
    "app_pages/compare_voices.py",
]


def open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()


def param(at: AppTest, name: str) -> str | None:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_english_by_default_and_nothing_added_to_the_address(lineup_home: Path) -> None:
    at = open_page("app_pages/sets.py")
    assert not at.exception
    assert at.title[0].value == "Sets"
    assert param(at, "lang") is None


def test_russian_from_the_address_stays_for_the_session(lineup_home: Path) -> None:
    at = open_page("app_pages/sets.py", lang="ru")
    assert not at.exception
    assert at.title[0].value == "Наборы"
    assert at.session_state["lang"] == "ru"
    del at.query_params["lang"]  # another page's address has no query
    at.switch_page("app_pages/endpoints.py").run()
    assert at.title[0].value == "Бэкенды"
    assert param(at, "lang") == "ru"  # put back in the address


def test_the_sidebar_switch_changes_the_language_and_the_address(lineup_home: Path) -> None:
    at = open_page("app_pages/sets.py")
    [switch] = at.segmented_control
    assert switch.value == "en"
    switch.set_value("ru").run()
    assert at.title[0].value == "Наборы"
    assert param(at, "lang") == "ru"
    assert at.session_state["lang"] == "ru"
    at.segmented_control[0].set_value("en").run()
    assert at.title[0].value == "Sets"
    assert param(at, "lang") == "en"


def test_an_unknown_language_in_the_address_is_english(lineup_home: Path) -> None:
    at = open_page("app_pages/sets.py", lang="xx")
    assert not at.exception
    assert at.title[0].value == "Sets"


def test_the_pseudo_locale_is_refused_unless_the_tests_ask_for_it(lineup_home: Path) -> None:
    at = open_page("app_pages/sets.py", lang="pseudo")
    assert at.title[0].value == "Sets"


@pytest.fixture()
def pseudo(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LINEUP_PSEUDO_LOCALE", "1")
    return lineup_home


@pytest.mark.parametrize("page", TRANSLATED_PAGES)
def test_a_translated_page_shows_nothing_outside_the_catalog(pseudo: Path, page: str) -> None:
    shipped = [s.name for s in Lineup.open().sets.shipped()]  # the set names it lists
    at = open_page(page, lang="pseudo")
    assert not at.exception
    assert at.title[0].value.startswith("⟦")
    assert any(text == "⟦Language⟧" for text in shown_strings(at))  # the sidebar's switch
    assert untranslated(at, TERMS + shipped) == []


def test_the_sets_page_with_sets_and_a_refused_upload_shows_nothing_outside_the_catalog(
    pseudo: Path,
) -> None:
    app = Lineup.open()
    shipped = [s.name for s in app.sets.shipped()]
    for name in shipped:
        app.sets.import_shipped(name)
    at = open_page("app_pages/sets.py", lang="pseudo")
    at.file_uploader(key="set-upload").set_value(("bad.zip", b"not a zip", "application/zip"))
    at.run()
    at.button(key="set-import").click().run()
    assert not at.exception
    assert at.dataframe  # the stored sets and a page of items
    languages = ["en", "ru"]
    # The refused file's problems are the domain's (lineup.sets): not translated yet, shown in
    # a code block, which this check does not read.
    assert untranslated(at, TERMS + shipped + languages) == []


@pytest.mark.parametrize("mode", ["labels", "arena"])
def test_the_label_queue_shows_nothing_outside_the_catalog(pseudo: Path, mode: str) -> None:
    app = Lineup.open()
    study_id, _ids = make_study(app.store, app.media, models=MODELS, items=3)
    set_name = app.studies.get(study_id).set_name
    at = open_page(
        "app_pages/label_queue.py", lang="pseudo", annotator="ana", study=str(study_id), mode=mode
    )
    assert not at.exception
    if mode == "labels":
        at.button(key=f"queue-label-{at.session_state['queue-focus']}-relevant").click().run()
    else:
        at.button(key="arena-vote-a").click().run()
    assert not at.exception
    # The answers' texts are the models' (people's text), shown by st.html: not read here.
    titles = [app.catalog.model_label(spec).title for spec in MODELS]
    tags = ["screenshot"]  # the set's tags (people's text)
    assert untranslated(at, [*TERMS, *MODELS, *titles, *tags, set_name, "ana"]) == []


def stored_vlm_run(app: Lineup) -> tuple[int, list[str]]:
    """A stored comparison whose columns differ in every way the page words (hosts, cold and
    warm, contention, quantizations) and a timed-out one; the cards' and machine's words."""
    machine = {"cpu": "Test CPU 9000", "cores": 2, "memory_gb": 7.8, "os": "Linux", "gpus": []}
    machine["python"] = "3.11.7"
    specs = ["ollama:llava:q4", "ollama:llava:q8", "ollama:qwen:2b"]
    run_id, [q4, q8, late] = app.store.create_run_with_generations(
        "vlm", "What is shown?", specs, machine=machine
    )
    figures = {"ttft_s": 0.1, "total_s": 1.5, "output_tokens": 12, "chars_per_s": 40.0}
    app.store.finish_generation(
        q4, "ok", output_text="A cat.", cold=True, load_s=2.5, concurrent_max=0, **figures
    )
    app.store.finish_generation(
        q8,
        "ok",
        output_text="A cat.",
        cold=False,
        concurrent_max=2,
        tokens_per_s=9.5,
        tokens_per_s_source="server",
        energy_j=12.5,
        energy_source="rapl",
        gpu_mem_mb=512.0,
        **figures,
    )
    app.store.finish_generation(late, "timeout", output_text="A c")
    cards = {
        "ollama:llava:q4": {"host": "gpu1:11434", "quantization": "Q4_K_M", "vram_bytes": None},
        "ollama:llava:q8": {"host": "localhost:11434", "quantization": "Q8_0", "vram_bytes": 8e9},
    }
    for model, card in cards.items():
        reasons = {"vram_bytes": "/api/ps: no answer"} if card["vram_bytes"] is None else {}
        details = {"engine": "ollama", "family": "llama", **card, "reasons": reasons}
        app.store.save_provenance(model, model, details, run_ids=[run_id])
    data = ["Test CPU 9000", "Linux", "Python", "gpu1", "Q4_K_M", "Q8_0", "llama", "rapl"]
    data += ["localhost", "vram_bytes", "/api/ps: no answer", "What is shown?"]
    return run_id, [*specs, *(app.catalog.model_label(spec).title for spec in specs), *data]


def test_the_compare_vlms_page_with_a_run_shows_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    run_id, data = stored_vlm_run(app)
    at = open_page("app_pages/compare_vlms.py", lang="pseudo", annotator="ana", run=str(run_id))
    assert not at.exception
    assert at.title[0].value == "⟦Compare VLMs⟧"
    warnings = [w.value for w in at.warning]
    assert any("⟦⚠ uneven contention⟧" in w for w in warnings)  # the badge
    assert len(warnings) >= 4  # the badge, hosts, cold and warm, contention, quantizations
    assert [e for e in at.expander if e.label.startswith("⟦What ran where")]
    assert untranslated(at, [*TERMS, *data, "ana"]) == []
    # Blind: letters for names.
    blind_id, _ids = app.store.create_run_with_generations(
        "vlm", "What is shown?", ["ollama:llava:q4"], blind=True
    )
    at = open_page("app_pages/compare_vlms.py", lang="pseudo", annotator="ana", run=str(blind_id))
    assert not at.exception
    assert untranslated(at, [*TERMS, *data, "ana"]) == []


def test_the_compare_voices_page_shows_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    sentence = "Please restart the app and try again."
    voices = ["espeak:en-us", "espeak:en-us+f3"]
    run_id = app.store.create_run("tts", sentence)
    heard = {"espeak:en-us": "please restart the app and try again", "espeak:en-us+f3": "please"}
    for position, voice in enumerate(voices):
        for sample in range(2):
            clip = app.store.add_generation(
                run_id, voice, position=position, sample_index=sample, seed=sample
            )
            errors = 0 if voice == "espeak:en-us" else 6 - sample  # of the sentence's 7 words
            app.store.finish_generation(
                clip,
                "ok",
                transcript=heard[voice],
                wer=errors / 7,
                word_errors=errors,
                reference_words=7,
                cer=errors / 14,
                gen_s=0.4,
                audio_s=2.0,
                rtf=0.2,
                sample_rate_hz=22050,
                peak_mem_mb=3.0,
                concurrent_max=position,
            )
    at = open_page("app_pages/compare_voices.py", lang="pseudo", annotator="ana", runs=str(run_id))
    assert not at.exception
    assert at.title[0].value == "⟦Compare voices⟧"
    assert any("⟦⚠ uneven contention⟧" in w.value for w in at.warning)
    words = [*TERMS, *voices, sentence, "please", "ana", "WER", "CER", "RTF"]
    assert untranslated(at, words) == []

    # The form's warnings: a Russian sentence to an English voice, scored by an English-only
    # speech-to-text model.
    at = open_page("app_pages/compare_voices.py", lang="pseudo")
    at.text_area(key="sentences").set_value("Оплата не прошла.")
    at.multiselect(key="models-tts").set_value(["espeak:en-us"])
    at.text_input(key="stt").set_value("faster-whisper:tiny.en")
    at.run()
    assert not at.exception
    assert len(at.warning) == 2
    stt = ["faster-whisper:tiny.en", "faster-whisper:base", "auto", "'ru'", "ru", "en"]
    assert untranslated(at, [*TERMS, *voices, *stt, "Оплата не прошла."]) == []


def _labeled_study(
    app: Lineup, kind: str = "vlm", name: str = "pseudo set"
) -> tuple[int, list[str]]:
    """A finished study of three items by MODELS (or two voices), most answers labeled by two
    annotators; returns its id and the page's data words (set name, specs, short names,
    annotators), which are never translated."""
    models = MODELS if kind == "vlm" else ["espeak:en-us", "espeak:en-gb"]
    study_id, ids = make_study(
        app.store, app.media, models=models, items=5, kind=kind, name=f"{kind} {name}"
    )
    for (item, model, _repeat), generation_id in sorted(ids.items()):
        first = "relevant" if (item + models.index(model)) % 2 else "partial"
        app.labels.add(generation_id, first, annotator="ana")
        app.labels.add(generation_id, "relevant" if item % 3 else "irrelevant", annotator="bo")
    names = list(short_names(models).values())
    titles = [app.catalog.model_label(spec).title for spec in models]
    return study_id, [f"{kind} {name}", *models, *names, *titles, "ana", "bo", "screenshot"]


@pytest.mark.parametrize("kind", ["vlm", "tts"])
def test_the_studies_page_shows_nothing_outside_the_catalog(pseudo: Path, kind: str) -> None:
    app = Lineup.open()
    study_id, data = _labeled_study(app, kind)
    at = open_page("app_pages/studies.py", lang="pseudo", study=str(study_id))
    assert not at.exception
    assert at.title[0].value == "⟦Studies⟧"
    assert at.dataframe  # the study's tables are drawn, their headers read below
    assert untranslated(at, TERMS + data) == []


def test_two_studies_compared_show_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    baseline, data = _labeled_study(app)
    candidate, more = _labeled_study(app, name="candidate set")
    at = open_page("app_pages/studies.py", lang="pseudo", compare=f"{baseline},{candidate}")
    assert not at.exception
    assert any("⟦Paired differences⟧" in h.value for h in at.subheader)
    assert untranslated(at, TERMS + data + more) == []


def test_the_leaderboard_shows_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    study_id, data = _labeled_study(app)
    _voices, voice_data = _labeled_study(app, "tts")
    at = open_page("app_pages/leaderboard.py", lang="pseudo", study=str(study_id))
    assert not at.exception
    assert at.title[0].value == "⟦Leaderboard⟧"
    assert [tab.label for tab in at.tabs] == ["⟦VLMs⟧", "⟦Voices⟧", "⟦All rows⟧"]
    assert untranslated(at, TERMS + data + voice_data) == []


def test_the_studies_and_leaderboard_pages_in_russian(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id, _data = _labeled_study(app)
    at = open_page("app_pages/studies.py", lang="ru", study=str(study_id))
    assert not at.exception
    assert at.title[0].value == "Исследования"
    assert "Рейтинг и согласие" in [h.value for h in at.subheader]
    board = open_page("app_pages/leaderboard.py", lang="ru", study=str(study_id))
    assert not board.exception
    assert [tab.label for tab in board.tabs] == ["VLM", "Голоса", "Все строки"]
