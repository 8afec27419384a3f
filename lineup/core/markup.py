"""Text from models and people written where a renderer reads it: as sanitised HTML for the
app, as escaped literal text inside Markdown.

Answers, reasoning, judge replies, transcripts, and the questions and references of an
imported set are hostile: they must never make a browser fetch anything (an image, a
stylesheet), link to `data:` or `javascript:`, or add markup of their own.

- `answer_html` keeps what makes an answer readable (paragraphs, line breaks, lists, bold and
  italics, code, headings, quotes, tables) and writes everything else as the text it is:
  images, links, autolinks, link definitions and raw HTML show as their Markdown source.
  markdown-it-py turns the Markdown into HTML with those rules off and raw HTML escaped; nh3
  (the ammonia sanitiser) then keeps only the tags of ANSWER_TAGS, with no attribute but a
  list's start, whatever the Markdown did.
- `text_html` shows a text as it is, every character escaped: for an answer still
  streaming (Markdown is laid out once it is complete) and for very long texts.
- `escape_markdown` makes a piece of text (a set's name, a model's name, an annotator, an
  error) read literally inside Lineup's own Markdown: every ASCII punctuation character is
  backslash-escaped, which CommonMark allows for each of them, so no emphasis, link, image,
  autolink, code span, HTML or entity can start; each run of white space (line breaks too)
  becomes one space, so no block (a heading, a list, code) can start either.
"""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt

# The tags an answer may hold once rendered; no attribute but an ordered list's start.
ANSWER_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "hr",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ANSWER_ATTRIBUTES = {"ol": {"start"}}
# Longer texts are shown as they are (`text_html`): Markdown would take seconds to lay out.
MAX_FORMATTED_CHARS = 100_000
# The Markdown rules that would make a fetch, a link or markup of the text's own.
OFF_RULES = ["image", "link", "autolink", "reference", "html_inline", "html_block", "linkify"]

# Every ASCII punctuation character (CommonMark: each may be backslash-escaped).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# A code span (CommonMark): a run of backticks, then the first run of exactly as many.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


@functools.cache
def _parser() -> MarkdownIt:
    # `breaks`: a line break in the answer stays one (OCR output and lists of codes rely on it).
    parser = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    parser.enable(["table", "strikethrough"])
    parser.disable([rule for rule in OFF_RULES if rule in _rule_names(parser)])
    return parser


def _rule_names(parser: MarkdownIt) -> set[str]:
    return {name for chain in parser.get_all_rules().values() for name in chain}


@functools.lru_cache(maxsize=256)
def answer_html(text: str) -> str:
    """`text` (Markdown from a model or a person) as HTML that holds only ANSWER_TAGS: nothing
    to fetch, no link, no attribute but a list's start. Cached: a page redraws the same
    answers many times. A text over MAX_FORMATTED_CHARS is shown as it is (`text_html`)."""
    if len(text) > MAX_FORMATTED_CHARS:
        return text_html(text)
    rendered = _parser().render(text)
    return nh3.clean(
        rendered,
        tags=set(ANSWER_TAGS),
        attributes={tag: set(names) for tag, names in ANSWER_ATTRIBUTES.items()},
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    ).strip()


def text_html(text: str) -> str:
    """`text` as HTML that shows it as it is, every character escaped, its line breaks and
    spaces kept (class "plain": white-space pre-wrap). For an answer still streaming, redrawn
    up to 20 times a second, where Markdown would cost milliseconds a draw (about 3 ms per
    1,000 characters here), and for very long texts."""
    return f'<p class="plain">{html.escape(text)}</p>'


def escape_markdown(text: str, *, keep_code: bool = False) -> str:
    """`text` as literal text inside Markdown, on one line (white space collapsed).

    `keep_code`: its code spans (`ollama serve` in a message) stay code. A code span is read
    literally, and every backtick outside the spans kept is escaped, so a renderer pairs the
    backticks as this does; not for a table cell, where a `|` inside code would still split
    it."""
    flat = " ".join(text.split())
    if not keep_code:
        return _PUNCTUATION.sub(r"\\\1", flat)
    escaped, start = [], 0
    for span in _CODE_SPAN.finditer(flat):
        escaped += [_PUNCTUATION.sub(r"\\\1", flat[start : span.start()]), span.group()]
        start = span.end()
    return "".join([*escaped, _PUNCTUATION.sub(r"\\\1", flat[start:])])


def code_span(text: str) -> str:
    """`text` as inline code in Markdown, on one line: its content is never read as markup
    (CommonMark), and the fence is a run of backticks longer than any in the text, so the text
    cannot close it. Not for a table cell, where a `|` would still split it."""
    flat = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""  # one is taken off each end
    return f"{fence}{pad}{flat}{pad}{fence}"
