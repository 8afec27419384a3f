"""Leaderboard time and memory at 10k / 100k / 1M generations on SQLite and PostgreSQL.

Usage: .venv/bin/python -m bench.leaderboard [--sizes 10000,100000,1000000] [--no-postgres]
       [--before-max 100000] [--out bench/results/leaderboard.md]

Each size N is a store holding N VLM answers and N voice clips (six models and six voices, one
run per item with one generation per model, realistic states, 30% of the generations labeled,
some by two annotators and some relabeled), bulk-inserted (executemany on SQLite, COPY on
PostgreSQL) after the store's own migrations made the schema and indexes. Each leaderboard is
then timed three times (best and median) in a fresh child process that measures its own peak
RSS growth during the call (psutil, sampled every millisecond, the same one the app uses).
"Before" is the frame-based implementation of commit BEFORE_COMMIT (git show), timed once per
size up to --before-max. The table is printed and written, dated, to --out.
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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lineup.measure import score  # noqa: E402
from lineup.store import Store  # noqa: E402
from testbed.postgres import Postgres, PostgresMissing  # noqa: E402

VLM_MODELS = [
    "ollama:llava:7b",
    "ollama:minicpm-v",
    "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1",
    "transformers:/models/SmolVLM-256M-Instruct",
    "ocr:eng+rus",
    "openai:gpt-4o",
]
VOICES = [
    "piper:en_US-joe-medium",
    "espeak:en-us",
    "espeak:en-us+f3",
    "bark:suno/bark-small#v2/en_speaker_6",
    "openai-tts:kokoro@http://127.0.0.1:8880/v1",
    "piper:en_US-lessac-medium",
]
IN_PROCESS_VOICES = {"piper:en_US-joe-medium", "bark:suno/bark-small#v2/en_speaker_6"}
# Final states and their shares: mostly complete answers, a few of each failure, a few running.
STATES = ["ok", "error", "timeout", "cancelled", "interrupted", "running"]
STATE_SHARES = [0.90, 0.04, 0.02, 0.015, 0.02, 0.005]
LABELED_SHARE = 0.30
SECOND_ANNOTATOR_SHARE = 0.3
RELABELED_SHARE = 0.1
RELEVANCE = ["relevant", "partial", "irrelevant"]
QUESTIONS = [
    "What error does this screenshot show?",
    "Что написано на экране?",
    "Which button should the customer press next?",
    "Summarise the dialog in one sentence.",
    "What is the order number?",
]
ANSWERS = [
    "The screenshot shows a payment form with the error 'Card declined (code 51)'. " * k
    for k in (1, 2, 3)
] + ["На экране сообщение: «Оплата не прошла». Код ошибки не указан. " * k for k in (1, 2, 4)]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Our meeting starts at 10 o'clock and should take about 45 minutes.",
    "She sold 3,500 tickets on the 21st of June, more than twice last year's total.",
    "Turn left at the second light, then keep going until you see the bakery.",
    "Your order has shipped and should arrive on Thursday.",
    "The quarterly report is due at the end of the month.",
    "I'd like a table for two by the window, please.",
]
START = datetime(2026, 11, 1, tzinfo=UTC)
BEFORE_COMMIT = "68fa028"  # the last commit whose leaderboards loaded every row into pandas


@dataclass
class Rows:
    runs: list[tuple[Any, ...]]
    generations: list[tuple[Any, ...]]
    labels: list[tuple[Any, ...]]


RUN_COLUMNS = ("id", "kind", "input_text", "params", "blind", "created_at")
GENERATION_COLUMNS = (
    "id",
    "run_id",
    "kind",
    "position",
    "model_spec",
    "sample_index",
    "status",
    "output_text",
    "error",
    "started_at",
    "finished_at",
    "ttft_s",
    "total_s",
    "output_tokens",
    "tokens_per_s",
    "tokens_per_s_source",
    "audio_hash",
    "gen_s",
    "audio_s",
    "rtf",
    "sample_rate_hz",
    "peak_mem_mb",
    "stt_spec",
    "transcript",
    "wer",
    "cer",
    "word_errors",
    "reference_words",
    "backend_metadata",
)
LABEL_COLUMNS = (
    "id",
    "generation_id",
    "annotator",
    "relevance",
    "comment",
    "created_at",
    "kind",
    "model_spec",
    "counted",
)


def _transcripts() -> list[list[tuple[str, float, float, int, int]]]:
    """Per sentence, a few transcripts a voice might get back, with their WER, CER, word errors
    and reference words."""
    variants = []
    for sentence in SENTENCES:
        words = sentence.split()
        options = [sentence, " ".join(words[1:]), " ".join([*words[:2], "uh", *words[2:]])]
        options.append(" ".join(w if i % 3 else "the" for i, w in enumerate(words)))
        scores = [(t, score(sentence, t)) for t in options]
        variants.append([(t, s.wer, s.cer, s.word_errors, s.reference_words) for t, s in scores])
    return variants


def _timestamps(seconds: np.ndarray) -> list[str]:
    """Moments `seconds` after START as UTC text without a zone, as SQLAlchemy stores them in
    SQLite (PostgreSQL reads them in the session's time zone, set to UTC while filling)."""
    moments = np.datetime64(START.replace(tzinfo=None), "us") + (seconds * 1e6).astype(
        "timedelta64[us]"
    )
    return [t.replace("T", " ") for t in np.datetime_as_string(moments, unit="us")]


def make_rows(n: int, *, kind: str, offset: int, seed: int) -> Rows:
    """n generations of one kind (runs of six), with their labels. Ids are 2k + offset
    (offset 1 or 2): the runs and generations of the two kinds alternate, as in a store where
    both pages are used, so no range of ids belongs to one kind."""
    rng = np.random.default_rng(seed)
    specs = VLM_MODELS if kind == "vlm" else VOICES
    texts = QUESTIONS if kind == "vlm" else SENTENCES
    n_runs = -(-n // len(specs))
    run_seconds = np.arange(n_runs) * 7.0
    run_text = rng.integers(0, len(texts), n_runs)
    runs = list(
        zip(
            range(offset, 2 * n_runs + offset, 2),
            [kind] * n_runs,
            [texts[t] for t in run_text.tolist()],
            ["{}"] * n_runs,
            [False] * n_runs,
            _timestamps(run_seconds),
            strict=True,
        )
    )

    index = np.arange(n)
    run_of = index // len(specs)
    model_of = index % len(specs)
    state_of = rng.choice(len(STATES), size=n, p=STATE_SHARES)
    ok = state_of == STATES.index("ok")
    running = state_of == STATES.index("running")
    interrupted = state_of == STATES.index("interrupted")
    # Per model a typical speed, then a spread around it.
    ttft = rng.lognormal(np.log(0.2 + 0.15 * model_of), 0.4)
    total = ttft + rng.lognormal(np.log(1.0 + 0.5 * model_of), 0.5)
    rate = rng.lognormal(np.log(80 - 10 * model_of), 0.2)
    no_ttft = rng.random(n) < 0.02  # e.g. an empty answer stored by an older build
    no_rate = rng.random(n) < 0.05  # a one-chunk answer has no rate
    started_s = run_seconds[run_of] + (index % 1000) / 1000

    def where(mask: np.ndarray, values: list[Any]) -> list[Any]:
        return [v if m else None for v, m in zip(values, mask.tolist(), strict=True)]

    none = [None] * n
    ids = (2 * index + offset).tolist()
    spec_list = [specs[m] for m in model_of.tolist()]
    state_list = [STATES[s] for s in state_of.tolist()]
    failed = ~ok & ~running
    errors = where(failed, [f"{s}: the server did not answer" for s in state_list])
    started = _timestamps(started_s)
    finished = where(~running, _timestamps(started_s + total))
    if kind == "vlm":
        answer_of = rng.integers(0, len(ANSWERS), n)
        output = where(ok | interrupted, [ANSWERS[a] for a in answer_of.tolist()])
        vlm_columns = [
            where(ok & ~no_ttft, ttft.tolist()),
            where(~running, total.tolist()),
            where(ok, (total * rate).astype(int).tolist()),
            where(ok & ~no_rate, rate.tolist()),
            where(ok & ~no_rate, ["server"] * n),
        ]
        tts_columns = [none] * 12
    else:
        transcripts = _transcripts()
        variant_of = rng.integers(0, 4, n)
        scored = ok & (rng.random(n) >= 0.05)  # some comparisons ran without an STT model
        picked = [
            transcripts[run_text[r]][v] for r, v in zip(run_of, variant_of.tolist(), strict=True)
        ]
        rtf = rng.lognormal(np.log(0.05 + 0.1 * model_of), 0.3)
        audio_s = rng.uniform(2.0, 6.0, n)
        in_process = np.array([s in IN_PROCESS_VOICES for s in specs])[model_of]
        output = none
        vlm_columns = [none] * 5
        tts_columns = [
            where(ok, [f"{i:064x}" for i in ids]),
            where(ok, (rtf * audio_s).tolist()),
            where(ok, audio_s.tolist()),
            where(ok, rtf.tolist()),
            where(ok, [22050] * n),
            where(ok & in_process, rng.normal(300 + 100 * model_of, 20).tolist()),
            where(scored, ["faster-whisper:tiny.en"] * n),
            where(scored, [p[0] for p in picked]),
            where(scored, [p[1] for p in picked]),
            where(scored, [p[2] for p in picked]),
            where(scored, [p[3] for p in picked]),
            where(scored, [p[4] for p in picked]),
        ]
    generations = list(
        zip(
            ids,
            (2 * run_of + offset).tolist(),
            [kind] * n,
            model_of.tolist(),
            spec_list,
            [0] * n,
            state_list,
            output,
            errors,
            started,
            finished,
            *vlm_columns,
            *tts_columns,
            ["{}"] * n,
            strict=True,
        )
    )

    ok_ids = np.asarray(ids)[ok]
    labeled = np.sort(
        rng.choice(ok_ids, size=min(len(ok_ids), int(LABELED_SHARE * n)), replace=False)
    )
    # Every labeled generation has ana's label; some have bob's too; some labels were changed.
    by = np.repeat(labeled, 1 + (rng.random(len(labeled)) < SECOND_ANNOTATOR_SHARE))
    annotator = np.where(np.r_[True, by[1:] != by[:-1]], "ana", "bob")
    again = 1 + (rng.random(len(by)) < RELABELED_SHARE)
    generation_of = np.repeat(by, again)
    annotator = np.repeat(annotator, again)
    m = len(generation_of)
    # Label moments rise; one label in twenty shares its moment with the one before (a double
    # click), so the label id has to break the tie.
    steps = rng.integers(1, 5000, m) * (rng.random(m) > 0.05)
    label_s = 30 * 86400 + np.cumsum(steps) / 1e6
    # The labels that count: the last of each (generation, annotator), whose moment is the
    # greatest (or shared, and the id greater: ids follow this order, see fill).
    pair = np.char.add(generation_of.astype(str), annotator)
    counted = np.r_[pair[1:] != pair[:-1], True]
    labels = list(
        zip(
            [0] * m,
            generation_of.tolist(),
            annotator.tolist(),
            [RELEVANCE[r] for r in rng.integers(0, 3, m).tolist()],
            [None] * m,
            _timestamps(label_s),
            [kind] * m,
            [specs[model_of[(g - offset) // 2]] for g in generation_of.tolist()],
            counted.tolist(),
            strict=True,
        )
    )
    return Rows(runs, generations, labels)


def _chunks(rows: list[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _secondary_indexes(connection: Any, dialect: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index but the primary keys."""
    if dialect == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        sql = (
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        )
    cursor = connection.cursor()
    cursor.execute(sql)
    return [(name, create) for name, create in cursor.fetchall()]


def fill(url: str, n: int) -> None:
    """A new store at `url` with n VLM answers and n voice clips and their labels."""
    store = Store(url)  # the schema and indexes, by the store's own migrations
    vlm = make_rows(n, kind="vlm", offset=1, seed=1)
    tts = make_rows(n, kind="tts", offset=2, seed=2)
    # Label ids in the order the labels were given, whichever page they were given on.
    given = sorted(vlm.labels + tts.labels, key=lambda label: label[5])
    labels = [(i, *row[1:]) for i, row in enumerate(given, start=1)]
    tables = [
        ("runs", RUN_COLUMNS, sorted(vlm.runs + tts.runs)),
        ("generations", GENERATION_COLUMNS, sorted(vlm.generations + tts.generations)),
        ("labels", LABEL_COLUMNS, labels),
    ]
    dialect = store.engine.dialect.name
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Bulk load as a database would be restored: indexes dropped, rows in, indexes rebuilt.
        indexes = _secondary_indexes(raw, dialect)
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
            for table, columns, rows in tables:
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})"
                )
                for chunk in _chunks(rows):
                    cursor.executemany(sql, chunk)
        else:
            cursor.execute("SET TimeZone = 'UTC'")
            for table, columns, rows in tables:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for table in ("runs", "generations", "labels"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        for _, create in indexes:
            cursor.execute(create)
        raw.commit()
        # SQLite: no ANALYZE, as the app runs none: its queries must do well without statistics.
        if dialect != "sqlite":
            # What autovacuum does on a live server: statistics, and the visibility map that
            # lets PostgreSQL answer from an index alone.
            raw.driver_connection.autocommit = True
            cursor.execute("VACUUM ANALYZE")
    finally:
        raw.close()
    store.engine.dispose()


# Measuring ---------------------------------------------------------------------------------


def _before_modules() -> dict[str, Any] | None:
    """The leaderboards and frames of BEFORE_COMMIT, loaded from git; None without git history."""
    import types

    sources = {}
    for name in ("metrics", "tts_metrics", "store"):
        shown = subprocess.run(
            ["git", "show", f"{BEFORE_COMMIT}:lineup/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:
            return None
        sources[name] = shown.stdout.replace(
            "from lineup.metrics import", "from before_metrics import"
        )
    modules = {}
    for name in ("store", "metrics", "tts_metrics"):
        module = types.ModuleType(f"before_{name}")
        module.__file__ = str(ROOT / "lineup" / f"{name}.py")
        sys.modules[f"before_{name}"] = module
        exec(compile(sources[name], f"{BEFORE_COMMIT}:lineup/{name}.py", "exec"), module.__dict__)
        modules[name] = module
    return modules


def _call(url: str, what: str) -> Any:
    """The function a measurement times: a leaderboard of today or of BEFORE_COMMIT."""
    kind, _, era = what.partition("-")
    if kind == "page":
        return _page_data(url)
    if era == "before":
        before = _before_modules()
        if before is None:
            raise SystemExit(f"No git history: cannot load {BEFORE_COMMIT}.")
        store = before["store"].Store(url, migrate=False)
        board = before["metrics"].vlm_leaderboard if kind == "vlm" else None
        board = board or before["tts_metrics"].tts_leaderboard
        return lambda: board(store)
    from lineup.leaderboard import tts_leaderboard, vlm_leaderboard

    store = Store(url)
    board = vlm_leaderboard if kind == "vlm" else tts_leaderboard
    return lambda: board(store)


def _page_data(url: str) -> Any:
    """What the Leaderboard page reads from the store when its raw export is streamed
    (components/exports.streamed_csv_download): both leaderboards and the row counts."""
    from lineup.leaderboard import tts_leaderboard, vlm_leaderboard

    store = Store(url)

    def read() -> list[Any]:
        counts = [
            store.export_count(k, t) for k in ("vlm", "tts") for t in ("generations", "labels")
        ]
        return [vlm_leaderboard(store), tts_leaderboard(store), counts]

    return read


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _PeakRss:
    """The largest RSS of this process while it runs, sampled every millisecond (psutil), beside
    the kernel's high-water mark (getrusage): the larger of the two growths is reported."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._process = psutil.Process()
        self.baseline_mb = max(_rss_mb(), self._now_mb())
        self.peak_mb = self.baseline_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _now_mb(self) -> float:
        return float(self._process.memory_info().rss) / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak_mb = max(self.peak_mb, self._now_mb())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._now_mb(), _rss_mb())

    @property
    def growth_mb(self) -> float:
        return max(0.0, self.peak_mb - self.baseline_mb)


def measure_here(url: str, what: str, repeats: int) -> dict[str, Any]:
    """Times `what` `repeats` times in this process, and the peak RSS growth over the calls."""
    call = _call(url, what)
    # What both implementations import on their first call, imported before the baseline.
    import jiwer  # noqa: F401
    import num2words  # noqa: F401
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401

    seconds = []
    rows = None
    with _PeakRss() as peak:
        for _ in range(repeats):
            start = time.perf_counter()
            rows = call()
            seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "peak_growth_mb": peak.growth_mb, "rows": len(rows or [])}


def measure(url: str, what: str, repeats: int) -> dict[str, Any]:
    """measure_here in a fresh process, so memory and caches start as a new app's would."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.leaderboard", "--measure", url, what, str(repeats)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {what} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


PAGE_SCRIPT = r"""
import json, os, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app_pages/leaderboard.py", default_timeout=600)
start = time.perf_counter(); at.run(); first = time.perf_counter() - start
assert not at.exception, at.exception
seconds = []
for _ in range(3):
    start = time.perf_counter(); at.run(); seconds.append(time.perf_counter() - start)
print(json.dumps({"first": first, "seconds": seconds}))
"""


def measure_page(url: str) -> dict[str, Any]:
    """The Leaderboard page rendered by Streamlit's AppTest against the store at `url`: the
    first run (imports, the app's caches) and three reruns (a page view in a running app)."""
    with tempfile.TemporaryDirectory(prefix="lineup-bench-home-") as home:
        done = subprocess.run(
            [sys.executable, "-c", PAGE_SCRIPT],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "LINEUP_DATABASE_URL": url,
                "LINEUP_HOME": home,
                "OLLAMA_HOST": "127.0.0.1:9",
            },
        )
    if done.returncode != 0:
        raise RuntimeError(f"rendering the page failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# The table ---------------------------------------------------------------------------------


def _machine() -> str:
    import psutil

    ram_gib = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {ram_gib:.0f} GiB RAM, "
        f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}"
    )


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def run(sizes: list[int], databases: list[str], before_max: int, page_at: int) -> str:
    lines = [
        f"## Leaderboards, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {_machine()}; {_load()} at the start (other work was running).",
        "",
        "Each size N: N VLM answers and N voice clips in one store (six models, six voices, "
        "runs of both kinds interleaved, 90% ok, 30% labeled). Time: best / median of 3 calls "
        "in a fresh process; memory: peak RSS growth of that process during the calls. "
        f"Before: commit {BEFORE_COMMIT} (every row into pandas), one call.",
        "",
        "| database | generations | leaderboard | fill (s) | best (s) | median (s) "
        "| peak memory (MB) | before (s) | before memory (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    page_lines = []
    postgres = None
    if "postgresql" in databases:
        try:
            postgres = Postgres(prefix="lineup-bench-pg-")
        except PostgresMissing as missing:
            raise SystemExit(str(missing)) from None
    workdir = Path(tempfile.mkdtemp(prefix="lineup-bench-"))
    try:
        if postgres is not None:
            postgres.__enter__()
        for database in databases:
            for n in sizes:
                name = f"lineup_{n}"
                url = (
                    f"sqlite:///{workdir / f'{name}.db'}"
                    if database == "sqlite"
                    else postgres.database(name)  # type: ignore[union-attr]
                )
                start = time.perf_counter()
                fill(url, n)
                fill_s = time.perf_counter() - start
                print(f"{database} {_size(n)}: filled in {fill_s:.0f} s", file=sys.stderr)
                for kind in ("vlm", "tts"):
                    now = measure(url, kind, 3)
                    best, median = min(now["seconds"]), statistics.median(now["seconds"])
                    before_cells = ["–", "–"]
                    if n <= before_max:
                        old = measure(url, f"{kind}-before", 1)
                        before_cells = [f"{old['seconds'][0]:.2f}", f"{old['peak_growth_mb']:.0f}"]
                    line = (
                        f"| {database} | {_size(n)} | {kind} | {fill_s:.0f} | {best:.3f} | "
                        f"{median:.3f} | {now['peak_growth_mb']:.0f} | "
                        + " | ".join(before_cells)
                        + " |"
                    )
                    print(line, file=sys.stderr)
                    lines.append(line)
                if n == page_at:
                    page = measure_page(url)
                    data = measure(url, "page", 3)
                    page_lines.append(
                        f"| {database} | {_size(n)} | {page['first']:.2f} | "
                        f"{min(page['seconds']):.2f} | {statistics.median(page['seconds']):.2f} | "
                        f"{min(data['seconds']):.2f} | {statistics.median(data['seconds']):.2f} |"
                    )
                if database == "sqlite":
                    for leftover in workdir.glob(f"{name}.db*"):
                        leftover.unlink()
                else:
                    postgres.drop(name)  # type: ignore[union-attr]
    finally:
        if postgres is not None:
            postgres.__exit__()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    if page_lines:
        lines += [
            "",
            "Leaderboard page (app_pages/leaderboard.py in Streamlit's AppTest): first run "
            "(imports, caches) and best / median of three reruns (a page view in a running app); "
            "its data calls with the raw export streamed (both leaderboards and the four row "
            "counts, best / median of 3).",
            "",
            "| database | generations | first run (s) | best rerun (s) | median rerun (s) "
            "| data calls, best (s) | data calls, median (s) |",
            "|---|---|---|---|---|---|---|",
            *page_lines,
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--before-max", type=int, default=100_000)
    parser.add_argument("--page-at", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "leaderboard.md")
    parser.add_argument(
        "--measure", nargs=3, metavar=("URL", "WHAT", "REPEATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.measure:
        url, what, repeats = args.measure
        print(json.dumps(measure_here(url, what, int(repeats))))
        return 0
    table = run(
        [int(size) for size in args.sizes.split(",")],
        args.databases.split(","),
        args.before_max,
        args.page_at,
    )
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = args.out.read_text() if args.out.exists() else "# Leaderboard benchmark\n"
    args.out.write_text(previous.rstrip("\n") + "\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
