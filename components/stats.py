"""Figures under an answer: TTFT, total, tokens, decode speed, chars/s."""

from __future__ import annotations

import streamlit as st

from lineup.models import Generation


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _rate(value: float | None, source: str | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" + (" (server)" if source == "server" else "")


def stats_line(generation: Generation) -> str:
    parts = [
        f"TTFT {_seconds(generation.ttft_s)}",
        f"total {_seconds(generation.total_s)}",
        f"{generation.output_tokens if generation.output_tokens is not None else '–'} tokens",
        f"{_rate(generation.tokens_per_s, generation.tokens_per_s_source)} tok/s",
        f"{_rate(generation.chars_per_s)} chars/s",
    ]
    if generation.load_s:
        parts.append(f"load {_seconds(generation.load_s)}")
    return " · ".join(parts)


def render_stats(generation: Generation) -> None:
    if generation.status == "ok":
        st.caption(stats_line(generation))
    elif generation.status == "error":
        st.error(generation.error or "Failed.", icon=":material/error:")


def render_answer(text: str | None) -> None:
    """Model output as Markdown (never raw HTML), keeping its line breaks (OCR relies on them)."""
    if text:
        st.markdown(text.replace("\n", "  \n"))
