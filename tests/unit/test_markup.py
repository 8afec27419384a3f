"""Model output and people's text as the app and the reports show them (lineup.markup): an
answer keeps its lists, code and bold, and no payload leaves a tag that fetches, links or runs;
escaped text reads literally in any Markdown renderer."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from lineup.core.markup import (
    ANSWER_ATTRIBUTES,
    ANSWER_TAGS,
    MAX_FORMATTED_CHARS,
    answer_html,
    code_span,
    escape_markdown,
    text_html,
)
from testbed.payloads import markup_payloads

BEACON = "http://127.0.0.1:9"


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def renderer() -> MarkdownIt:
    """A GitHub-like renderer: raw HTML passed through, tables, strikethrough."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@pytest.mark.parametrize("payload", markup_payloads(BEACON))
def test_no_answer_payload_leaves_a_tag_that_fetches_links_or_runs(payload: str) -> None:
    html = answer_html(f"Intro **text**.\n\n{payload}\n\nThe end.")
    for tag, attrs in parsed(html).tags:
        assert tag in ANSWER_TAGS, (payload, html)
        assert set(attrs) <= ANSWER_ATTRIBUTES.get(tag, set()), (payload, html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<a " not in lowered, html


def test_a_payload_is_shown_as_the_text_it_is() -> None:
    html = answer_html(f"See ![p]({BEACON}/x) and <img src={BEACON}/y> and [d](data:x).")
    shown = "".join(parsed(html).text)
    assert shown == f"See ![p]({BEACON}/x) and <img src={BEACON}/y> and [d](data:x)."


def test_an_answer_keeps_its_lists_code_bold_tables_and_line_breaks() -> None:
    html = answer_html(
        "**Error** PAY-4021\nline two\n\n- first\n- second\n\n3. third\n\n"
        "`code` and\n\n```\nblock <b>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    tags = [tag for tag, _ in parsed(html).tags]
    assert tags.count("li") == 3 and "ul" in tags and "strong" in tags and "br" in tags
    assert ("ol", {"start": "3"}) in parsed(html).tags
    assert "<code>code</code>" in html and "<pre><code>block &lt;b&gt;\n</code></pre>" in html
    assert "<td>2</td>" in html


def test_an_answer_is_converted_once_and_then_read_from_the_cache() -> None:
    answer_html.cache_clear()
    first = answer_html("**cached**")
    assert answer_html("**cached**") is first
    assert answer_html.cache_info().hits == 1


@pytest.mark.parametrize(
    "text",
    [
        *markup_payloads(BEACON),
        "# Study 1: <img src=x onerror=alert('S1')>",
        "name | with | pipes",
        "*a* _b_ `c` ~~d~~ \\e &amp; &#60; :red[f] $g$ 1. h",
        "- list\n> quote\n    indented\n=====",
    ],
)
def test_escaped_text_renders_as_itself_and_nothing_else(text: str) -> None:
    escaped = escape_markdown(text)
    html = renderer().render(escaped)
    document = parsed(html)
    assert [tag for tag, _ in document.tags] == ["p"], html
    assert "".join(document.text).strip() == " ".join(text.split()), html


def test_escaped_text_in_a_table_cell_stays_in_its_cell() -> None:
    table = f"| a | b |\n|---|---|\n| {escape_markdown('x | <b>y</b>')} | 2 |"
    html = renderer().render(table)
    assert "<td>x | &lt;b&gt;y&lt;/b&gt;</td>" in html and "<td>2</td>" in html


@pytest.mark.parametrize("payload", [*markup_payloads(BEACON), "`", "``a`b``", "x\\`y`"])
def test_escaped_text_keeps_its_code_spans_as_code_and_nothing_else(payload: str) -> None:
    message = f"Failed: {payload}. Start it with `ollama serve` or ``a `b` c``."
    html = renderer().render(escape_markdown(message, keep_code=True))
    document = parsed(html)
    assert {tag for tag, _ in document.tags} <= {"p", "code"}, html
    assert all(attrs == {} for _, attrs in document.tags), html
    if "`" not in payload:  # else the payload's backticks pair with Lineup's, as in any renderer
        assert "<code>ollama serve</code>" in html and "<code>a `b` c</code>" in html


@pytest.mark.parametrize(
    "text", ["ollama:llava:7b", "a `tick` b", "``", "x ```` y", " <b>&amp;</b> "]
)
def test_a_code_span_shows_its_text_as_code(text: str) -> None:
    html = renderer().render(code_span(text))
    document = parsed(html)
    assert [tag for tag, _ in document.tags] == ["p", "code"], html
    assert "".join(document.text).strip() == " ".join(text.split())


@pytest.mark.parametrize("payload", markup_payloads(BEACON))
def test_a_streaming_text_is_shown_as_it_is(payload: str) -> None:
    html = text_html(f"**so far**\n{payload}")
    document = parsed(html)
    assert document.tags == [("p", {"class": "plain"})], html
    assert "".join(document.text) == f"**so far**\n{payload}"


def test_a_text_too_long_to_lay_out_is_shown_as_it_is() -> None:
    long = "**bold** " * (MAX_FORMATTED_CHARS // 9 + 1)
    assert answer_html(long) == text_html(long)
    assert "<strong>" in answer_html(long[:1000])
