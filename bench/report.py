"""The demo study `support-screenshots`, built offline, its outputs, their comparison, and how
long its HTML report takes: the proof that a restructure changed no figure and made the report
faster.

Four commands, each running Lineup's own CLI (`python -m lineup ...`) in a subprocess whose
working directory is the tree under test (`--tree PATH`, default this repository), so each
tree's code is what runs (`python -m` puts the working directory first on sys.path; the
shared .venv has no copy of lineup installed):

build HOME
    Builds the demo store in HOME (LINEUP_HOME), offline and deterministic:
    `sets import` of sample_media/sets/support-screenshots (16 items, Russian and English,
    with references); `study run` of three models, `ocr:eng+rus`, `ocr:eng` and
    `ollama:vision` (testbed/ollama_server.py in this process, reached through
    OLLAMA_HOST so the stored spec names no port; its reply depends on the question and the
    seed), `--repeats 2 --seed 7`; `study score` with the reference model `ocr:rus` and the
    loopback judge `ollama:judge` under protocol `reference`, then again under `pairwise`
    (its JSON scores depend on the prompt; one prompt in about 19 gets a reply without a
    score, so judge failures show); labels by two annotators, `ana` and `bo`, on most complete
    answers (`label GEN --relevance R --annotator A`, run through Lineup's CLI entry point
    in one process: see `_batch`), chosen by a rule of (item, model, repeat); and arena votes
    inserted with SQL into `pairwise_votes` (there is no CLI for votes; the table has not
    changed since migration 0009). HOME/bench-report.json says what was built.
outputs HOME OUT
    On a copy of HOME (the tree under test may migrate it), writes into OUT: `study show N
    --json` (show.json), `study report N --format html|xlsx|md` (report.*), `study export N
    --format csv|xlsx` (export-csv/, export.xlsx), and meta.json (tree, commit; not compared).
compare OUT_A OUT_B
    show.json: parsed, ==, the differing paths printed. Workbooks and CSV files: table by
    table, cell values; a sheet, file or column (matched by its header) present on one side
    only is listed as added or removed, not counted as a difference. HTML and Markdown: after
    removing the volatile parts (the "report made" time, plotly's random div ids and their
    getElementById references, numbered in order of appearance instead), a unified diff
    (--ignore-line RE leaves out lines expected to differ, e.g. a module path that moved).
    Exit 0 when equal, 1 with a summary otherwise.
time [HOME] --tree A [--tree B]
    Times `study report N --format html` alternating the trees, RUNS runs each after one
    warm-up, each tree on its own copy of HOME: in-process (one runner process per tree
    calling the CLI's entry point, the report's own work) and as a whole command (a fresh
    `python -m lineup`, Python's start and imports included). Medians and the ratio B / A;
    appends a dated table with the machine and its load to bench/results/report.md. Without
    HOME, a demo home is built first in a temporary folder.

Determinism: two builds of the same code hold the same set, answers, judge verdicts, labels
and votes, and give the same figures but for what a clock measured: each answer's timings
(ttft_s, total_s, chars_per_s, ..., and the speed table's and repeats table's figures made
of them), every row's time stamps (started_at, finished_at, the labels' created_at), and the
generations' row ids (the models answer in parallel lanes, so which answer gets which id
depends on scheduling). So a before/after comparison runs `outputs` on copies of ONE home
(untar the baseline home), never on two builds: then every figure, speed included, is equal
by construction unless the code changed it. `compare --measured` leaves out exactly those
columns and keys (MEASURED, GENERATION_ID; the text reports' tables are then compared as
tables), to check that two builds agree on everything else.

Usage: .venv/bin/python -m bench.report build HOME [--tree PATH]
       .venv/bin/python -m bench.report outputs HOME OUT [--tree PATH]
       .venv/bin/python -m bench.report compare OUT_A OUT_B [--measured] [--ignore-line RE]
       .venv/bin/python -m bench.report time [HOME] [--tree A] [--tree B] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import html
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testbed.ollama_server import FakeModel, OllamaFixture  # noqa: E402

SET_NAME = "support-screenshots"
MODELS = ("ocr:eng+rus", "ocr:eng", "ollama:vision")
REFERENCE_MODEL = "ocr:rus"
JUDGE = "ollama:judge"
REPEATS, SEED = 2, 7
ANNOTATORS = ("ana", "bo")
RELEVANCE = ("relevant", "partial", "irrelevant")
VOTES = ("a", "b", "tie", "both_bad")
META = "bench-report.json"  # in a built home: what was built
RESULTS = ROOT / "bench" / "results" / "report.md"
# A port nothing listens on: `outputs` and `time` must never reach a model.
NO_SERVER = "http://127.0.0.1:9"


def _h(*parts: object) -> int:
    """A stable number from parts (Python's hash() is salted per process)."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


# Running Lineup ------------------------------------------------------------------------------


def _env(home: Path, ollama_host: str = NO_SERVER) -> dict[str, str]:
    """This environment without any LINEUP_* setting or PYTHONPATH, with LINEUP_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEUP_")}
    env.pop("PYTHONPATH", None)
    env |= {"LINEUP_HOME": str(home), "OLLAMA_HOST": ollama_host, "PYTHONHASHSEED": "0"}
    return env


def lineup(tree: Path, home: Path, *argv: str, ollama_host: str = NO_SERVER) -> str:
    """`python -m lineup argv` with the tree's code; its stdout. Fails loudly on exit != 0."""
    done = subprocess.run(
        [sys.executable, "-m", "lineup", *argv],
        cwd=tree,
        env=_env(home, ollama_host),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"`python -m lineup {' '.join(argv)}` in {tree} exited {done.returncode}:\n"
            f"{done.stderr[-2000:]}"
        )
    return done.stdout


# One process that runs `python -m lineup ARGV` for each line of JSON on its stdin, through the
# same entry point (runpy runs lineup/__main__.py as `-m` does), and answers each with its exit
# status and seconds on the original stdout. The CLI's own output goes to stderr.
RUNNER = r"""
import contextlib, json, runpy, sys, time
import lineup
protocol = sys.stdout
protocol.write(json.dumps({"lineup": lineup.__file__}) + "\n")
protocol.flush()
for line in sys.stdin:
    sys.argv = ["lineup", *json.loads(line)]
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        try:
            runpy.run_module("lineup", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    protocol.write(json.dumps({"code": code, "s": time.perf_counter() - started}) + "\n")
    protocol.flush()
"""


class Runner:
    """A runner process (RUNNER) with the tree's code and LINEUP_HOME=home."""

    def __init__(self, tree: Path, home: Path, ollama_host: str = NO_SERVER) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUNNER],
            cwd=tree,
            env=_env(home, ollama_host),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        hello = self.process.stdout.readline()
        found = Path(json.loads(hello)["lineup"]).resolve() if hello else None
        if found is None or not found.is_relative_to(tree.resolve()):
            self.close()
            raise SystemExit(f"The runner in {tree} imported lineup from {found}, not the tree.")

    def run(self, *argv: str) -> float:
        """Seconds `python -m lineup argv` took inside the runner; fails on exit != 0."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(argv) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer or json.loads(answer)["code"] != 0:
            self.log.seek(0)
            raise SystemExit(f"`lineup {' '.join(argv)}` failed in the runner:\n{self.log.read()}")
        return float(json.loads(answer)["s"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()


def _batch(tree: Path, home: Path, commands: Sequence[Sequence[str]]) -> None:
    """Each command as `python -m lineup command`, in one runner process: a `label` call is
    2 s of Python start and imports here, and a build makes about 170 of them."""
    runner = Runner(tree, home)
    try:
        for argv in commands:
            runner.run(*argv)
    finally:
        runner.close()


def _commit(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (done.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


# The loopback models -------------------------------------------------------------------------


def _prompt(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def vision_reply(body: dict[str, Any]) -> list[str]:
    """The loopback VLM's answer: words of the question, picked and ordered by (question,
    seed); Russian questions answered in Russian but one in five in English (a wrong-language
    answer); a few refusals and one empty answer in about 29."""
    question = _prompt(body)
    seed = (body.get("options") or {}).get("seed")
    h = _h("vision", question, seed)
    if h % 29 == 0:
        return []
    if h % 13 == 0:
        return "I'm sorry, I can't help with that.".split()
    words = sorted(set(re.findall(r"\w+", question)), key=lambda w: _h(w, seed))
    russian = bool(re.search(r"[а-яё]", question, re.I))
    lead = "На экране написано:".split() if russian and h % 5 else "The screen says:".split()
    return lead + words[: 4 + h % 7]


def judge_reply(body: dict[str, Any]) -> list[str]:
    """The loopback judge's reply: a JSON score (protocol reference) or two (pairwise), from
    the prompt; about one prompt in 19 gets a reply without a score (`unparsed`)."""
    prompt = _prompt(body)
    h = _h("judge", prompt)
    if h % 19 == 0:
        return "The answer looks about right.".split()
    if "Answer 1:" in prompt:
        reply = {"score_1": 1 + h % 10, "score_2": 1 + (h // 10) % 10, "reasons": "loopback"}
    else:
        reply = {"score": 1 + h % 10, "reasons": "loopback"}
    return [json.dumps(reply)]


def _quiet(server: Any) -> None:
    """A client that closes its kept-alive connection as its process ends is not an error of
    the fixture's server: not printed (anything else still is)."""
    default = server.handle_error

    def handle_error(request: Any, address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            default(request, address)

    server.handle_error = handle_error


# build ---------------------------------------------------------------------------------------


def _relevance(annotator: str, position: int, model: str, repeat: int) -> str | None:
    """The label an annotator gives an answer, or None (no label): a prior per model (the
    OCR of both languages is the best), the item and repeat's luck, and `bo` one class off
    `ana` on about one answer in six, so the agreement figures are neither 0 nor 1."""
    h = _h(position, model, repeat)
    skip = h % 10 == 0 if annotator == "ana" else (h // 10) % 10 in (0, 1)
    if skip:
        return None
    quality = h % 100 + {"ocr:eng+rus": 35, "ocr:eng": 10, "ollama:vision": -15}[model]
    grade = 0 if quality >= 75 else 1 if quality >= 40 else 2
    if annotator == "bo" and (h // 100) % 6 == 0:
        grade = (grade + 1) % 3
    return RELEVANCE[grade]


def _answers(db: Path, study_id: int) -> list[tuple[int, int, str, int, str]]:
    """(generation id, item position, model, repeat, status) of the study's answers."""
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT g.id, i.position, g.model_spec, g.repeat, g.status FROM generations g "
            "JOIN set_items i ON i.id = g.item_id WHERE g.study_id = ? "
            "ORDER BY i.position, g.model_spec, g.repeat",
            (study_id,),
        ).fetchall()


def _votes(answers: list[tuple[int, int, str, int, str]], study_id: int) -> list[tuple[Any, ...]]:
    """Arena votes: `ana` on the first eight items, `bo` on every third, each pair of the
    models' first complete answers, the verdict by a rule of (annotator, item, models); `ana`
    votes again on one pair (her latest vote counts). Rows of pairwise_votes without id."""
    first: dict[tuple[int, str], int] = {}
    for gid, position, model, _repeat, status in sorted(answers, key=lambda a: a[3]):
        if status == "ok":
            first.setdefault((position, model), gid)
    rows: list[tuple[Any, ...]] = []
    for annotator, positions in (("ana", range(8)), ("bo", range(0, 16, 3))):
        for position in positions:
            models = sorted(m for p, m in first if p == position)
            for index, x in enumerate(models):
                for y in models[index + 1 :]:
                    h = _h("vote", annotator, position, x, y)
                    a, b = (first[position, x], first[position, y])
                    if h % 2:
                        a, b = b, a
                    rows.append((study_id, position, annotator, a, b, VOTES[(h // 2) % 4]))
    again = next(row for row in rows if row[2] == "ana")
    rows.append((*again[:5], "tie" if again[5] != "tie" else "a"))
    return rows


def _insert_votes(db: Path, rows: list[tuple[Any, ...]]) -> None:
    with sqlite3.connect(db) as connection:
        for number, (study_id, _position, annotator, a, b, verdict) in enumerate(rows):
            (item_id,) = connection.execute(
                "SELECT item_id FROM generations WHERE id = ?", (a,)
            ).fetchone()
            connection.execute(
                "INSERT INTO pairwise_votes (study_id, item_id, annotator, generation_a, "
                "generation_b, verdict, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    study_id,
                    item_id,
                    annotator,
                    a,
                    b,
                    verdict,
                    f"2026-01-01 12:{number // 60:02d}:{number % 60:02d}.000000",
                ),
            )


def build(home: Path, tree: Path) -> dict[str, Any]:
    """Build the demo store in `home` (empty or missing) with the tree's CLI."""
    if home.exists() and any(home.iterdir()):
        raise SystemExit(f"{home} is not empty: give a new folder to build the demo home in.")
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    models = [
        FakeModel("vision", [], reply=vision_reply),
        FakeModel("judge", [], vision=False, reply=judge_reply),
    ]
    with OllamaFixture(models) as server:
        _quiet(server.server)

        def run(*argv: str) -> Any:
            return json.loads(lineup(tree, home, *argv, "--json", ollama_host=server.base_url))

        source = tree / "sample_media" / "sets" / SET_NAME
        if not source.is_dir():
            raise SystemExit(f"{source} is missing: run scripts/make_samples.py in {tree}.")
        run("sets", "import", str(source))
        model_args = [arg for model in MODELS for arg in ("--model", model)]
        study = run(
            "study",
            "run",
            "--set",
            SET_NAME,
            *model_args,
            "--repeats",
            str(REPEATS),
            "--seed",
            str(SEED),
        )
        study_id = int(study["study_id"])
        scored = [
            run(
                "study",
                "score",
                str(study_id),
                "--reference-model",
                REFERENCE_MODEL,
                "--judge",
                JUDGE,
                "--judge-protocol",
                "reference",
            ),
            run("study", "score", str(study_id), "--judge", JUDGE, "--judge-protocol", "pairwise"),
        ]
        chats = len(server.chat_requests())
    answers = _answers(home / "lineup.db", study_id)
    labels = [
        ("label", str(gid), "--relevance", relevance, "--annotator", annotator)
        for gid, position, model, repeat, status in answers
        if status == "ok"
        for annotator in ANNOTATORS
        if (relevance := _relevance(annotator, position, model, repeat)) is not None
    ]
    _batch(tree, home, labels)
    votes = _votes(answers, study_id)
    _insert_votes(home / "lineup.db", votes)
    meta = {
        "study_id": study_id,
        "set": SET_NAME,
        "models": list(MODELS),
        "repeats": REPEATS,
        "seed": SEED,
        "reference_model": REFERENCE_MODEL,
        "judge": JUDGE,
        "answers": len(answers),
        "ok": sum(a[4] == "ok" for a in answers),
        "labels": len(labels),
        "votes": len(votes),
        "loopback_chats": chats,
        "judged": [{k: s.get(k) for k in ("protocol", "scored", "failed")} for s in scored],
        "tree": str(tree),
        "commit": _commit(tree),
        "built_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "build_s": round(time.perf_counter() - started, 1),
    }
    (home / META).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


# outputs -------------------------------------------------------------------------------------


def _study_id(home: Path) -> int:
    try:
        return int(json.loads((home / META).read_text())["study_id"])
    except FileNotFoundError:
        raise SystemExit(f"{home} has no {META}: build it with `bench.report build`.") from None


def _copy_home(home: Path, into: Path) -> Path:
    copy = into / "home"
    shutil.copytree(home, copy)
    return copy


def outputs(home: Path, out: Path, tree: Path) -> list[Path]:
    """Every output of the demo study, made by the tree's CLI from a copy of `home`."""
    study = str(_study_id(home))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lineup-report-") as scratch:
        copy = _copy_home(home, Path(scratch))
        (out / "show.json").write_text(lineup(tree, copy, "study", "show", study, "--json"))
        for fmt in ("html", "xlsx", "md"):
            lineup(
                tree,
                copy,
                "study",
                "report",
                study,
                "--format",
                fmt,
                "--out",
                str(out / f"report.{fmt}"),
            )
        shutil.rmtree(out / "export-csv", ignore_errors=True)
        lineup(
            tree,
            copy,
            "study",
            "export",
            study,
            "--format",
            "csv",
            "--out",
            str(out / "export-csv"),
        )
        lineup(
            tree,
            copy,
            "study",
            "export",
            study,
            "--format",
            "xlsx",
            "--out",
            str(out / "export.xlsx"),
        )
    meta = {
        "home": str(home),
        "tree": str(tree),
        "commit": _commit(tree),
        "made_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return sorted(p for p in out.rglob("*") if p.is_file())


# compare -------------------------------------------------------------------------------------

# With --measured (two builds of the same code), exactly these columns and keys are left out:
# what the runner's clock measured and the rows' time stamps, named as the data keys (JSON,
# workbooks, CSV, the HTML report's tables) and as the Markdown report's column titles.
MEASURED = frozenset(
    {
        "ttft_s",
        "reasoning_ttft_s",
        "total_s",
        "tokens_per_s",
        "chars_per_s",
        "load_s",
        "prompt_eval_s",
        "time_s",
        "tokens_per_time_s",
        "median_ttft_s",
        "median_total_s",
        "median_tokens_per_s",
        "mean_time_spread",
        "started_at",
        "finished_at",
        "created_at",
        # report.md's titles of the same columns
        "Time (s)",
        "Tokens / s",
        "Median TTFT (s)",
        "Median decode tok/s",
        "Chars / s",
    }
)
# ...and the generations' row ids: the models answer in parallel lanes, so which answer gets
# which id depends on scheduling (rows are matched by item, model and repeat, in their order).
GENERATION_ID = "generation_id"


def _skipped(table: str, column: str) -> bool:
    """With --measured: whether this column of this table is left out."""
    generations = "generations" in table.lower()
    return column in MEASURED or column == GENERATION_ID or (generations and column == "id")


@dataclass
class Findings:
    """What a comparison found: differences (failures) and notes (added or removed parts)."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def differ(self, what: str, lines: Sequence[str], shown: int = 12) -> None:
        head = f"{what}: {len(lines)} difference(s)"
        more = [f"  ... {len(lines) - shown} more"] if len(lines) > shown else []
        self.differences.append("\n".join([head, *(f"  {line}" for line in lines[:shown]), *more]))


def _short(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _json_paths(a: Any, b: Any, path: str, measured: bool) -> Iterator[str]:
    """Where two parsed JSON documents differ (NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if measured and key in MEASURED:
                continue
            where = f"{path}.{key}"
            if key not in a or key not in b:
                yield f"{where}: only in {'B' if key not in a else 'A'}"
            else:
                yield from _json_paths(a[key], b[key], where, measured)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _json_paths(x, y, f"{path}[{index}]", measured)
    elif a != b and not (a != a and b != b):
        yield f"{path}: {_short(a)} != {_short(b)}"


Table = list[list[Any]]


def _xlsx_tables(path: Path) -> dict[str, Table]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _csv_tables(folder: Path) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            tables[path.name] = [list(row) for row in csv.reader(handle)]
    return tables


# The tables of the text reports, pulled out for --measured: an HTML <table> (cells without
# their tags) and a run of Markdown lines that start with "|" (its |---| line left out).
HTML_TABLE = re.compile(r"<table\b.*?</table>", re.S)
HTML_ROW = re.compile(r"<tr\b.*?</tr>", re.S)
HTML_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S)
TAG = re.compile(r"<[^>]+>")
MD_TABLE = re.compile(r"(?:^\|.*\n?)+", re.M)
MD_CELL = re.compile(r"(?<!\\)\|")


def _html_tables(text: str) -> tuple[str, dict[str, Table]]:
    tables: dict[str, Table] = {}

    def pull(match: re.Match[str]) -> str:
        name = f"table {len(tables) + 1}"
        tables[name] = [
            [" ".join(html.unescape(TAG.sub(" ", cell)).split()) for cell in HTML_CELL.findall(row)]
            for row in HTML_ROW.findall(match.group(0))
        ]
        return f"<{name}>"

    return HTML_TABLE.sub(pull, text), tables


def _md_tables(text: str) -> tuple[str, dict[str, Table]]:
    tables: dict[str, Table] = {}

    def pull(match: re.Match[str]) -> str:
        name = f"table {len(tables) + 1}"
        rows = [line.strip().strip("|") for line in match.group(0).splitlines()]
        tables[name] = [
            [cell.strip() for cell in MD_CELL.split(row)]
            for row in rows
            if not re.fullmatch(r"[-|: ]*", row)
        ]
        return f"<{name}>\n"

    return MD_TABLE.sub(pull, text), tables


def _cell(value: Any) -> Any:
    return None if value == "" else value


def _header(table: Table) -> list[str] | None:
    """Row 1 as column names when it looks like a header: non-empty, unique strings."""
    if not table:
        return None
    row = table[0]
    names = [value for value in row if value not in (None, "")]
    if not names or not all(isinstance(v, str) for v in names) or len(set(names)) != len(names):
        return None
    return ["" if v is None else str(v) for v in row]


def _compare_table(name: str, a: Table, b: Table, measured: bool, found: Findings) -> str:
    """Cell by cell, rows in their order. When both tables have a header and the headers
    differ, columns are matched by name, and a column on one side only is noted (added or
    removed), not counted as a difference."""
    head_a, head_b = _header(a), _header(b)
    if head_a and head_b and head_a != head_b:
        added = [n for n in head_b if n and n not in head_a]
        removed = [n for n in head_a if n and n not in head_b]
        if added or removed:
            found.notes.append(f"{name}: columns added {added or '-'}, removed {removed or '-'}")
        columns = [(head_a.index(n), head_b.index(n), n) for n in head_a if n and n in head_b]
    else:
        width = max((len(row) for row in a + b), default=0)
        header = head_a or []
        columns = [(i, i, header[i] if i < len(header) else "") for i in range(width)]
    skipped = sorted({n for _, _, n in columns if measured and n and _skipped(name, n)})
    lines: list[str] = []
    if len(a) != len(b):
        lines.append(f"{len(a)} rows != {len(b)} rows")
    for number, (row_a, row_b) in enumerate(zip(a, b, strict=False), start=1):
        for i, j, column in columns:
            if column in skipped:
                continue
            x = _cell(row_a[i]) if i < len(row_a) else None
            y = _cell(row_b[j]) if j < len(row_b) else None
            if x != y and not (x != x and y != y):
                where = f"row {number} " + (column or f"column {i + 1}")
                lines.append(f"{where}: {_short(x)} != {_short(y)}")
    if lines:
        found.differ(name, lines)
        return f"{name}: DIFFERS ({len(lines)} cells)"
    left_out = f"; left out: {', '.join(skipped)}" if skipped else ""
    return f"{name}: equal ({len(a)} rows x {len(columns)} columns{left_out})"


def _compare_tables(
    what: str, a: dict[str, Table], b: dict[str, Table], measured: bool, found: Findings
) -> list[str]:
    for name in sorted(a.keys() - b.keys()):
        found.notes.append(f"{what}: {name} removed (only in A)")
    for name in sorted(b.keys() - a.keys()):
        found.notes.append(f"{what}: {name} added (only in B)")
    return [
        _compare_table(f"{what} {name}", a[name], b[name], measured, found)
        for name in a
        if name in b
    ]


# Plotly's div ids (uuid4) and the "report made" time change on every render: each id is
# replaced by its number in order of first appearance, so the getElementById references must
# still point at the same divs.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MADE = re.compile(r"report made \d{4}-\d\d-\d\d \d\d:\d\d UTC")
SHOWN_CHARS = 240  # of a long changed line, around its first difference


def _normalised(text: str) -> str:
    ids: dict[str, str] = {}
    text = MADE.sub("report made <time>", text)
    return UUID.sub(lambda m: ids.setdefault(m.group(0), f"<plotly-id-{len(ids) + 1}>"), text)


def _clipped(line: str, at: int) -> str:
    if len(line) <= SHOWN_CHARS:
        return line
    start = max(0, at - SHOWN_CHARS // 3)
    return ("[...]" if start else "") + line[start : start + SHOWN_CHARS] + "[...]"


def _text_diff(name: str, left: list[str], right: list[str]) -> list[str]:
    """A unified diff of whole lines; a long changed line is shown around its first change."""
    shown: list[str] = [f"--- A/{name}", f"+++ B/{name}"]
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for group in matcher.get_grouped_opcodes(1):
        first, last = group[0], group[-1]
        shown.append(
            f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                shown += [" " + _clipped(line, 0) for line in left[i1:i2]]
                continue
            olds, news = left[i1:i2], right[j1:j2]
            for k in range(max(len(olds), len(news))):
                old = olds[k] if k < len(olds) else None
                new = news[k] if k < len(news) else None
                at = 0
                if old is not None and new is not None:
                    at = next(
                        (c for c, (x, y) in enumerate(zip(old, new, strict=False)) if x != y),
                        min(len(old), len(new)),
                    )
                shown += [f"-{_clipped(old, at)}"] if old is not None else []
                shown += [f"+{_clipped(new, at)}"] if new is not None else []
    return shown


def _compare_text(
    name: str,
    a: str,
    b: str,
    ignore: Sequence[re.Pattern[str]],
    measured: bool,
    found: Findings,
) -> list[str]:
    """Line by line after _normalised; with --measured, the tables are compared as tables
    (measured columns left out) and the rest as text."""
    text_a, text_b = _normalised(a), _normalised(b)
    report = []
    if measured:
        pull = _html_tables if name.endswith(".html") else _md_tables
        (text_a, tables_a), (text_b, tables_b) = pull(text_a), pull(text_b)
        report += _compare_tables(name, tables_a, tables_b, measured, found)

    def lines(text: str) -> list[str]:
        return [line for line in text.splitlines() if not any(p.search(line) for p in ignore)]

    left, right = lines(text_a), lines(text_b)
    if left == right:
        return [
            f"{name}: equal ({len(left)} lines{' besides its tables' if measured else ''})",
            *report,
        ]
    diff = _text_diff(name, left, right)
    changed = sum(1 for line in diff[2:] if line[:1] in "+-")
    found.differ(name, diff, shown=60)
    return [f"{name}: DIFFERS ({changed} lines changed)", *report]


OUTPUT_FILES = ("show.json", "report.html", "report.md", "report.xlsx", "export.xlsx")


def compare(a: Path, b: Path, *, measured: bool = False, ignore: Sequence[str] = ()) -> int:
    """Print what differs between two folders of outputs; 0 when they are equal, else 1."""
    for folder in (a, b):
        missing = [n for n in (*OUTPUT_FILES, "export-csv") if not (folder / n).exists()]
        if missing:
            raise SystemExit(f"{folder} lacks {', '.join(missing)}: run `bench.report outputs`.")
    found = Findings()
    patterns = [re.compile(p) for p in ignore]
    show_a, show_b = (json.loads((f / "show.json").read_text()) for f in (a, b))
    paths = list(_json_paths(show_a, show_b, "$", measured))
    if paths:
        found.differ("show.json", paths, shown=30)
    report = [f"show.json: {'DIFFERS' if paths else 'equal'}"]
    for name in ("report.xlsx", "export.xlsx"):
        tables_a, tables_b = _xlsx_tables(a / name), _xlsx_tables(b / name)
        report += _compare_tables(name, tables_a, tables_b, measured, found)
    tables_a, tables_b = _csv_tables(a / "export-csv"), _csv_tables(b / "export-csv")
    report += _compare_tables("export-csv", tables_a, tables_b, measured, found)
    for name in ("report.html", "report.md"):
        text_a, text_b = (a / name).read_text(), (b / name).read_text()
        report += _compare_text(name, text_a, text_b, patterns, measured, found)
    print(f"A: {a}\nB: {b}")
    if measured:
        print("(--measured: measured figures, time stamps and generation ids left out)")
    if patterns:
        print(f"(HTML and Markdown lines matching {ignore} left out on both sides)")
    print("\n".join(report))
    for note in found.notes:
        print(f"note: {note}")
    if found.differences:
        print("\n" + "\n\n".join(found.differences))
        print(f"\nNOT EQUAL: {len(found.differences)} output(s) differ.")
        return 1
    print("\nEQUAL: every compared output is the same.")
    return 0


# time ----------------------------------------------------------------------------------------


@dataclass
class Timings:
    tree: Path
    commit: str
    in_process: list[float] = field(default_factory=list)
    command: list[float] = field(default_factory=list)


def _timed_command(tree: Path, home: Path, *argv: str) -> float:
    started = time.perf_counter()
    lineup(tree, home, *argv)
    return time.perf_counter() - started


def time_reports(home: Path, trees: Sequence[Path], runs: int) -> list[Timings]:
    """`study report N --format html`, trees alternated, `runs` each after one warm-up."""
    study = str(_study_id(home))
    results = [Timings(tree, _commit(tree)) for tree in trees]
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lineup-time-")))
        homes, runners = [], []
        for index, tree in enumerate(trees):
            copy = _copy_home(home, scratch / str(index))
            homes.append(copy)
            runner = Runner(tree, copy)
            stack.callback(runner.close)
            runners.append(runner)
        argv = ("study", "report", study, "--format", "html", "--out", str(scratch / "r.html"))
        for runner, copy, tree in zip(runners, homes, trees, strict=True):
            runner.run(*argv)  # warm-up: imports, the migration check, first reads
            _timed_command(tree, copy, *argv)
        for _ in range(runs):
            for runner, copy, result in zip(runners, homes, results, strict=True):
                result.in_process.append(runner.run(*argv))
                result.command.append(_timed_command(result.tree, copy, *argv))
    return results


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def timing_table(home: Path, results: list[Timings], runs: int, load: tuple[float, ...]) -> str:
    end = os.getloadavg()
    meta = json.loads((home / META).read_text())
    about = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1 / 5 / 15 min) at the start, {end[0]:.1f} (1 min) at the end. "
        f"The demo home (study {meta['study_id']}: {meta['answers']} answers, {meta['labels']} "
        f"labels, {meta['votes']} votes; built by {meta['commit']}). `study report "
        f"{meta['study_id']} --format html`, {runs} run{'s' if runs != 1 else ''} per tree after "
        "one warm-up, trees "
        "alternated, each on its own copy of the home. Seconds, median (min-max): in-process is "
        "the CLI's entry point called in a runner process that has imported Lineup already; "
        "command is a fresh `python -m lineup`, Python's start and imports included."
    )
    lines = [
        f"## HTML report of the demo study, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        textwrap.fill(about, width=100),
        "",
        "| tree | commit | in-process s | command s |",
        "|---|---|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {Path(result.tree).name} | {result.commit} | {_spread(result.in_process)} | "
            f"{_spread(result.command)} |"
        )
    if len(results) == 2:
        first, second = results
        ratio = statistics.median(second.in_process) / statistics.median(first.in_process)
        whole = statistics.median(second.command) / statistics.median(first.command)
        lines += [
            "",
            f"Ratio second / first (medians): in-process {ratio:.2f}, command {whole:.2f}.",
        ]
    return "\n".join(lines) + "\n"


def _append_result(text: str, path: Path) -> None:
    if not path.exists():
        path.write_text(
            "# Report benchmark (bench/report.py)\n\nHow long `study report N --format html` "
            "takes on the demo study; runs are appended, oldest first.\n"
        )
    with path.open("a") as handle:
        handle.write("\n" + text)


# CLI -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p_build = commands.add_parser("build", help="build the demo store in HOME")
    p_build.add_argument("home", type=Path)
    p_out = commands.add_parser("outputs", help="the demo study's outputs from a copy of HOME")
    p_out.add_argument("home", type=Path)
    p_out.add_argument("out", type=Path)
    p_cmp = commands.add_parser("compare", help="compare two folders of outputs")
    p_cmp.add_argument("a", type=Path)
    p_cmp.add_argument("b", type=Path)
    p_cmp.add_argument(
        "--measured",
        action="store_true",
        help="ignore measured figures and time stamps (two builds)",
    )
    p_cmp.add_argument(
        "--ignore-line",
        action="append",
        default=[],
        metavar="REGEX",
        help="HTML/Markdown lines matching it are left out on both sides",
    )
    p_time = commands.add_parser("time", help="time the HTML report, trees alternated")
    p_time.add_argument("home", type=Path, nargs="?")
    p_time.add_argument("--runs", type=int, default=5)
    p_time.add_argument("--out", type=Path, default=RESULTS)
    for sub in (p_build, p_out):
        sub.add_argument("--tree", type=Path, default=ROOT)
    p_time.add_argument("--tree", type=Path, action="append", dest="trees")
    args = parser.parse_args(argv)

    if args.command == "build":
        meta = build(args.home.resolve(), args.tree.resolve())
        print(json.dumps(meta, indent=2))
    elif args.command == "outputs":
        for path in outputs(args.home.resolve(), args.out.resolve(), args.tree.resolve()):
            print(path)
    elif args.command == "compare":
        return compare(args.a, args.b, measured=args.measured, ignore=args.ignore_line)
    elif args.command == "time":
        trees = [tree.resolve() for tree in args.trees or [ROOT]]
        load = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="lineup-demo-") as scratch:
            home = args.home.resolve() if args.home else Path(scratch) / "home"
            if args.home is None:
                build(home, trees[0])
            text = timing_table(home, time_reports(home, trees, args.runs), args.runs, load)
        print(text)
        _append_result(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
