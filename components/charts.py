"""The leaderboard's charts, and the cells its tables and charts share (the short names of
models are lineup.catalog.names')."""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from lineup.app import FAILURE_KEYS, _, ngettext, number, percentage, separators, state_word

# Light fill for an interval, strong colour for its point estimate (Streamlit's default blue).
INTERVAL_COLOUR = "rgba(28, 131, 225, 0.25)"
ESTIMATE_COLOUR = "rgb(28, 131, 225)"


def interval_text(low: float | None, high: float | None) -> str | None:
    """A percent interval as one cell, e.g. "41–63%"; None when there is no interval (None or
    NaN, as a frame holds a missing value)."""
    if low is None or high is None or low != low or high != high:
        return None
    return f"{number(low)}–{percentage(high)}"


# The longest line of an axis title that a chart half the page wide (narrow), or the page's
# width, shows whole at 1000 px (looked at on the Studies page's charts in Russian); Plotly
# never wraps a title itself, it cuts it at both ends.
TITLE_LINE_CHARS = 80
NARROW_TITLE_LINE_CHARS = 28
TITLE_LINE_PX = 18


def wrap_axis_titles(figure: go.Figure, line_chars: int) -> None:
    """Break each axis title longer than `line_chars` between words over lines (Plotly's
    `<br>`), let the axis make room for them and grow the chart by their height."""
    added = 0
    for axis in (figure.layout.xaxis, figure.layout.yaxis):
        title = axis.title.text
        if not title or len(title) <= line_chars or "<br>" in title:
            continue
        lines = textwrap.wrap(title, line_chars, break_long_words=False)
        axis.title.text = "<br>".join(lines)
        axis.automargin = True
        added += TITLE_LINE_PX * (len(lines) - 1)
    if added and figure.layout.height:
        figure.layout.height += added


def chart(figure: go.Figure, key: str, *, narrow: bool = False) -> None:
    """Draw a chart with its numbers in the page's language: Plotly writes axis ticks, hover
    templates' numbers and text templates with `layout.separators` (a decimal comma and
    spaced thousands in Russian); an English chart keeps Plotly's. Long axis titles (a Russian
    one is longer) are wrapped to the chart's width, `narrow` for a chart in half the page."""
    shown = separators()
    if shown is not None:
        figure.update_layout(separators=shown)
    wrap_axis_titles(figure, NARROW_TITLE_LINE_CHARS if narrow else TITLE_LINE_CHARS)
    st.plotly_chart(figure, key=key)


def failures_text(row: dict[str, Any]) -> str | None:
    """The failed generations by state, e.g. "error: 2, timeout: 1"; None when there are none."""
    parts = [
        f"{state_word(state)}: {row[key]}" for state, key in FAILURE_KEYS.items() if row.get(key)
    ]
    return ", ".join(parts) or None


def pct_relevant_chart(rows: list[dict[str, Any]], names: dict[str, str]) -> go.Figure:
    """% relevant per labeled model: its 95% Wilson interval as a light bar, the estimate as a
    mark on it, and the figure written beside it. A model at 0% still has a visible bar: its
    interval reaches above 0 whenever it has a label."""
    labeled = [r for r in rows if r["labels"]]
    y = [names[r["model"]] for r in labeled]
    low = [r["pct_relevant_ci_low"] for r in labeled]
    high = [r["pct_relevant_ci_high"] for r in labeled]
    pct = [r["pct_relevant"] for r in labeled]
    figure = go.Figure(
        [
            go.Bar(
                y=y,
                x=[h - lo for lo, h in zip(low, high, strict=True)],
                base=low,
                orientation="h",
                marker={"color": INTERVAL_COLOUR},
                name=_("95% Wilson interval"),
                customdata=list(zip(low, high, strict=True)),
                hovertemplate=_("{name}: 95% interval {low}–{high}%").format(
                    name="%{y}", low="%{customdata[0]:.0f}", high="%{customdata[1]:.0f}"
                )
                + "<extra></extra>",
            ),
            go.Scatter(
                y=y,
                x=pct,
                mode="markers",
                marker={
                    "symbol": "line-ns",
                    "size": 24,
                    "line": {"width": 4, "color": ESTIMATE_COLOUR},
                },
                name=_("% relevant"),
                hovertemplate=_("{name}: {share}% relevant").format(name="%{y}", share="%{x:.0f}")
                + "<extra></extra>",
            ),
            go.Scatter(
                y=y,
                x=high,
                mode="text",
                text=[
                    " "
                    + ngettext(
                        "{share}% ({count} label)", "{share}% ({count} labels)", r["labels"]
                    ).format(share=number(p), count=r["labels"])
                    for p, r in zip(pct, labeled, strict=True)
                ],
                textposition="middle right",
                showlegend=False,
                hoverinfo="skip",
                cliponaxis=False,
            ),
        ]
    )
    figure.update_layout(
        xaxis={
            "title": _("% relevant (bar: 95% Wilson interval)"),
            # Room right of 100% for the figure and its labels ("100% (56 labels)").
            "range": [0, 140],
            "tickvals": [0, 20, 40, 60, 80, 100],
        },
        yaxis={"autorange": "reversed", "automargin": True},
        # Above the bars: below them it lay over the axis title once the words grew longer.
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        margin={"t": 30, "b": 10},
        height=140 + 40 * len(labeled),
    )
    return figure


def wer_chart(rows: list[dict[str, Any]], names: dict[str, str]) -> go.Figure:
    """Mean WER per scored voice in percent (the unit of the table), ± one sd with the lower
    arm cut at 0, and the figure written beside each bar, so a voice at 0% is still there."""
    scored = [r for r in rows if r["mean_wer"] is not None]
    y = [names[r["voice"]] for r in scored]
    mean_pct = [100 * r["mean_wer"] for r in scored]
    sd_pct = [100 * (r["wer_std"] or 0) for r in scored]
    figure = go.Figure(
        [
            go.Bar(
                y=y,
                x=mean_pct,
                orientation="h",
                marker={"color": ESTIMATE_COLOUR},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": sd_pct,
                    "arrayminus": [min(s, m) for s, m in zip(sd_pct, mean_pct, strict=True)],
                },
                name=_("mean WER"),
                hovertemplate=_("{name}: mean WER {wer}%").format(name="%{y}", wer="%{x:.1f}")
                + "<extra></extra>",
            ),
            go.Scatter(
                y=y,
                x=[m + s for m, s in zip(mean_pct, sd_pct, strict=True)],
                mode="text",
                text=[
                    f" {percentage(m)} (n={r['scored']})"
                    for m, r in zip(mean_pct, scored, strict=True)
                ],
                textposition="middle right",
                showlegend=False,
                hoverinfo="skip",
                cliponaxis=False,
            ),
        ]
    )
    top = max([m + s for m, s in zip(mean_pct, sd_pct, strict=True)], default=0)
    figure.update_layout(
        xaxis={"title": _("mean WER, % (± 1 sd)"), "range": [0, max(top * 1.3, 10)]},
        yaxis={"autorange": "reversed", "automargin": True},
        showlegend=False,
        margin={"t": 10, "b": 10},
        height=120 + 40 * len(scored),
    )
    return figure
