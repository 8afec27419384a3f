"""How long a study's Bradley-Terry ranking takes (lineup.measure.bradley_terry.bootstrap_ratings:
the fit on every item and BOOTSTRAP_RESAMPLES refits), which the Studies page, the leaderboard
filtered to a study, `study show` and the report each compute.

Synthetic item scores (relevant / partly / irrelevant, models of normal strengths, seed 0) for
study shapes from the shipped sets (3 models x 16 items) to a large study (8 x 200); best of
3 runs each.
Usage: .venv/bin/python -m bench.ranking [--out PATH]
Prints a Markdown report and prepends it, dated, to bench/results/ranking.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lineup.measure import BOOTSTRAP_RESAMPLES, bootstrap_ratings

SHAPES = ((3, 16), (4, 50), (8, 200))


def item_scores(n_models: int, n_items: int) -> dict[int, dict[str, float]]:
    rng = np.random.default_rng(0)
    strengths = rng.normal(0.0, 1.0, n_models)
    return {
        item: {
            f"m{i}": float(np.clip(round((strengths[i] + rng.normal()) * 2) / 4 + 0.5, 0, 1))
            for i in range(n_models)
        }
        for item in range(n_items)
    }


def best_of(runs: int, n_models: int, n_items: int) -> float:
    scores = item_scores(n_models, n_items)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        bootstrap_ratings(scores)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/ranking.md")
    args = parser.parse_args()
    load = os.getloadavg()
    lines = [
        f"## Ranking, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} (1 min) at the start. "
        f"{BOOTSTRAP_RESAMPLES} resamples.",
        "",
        "| models x items | seconds (best of 3) |",
        "|---|---|",
    ]
    for n_models, n_items in SHAPES:
        lines.append(f"| {n_models} x {n_items} | {best_of(3, n_models, n_items):.3f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    head = "# Ranking benchmark (bench/ranking.py)\n\n"
    old = out.read_text(encoding="utf-8").removeprefix(head) if out.exists() else ""
    out.write_text(head + report + ("\n" + old if old else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
