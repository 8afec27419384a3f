"""The CLI's language (lineup.cli.main): human output and errors in LINEUP_LANG, else LANG;
`study report --lang` writes the report in either language; --json keys never change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineup.cli.main import main
from lineup.core import set_language
from lineup.store import Store
from tests.builders import build_report_study


@pytest.fixture(autouse=True)
def english_afterwards() -> object:
    yield
    set_language("en")  # main() sets this thread's language


def test_errors_follow_lineup_lang_else_lang(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    monkeypatch.delenv("LINEUP_LANG", raising=False)
    out = lineup_home / "r.html"
    assert main(["study", "report", "999", "--format", "html", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "ошибка: Исследования 999 нет: укажите номер сохранённого исследования."
    )
    monkeypatch.setenv("LINEUP_LANG", "en")
    assert main(["study", "report", "999", "--format", "html", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: There is no study 999: give the id of a stored study."
    )
    assert not out.exists()


def test_study_report_lang_sets_the_reports_language(
    lineup_home: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "en")
    study_id = build_report_study(store)
    ru, en = lineup_home / "ru.html", lineup_home / "en.html"
    assert main(["study", "report", str(study_id), "--format", "html", "--out", str(ru)]) == 0
    assert '<html lang="en">' in ru.read_text()
    args = ["study", "report", str(study_id), "--format", "html", "--lang", "ru", "--out"]
    assert main([*args, str(ru)]) == 0
    russian = ru.read_text()
    assert '<html lang="ru">' in russian
    assert "Модели и параметры" in russian and "Models and parameters" not in russian
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert main([*args[:-3], "--lang", "en", "--out", str(en)]) == 0
    assert '<html lang="en">' in en.read_text()
    assert "Models and parameters" in en.read_text()


def test_json_keys_do_not_change_with_the_language(
    lineup_home: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    study_id = build_report_study(store)
    documents = []
    for code in ("en", "ru"):
        monkeypatch.setenv("LINEUP_LANG", code)
        assert main(["study", "show", str(study_id), "--json"]) == 0
        documents.append(json.loads(capsys.readouterr().out))
    assert documents[0] == documents[1]


def test_sets_output_in_russian_and_its_json_unchanged(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LINEUP_LANG", "ru")
    assert main(["sets", "list"]) == 0
    assert capsys.readouterr().out.strip() == "Наборов пока нет: python -m lineup sets import PATH"
    assert main(["sets", "import", "--shipped", "voice-sentences"]) == 0
    assert capsys.readouterr().out.strip() == (
        "набор 'voice-sentences' (tts): элементов: 6, с эталонным ответом: 0; языки: en 6"
    )
    assert main(["sets", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["sets"]
    assert (listed["name"], listed["kind"], listed["languages"]) == (
        "voice-sentences",
        "tts",
        {"en": 6},
    )
