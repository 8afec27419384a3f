"""The pages and the facade: a reading of backends.toml per page run that no other session sees
change, one check of the models, and a bug in Lineup shown as a bug, never as bad input. (That
the pages reach Lineup through the facade alone is a contract of `make lint`: lint-imports.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lineup.app.catalog import Catalog
from lineup.app.facade import Lineup
from lineup.catalog.resolver import ResolvedModel
from lineup.core.settings import Settings, load_settings
from lineup.sets.samples import ensure_samples
from lineup.store.database import Store

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "app_pages"


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Lineup]:
    """Every engine `Lineup.open` makes: the app keeps one per settings and shares it."""
    engines: list[Lineup] = []
    real_open = Lineup.open.__func__  # type: ignore[attr-defined]

    def recording(cls: type[Lineup], settings: Settings | None = None) -> Lineup:
        engines.append(real_open(cls, settings))
        return engines[-1]

    monkeypatch.setattr(Lineup, "open", classmethod(recording))
    return engines


def test_an_edited_backends_file_shows_without_changing_the_shared_engine(
    lineup_home: Path, opened: list[Lineup]
) -> None:
    at = AppTest.from_file(str(PAGES / "compare_voices.py"), default_timeout=60).run()
    assert not at.exception
    assert "narrator" not in at.multiselect(key="models-tts").options

    (lineup_home / "backends.toml").write_text('[models.narrator]\nspec = "espeak:en-us"\n')
    at.run()
    assert not at.exception
    # This page run read the new file...
    assert "narrator" in at.multiselect(key="models-tts").options
    # ...into its own facade: the engine every session shares still holds what it was opened
    # with, so a session in the middle of a run never sees its config change.
    [shared] = opened
    assert shared.config.named("narrator") is None


def compare_page_ready_to_run() -> AppTest:
    ensure_samples()
    at = AppTest.from_file(str(PAGES / "compare_vlms.py"), default_timeout=60).run()
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What went wrong?")
    at.multiselect(key="models-vlm").set_value(["ocr:eng+rus"])
    return at


def test_a_bug_in_lineup_is_an_exception_on_the_page_not_bad_input(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = compare_page_ready_to_run()

    def broken(*args: object, **kwargs: object) -> int:
        raise ValueError("bug")

    monkeypatch.setattr(Store, "create_run_with_generations", broken)
    at.button(key="compare").click().run()
    assert not [e for e in at.error if e.value == "bug"]  # not said as if the input were wrong
    [exception] = at.exception
    assert "bug" in exception.value


def test_a_bug_on_the_voices_page_is_an_exception_not_bad_input(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = AppTest.from_file(str(PAGES / "compare_voices.py"), default_timeout=60).run()
    at.text_area(key="sentences").set_value("Hello there.")
    at.multiselect(key="models-tts").set_value(["espeak:en-us"])
    at.text_input(key="stt").set_value("")

    def broken(*args: object, **kwargs: object) -> int:
        raise ValueError("bug")

    monkeypatch.setattr(Store, "create_run", broken)
    at.button(key="speak").click().run()
    assert not [e for e in at.error if e.value == "bug"]
    [exception] = at.exception
    assert "bug" in exception.value


def test_bad_input_is_still_a_message(lineup_home: Path) -> None:
    at = compare_page_ready_to_run()
    at.text_area(key="question").set_value("   ")
    at.button(key="compare").click().run()
    assert not at.exception
    assert any("The question is empty" in e.value for e in at.error)
    assert Store(load_settings().database_url).latest_runs("vlm") == []


def test_compare_checks_the_models_once(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[list[str]] = []
    check = Catalog.resolve_all

    def counting(self: Catalog, models: list[str], modality: str) -> list[ResolvedModel]:
        checked.append(list(models))
        return check(self, models, modality)  # type: ignore[arg-type]

    monkeypatch.setattr(Catalog, "resolve_all", counting)
    at = compare_page_ready_to_run()
    at.button(key="compare").click().run()
    assert not at.exception
    assert checked == [["ocr:eng+rus"]]
