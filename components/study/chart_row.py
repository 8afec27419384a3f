"""A study's charts beside its relevance table: % relevant with its interval, and speed against
% relevant (VLM studies) or the mean WER per voice (voice studies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from components.charts import chart, wer_chart
from components.study.common import records
from components.study.figures import SPEED_AXES, relevance_chart, speed_chart
from lineup.app import StudyTables, _


def _wer_rows(voices: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The voices table's rows as the leaderboard's WER chart reads them."""
    return [
        {
            "voice": r["model"],
            "mean_wer": r["mean_wer"],
            "wer_std": r["wer_std"],
            "scored": r["scored"],
        }
        for r in voices
        if r["mean_wer"] is not None
    ]


@st.fragment  # its speed switch redraws the charts alone, not the page's scores and ranking
def charts(tables: StudyTables, names: dict[str, str]) -> None:
    """Side by side: % relevant with its interval, and speed against % relevant (VLM studies)
    or the mean WER per voice (voice studies)."""
    kind = tables.study.kind
    relevance = records(tables.relevance)
    voices = kind == "tts"
    share = "correct" if voices else "relevant"  # relevance_chart's key for its words
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown("**" + (_("% correct") if voices else _("% relevant")) + "**")
        if any(r["requests"] for r in relevance):
            chart(
                relevance_chart(relevance, names, share), key="study-relevance-chart", narrow=True
            )
        else:
            st.caption(_("No chart yet: no answer has a label. Label them in the label queue."))
    with right:
        if kind == "tts":
            st.markdown("**" + _("Mean WER") + "**")
            scored = _wer_rows(records(tables.voices))
            if scored:
                chart(wer_chart(scored, names), key="study-wer-chart", narrow=True)
            else:
                st.caption(_("No chart yet: no clip has a transcript."))
            return
        st.markdown("**" + _("Speed and % relevant") + "**")
        axis_words = {"tokens_per_time_s": _("tokens / time"), "median_tokens_per_s": _("median")}
        speed_key = st.segmented_control(
            _("Speed"),
            list(SPEED_AXES),
            format_func=lambda key: axis_words.get(key, key),
            default="tokens_per_time_s",
            required=True,
            key="study-speed-axis",
            label_visibility="collapsed",
            help=_("Speed across: output tokens over total time, or the median decode speed."),
        )
        figure = speed_chart(
            relevance, records(tables.speed), names, speed_key or "tokens_per_time_s"
        )
        if figure is None:
            st.caption(_("No chart yet: no model has both labels and a speed."))
        else:
            chart(figure, key="study-speed-chart", narrow=True)
