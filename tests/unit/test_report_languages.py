"""The study report in either language (`study report --lang ru|en`): in the pseudo-locale
(every message of the catalog wrapped in ⟦…⟧) the HTML and Markdown reports hold no English
prose outside the markers (model names, people's text, the set's text and numbers excepted);
in Russian the numbers have a decimal comma; lineup.measure's reasons the report translates
are the templates lineup.measure fills in."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lineup.app.facade import Lineup
from lineup.catalog import short_names
from lineup.core import PSEUDO, using_language
from lineup.core.settings import load_settings
from lineup.report import load_study_result
from lineup.report.html_report import render_html
from lineup.report.markdown_report import markdown_report, number, percent
from lineup.report.pairs_matrix import (
    REASONS,
    SHORT_REASONS,
    cell_text,
    rank_summary,
    reason_text,
)
from lineup.store.database import Store
from lineup.store.media import MediaStore
from tests.builders import (
    ORDERED,
    build_ladder_study,
    build_pairs_study,
    build_report_study,
    build_tts_study,
    make_set,
)

# Words that read the same in both languages: figures' and methods' names, units, codes.
SAME_IN_BOTH = {
    "ROUGE",
    "chrF",
    "WER",
    "CER",
    "RTF",
    "TTFT",
    "UTC",
    "VLM",
    "TTS",
    "F1",
    "NFKC",
    "jiwer",
    "num2words",
    "sacrebleu",
    "ok",
    "Unicode",
    "pairwise",
    "reference",
    "ROUGE-1",
    "ROUGE-L",
}


class _Text(HTMLParser):
    """The text a person reads: text nodes outside script and style, and images' alt."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        self.parts += [value or "" for name, value in attrs if name == "alt"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _data(store: Store, study_id: int) -> list[str]:
    """The study's own text (models, set, items, answers, references, parameters,
    annotators), longest first: it is never translated."""
    result = load_study_result(store, study_id)
    texts = [
        *result.study.models,
        *(judge.spec for judge in result.judges),
        *(judge.protocol for judge in result.judges),
        result.summary["set"],
        "ana",
        "bo",
        *(str(v) for pair in result.study.params.items() for v in pair),
        *(item.text for item in result.plan.items),
        *(t for item in result.plan.items for t in (item.language, *item.tags) if t),
        *(reference.text for reference in result.references.values()),
        *(t for a in result.answers for t in (a.text, a.error, a.transcript) if t),
    ]
    texts += list(short_names([t for t in texts if ":" in t]).values())  # as a report names them
    return sorted(set(texts), key=len, reverse=True)


def _unwrapped(text: str, data: list[str]) -> list[str]:
    """Each English word of `text` outside ⟦…⟧ (with what is around it), once the study's own
    text is taken out."""
    while True:  # the innermost first: a message may hold another (a state's word)
        text, count = re.subn(r"⟦[^⟦⟧]*⟧", " ", text)
        if not count:
            break
    for piece in data:  # a space in it may be between two of the text's nodes
        spaced = r"[\s\x00]+".join(re.escape(word) for word in piece.split())
        text = re.sub(rf"(?<!\w){spaced}(?!\w)", " ", text)
    return [
        text[max(0, found.start() - 30) : found.end() + 30]
        for found in re.finditer(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text)
        if found.group() not in SAME_IN_BOTH and not re.fullmatch(r"m(:\w+)?", found.group())
    ]


def _judged_study(store: Store) -> int:
    from tests.unit.test_report_workbook import build

    return build(store).study_id


def _voice_study(store: Store) -> int:
    return build_tts_study(store).study_id


@pytest.mark.parametrize(
    "build", [build_report_study, build_ladder_study, _judged_study, _voice_study]
)
def test_the_pseudo_locale_html_report_has_no_unwrapped_english(
    store: Store, build: Callable[[Store], int]
) -> None:
    study_id = build(store)
    media = MediaStore(load_settings().home / "media")
    result = load_study_result(store, study_id)
    with using_language(PSEUDO):
        html = render_html(result, media)
    parser = _Text()
    parser.feed(html)
    shown = "\x00".join(parser.parts)
    assert _unwrapped(shown, _data(store, study_id)) == []


def test_the_pseudo_locale_reports_of_ranked_pairs_have_no_unwrapped_english(
    store: Store,
) -> None:
    study_id = build_pairs_study(store, ORDERED)
    media = MediaStore(load_settings().home / "media")
    result = load_study_result(store, study_id)
    with using_language(PSEUDO):
        html, markdown = render_html(result, media), markdown_report(result)
    parser = _Text()
    parser.feed(html)
    data = _data(store, study_id)
    assert _unwrapped("\x00".join(parser.parts), data) == []
    # The charts' titles and axes are in their script (JSON, ⟦ escaped): translated too.
    assert "\\u27e6% relevant (error bars" in html
    assert "\\u27e6Bradley-Terry rating (95% bootstrap interval)" in html
    # Markdown: the study's text is escaped in it (m\:A), and tables' bars are not words.
    assert _unwrapped(markdown.replace("\\", ""), data) == []


@pytest.mark.parametrize(
    "build", [build_report_study, build_ladder_study, _judged_study, _voice_study]
)
def test_the_pseudo_locale_markdown_report_has_no_unwrapped_english(
    store: Store, build: Callable[[Store], int]
) -> None:
    study_id = build(store)
    result = load_study_result(store, study_id)
    with using_language(PSEUDO):
        markdown = markdown_report(result)
    assert _unwrapped(markdown.replace("\\", ""), _data(store, study_id)) == []


def test_russian_numbers_have_a_decimal_comma_and_english_ones_are_unchanged() -> None:
    assert (number(0.125), number(1234.5), percent(0.5)) == ("0.125", "1,234", "50%")
    with using_language("ru"):
        assert (number(0.125), number(1234.5), percent(0.5)) == ("0,125", "1\xa0234", "50\xa0%")
    pair = {
        "a": "m:a",
        "b": "m:b",
        "diff": 0.25,
        "ci_low": 0.05,
        "ci_high": 0.5,
        "decided": True,
        "share_a_better": 0.975,
        "items": 8,
    }
    assert cell_text(pair, "m:a") == "+0.25 [+0.05, +0.50]: better (97% of resamples)"
    with using_language("ru"):
        assert cell_text(pair, "m:b") == "−0,25 [−0,50, −0,05]: хуже (в 97\xa0% повторных выборок)"


def test_the_reasons_translated_are_the_ones_lineup_measure_fills_in() -> None:
    from lineup.measure import bradley_terry, item_bootstrap

    measured = (
        item_bootstrap.FEW_ITEMS,
        item_bootstrap.SAME_VALUE,
        bradley_terry.FEW_ITEMS,
        bradley_terry.WON_EVERY,
        bradley_terry.LOST_EVERY,
    )
    assert REASONS == measured
    assert SHORT_REASONS == tuple(reason.split(":")[0] for reason in measured)
    filled = item_bootstrap.FEW_ITEMS.format(minimum=5, n=3)
    assert reason_text(filled) == filled
    with using_language("ru"):
        assert reason_text(filled) == "меньше 5 элементов (3): интервала нет"
        assert reason_text("something else") == "something else"


def test_russian_rank_summaries_take_the_plural_of_their_count() -> None:
    summary = {"models": [{"bt_rank": r} for r in (1, 2, 2, 3, 3)]}
    assert rank_summary(summary) == (
        "3 different ranks among 5 models; a shared rank (tie) means no difference between "
        "those models is shown."
    )
    with using_language("ru"):
        assert rank_summary(summary).startswith("Разных мест: 3 на 5 моделей;")
        assert rank_summary({"models": [{"bt_rank": r} for r in (1, 2)]}).startswith(
            "2 разных места:"
        )


def test_the_russian_workbook_names_its_sheets_and_columns_and_keeps_formulas_as_text(
    store: Store, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from lineup.report.workbook import SHEETS, write_workbook
    from tests.unit.test_report_workbook import FORMULA_ANSWER, FORMULA_REASONS, build

    built = build(store)
    with using_language("ru"):
        path = write_workbook(load_study_result(store, built.study_id), tmp_path / "r.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [
        "Сводка", "Метрики", "По элементам", "Пары", "Судья", "Метки", "Согласие",
        "Что и где работало", "Генерации",
    ]  # fmt: skip
    assert len(workbook.sheetnames) == len(SHEETS)
    summary = [cell.value for cell in workbook["Сводка"][1]]
    assert summary[:3] == ["Модель", "Метки", "Завершено"]
    assert "% релевантных: 95% ДИ, низ" in summary
    methods = [row[summary.index("% релевантных: метод интервала")].value for row in
               workbook["Сводка"].iter_rows(min_row=2)]  # fmt: skip
    assert set(methods) <= {"бутстреп по элементам", None} and methods
    metrics = [cell.value for cell in workbook["Метрики"][1]]
    assert "ROUGE-1 F1: 95% ДИ, низ" in metrics  # an interval named from its figure's words
    judge = workbook["Судья"]
    header = [cell.value for cell in judge[1]]
    reasons = [row[header.index("Обоснование")] for row in judge.iter_rows(min_row=2)]
    assert any(c.value == FORMULA_REASONS and c.data_type == "s" for c in reasons)
    agreement = [[cell.value for cell in row] for row in workbook["Согласие"].iter_rows()]
    assert agreement[0] == ["Показатель", "Между", "И", "Значение", "N", "Что означает"]
    assert agreement[1][:2] == ["Альфа Криппендорфа", "все разметчики"]
    assert agreement[1][5].startswith("Альфа Криппендорфа, порядковая")
    assert "Трактовка: " in agreement[1][5]
    assert "Каппа Коэна" in [row[0] for row in agreement]
    pairs = [[cell.value for cell in row] for row in workbook["Пары"].iter_rows()]
    said = [dict(zip(pairs[0], row, strict=True)) for row in pairs[1:]]
    assert said and all(row["Словами"] and row["Словами"].isascii() is False for row in said)
    generations = workbook["Генерации"]
    header = [cell.value for cell in generations[1]]
    texts = [row[header.index("output_text")] for row in generations.iter_rows(min_row=2)]
    assert any(c.value == FORMULA_ANSWER and c.data_type == "s" for c in texts)


def test_the_pseudo_locale_comparison_reports_have_no_unwrapped_english(app: Lineup) -> None:
    from lineup.report.comparison_report import comparison_html, comparison_markdown
    from tests.unit.test_study_compare import IRR, R, study

    set_id = make_set(app.store, "x", "vlm", [(f"Question {n}?", None) for n in range(6)])
    # The candidate loses on items 0-2: regressions, a decided difference or none.
    baseline = study(app.store, set_id, {(n, 0): ("a", [R]) for n in range(6)})
    candidate = study(app.store, set_id, {(n, 0): ("a", [IRR] if n < 3 else [R]) for n in range(6)})
    document = app.studies.compare(baseline, candidate)
    data = ["Question", "a", "x", "study compare --json"]
    with using_language(PSEUDO):
        page, markdown = comparison_html(document), comparison_markdown(document)
    parser = _Text()
    parser.feed(page)
    assert _unwrapped("\x00".join(parser.parts), data) == []
    assert _unwrapped(markdown.replace("\\", ""), data) == []
    with using_language("ru"):
        page = comparison_html(document)
    assert '<html lang="ru">' in page and "Парные разницы" in page and "Методы" in page
