"""What an answer shows besides its text: its state, its figures (TTFT, total, tokens, decode
speed, chars/s) with a legend, and while it streams its live figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import streamlit as st

from lineup.app import (
    N_,
    TIMING_MODES,
    Generation,
    LiveFigures,
    _,
    answer_html,
    contention_note,
    escape_markdown,
    grouped,
    live_line,
    ngettext,
    number,
    significant,
    stall_line,
    text_html,
)

FIGURES_HELP = N_(
    "**TTFT**: time to first token, from sending the request to the first chunk of answer "
    "text (reasoning does not count).  \n"
    "**total**: from sending the request to the last chunk.  \n"
    "**tokens**: output tokens as the server counts them.  \n"
    "**tok/s**: decode speed after the first token. **(server)**: the server's own figure; "
    "otherwise measured here from the stream.  \n"
    "**chars/s**: characters after the first chunk per second, over the same window.  \n"
    "**load**: time the server took to load the model, kept out of the speeds.  \n"
    "**cold**: the answer included a model load; the speed medians leave it out.  \n"
    "**energy**: the whole device's energy over the answer's time (NVML for a GPU, RAPL for "
    "the CPU package), not the model's alone; n/a where the machine has no readable counter."
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
    @property
    def cold(self) -> bool | None: ...


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
    cold: bool | None = None
    energy_j: float | None = None
    energy_source: str | None = None
    gpu_mem_mb: float | None = None

    @classmethod
    def of(cls, source: Figures, hardware: Mapping[str, Any] | None = None) -> FigureValues:
        """`hardware`: the answer's energy_j, energy_source and gpu_mem_mb, where known."""
        hardware = hardware or {}
        return cls(
            source.ttft_s,
            source.total_s,
            source.output_tokens,
            source.tokens_per_s,
            source.tokens_per_s_source,
            source.chars_per_s,
            source.load_s,
            source.cold,
            hardware.get("energy_j"),
            hardware.get("energy_source"),
            hardware.get("gpu_mem_mb"),
        )


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return _("{value} ms").format(value=number(value * 1000))
    return _("{value} s").format(value=number(value, 2))


def _rate(value: float | None, source: str | None = None) -> str:
    if value is None:
        return "–"
    rate = number(value, 1)
    return _("{rate} (server)").format(rate=rate) if source == "server" else rate


def _significant(value: float) -> str:
    """Three significant digits ("1.23e+04" for a large value), with the language's decimal
    sign."""
    return significant(value)


def stats_line(figures: Figures) -> str:
    tokens = figures.output_tokens
    parts = [
        _("TTFT {time}").format(time=_seconds(figures.ttft_s)),
        _("total {time}").format(time=_seconds(figures.total_s)),
        # English says "tokens" whatever the count, as it always did; Russian agrees the noun.
        ngettext("{count} tokens", "{count} tokens", tokens or 0).format(
            count=tokens if tokens is not None else "–"
        ),
        _("{rate} tok/s").format(rate=_rate(figures.tokens_per_s, figures.tokens_per_s_source)),
        _("{rate} chars/s").format(rate=_rate(figures.chars_per_s)),
    ]
    if figures.load_s:
        parts.append(_("load {time}").format(time=_seconds(figures.load_s)))
    return " · ".join(parts)


TIMING_HELP = N_(
    "**parallel**: every model at once (fastest; models on one machine slow each other "
    "down).  \n**fair**: the models of one host (this machine, or one server's machine) one "
    "after another, in an order that rotates per item and repeat, so each is measured alone "
    "there; models on different hosts still run together."
)


# The timing modes as shown (the options stay the codes the run stores).
TIMING_WORDS = {"parallel": N_("parallel"), "fair": N_("fair")}


def timing_choice(key: str) -> str:
    """The form's timing mode (lineup.run.contention)."""
    # Translated here, in the script run: format_func may be called outside it.
    words = {mode: _(TIMING_WORDS.get(mode, mode)) for mode in TIMING_MODES}
    return str(
        st.radio(
            _("Timing"),
            TIMING_MODES,
            format_func=lambda mode: words.get(mode, mode),
            horizontal=True,
            key=key,
            help=_(TIMING_HELP),
        )
    )


def contention_badge(by_model: list[tuple[str, int | None, int | None]]) -> None:
    """A warning above figures measured under different contention (each model's fewest and
    most other requests in flight on its host, lineup.measure.contention), none when they
    agree."""
    note = contention_note(by_model)
    if note is not None:
        st.warning(escape_markdown(note), icon=":material/group:")


def hardware_line(figures: FigureValues) -> str:
    """Cold or not, the energy and the GPU memory of an answer; "n/a" where not measured."""
    parts = [_("cold (model load)")] if figures.cold else []
    parts.append(
        _("energy n/a")
        if figures.energy_j is None
        else _("energy {joules} J ({source}, whole device)").format(
            joules=_significant(figures.energy_j), source=figures.energy_source
        )
    )
    if figures.gpu_mem_mb is not None:
        parts.append(_("GPU memory {mib} MiB").format(mib=number(figures.gpu_mem_mb)))
    return " · ".join(parts)


def render_figures(figures: FigureValues) -> None:
    st.caption(f"{stats_line(figures)} · {hardware_line(figures)}", help=_(FIGURES_HELP))


LIVE_HELP = N_(
    "While the answer streams, refreshed several times a second; the final figures replace "
    "these when it ends.  \n"
    "**elapsed**: since the request was sent.  \n"
    "**TTFT**: time to the first chunk of answer text.  \n"
    "**chunks**: pieces of text (answer or reasoning) received so far. A chunk may hold more "
    "than one token: the server's token count comes with the final figures.  \n"
    "**now … chunks/s**: chunks that arrived in the last 3 seconds (since the first chunk, "
    "left out, when that is more recent) per second; it falls to 0 when the stream stops.  \n"
    "**stalled**: nothing arrived for longer than the stall time (LINEUP_STALL_S, 5 s unless "
    "set); it clears when chunks resume. A slow model keeps a low rate; a stuck one stalls."
)
SAVED_HELP = N_(
    "This answer runs in another Lineup process (the command line, another server): only what "
    "that process saves is known here, its text about twice a second. The time counts from when "
    "its row was made (getting the model ready included); rates and TTFT are shown there and "
    "stored with the final figures."
)


def render_live(status: str, live: LiveFigures | None, saved: str | None) -> None:
    """A running answer's status line and, on the line below, its live figures
    (`lineup.measure.live`), the stall first; or, for an answer another process runs, what its
    stored row says (`saved_progress`)."""
    if live is not None:
        stall = stall_line(live)
        badge = f":orange-badge[:material/pause_circle: {stall}] " if stall else ""
        st.caption(f"{status}  \n{badge}:material/speed: {live_line(live)}", help=_(LIVE_HELP))
    elif saved is not None:
        st.caption(f"{status}  \n:material/speed: {saved}", help=_(SAVED_HELP))
    else:
        st.caption(status)


def saved_progress(generation: Generation, now: datetime | None = None) -> str:
    """What a running row shows of its progress: the seconds since it was made and the
    characters of answer saved so far."""
    now = now or datetime.now(UTC)
    started = generation.started_at
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    count = len(generation.output_text or "")
    # English says "chars" whatever the count, as it always did; Russian agrees the noun.
    chars = ngettext("{count} chars so far", "{count} chars so far", count).format(
        count=grouped(count)
    )
    if started is None:
        return _("{chars} (as saved by the process that runs it)").format(chars=chars)
    seconds = number(max((now - started).total_seconds(), 0.0))
    return _(
        "{seconds} s since it started · {chars} (as saved by the process that runs it)"
    ).format(seconds=seconds, chars=chars)


# What the status line of a column says in each state: its icon and its words.
STATE_LINES = {
    "running": (":material/progress_activity:", N_("streaming…")),
    "ok": (":material/check_circle:", N_("done")),
    "error": (":material/error:", N_("failed")),
    "timeout": (":material/timer_off:", N_("timed out")),
    "cancelled": (":material/stop_circle:", N_("stopped")),
    "interrupted": (":material/power_off:", N_("interrupted")),
}


def state_line(status: str) -> str:
    """A column's status line in state `status` (the code itself for a state it does not
    know)."""
    if status not in STATE_LINES:
        return status
    icon, words = STATE_LINES[status]
    return f"{icon} {_(words)}"


def render_state(status: str, error: str | None) -> None:
    """The message of an answer that is not `ok` (the runner's own words when it gave some);
    its text, if any, is partial."""
    # The message may quote the server: shown as the text it is
    # (lineup.core.markup.escape_markdown).
    message = escape_markdown(error, keep_code=True) if error else None
    if status == "error":
        st.error(message or _("Failed."), icon=":material/error:")
    elif status == "timeout":
        st.warning(message or _("Timed out."), icon=":material/timer_off:")
    elif status == "cancelled":
        st.info(message or _("Stopped."), icon=":material/stop_circle:")
    elif status == "interrupted":
        st.warning(message or _("Interrupted: its process stopped."), icon=":material/power_off:")


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
            st.caption(_("Partial answer, as received before it ended:"))
        show_text(text + " ▌" if streaming else text, live=streaming)
