"""The pseudo-locale check of a page: run it with `?lang=pseudo`, where every message of the
Russian catalog comes back wrapped as ⟦message⟧ (lineup.core.i18n.PSEUDO), gather every piece
of text the page shows (titles, Markdown, captions, alerts, widgets' labels, placeholders and
help, tabs, expanders, table headers and their help) and find the words outside the markers: a
string that did not pass through the catalog, or a catalog without it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from streamlit.testing.v1 import AppTest

OPEN, CLOSE = "⟦", "⟧"
_INNERMOST = re.compile(r"⟦[^⟦⟧]*⟧")
# What is not a word to translate: code spans (specs, paths, commands), Material icons,
# Markdown's colour directives and emphasis, URLs, numbers and punctuation.
_NOT_WORDS = [
    re.compile(r"`[^`]*`"),
    re.compile(r":material/[a-z_]+:"),
    re.compile(r":(?:red|green|orange|blue|violet|gray|grey|rainbow|primary)(?:-badge)?\["),
    re.compile(r"https?://\S+"),
]
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters, two or more


def _texts_of(proto: Any) -> Iterator[str]:
    for field in ("body", "label", "placeholder", "help", "caption", "text"):
        try:
            value = getattr(proto, field)
        except AttributeError:
            continue
        if isinstance(value, str) and value:
            yield value
    columns = getattr(proto, "columns", None)
    if isinstance(columns, str) and columns:  # a dataframe's column config, as JSON
        for config in json.loads(columns).values():
            for field in ("label", "help"):
                if config.get(field):
                    yield config[field]


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)


def shown_strings(at: AppTest) -> list[str]:
    """Every piece of text the page shows, as the elements hold it."""
    found: list[str] = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or getattr(node, "type", None) == "html":
            continue  # st.html shows people's text (questions, answers) and styles
        found += list(_texts_of(proto))
        label = getattr(node, "label", None)  # tabs and expanders keep it on the node
        if isinstance(label, str) and label and label not in found:
            found.append(label)
    return found


def unwrapped(text: str) -> str:
    """`text` without what passed through the catalog (innermost markers first: a translated
    message may hold another) and without what is not words."""
    previous = None
    while previous != text:
        previous, text = text, _INNERMOST.sub(" ", text)
    for pattern in _NOT_WORDS:
        text = pattern.sub(" ", text)
    return text


def untranslated(at: AppTest, allowed: Iterable[str] = ()) -> list[str]:
    """The shown strings that hold words outside the markers, other than `allowed` (the
    app's data: set names, model specs, people's text)."""
    allowed_words = {word for text in allowed for word in _WORD.findall(text)}
    bad = []
    for text in shown_strings(at):
        rest = unwrapped(text)
        for value in allowed:
            rest = rest.replace(value, " ")
        if any(word not in allowed_words for word in _WORD.findall(rest)):
            bad.append(text)
    return bad
