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
TRANSLATED_PAGES = ["app_pages/sets.py", "app_pages/endpoints.py"]
# How the texts begin that the Studies page shows from components it shares with the Compare
# pages, which that slice translates: components.stats' timing choice (its label and help),
# components.provenance's cards, and components.runs' answer column (state, figures line and
# its help). Left out of these pages' checks until that slice lands; remove them then.
OTHER_SLICES = (
    "Timing",
    "**parallel**",
    "**What ran where**",
    ":material/computer: Ran on",
    "What ran where: not recorded",
    ":material/check_circle: done",
    "TTFT ",
    "**TTFT**",
)


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
    left = [text for text in untranslated(at, TERMS + data) if not text.startswith(OTHER_SLICES)]
    assert left == []


def test_two_studies_compared_show_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    baseline, data = _labeled_study(app)
    candidate, more = _labeled_study(app, name="candidate set")
    at = open_page("app_pages/studies.py", lang="pseudo", compare=f"{baseline},{candidate}")
    assert not at.exception
    assert any("⟦Paired differences⟧" in h.value for h in at.subheader)
    left = [
        text for text in untranslated(at, TERMS + data + more) if not text.startswith(OTHER_SLICES)
    ]
    assert left == []


def test_the_leaderboard_shows_nothing_outside_the_catalog(pseudo: Path) -> None:
    app = Lineup.open()
    study_id, data = _labeled_study(app)
    _voices, voice_data = _labeled_study(app, "tts")
    at = open_page("app_pages/leaderboard.py", lang="pseudo", study=str(study_id))
    assert not at.exception
    assert at.title[0].value == "⟦Leaderboard⟧"
    assert [tab.label for tab in at.tabs] == ["⟦VLMs⟧", "⟦Voices⟧", "⟦All rows⟧"]
    left = [
        text
        for text in untranslated(at, TERMS + data + voice_data)
        if not text.startswith(OTHER_SLICES)
    ]
    assert left == []


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
