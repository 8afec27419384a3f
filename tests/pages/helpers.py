"""The page tests' helpers: what a page shows as text (the Markdown elements with Lineup's
escapes read back, lineup.markup.escape_markdown, and the text of the st.html elements in which
answers, questions and references are shown, lineup.markup.answer_html), and the pages opened
in AppTest the way several tests open them."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescaped(markdown: str) -> str:
    """Markdown source with its backslash escapes read back: `llava\\:7b` is llava:7b."""
    return _ESCAPE.sub(r"\1", markdown)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text an st.html element shows (its style left out), trimmed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def shown_texts(at: Any) -> list[str]:
    """Every piece of text the page shows in Markdown or HTML, in that order."""
    return [unescaped(m.value) for m in at.markdown] + [html_text(h.value) for h in at.html]


# The Label queue page ------------------------------------------------------------------------


PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "label_queue.py")


def page(**query: str) -> AppTest:
    """The Label queue page with `query` in its address, after its first run."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def progress_text(at: AppTest) -> str:
    [bar] = at.get("progress")
    return bar.proto.text


def shown(at: AppTest) -> str:
    return "\n".join(shown_texts(at))


def titles(at: AppTest) -> list[str]:
    """The answers' titles, in the order shown."""
    found = (re.match(r"\*\*(Answer .+?)\*\*", unescaped(m.value)) for m in at.markdown)
    return [match.group(1) for match in found if match]


# The Studies page ----------------------------------------------------------------------------


APP = str(Path(__file__).resolve().parents[2] / "app.py")


def studies_page(**query: str) -> AppTest:
    """The Studies page as the app serves it (through app.py's navigation, which its link to
    the label queue needs)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("app_pages/studies.py")
    return at.run()


# The Leaderboard and Backends pages ----------------------------------------------------------


PAGES = Path(__file__).resolve().parents[2] / "app_pages"


def shown_columns(at: AppTest, index: int) -> dict[str, dict]:
    """The columns a dataframe shows, in order, with their config (label, help, type)."""
    proto = at.dataframe[index].proto
    config = json.loads(proto.columns)
    return {name: config.get(name, {}) for name in proto.column_order}


class FakeClock:
    """The start button's clock, moved by the test (the page's other clocks run on)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now
