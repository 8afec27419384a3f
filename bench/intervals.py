"""How long a study's summary and report take with every interval from the item bootstrap,
against a tree from before: a study's page and report must not be slower than before.

The study: 16 items with a reference answer, 4 models, 2 repeats (128 answers, all complete),
labels by two annotators on most answers, a `reference` judge's verdict on every answer;
built offline and deterministically straight into the store with the first tree's code (the
database is the same for both trees: no migration between them). Its figures with intervals:
% relevant, the mean relevance score, ROUGE-1, ROUGE-L, chrF, the judge's figure.

Timed, trees alternated, each on its own copy of the home, RUNS runs after one warm-up, in a
runner process per tree that has imported Lineup (bench.report's Runner: the CLI's entry
point, the command's own work): `study show N --json` (the summary the Studies page draws
from, with its tables) and `study report N --format html`. Medians and the ratio second /
first; a dated table with the machine and its load is appended to bench/results/intervals.md.

With --cpu, the same study's summary and tables (what the Studies page draws from: a
StudyResult's `summary` and `tables`) are timed in CPU seconds of the process
(time.process_time, which the machine's load moves far less than the wall clock), trees
alternated: "cold", the first build in a fresh process (after the imports and one row read),
over RUNS processes per tree; "redrawn", RUNS builds in one process after a first one, as a
page drawn again (what a process keeps between two builds counts there).

Usage: .venv/bin/python -m bench.intervals --tree BEFORE --tree AFTER [--runs 7] [--cpu]
(a tree is a folder holding a checkout: e.g. `git archive 5fb8876 | tar -x -C /tmp/before`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.report import ROOT, Runner, _commit, _copy_home, _env

RESULTS = ROOT / "bench" / "results" / "intervals.md"
ITEMS, MODELS, REPEATS = 16, ("m:one", "m:two", "m:three", "m:four"), 2

# Run with the tree's code, LINEUP_HOME set: builds the study and prints its id.
BUILD = r"""
import hashlib
from lineup.core.settings import load_settings
from lineup.store import JUDGE_SCORED, JudgeScore
from lineup.store.database import Store
from lineup.store.tables import QuestionSet, SetItemRow
from lineup.study.records import claim, create_study, load_plan

ITEMS, MODELS, REPEATS = {items}, {models!r}, {repeats}
WORDS = "card declined payment error network login password account screen update".split()

def h(*parts):
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)

store = Store(load_settings().database_url)
references = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 4)) for i in range(ITEMS)]
question_set = QuestionSet(name="bench-intervals", kind="vlm", source="bench")
question_set.items = [
    SetItemRow(position=p, text=f"What does screen {{p}} say?", reference=r, tags=[])
    for p, r in enumerate(references)
]
with store.session() as session:
    session.add(question_set)
    session.flush()
    set_id = question_set.id
study_id = create_study(store, set_id=set_id, models=list(MODELS), repeats=REPEATS, params={{}})
verdicts = []
for index, item in enumerate(load_plan(store, study_id).items):
    for position, model in enumerate(MODELS):
        for repeat in range(REPEATS):
            gid = claim(store, study_id, item, model, repeat, position=position, seed=None)
            words = references[index].split()
            keep = [w for w in words if h(model, index, repeat, w) % 4 > position % 4 - 1]
            text = " ".join(keep + [WORDS[h(model, index, repeat) % len(WORDS)]])
            store.finish_generation(gid, "ok", output_text=text, total_s=1.0 + position)
            quality = h(index, model, repeat) % 100 + 20 * (2 - position)
            for who in ("ana", "bo"):
                if h(who, gid) % 7 == 0:
                    continue
                grade = 0 if quality >= 80 else 1 if quality >= 45 else 2
                if who == "bo" and h("bo", index) % 5 == 0:
                    grade = (grade + 1) % 3
                store.add_label(gid, ("relevant", "partial", "irrelevant")[grade], annotator=who)
            verdicts.append((gid, 1 + (quality // 12) % 10))
with store.session() as session:
    for gid, score in verdicts:
        session.add(JudgeScore(study_id=study_id, generation_id=gid, judge_spec="judge:bench",
                               protocol="reference", prompt_hash="0" * 64,
                               status=JUDGE_SCORED, score=score))
print(study_id)
"""


def build(home: Path, tree: Path) -> int:
    """The study in `home` (made with the tree's code); its id."""
    home.mkdir(parents=True, exist_ok=True)
    script = BUILD.format(items=ITEMS, models=MODELS, repeats=REPEATS)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tree,
        env=_env(home),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"The build failed:\n{done.stderr[-3000:]}")
    return int(done.stdout.strip().splitlines()[-1])


# Run with the tree's code, LINEUP_HOME set: CPU seconds of the study's summary and tables,
# the first build in this process, then `runs` more (JSON on the last line).
CPU = r"""
import json, time
from lineup.core.settings import load_settings
from lineup.store.database import Store
from lineup.report import load_study_result
store = Store(load_settings().database_url)
load_study_result(store, {study}).plan
def build():
    started = time.process_time()
    result = load_study_result(store, {study})
    result.summary, result.tables
    return time.process_time() - started
cold = build()
print(json.dumps({{"cold": cold, "redrawn": [build() for _ in range({runs})]}}))
"""


def cpu_times(
    trees: list[Path], home: Path, study: int, runs: int
) -> dict[int, dict[str, list[float]]]:
    """Per tree: the cold CPU seconds of `runs` fresh processes, and the redrawn ones of the
    last process's `runs` builds after its first."""
    out: dict[int, dict[str, list[float]]] = {
        i: {"cold": [], "redrawn": []} for i in range(len(trees))
    }
    for _ in range(runs):
        for index, tree in enumerate(trees):
            done = subprocess.run(
                [sys.executable, "-c", CPU.format(study=study, runs=runs)],
                cwd=tree,
                env=_env(home),
                capture_output=True,
                text=True,
                check=True,
            )
            found = json.loads(done.stdout.strip().splitlines()[-1])
            out[index]["cold"].append(found["cold"])
            out[index]["redrawn"] = found["redrawn"]
    return out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", dest="trees", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cpu", action="store_true", help="CPU seconds of summary and tables")
    args = parser.parse_args(argv)
    trees = [tree.resolve() for tree in args.trees]
    load = os.getloadavg()
    if args.cpu:
        return _cpu_main(trees, args.runs, args.out, load)
    commands = {
        "show --json": lambda study, out: ("study", "show", study, "--json"),
        "report html": lambda study, out: (
            "study",
            "report",
            study,
            "--format",
            "html",
            "--out",
            str(out / "r.html"),
        ),
    }
    times = {(i, name): [] for i in range(len(trees)) for name in commands}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lineup-iv-")))
        home = scratch / "built"
        study = str(build(home, trees[0]))
        runners = []
        for index, tree in enumerate(trees):
            copy = _copy_home(home, scratch / str(index))
            runner = Runner(tree, copy)
            stack.callback(runner.close)
            runners.append(runner)
            for argv in commands.values():
                runner.run(*argv(study, scratch))  # warm-up
        for _ in range(args.runs):
            for index, runner in enumerate(runners):
                for name, argv in commands.items():
                    times[index, name].append(runner.run(*argv(study, scratch)))
    end = os.getloadavg()
    about = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1 / 5 / 15 min) at the start, {end[0]:.1f} (1 min) at the end. A study "
        f"of {ITEMS} items x {len(MODELS)} models x {REPEATS} repeats (every answer complete "
        "and judged, labels by two annotators), built by the first tree. Seconds in-process "
        f"(the CLI's entry point in a runner that has imported Lineup), {args.runs} runs per "
        "tree and command after one warm-up, trees alternated: median (min-max)."
    )
    lines = [
        f"## Summary and report of a 16-item, 4-model study, {datetime.now(UTC):%Y-%m-%d %H:%M} "
        "UTC",
        "",
        textwrap.fill(about, width=100),
        "",
        "| tree | commit | " + " | ".join(f"`study {name}` s" for name in commands) + " |",
        "|---|---|" + "---|" * len(commands),
    ]
    for index, tree in enumerate(trees):
        cells = " | ".join(_spread(times[index, name]) for name in commands)
        lines.append(f"| {tree.name} | {_commit(tree)} | {cells} |")
    if len(trees) == 2:
        ratios = ", ".join(
            f"{name} {statistics.median(times[1, name]) / statistics.median(times[0, name]):.2f}"
            for name in commands
        )
        lines += ["", f"Ratio second / first (medians): {ratios}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.out.exists():
        args.out.write_text(
            "# Interval benchmark (bench/intervals.py)\n\nHow long a study's summary and HTML "
            "report take with the item-bootstrap intervals; runs are appended, oldest first.\n"
        )
    with args.out.open("a") as handle:
        handle.write("\n" + text)
    return 0


def _cpu_main(trees: list[Path], runs: int, out: Path, load: tuple[float, ...]) -> int:
    with tempfile.TemporaryDirectory(prefix="lineup-iv-") as scratch:
        home = Path(scratch) / "built"
        study = build(home, trees[0])
        times = cpu_times(trees, home, study, runs)
    end = os.getloadavg()
    about = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1 / 5 / 15 min) at the start, {end[0]:.1f} (1 min) at the end. The "
        f"same study ({ITEMS} items x {len(MODELS)} models x {REPEATS} repeats). CPU seconds "
        "(time.process_time) of a StudyResult's summary and tables, what the Studies page "
        f"draws from: cold = the first build in a fresh process ({runs} processes per tree), "
        f"redrawn = {runs} builds in one process after its first (a page drawn again); "
        "median (min-max), trees alternated."
    )
    lines = [
        f"## Page figures (CPU) of a 16-item, 4-model study, {datetime.now(UTC):%Y-%m-%d %H:%M} "
        "UTC",
        "",
        textwrap.fill(about, width=100),
        "",
        "| tree | commit | cold CPU s | redrawn CPU s |",
        "|---|---|---|---|",
    ]
    for index, tree in enumerate(trees):
        cells = " | ".join(_spread(times[index][k]) for k in ("cold", "redrawn"))
        lines.append(f"| {tree.name} | {_commit(tree)} | {cells} |")
    if len(trees) == 2:
        ratios = ", ".join(
            f"{k} {statistics.median(times[1][k]) / statistics.median(times[0][k]):.2f}"
            for k in ("cold", "redrawn")
        )
        lines += ["", f"Ratio second / first (medians): {ratios}."]
    text = "\n".join(lines) + "\n"
    print(text)
    with out.open("a") as handle:
        handle.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
