"""`study report`: the Markdown tables, the self-contained HTML (escaped answers, inline images,
every section) and the XLSX, for a small study built in the store."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from lineup.cli.main import main
from lineup.core.settings import load_settings
from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.store.tables import JudgeScore, QuestionSet, SetItemRow
from lineup.study.records import claim, create_study, load_plan
from testbed.payloads import markup_payloads
from tests.builders import build_report_study, build_tts_study, png_bytes


def report(capsys: pytest.CaptureFixture[str], study_id: int, fmt: str, out: Path) -> str:
    code = main(["study", "report", str(study_id), "--format", fmt, "--out", str(out)])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert printed.strip() == str(out)
    return out.read_text(encoding="utf-8") if fmt != "xlsx" else ""


def test_markdown_has_the_relevance_and_speed_tables(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = report(capsys, build_report_study(store), "md", tmp_path / "r.md")
    # m:good: 4 counted labels, all relevant; m:bad: 2 irrelevant, 2 partial.
    # Model names escaped (lineup.markup.escape_markdown): `m\:good` renders as m:good.
    assert re.search(r"\| m\\:good \| 4 \| 4 \| 0 \| 0 \| 100 \|", text)
    assert re.search(r"\| m\\:bad \| 4 \| 0 \| 2 \| 2 \| 0 \|", text)
    assert "## Speed" in text and "| m\\:good | 6 | 2 | 3 |" in text  # 6 tokens over 2 s
    assert "## Automatic scores" in text and "## Agreement" in text
    assert "raw agreement (identical labels):" in text and "0.667 to 0.8 tentative" in text


def test_html_is_self_contained_escaped_and_complete(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = report(capsys, build_report_study(store), "html", tmp_path / "r.html")
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#39;x&#39;)" in text
    for section in ["setup", "relevance", "scores", "ranking", "agreement", "items", "methods"]:
        assert f'id="{section}"' in text
    assert text.count('<img src="data:image/png;base64,') == 1  # the one item with an image
    # Nothing is fetched: outside the embedded plotly.js (whose strings hold URLs it never
    # loads here; the browser test opens the file offline), every src and href is inline.
    markup = re.sub(r"<script.*?</script>", "", text, flags=re.S)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', markup)
    # The methods quote the modules that compute the figures.
    assert "Bradley-Terry" in text and "Krippendorff" in text
    assert "raw agreement (identical labels):" in text and "0.667 to 0.8 tentative" in text
    # The tokens of ROUGE, as lineup.measure.overlap states them (a VLM study: no WER).
    assert "A letter or digit of a script written without spaces" in text
    assert "Russian stress mark" in text and "WER and CER</h3>" not in text


def test_a_voice_studys_methods_quote_the_wer_normalisation(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = report(capsys, build_tts_study(store).study_id, "html", tmp_path / "r.html")
    assert "WER and CER</h3>" in text and "процентов" in text
    assert "Overlap with the reference" not in text


def test_a_report_into_a_folder_and_bad_input(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_id = build_report_study(store)
    code = main(["study", "report", str(study_id), "--format", "xlsx", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / f"study-{study_id}.xlsx").is_file()
    capsys.readouterr()
    assert main(["study", "report", "404", "--format", "md", "--out", str(tmp_path)]) == 2
    assert "There is no study 404" in capsys.readouterr().err


def test_numbers_keep_three_significant_digits_and_never_turn_to_e_notation() -> None:
    from lineup.report.markdown_report import number as _number

    assert [_number(v) for v in (0.51234, 12.345, 117.4, 999.9999999999959, 1242.318)] == [
        "0.512",
        "12.3",
        "117",
        "1,000",
        "1,242",
    ]
    assert (_number(None), _number(float("nan")), _number(3)) == ("–", "–", "3")


# Reports with hostile text in every field ------------------------------------------------------

BEACON = "http://127.0.0.1:9"


def texts_study(store: Store, text: Callable[[int], str]) -> int:
    """A judged, labeled VLM study whose every piece of people's and models' text is
    `text(n)`: the set's name, questions, references, tags, model names, answers, errors,
    annotators, the judge and its reasons."""
    media = MediaStore(load_settings().home / "media")
    image = media.put(png_bytes((40, 30)), ".png")
    question_set = QuestionSet(name=text(0), kind="vlm", source="test")
    question_set.items = [
        SetItemRow(position=i, text=text(1 + i), image_hash=image if i == 0 else None,
                   reference=text(3 + i), language="en", tags=[text(5 + i)])
        for i in range(2)
    ]  # fmt: skip
    with store.session() as session:
        session.add(question_set)
        session.flush()
        set_id = question_set.id
    models = [f"m:{text(7)}", f"n:{text(8)}"]
    study_id = create_study(store, set_id=set_id, models=models, repeats=1, params={"seed": 2})
    n = 9
    for position, model in enumerate(models):
        for item in load_plan(store, study_id).items:
            gid = claim(store, study_id, item, model, 0, position=position, seed=2)
            assert gid is not None
            status = "ok" if position == 0 or item.position == 0 else "error"
            store.finish_generation(
                gid, status, output_text=text(n), error=text(n + 1), total_s=1.0, output_tokens=3
            )
            n += 2
            if status == "ok":
                for annotator, relevance in ((text(20), "relevant"), (text(21), "partial")):
                    store.add_label(gid, relevance, annotator=annotator)
                with store.session() as session:
                    session.add(
                        JudgeScore(study_id=study_id, generation_id=gid,
                                   judge_spec=f"j:{text(22)}", protocol="reference",
                                   prompt_hash="p", status="scored", score=7.0,
                                   reply=text(23), reasons=text(24), request={})
                    )  # fmt: skip
    return study_id


def plain(n: int) -> str:
    return f"plain{n}"


def hostile(n: int) -> str:
    payloads = markup_payloads(BEACON)
    return payloads[n % len(payloads)] + " <img src=x onerror=alert('S1')>"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, tuple[str, ...]]] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.attributes += [(tag, name, value) for name, value in attrs]

    handle_startendtag = handle_starttag


def tags_of(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def assert_nothing_fetches_links_or_runs(tags: Tags) -> None:
    names = [tag for tag, _ in tags.found]
    assert "a" not in names and "iframe" not in names and "link" not in names
    for tag, name, value in tags.attributes:
        assert not name.startswith("on"), (tag, name, value)
        if name in ("src", "href"):
            assert (value or "").startswith(("data:image/png;base64,", "data:audio/wav")), value
            assert tag in ("img", "audio"), (tag, name)


def test_the_markdown_report_renders_no_tag_image_or_link_of_anyones_text(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    hostile_md = report(capsys, texts_study(store, hostile), "md", tmp_path / "h.md")
    plain_md = report(capsys, texts_study(store, plain), "md", tmp_path / "p.md")
    assert "<img src=x onerror=alert('S1')>" not in hostile_md.splitlines()[0]
    hostile_tags = tags_of(renderer.render(hostile_md))
    plain_tags = tags_of(renderer.render(plain_md))
    assert_nothing_fetches_links_or_runs(hostile_tags)
    assert "img" not in [tag for tag, _ in hostile_tags.found]
    # The payloads add no tag: the same tags as the report of plain text.
    assert sorted(hostile_tags.found) == sorted(plain_tags.found)


def test_the_html_report_renders_no_tag_image_or_link_of_anyones_text(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_html = report(capsys, texts_study(store, hostile), "html", tmp_path / "h.html")
    plain_html = report(capsys, texts_study(store, plain), "html", tmp_path / "p.html")
    hostile_tags, plain_tags = tags_of(hostile_html), tags_of(plain_html)
    assert_nothing_fetches_links_or_runs(hostile_tags)
    # The payloads add no tag: the same tags as the report of plain text, but for the span
    # that keeps each word of a table cell whole (a payload has more words than "plain1").
    word = '<span class="word">'
    assert hostile_html.count(word) > plain_html.count(word)
    hostile_tags = tags_of(hostile_html.replace(word, ""))
    plain_tags = tags_of(plain_html.replace(word, ""))
    assert sorted(hostile_tags.found) == sorted(plain_tags.found)
    assert "&lt;img src=x onerror=alert(&#39;S1&#39;)&gt;" in hostile_html
