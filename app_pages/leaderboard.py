"""Leaderboard: labels and speed per model, as a table, a chart and a CSV file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.charts import mean_with_spread_chart, pct_relevant_chart
from components.context import get_lineup
from components.exports import csv_download
from lineup.metrics import vlm_leaderboard
from lineup.tts_metrics import tts_leaderboard

app = get_lineup()
st.title("Leaderboard")
st.caption(
    "% relevant counts each annotator's latest label per answer; the interval is the 95% "
    "Wilson score interval. Speed figures are medians over successful answers."
)

vlm_tab, tts_tab, raw_tab = st.tabs(["VLMs", "Voices", "All rows"])

with vlm_tab:
    rows = vlm_leaderboard(app.store)
    if not rows:
        st.info("Nothing yet: run a comparison on the Compare VLMs page.")
    else:
        frame = pd.DataFrame(rows)
        st.dataframe(
            frame,
            hide_index=True,
            column_config={
                "model": "Model",
                "n": st.column_config.NumberColumn("Labeled", help="labels counted"),
                "pct_relevant": st.column_config.NumberColumn("% relevant", format="%.1f"),
                "pct_relevant_ci_low": st.column_config.NumberColumn("CI low", format="%.1f"),
                "pct_relevant_ci_high": st.column_config.NumberColumn("CI high", format="%.1f"),
                "median_ttft_s": st.column_config.NumberColumn("Median TTFT (s)", format="%.3f"),
                "median_total_s": st.column_config.NumberColumn("Median total (s)", format="%.3f"),
                "median_tokens_per_s": st.column_config.NumberColumn("Median tok/s", format="%.1f"),
            },
        )
        if any(r["n"] for r in rows):
            st.plotly_chart(pct_relevant_chart(rows), key="vlm-chart")
        csv_download(frame, "Download CSV", "lineup-vlm-leaderboard.csv", "vlm-csv")

with tts_tab:
    rows = tts_leaderboard(app.store)
    if not rows:
        st.info("Nothing yet: run a comparison on the Compare voices page.")
    else:
        frame = pd.DataFrame(rows)
        rate = {"format": "percent"}
        st.dataframe(
            frame,
            hide_index=True,
            column_config={
                "voice": "Voice",
                "n": st.column_config.NumberColumn("Clips", help="successful clips"),
                "mean_wer": st.column_config.NumberColumn("Mean WER", **rate),
                "wer_std": st.column_config.NumberColumn("WER sd", **rate),
                "corpus_wer": st.column_config.NumberColumn(
                    "Corpus WER", help="total errors / total reference words", **rate
                ),
                "mean_cer": st.column_config.NumberColumn("Mean CER", **rate),
                "median_rtf": st.column_config.NumberColumn("Median RTF", format="%.3f"),
                "median_gen_s": st.column_config.NumberColumn("Median gen (s)", format="%.2f"),
                "peak_mem_mb": st.column_config.NumberColumn("Peak mem (MB)", format="%.0f"),
                "pct_relevant": st.column_config.NumberColumn("% correct", format="%.1f"),
            },
        )
        st.plotly_chart(
            mean_with_spread_chart(rows, "voice", "mean_wer", "wer_std", "mean WER (± 1 sd)"),
            key="tts-chart",
        )
        csv_download(frame, "Download CSV", "lineup-tts-leaderboard.csv", "tts-csv")

with raw_tab:
    st.caption(
        "Every stored generation and every label, as they are in the store, for your own "
        "analysis. Labels carry the generation id they belong to."
    )
    for kind, title in [("vlm", "VLM answers"), ("tts", "Voice clips")]:
        generations = app.store.generations_frame(kind)
        labels = app.store.labels_frame(kind)
        c1, c2 = st.columns(2)
        csv_download(
            generations,
            f"{title}: {len(generations)} rows (CSV)",
            f"lineup-{kind}-generations.csv",
            f"{kind}-generations-csv",
            where=c1,
        )
        csv_download(
            labels,
            f"{title}: {len(labels)} labels (CSV)",
            f"lineup-{kind}-labels.csv",
            f"{kind}-labels-csv",
            where=c2,
        )
