"""What a page shows as text, for the page tests: the Markdown elements with Lineup's escapes
read back (lineup.markup.escape_markdown), and the text of the st.html elements in which
answers, questions and references are shown (lineup.markup.answer_html)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

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
