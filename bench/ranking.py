"""How long a study's Bradley-Terry ranking takes (lineup.measure.bradley_terry.bootstrap_ratings:
the fit on every item and BOOTSTRAP_RESAMPLES refits), which the Studies page, the leaderboard
filtered to a study, `study show` and the report each compute.

Synthetic item scores (relevant / partly / irrelevant, models of normal strengths, seed 0) for
study shapes from the shipped sets (3 models x 16 items) to a large study (8 x 200); best of
3 runs each. `--before REF` times, in the same run, the ranking module of a git commit (its
own default resamples) beside today's, with the ratio.
Usage: .venv/bin/python -m bench.ranking [--out PATH] [--before REF]
Prints a Markdown report and prepends it, dated, to bench/results/ranking.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
import types
from collections.abc import Callable
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


def best_of(
    runs: int, n_models: int, n_items: int, rate: Callable[..., object] = bootstrap_ratings
) -> float:
    scores = item_scores(n_models, n_items)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        rate(scores)
        best = min(best, time.perf_counter() - started)
    return best


def module_at(ref: str) -> types.ModuleType:
    """lineup/measure/bradley_terry.py as it was at the git commit `ref`, loaded beside
    today's (it imports only lineup.measure's other modules)."""
    source = subprocess.run(
        ["git", "show", f"{ref}:lineup/measure/bradley_terry.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"bradley_terry_at_{ref}")
    exec(compile(source, f"{ref}:bradley_terry.py", "exec"), module.__dict__)  # noqa: S102
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/ranking.md")
    parser.add_argument("--before", help="a git commit whose ranking to time beside today's")
    args = parser.parse_args()
    load = os.getloadavg()
    before = module_at(args.before) if args.before else None
    lines = [
        f"## Ranking, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} (1 min) at the start. "
        f"{BOOTSTRAP_RESAMPLES} resamples"
        + (
            f"; before: commit {args.before} ({before.BOOTSTRAP_RESAMPLES} resamples), "
            "timed in the same run."
            if before
            else "."
        ),
        "",
        "| models x items | seconds (best of 3) |" + (" before | ratio |" if before else ""),
        "|---|---|" + ("---|---|" if before else ""),
    ]
    for n_models, n_items in SHAPES:
        now = best_of(3, n_models, n_items)
        row = f"| {n_models} x {n_items} | {now:.3f} |"
        if before:
            then = best_of(3, n_models, n_items, before.bootstrap_ratings)
            row += f" {then:.3f} | {now / then:.1f}x |"
        lines.append(row)
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    head = "# Ranking benchmark (bench/ranking.py)\n\n"
    old = out.read_text(encoding="utf-8").removeprefix(head) if out.exists() else ""
    out.write_text(head + report + ("\n" + old if old else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
