"""What the live figures cost a redraw of the Compare page with 8 streaming columns.

A real comparison of 8 in-process models, each streaming a word every CHUNK_GAP_S (so the page
redraws columns whose text grows as it would), is drawn again and again, alternately without and
with the live figures, while it streams. One redraw is what the page's fragment does about 20
times a second (components/runs.py, REDRAW_INTERVAL_S):

- snapshot: `Comparison.snapshot()` and a `ColumnView` per model (with live figures: each
  model's `lineup.measure.live.live_figures` over its arrival stamps; without: none computed);
- draw: the 8 columns drawn by `components.runs.draw_column` in one Streamlit script run
  (`streamlit.testing.v1.AppTest`: the server's side of a redraw, its elements serialised; the
  browser's layout is not in it).

Both modes alternate redraw by redraw, so the text they draw grows alike.
Usage: .venv/bin/python -m bench.live [--redraws N] [--out PATH]
Prints a Markdown report and prepends it, dated, to bench/results/live.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.base import Chunk, Usage, VLMBackend, VLMRequest  # noqa: E402
from backends.spec import parse_spec  # noqa: E402

COLUMNS = 8
CHUNK_GAP_S = 0.02  # 50 chunks a second per model, 400 for the page
WARM_UP = 5  # redraws per mode not counted (the first imports and caches)
STREAM_LIMIT_S = 600.0  # every stream is stopped when the bench ends, long before this


class Dripping(VLMBackend):
    """Streams a word every CHUNK_GAP_S until stopped (or STREAM_LIMIT_S)."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        deadline = time.monotonic() + STREAM_LIMIT_S
        index = 0
        while not self.stop.wait(CHUNK_GAP_S) and time.monotonic() < deadline:
            yield Chunk(text=("" if index == 0 else " ") + f"word{index}")
            index += 1
        yield Chunk(usage=Usage(output_tokens=index, output_tokens_source="client"))


def draw_columns() -> None:
    import streamlit as st

    from components.runs import draw_column

    views = st.session_state["views"]
    for column, view in zip(st.columns(len(views)), views, strict=True):
        with column:
            st.subheader(view.model, anchor=False, divider="gray")
            draw_column(view)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.2f}"


def measure(redraws: int) -> tuple[dict[str, dict[str, list[float]]], int]:
    """Per mode ("without", "with"): the seconds of each redraw's snapshot and draw; and the
    characters per column at the end."""
    from streamlit.testing.v1 import AppTest

    from components.runs import ColumnView
    from lineup.catalog import Lane, ResolvedModel
    from lineup.run import start_vlm_comparison
    from lineup.store import Store

    store = Store(f"sqlite:///{Path(os.environ['LINEUP_HOME']) / 'lineup.db'}")
    backends = [Dripping() for _ in range(COLUMNS)]
    models = [
        ResolvedModel(f"drip{i}", parse_spec(f"fake:drip{i}"), {}, Lane("in-process:fake"), "vlm")
        for i in range(COLUMNS)
    ]
    comparison = start_vlm_comparison(
        store,
        models,
        VLMRequest("Count."),
        lambda model: backends[int(model.name.removeprefix("drip"))],
        timeout_s=STREAM_LIMIT_S,
    )
    page = AppTest.from_function(draw_columns, default_timeout=60)
    times: dict[str, dict[str, list[float]]] = {
        mode: {"snapshot": [], "draw": []} for mode in ("without", "with")
    }
    time.sleep(1.0)  # every column streaming, with some text and a rate
    try:
        for index in range(WARM_UP * 2 + redraws * 2):
            mode = "with" if index % 2 else "without"
            if mode == "without":
                for job in comparison.jobs:  # the live figures not computed
                    setattr(job, "live", lambda now: None)  # noqa: B010
            started = time.perf_counter()
            views = [ColumnView.of_job(view) for view in comparison.snapshot()]
            snapped = time.perf_counter()
            page.session_state["views"] = views
            page.run()
            drawn = time.perf_counter()
            if mode == "without":
                for job in comparison.jobs:
                    del job.live
            if page.exception:
                raise RuntimeError(f"the page failed: {page.exception}")
            assert all(view.status == "running" for view in views)
            assert all((view.live is not None) == (mode == "with") for view in views)
            if mode == "with":
                shown = [c.value for c in page.caption if "chunks/s" in c.value]
                assert len(shown) == COLUMNS, shown  # the live figures were drawn
            if index >= WARM_UP * 2:
                times[mode]["snapshot"].append(snapped - started)
                times[mode]["draw"].append(drawn - snapped)
        chars = len(comparison.snapshot()[0].text)
    finally:
        for backend in backends:
            backend.stop.set()
        comparison.wait()
    return times, chars


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redraws", type=int, default=150, help="per mode")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "live.md")
    args = parser.parse_args()
    load_1m, load_5m, _ = os.getloadavg()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    os.environ["LINEUP_HOME"] = tempfile.mkdtemp(prefix="lineup-bench-")
    os.environ.pop("LINEUP_DATABASE_URL", None)
    # AppTest's script runs outside a server: Streamlit says so on every call, needlessly.
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    times, chars = measure(args.redraws)
    rows = []
    medians: dict[str, float] = {}
    for mode in ("without", "with"):
        snapshot, draw = times[mode]["snapshot"], times[mode]["draw"]
        total = [s + d for s, d in zip(snapshot, draw, strict=True)]
        medians[mode] = statistics.median(total)
        rows.append(
            f"| {mode} live figures | {ms(statistics.median(snapshot))} | "
            f"{ms(quantile(snapshot, 0.95))} | {ms(statistics.median(draw))} | "
            f"{ms(quantile(draw, 0.95))} | {ms(medians[mode])} | {ms(quantile(total, 0.95))} |"
        )
    ratio = medians["with"] / medians["without"]
    report = "\n".join(
        [
            f"## Redraw with {COLUMNS} streaming columns, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, "
            f"Python {platform.python_version()}; load average {load_1m:.1f} (1 min), "
            f"{load_5m:.1f} (5 min) at the start.",
            "",
            f"{COLUMNS} in-process models each streaming a word every {CHUNK_GAP_S * 1000:.0f} ms; "
            f"{args.redraws} redraws per mode, alternating; each column held about {chars:,} "
            "characters at the end. Times in ms.",
            "",
            "| mode | snapshot p50 | p95 | draw p50 | p95 | redraw p50 | p95 |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Redraw p50 with / without the live figures: **{ratio:.3f}** (one run).",
            "",
        ]
    )
    print(report)
    title = "# Live figures' redraw cost (bench/live.py)\n\n"
    earlier = args.out.read_text().removeprefix(title) if args.out.exists() else ""
    args.out.write_text(title + report + ("\n" + earlier if earlier else ""))


if __name__ == "__main__":
    main()
