"""Columns of a comparison: order and names (blind mode), the live stream, the stored result."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import streamlit as st

from lineup.models import Generation, Label, Run
from lineup.runner import Comparison

REDRAW_INTERVAL_S = 0.05  # at most about 20 updates a second per column


@dataclass(frozen=True)
class Column:
    generation_id: int
    title: str


def blind_order(run_id: int, count: int) -> list[int]:
    """A shuffled column order, the same on every rerun of the same run."""
    order = list(range(count))
    random.Random(run_id).shuffle(order)
    return order


def column_titles(
    run: Run, generations: list[Generation], labels: dict[int, Label]
) -> tuple[list[Generation], list[str], bool]:
    """Order and titles; in blind mode names stay hidden until this annotator labeled them all."""
    hidden = run.blind and not all(g.id in labels for g in generations if g.status == "ok")
    if not run.blind:
        return generations, [g.model_spec for g in generations], False
    order = blind_order(run.id, len(generations))
    shuffled = [generations[i] for i in order]
    letters = [f"Model {chr(ord('A') + i)}" for i in range(len(shuffled))]
    if hidden:
        return shuffled, letters, True
    return (
        shuffled,
        [f"{letter}: {g.model_spec}" for letter, g in zip(letters, shuffled, strict=True)],
        False,
    )


def stream_into_columns(
    comparison: Comparison,
    titles: dict[int, str],
    order: list[int],
) -> None:
    """Drain the runner's events into one placeholder per column, redrawing at most ~20×/s."""
    columns = st.columns(len(order))
    slots = {}
    for column, generation_id in zip(columns, order, strict=True):
        with column:
            st.subheader(titles[generation_id], divider="gray")
            slots[generation_id] = (st.empty(), st.empty())
    texts: dict[int, str] = {gid: "" for gid in order}
    drawn_at: dict[int, float] = {gid: 0.0 for gid in order}
    for event in comparison.iter_events():
        answer, status = slots[event.generation_id]
        if event.kind == "chunk":
            texts[event.generation_id] += event.text
            now = time.monotonic()
            if now - drawn_at[event.generation_id] >= REDRAW_INTERVAL_S:
                answer.markdown(texts[event.generation_id] + " ▌")
                drawn_at[event.generation_id] = now
        elif event.result is not None:
            if event.result.status == "ok":
                answer.markdown(event.result.text or "*(empty answer)*")
                status.caption("done")
            else:
                if texts[event.generation_id]:
                    answer.markdown(texts[event.generation_id])
                status.error(event.result.error or "Failed.")
