"""What an answer shows besides its text: its state, and its figures (TTFT, total, tokens,
decode speed, chars/s) with a legend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import streamlit as st

from lineup.app import TIMING_MODES, answer_html, contention_note, escape_markdown, text_html

FIGURES_HELP = (
    "**TTFT**: time to first token, from sending the request to the first chunk of answer "
    "text (reasoning does not count).  \n"
    "**total**: from sending the request to the last chunk.  \n"
    "**tokens**: output tokens as the server counts them.  \n"
    "**tok/s**: decode speed after the first token. **(server)**: the server's own figure; "
    "otherwise measured here from the stream.  \n"
    "**chars/s**: characters after the first chunk per second, over the same window.  \n"
    "**load**: time the server took to load the model, kept out of the speeds."
)


class Figures(Protocol):
    """A stored generation or the runner's VLMTimings: both carry these (read only)."""

    @property
    def ttft_s(self) -> float | None: ...
    @property
    def total_s(self) -> float | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def tokens_per_s(self) -> float | None: ...
    @property
    def tokens_per_s_source(self) -> str | None: ...
    @property
    def chars_per_s(self) -> float | None: ...
    @property
    def load_s(self) -> float | None: ...


@dataclass(frozen=True)
class FigureValues:
    """The figures of one answer as plain values (compared when a column is redrawn)."""

    ttft_s: float | None
    total_s: float | None
    output_tokens: int | None
    tokens_per_s: float | None
    tokens_per_s_source: str | None
    chars_per_s: float | None
    load_s: float | None

    @classmethod
    def of(cls, source: Figures) -> FigureValues:
        return cls(
            source.ttft_s,
            source.total_s,
            source.output_tokens,
            source.tokens_per_s,
            source.tokens_per_s_source,
            source.chars_per_s,
            source.load_s,
        )


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _rate(value: float | None, source: str | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" + (" (server)" if source == "server" else "")


def stats_line(figures: Figures) -> str:
    parts = [
        f"TTFT {_seconds(figures.ttft_s)}",
        f"total {_seconds(figures.total_s)}",
        f"{figures.output_tokens if figures.output_tokens is not None else '–'} tokens",
        f"{_rate(figures.tokens_per_s, figures.tokens_per_s_source)} tok/s",
        f"{_rate(figures.chars_per_s)} chars/s",
    ]
    if figures.load_s:
        parts.append(f"load {_seconds(figures.load_s)}")
    return " · ".join(parts)


TIMING_HELP = (
    "**parallel**: every model at once (fastest; models on one machine slow each other "
    "down).  \n**fair**: the models of one host (this machine, or one server's machine) one "
    "after another, in an order that rotates per item and repeat, so each is measured alone "
    "there; models on different hosts still run together."
)


def timing_choice(key: str) -> str:
    """The form's timing mode (lineup.run.contention)."""
    return str(st.radio("Timing", TIMING_MODES, horizontal=True, key=key, help=TIMING_HELP))


def contention_badge(by_model: list[tuple[str, int | None, int | None]]) -> None:
    """A warning above figures measured under different contention (each model's fewest and
    most other requests in flight on its host, lineup.measure.contention), none when they
    agree."""
    note = contention_note(by_model)
    if note is not None:
        st.warning(escape_markdown(note), icon=":material/group:")


def render_figures(figures: Figures) -> None:
    st.caption(stats_line(figures), help=FIGURES_HELP)


# What the status line of a column says in each state.
STATE_LINES = {
    "running": ":material/progress_activity: streaming…",
    "ok": ":material/check_circle: done",
    "error": ":material/error: failed",
    "timeout": ":material/timer_off: timed out",
    "cancelled": ":material/stop_circle: stopped",
    "interrupted": ":material/power_off: interrupted",
}


def render_state(status: str, error: str | None) -> None:
    """The message of an answer that is not `ok` (the runner's own words when it gave some);
    its text, if any, is partial."""
    # The message may quote the server: shown as the text it is
    # (lineup.core.markup.escape_markdown).
    message = escape_markdown(error, keep_code=True) if error else None
    if status == "error":
        st.error(message or "Failed.", icon=":material/error:")
    elif status == "timeout":
        st.warning(message or "Timed out.", icon=":material/timer_off:")
    elif status == "cancelled":
        st.info(message or "Stopped.", icon=":material/stop_circle:")
    elif status == "interrupted":
        st.warning(message or "Interrupted: its process stopped.", icon=":material/power_off:")


# How shown text is laid out: it stays inside its column (a long word breaks, code and
# tables scroll sideways), code and quotes look as in Streamlit's own Markdown.
TEXT_STYLE = """<style>
.lineup-text { overflow-wrap: anywhere; }
.lineup-text .plain { white-space: pre-wrap; }
.lineup-text pre { overflow-x: auto; padding: 0.75rem 1rem; border-radius: 0.5rem;
  background: rgba(128, 128, 128, 0.1); }
.lineup-text code { font-size: 0.875em; padding: 0.1em 0.25em; border-radius: 0.25rem;
  background: rgba(128, 128, 128, 0.1); }
.lineup-text pre code { padding: 0; background: none; }
.lineup-text blockquote { margin: 0 0 1rem; padding-left: 1rem;
  border-left: 3px solid rgba(128, 128, 128, 0.4); }
.lineup-text table { display: block; overflow-x: auto; border-collapse: collapse;
  margin-bottom: 1rem; }
.lineup-text th, .lineup-text td { padding: 0.25rem 0.5rem;
  border: 1px solid rgba(128, 128, 128, 0.3); }
</style>"""


def show_text(text: str, *, live: bool = False) -> None:
    """Markdown from a model or a person (an answer, a question, a reference), shown safely:
    lists, code, bold and line breaks kept; images, links and HTML shown as the text they are,
    so nothing is fetched or linked (lineup.core.markup.answer_html). `live`: a text still
    streaming, shown as it is until it is complete (lineup.core.markup.text_html: no Markdown to
    lay out on every redraw)."""
    if text:
        shown = text_html(text) if live else answer_html(text)
        st.html(f'{TEXT_STYLE}<div class="lineup-text">{shown}</div>')


def render_answer(text: str | None, *, partial: bool = False, streaming: bool = False) -> None:
    """Model output (`show_text`); `partial`: it ended before it was complete; `streaming`:
    it is still coming, as it is, with a cursor at its end."""
    if text:
        if partial:
            st.caption("Partial answer, as received before it ended:")
        show_text(text + " ▌" if streaming else text, live=streaming)
