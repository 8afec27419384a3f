"""A study's figures (plotly), drawn by its sections: % relevant with its interval, speed
against % relevant, the ratings, the per-item grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from components.charts import ESTIMATE_COLOUR
from lineup.app import N_, _, number, percentage

# Score of an item's labels (relevant 1, partial 0.5, irrelevant 0): red, amber, green.
SCORE_COLOURS = [[0.0, "#d62728"], [0.5, "#f2b705"], [1.0, "#2ca02c"]]
ITEM_LABEL_CHARS = 48  # an item's question cut to this on the grid's axis
HEATMAP_ROW_PX = 26
PALETTE = px.colors.qualitative.Plotly  # one colour per model in the speed chart


def interval_arms(
    estimates: Sequence[float], low: Sequence[float | None], high: Sequence[float | None]
) -> dict[str, Any]:
    """Plotly error arms from each estimate to its interval's ends; none where there is no
    interval (too few items), rather than a zero-width one."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [None if h is None else h - x for x, h in zip(estimates, high, strict=True)],
        "arrayminus": [
            None if lo is None else x - lo for x, lo in zip(estimates, low, strict=True)
        ],
        "color": "#444",
        "thickness": 1.5,
        "width": 6,
    }


def _maybe(value: Any) -> float | None:
    """A figure from a table as a float; None for none (None or NaN in a frame)."""
    return None if value is None or value != value else float(value)


def _labeled(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["requests"] and r["pct_relevant"] is not None]


# The relevance chart's words, per label word ("correct" for voices).
RELEVANCE_TITLES = {
    "relevant": N_("% relevant (error bar: 95% item-bootstrap interval; none below 5 items)"),
    "correct": N_("% correct (error bar: 95% item-bootstrap interval; none below 5 items)"),
}
RELEVANCE_HOVERS = {
    "relevant": N_("{name}: {share}% relevant, {interval}"),
    "correct": N_("{name}: {share}% correct, {interval}"),
}


def relevance_chart(
    rows: Sequence[dict[str, Any]], names: dict[str, str], what: str = "relevant"
) -> go.Figure:
    """% relevant per labeled model as a bar, its 95% item-bootstrap interval as the error bar
    (none below 5 items), and the figure with its label count written past the interval (a
    model at 0% still shows one)."""
    labeled = _labeled(rows)
    y = [names[r["model"]] for r in labeled]
    pct = [float(r["pct_relevant"]) for r in labeled]
    low = [_maybe(r["pct_relevant_ci_low"]) for r in labeled]
    high = [_maybe(r["pct_relevant_ci_high"]) for r in labeled]
    interval = [
        _("no interval")
        if lo is None or hi is None
        else _("95% interval {low}–{high}%").format(low=number(lo), high=number(hi))
        for lo, hi in zip(low, high, strict=True)
    ]
    figure = go.Figure(
        [
            go.Bar(
                y=y,
                x=pct,
                orientation="h",
                marker={"color": ESTIMATE_COLOUR},
                error_x=interval_arms(pct, low, high),
                customdata=interval,
                hovertemplate=_(RELEVANCE_HOVERS.get(what, RELEVANCE_HOVERS["relevant"])).format(
                    name="%{y}", share="%{x:.0f}", interval="%{customdata}"
                )
                + "<extra></extra>",
            ),
            go.Scatter(
                y=y,
                x=[p if hi is None else hi for p, hi in zip(pct, high, strict=True)],
                mode="text",
                text=[
                    f"  {percentage(p)} (n={r['requests']})"
                    for p, r in zip(pct, labeled, strict=True)
                ],
                textposition="middle right",
                hoverinfo="skip",
                cliponaxis=False,
            ),
        ]
    )
    figure.update_layout(
        xaxis={
            "title": _(RELEVANCE_TITLES.get(what, RELEVANCE_TITLES["relevant"])),
            "range": [0, 130],
            "tickvals": [0, 20, 40, 60, 80, 100],
        },
        yaxis={"autorange": "reversed", "automargin": True},
        showlegend=False,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        height=110 + 36 * len(labeled),
    )
    return figure


SPEED_AXES = {  # marked, said through `_()` where drawn
    "tokens_per_time_s": N_("output tokens / total time (tok/s)"),
    "median_tokens_per_s": N_("median decode speed (tok/s)"),
}


def speed_chart(
    relevance: Sequence[dict[str, Any]],
    speed: Sequence[dict[str, Any]],
    names: dict[str, str],
    speed_key: str = "tokens_per_time_s",
) -> go.Figure | None:
    """Each model that has both a speed (`speed_key` of the speed table) and labels as a point:
    speed across, % relevant up, with its 95% interval as the error bar. None when no model
    has both."""
    speeds = {r["model"]: r[speed_key] for r in speed if r[speed_key] is not None}
    points = [r for r in _labeled(relevance) if r["model"] in speeds]
    if not points:
        return None
    x = [float(speeds[r["model"]]) for r in points]
    # A trace per model, named in the legend: names written beside close points would overlap.
    figure = go.Figure(
        [
            go.Scatter(
                x=[speed],
                y=[float(r["pct_relevant"])],
                mode="markers",
                name=names[r["model"]],
                marker={"size": 12, "color": PALETTE[index % len(PALETTE)]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    **interval_arms(
                        [float(r["pct_relevant"])],
                        [_maybe(r["pct_relevant_ci_low"])],
                        [_maybe(r["pct_relevant_ci_high"])],
                    ),
                    "thickness": 1.5,
                },
                hovertemplate=_("{name}: {speed} tok/s, {share}% relevant").format(
                    name=names[r["model"]], speed="%{x:.1f}", share="%{y:.0f}"
                )
                + "<extra></extra>",
            )
            for index, (r, speed) in enumerate(zip(points, x, strict=True))
        ]
    )
    figure.update_layout(
        xaxis={"title": _(SPEED_AXES[speed_key]), "range": [0, max(x) * 1.15]},
        yaxis={"title": _("% relevant (95% interval)"), "range": [-5, 105]},
        legend={"orientation": "h", "y": -0.3, "x": 0},
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        height=380 + 22 * (len(points) // 3),
    )
    return figure


def item_label(position: int, text: str) -> str:
    """An item on the grid's axis: its number and the start of its question, one line."""
    flat = " ".join(text.split())
    if len(flat) > ITEM_LABEL_CHARS:
        flat = flat[: ITEM_LABEL_CHARS - 1] + "…"
    return f"{position + 1}. {flat}"


def item_heatmap(per_item: pd.DataFrame, models: Sequence[str], names: dict[str, str]) -> go.Figure:
    """Model × item: each cell the score of the counted labels on that model's answers to the
    item (relevant 1, partial ½, irrelevant 0, averaged over repeats and annotators); an
    unlabeled cell is left blank."""
    labels = [
        item_label(int(position), str(text))
        for position, text in zip(per_item["position"], per_item["text"], strict=True)
    ]
    z = [
        [None if pd.isna(value) else float(value) for value in row]
        for row in per_item[list(models)].itertuples(index=False, name=None)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[names[m] for m in models],
            y=labels,
            zmin=0,
            zmax=1,
            colorscale=SCORE_COLOURS,
            xgap=2,
            ygap=2,
            hoverongaps=False,
            colorbar={"title": {"text": _("score")}, "tickvals": [0, 0.5, 1], "thickness": 12},
            hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"side": "top", "automargin": True},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        height=90 + HEATMAP_ROW_PX * len(labels),
    )
    return figure


def rating_chart(rows: Sequence[dict[str, Any]], names: dict[str, str]) -> go.Figure:
    """Each rated model's Bradley-Terry rating as a point, its 95% bootstrap interval as the
    error bar, best first; the dotted line is the mean rating (1000). Rows: the study
    summary's models with bt_rating, bt_ci_low and bt_ci_high."""
    rated = [r for r in rows if r.get("bt_rating") is not None and r.get("bt_ci_low") is not None]
    rating = [float(r["bt_rating"]) for r in rated]
    low = [float(r["bt_ci_low"]) for r in rated]
    high = [float(r["bt_ci_high"]) for r in rated]
    figure = go.Figure(
        go.Scatter(
            y=[names[r["model"]] for r in rated],
            x=rating,
            mode="markers",
            marker={"color": ESTIMATE_COLOUR, "size": 10},
            error_x=interval_arms(rating, low, high),
            customdata=list(zip(low, high, strict=True)),
            hovertemplate=_("{name}: {rating}, 95% interval {low}–{high}").format(
                name="%{y}",
                rating="%{x:.0f}",
                low="%{customdata[0]:.0f}",
                high="%{customdata[1]:.0f}",
            )
            + "<extra></extra>",
        )
    )
    figure.add_vline(x=1000, line_dash="dot", line_color="#999")
    figure.update_layout(
        xaxis={"title": _("Bradley-Terry rating (error bar: 95% interval)")},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        showlegend=False,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        height=110 + 36 * len(rated),
    )
    return figure
