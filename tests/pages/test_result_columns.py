"""The result columns of components/runs.py while a run goes on: blind titles from the first
chunk, a status line per column, and each column's figures as soon as it has finished."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from components.runs import ColumnView, arrange, names_hidden
from components.stats import FigureValues
from lineup.catalog.names import model_label
from lineup.store.tables import Run
from tests.pages.helpers import shown_texts

FIGURES = FigureValues(0.12, 1.5, 40, 31.0, "server", 120.0, None)


def views(*statuses: str) -> list[ColumnView]:
    return [
        ColumnView(
            generation_id=10 + index,
            model=model,
            status=status,
            text="A payment" if status == "running" else "A payment error.",
            reasoning="",
            error=None,
            figures=FIGURES if status == "ok" else None,
        )
        for index, (model, status) in enumerate(
            zip(
                ["ollama:llava:7b", "ocr:eng+rus", "ollama:moondream:latest"],
                statuses,
                strict=False,
            )
        )
    ]


def test_blind_names_are_hidden_while_any_model_streams() -> None:
    run = Run(id=7, blind=True)
    streaming = views("running", "ok", "running")
    assert names_hidden(run, streaming, {})
    titles = [title.text for _, title in arrange(run, streaming, True, model_label)]
    assert titles == ["Model A", "Model B", "Model C"]
    # The same shuffle as the stored run will have, from the first chunk on.
    order = [view.model for view, _ in arrange(run, streaming, True, model_label)]
    assert sorted(order) == sorted(v.model for v in streaming)
    assert order == [v.model for v, _ in arrange(run, views("ok", "ok", "ok"), True, model_label)]


def test_names_show_once_every_complete_answer_is_labeled() -> None:
    run = Run(id=7, blind=True)
    finished = views("ok", "error", "ok")
    assert names_hidden(run, finished, {10: object()})
    assert not names_hidden(run, finished, {10: object(), 12: object()})
    assert not names_hidden(Run(id=7, blind=False), views("running", "ok", "ok"), {})


def draw_two_columns() -> None:
    import streamlit as st

    from components.runs import ColumnView, draw_column
    from components.stats import FigureValues

    figures = FigureValues(0.12, 1.5, 40, 31.0, "server", 120.0, None)
    left, right = st.columns(2)
    with left:
        draw_column(ColumnView(1, "ocr:eng+rus", "ok", "PAY-4021", "", None, figures))
    with right:
        draw_column(ColumnView(2, "ollama:slow:latest", "running", "word0 word1", "", None, None))


def test_a_finished_column_shows_its_figures_while_another_streams() -> None:
    at = AppTest.from_function(draw_two_columns).run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert any(c.endswith("done") for c in captions)
    assert any(c.endswith("streaming…") for c in captions)
    [figures] = [c for c in at.caption if c.value.startswith("TTFT")]
    assert "TTFT 120 ms" in figures.value and "31.0 (server) tok/s" in figures.value
    assert "time to first token" in figures.proto.help
    assert any(text == "word0 word1 ▌" for text in shown_texts(at))


def draw_live_columns() -> None:
    from datetime import UTC, datetime, timedelta

    import streamlit as st

    from components.runs import ColumnView, draw_column
    from components.stats import saved_progress
    from lineup.measure import live_figures
    from lineup.store.tables import Generation

    steady = [100.5 + 0.5 * k for k in range(9)]  # a chunk every 0.5 s from 100.5 to 104.5
    streaming = live_figures(started_at=100.0, arrivals=steady, first_text_at=100.5, now=105.0)
    stalled = live_figures(started_at=100.0, arrivals=steady, first_text_at=100.5, now=110.6)
    stored = Generation(
        status="running",
        output_text="x" * 1234,
        started_at=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
    )
    saved = saved_progress(
        stored, now=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC) + timedelta(seconds=42)
    )
    for column, (view_id, live, text) in zip(
        st.columns(3), [(1, streaming, "a b"), (2, stalled, "a b c")], strict=False
    ):
        with column:
            draw_column(
                ColumnView(view_id, "ollama:slow", "running", text, "", None, None, None, live)
            )
    with st.columns(3)[2]:
        draw_column(ColumnView(3, "ollama:elsewhere", "running", "", "", None, None, saved=saved))


def test_a_streaming_column_shows_its_live_figures_and_a_stalled_one_says_so() -> None:
    at = AppTest.from_function(draw_live_columns).run()
    assert not at.exception
    live = [c for c in at.caption if ":material/speed:" in c.value]
    assert len(live) == 3
    # Worked by hand: 5 s elapsed, TTFT 0.5 s, 9 chunks, 5 chunks in the last 3 s.
    assert live[0].value.endswith("5.0 s · TTFT 500 ms · 9 chunks · now 1.7 chunks/s")
    assert "stalled" not in live[0].value
    # 6.1 s after the last chunk: stalled, and no chunk in the last 3 s.
    assert "stalled: nothing for 6.1 s" in live[1].value
    assert "now 0.0 chunks/s" in live[1].value
    assert "LINEUP_STALL_S" in live[0].proto.help
    # Another process's answer: what its row says, no rate made up.
    assert "42 s since it started · 1,234 chars so far" in live[2].value
    assert "chunks/s" not in live[2].value
    assert "another Lineup process" in live[2].proto.help


def draw_cold_and_measured_columns() -> None:
    import streamlit as st

    from components.runs import ColumnView, draw_column
    from components.stats import FigureValues

    cold = FigureValues(9.6, 12.0, 40, 31.0, "server", 120.0, 9.1, cold=True)
    measured = FigureValues(
        0.12, 1.5, 40, 31.0, "server", 120.0, None, False, 42.5, "nvml+rapl", 3072.0
    )
    left, right = st.columns(2)
    with left:
        draw_column(ColumnView(1, "ollama:llava:7b", "ok", "Two cats.", "", None, cold))
    with right:
        draw_column(ColumnView(2, "transformers:tiny", "ok", "A cat.", "", None, measured))


def test_final_figures_say_cold_and_energy_or_n_a() -> None:
    at = AppTest.from_function(draw_cold_and_measured_columns).run()
    assert not at.exception
    first, second = [c.value for c in at.caption if c.value.startswith("TTFT")]
    assert "load 9.10 s" in first and "cold (model load)" in first and "energy n/a" in first
    assert "GPU memory" not in first
    assert "cold" not in second
    assert "energy 42.5 J (nvml+rapl, whole device)" in second and "GPU memory 3072 MiB" in second
