"""Plotly charts for the leaderboard."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


def pct_relevant_chart(rows: list[dict[str, Any]]) -> go.Figure:
    """% relevant per model with its 95% Wilson interval as an asymmetric error bar."""
    labeled = [r for r in rows if r["n"]]
    figure = go.Figure(
        go.Bar(
            x=[r["model"] for r in labeled],
            y=[r["pct_relevant"] for r in labeled],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r["pct_relevant_ci_high"] - r["pct_relevant"] for r in labeled],
                "arrayminus": [r["pct_relevant"] - r["pct_relevant_ci_low"] for r in labeled],
            },
            text=[f"{r['pct_relevant']:.0f}% (n={r['n']})" for r in labeled],
            textposition="outside",
        )
    )
    figure.update_layout(
        yaxis={"title": "% relevant (95% Wilson interval)", "range": [0, 105]},
        xaxis={"title": None},
        margin={"t": 30, "b": 10},
        height=380,
    )
    return figure


def mean_with_spread_chart(
    rows: list[dict[str, Any]], name_key: str, mean_key: str, spread_key: str, title: str
) -> go.Figure:
    """A bar per entry with ± one standard deviation, e.g. WER per voice."""
    figure = go.Figure(
        go.Bar(
            x=[r[name_key] for r in rows],
            y=[r[mean_key] for r in rows],
            # ± one sd, the lower arm cut at zero: an error rate is never negative.
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r.get(spread_key) or 0 for r in rows],
                "arrayminus": [min(r.get(spread_key) or 0, r[mean_key] or 0) for r in rows],
            },
        )
    )
    figure.update_layout(yaxis={"title": title}, margin={"t": 30, "b": 10}, height=380)
    return figure
