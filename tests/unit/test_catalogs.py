"""The interface's catalogs (lineup.core.i18n): every message the code marks is in the Russian
catalog, translated (not fuzzy) with the same placeholders; the .mo is compiled when missing or
older; each thread keeps its own language; numbers and dates in each language, against strings
written by hand."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from lineup.core import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "lineup" / "locale" / "ru" / "LC_MESSAGES" / "lineup.po"
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]*)(?:[:!][^}]*)?\}")


def catalog():  # type: ignore[no-untyped-def]
    with PO.open("rb") as handle:
        return read_po(handle, locale="ru", domain="lineup")


def marked_in_code() -> set[str]:
    """The message ids `pybabel extract` finds with babel.cfg (what `make messages` does)."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_message_is_in_the_russian_catalog() -> None:
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog() if m.id}
    missing = sorted(marked_in_code() - ids)
    assert not missing, f"run `make messages` and translate: {missing}"


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    untranslated, fuzzy = [], []
    for message in catalog():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"no Russian for: {untranslated}"
    assert not fuzzy, f"fuzzy (check and clear the flag): {fuzzy}"


def test_russian_plurals_have_three_forms_and_translations_keep_the_placeholders() -> None:
    po = catalog()
    assert po.num_plurals == 3
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(PLACEHOLDER.findall(text) for text in ids))
        for text in strings:
            # A singular form may leave out {count} ("1 problem"); nothing else may change.
            assert set(PLACEHOLDER.findall(text)) <= wanted | {"count"}, (message.id, text)
            assert wanted - {"count"} <= set(PLACEHOLDER.findall(text)), (message.id, text)


def test_the_mo_is_compiled_when_missing_or_older_than_its_po(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "lineup.po"
    po.write_bytes(PO.read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    mo = folder / "lineup.mo"
    data = i18n.compile_catalog("ru")
    assert mo.read_bytes() == data and data[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")
    old = time.time() - 100
    os.utime(mo, (old, old))  # the .po is newer: compiled again
    mo_before = mo.stat().st_mtime
    i18n.compile_catalog("ru")
    assert mo.stat().st_mtime > mo_before
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_a_read_only_catalog_folder_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "lineup.po").write_bytes(PO.read_bytes())
    folder.chmod(0o555)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: the folder stays writable")
        assert len(i18n.compile_catalog("ru")) > 100
        assert not (folder / "lineup.mo").exists()
    finally:
        folder.chmod(0o755)


def test_each_thread_keeps_its_own_language() -> None:
    seen: dict[str, str] = {}
    ready = threading.Barrier(2)

    def speak(code: str) -> None:
        i18n.set_language(code)
        ready.wait()  # both have set theirs before either reads
        seen[code] = i18n._("Sets")

    threads = [threading.Thread(target=speak, args=(code,)) for code in ("ru", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"ru": "Наборы", "en": "Sets"}
    assert i18n.current_language() == "en"  # this thread's untouched


def test_using_language_puts_the_old_one_back() -> None:
    with i18n.using_language("ru"):
        assert i18n._("Studies") == "Исследования"
    assert i18n._("Studies") == "Studies"
    with pytest.raises(ValueError, match="does not speak"):
        i18n.set_language("fr")


def test_russian_plural_forms() -> None:
    with i18n.using_language("ru"):
        forms = [
            i18n.ngettext("{count} question", "{count} questions", n).format(count=n)
            for n in (1, 2, 5, 11, 21, 22, 25)
        ]
    assert forms == [
        "1 вопрос",
        "2 вопроса",
        "5 вопросов",
        "11 вопросов",
        "21 вопрос",
        "22 вопроса",
        "25 вопросов",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ru-RU", "ru"),
        ("ru_RU.UTF-8", "ru"),
        ("RU", "ru"),
        ("en-GB", "en"),
        ("en_US.UTF-8", "en"),
        ("C.UTF-8", None),
        ("fr-FR", None),
        ("", None),
        (None, None),
    ],
)
def test_language_of_a_locale(value: str | None, expected: str | None) -> None:
    assert i18n.language_of(value) == expected


def test_the_cli_language_is_lineup_lang_else_lang_else_english() -> None:
    assert i18n.environment_language({"LINEUP_LANG": "ru", "LANG": "en_US.UTF-8"}) == "ru"
    assert i18n.environment_language({"LINEUP_LANG": "en", "LANG": "ru_RU.UTF-8"}) == "en"
    assert i18n.environment_language({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert i18n.environment_language({"LINEUP_LANG": "xx", "LANG": "ru_RU.UTF-8"}) == "ru"
    assert i18n.environment_language({"LANG": "C.UTF-8"}) == "en"
    assert i18n.environment_language({}) == "en"


def test_numbers_percentages_and_dates_in_each_language() -> None:
    # English keeps the formats Lineup always had; Russian: a (non-breaking) space groups
    # thousands, a comma marks decimals, a non-breaking space before %.
    assert (i18n.number(1234.5, 1), i18n.percent(0.125, 1)) == ("1234.5", "12.5%")
    assert i18n.day(date(2026, 12, 7)) == "2026-12-07"
    assert i18n.moment(datetime(2026, 12, 7, 18, 5)) == "2026-12-07 18:05"
    with i18n.using_language("ru"):
        assert i18n.number(1234.5, 1) == "1\xa0234,5"
        assert i18n.number(7, 0) == "7"
        assert i18n.percent(0.125, 1) == "12,5\xa0%"
        # CLDR's medium date: a narrow non-breaking space before "г." (year).
        assert i18n.day(date(2026, 12, 7)) == "7 дек. 2026\u202fг."
        assert i18n.moment(datetime(2026, 12, 7, 18, 5)) == "7 дек. 2026\u202fг., 18:05"


def test_a_backend_message_is_said_from_its_template() -> None:
    from backends.base import BackendUnavailable

    error = BackendUnavailable.of("Ollama {version} at {base_url}", version="0.9", base_url="u")
    assert str(error) == "Ollama 0.9 at u"
    assert i18n.error_text(error) == "Ollama 0.9 at u"
    with i18n.using_language("ru"):
        assert i18n.error_text(error) == "Ollama 0.9 по адресу u"
        assert i18n.error_text(ValueError("plain")) == "plain"


def test_every_report_heading_is_marked_and_translated() -> None:
    from lineup.report import markdown_report
    from lineup.report.headings import HEADINGS

    lists = [
        value
        for name, value in vars(markdown_report).items()
        if name.endswith("_MD") and isinstance(value, list)
    ]
    headings = {heading for columns in lists for _key, heading in columns}
    assert headings - set(HEADINGS) == set(), "add them to lineup/report/headings.py"
    with i18n.using_language("ru"):
        same = [h for h in headings if i18n._(h) == h and not h.isupper()]
    # Abbreviations and names read the same in Russian.
    assert set(same) <= {"ROUGE-1 F1", "ROUGE-L F1", "chrF"}
