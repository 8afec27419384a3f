"""Time to first token as Lineup measures it from the CLI's path and in the app, for a server
whose first token leaves at exactly FIRST_TOKEN_S.

Four loopback OpenAI-compatible servers (testbed/paced_server.py, one process each)
send their first token FIRST_TOKEN_S after a request's body has come in, then more every
TOKEN_GAP_S, then `[DONE]`, and note when each request came in and when its first token left
(their `time.perf_counter()`: CLOCK_MONOTONIC, the same clock in every process on Linux). The
same four models answer the same sample screenshot and question:

(i)   the CLI's path: `app.compare.vlm` in this process, as `python -m lineup vlm` calls it;
(ii)  the app: the real `streamlit run`, driven by Playwright and Debian's chromium, its four
      columns redrawing while they stream;
(iii) both again with `ocr:eng+rus` beside them in the same comparison.

For each: TTFT p50 / p90 over every model of every run, and where the time went: the
server's own wait (0.50 s, more when the loaded machine schedules its process late), what
the client side added to it (TTFT minus the server's wait), split into the clock's start to
the request's arrival at the server ("to server") and the first token leaving the server to
its stamp ("back"). The app's own stamps
come from a probe that the app is started with here (`--serve-app`: it notes each finished
answer's clock; nothing in Lineup changes).

Usage: .venv/bin/python -m bench.ttft [--runs N] [--skip-app] [--switch-interval S]
       [--omp-thread-limit N] [--out PATH]
Prints a Markdown report and prepends it, dated, to bench/results/ttft.md.
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIRST_TOKEN_S = 0.50
TOKEN_GAP_S = 0.02
TOKENS = 40
MODELS = 4  # each on its own server
QUESTION = "What does the error say?"
OCR = "ocr:eng+rus"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testbed.paced_server import paced_server, server_stamps  # noqa: E402

PROBE_FILE_ENV = "LINEUP_BENCH_PROBE_FILE"


# What one answer's clock said ------------------------------------------------------------


@dataclass
class Answer:
    ttft_s: float
    started_at: float | None = None  # the clock's start, this machine's perf_counter
    first_at: float | None = None


@dataclass
class Series:
    name: str
    answers: list[Answer] = field(default_factory=list)
    to_server_s: list[float] = field(default_factory=list)
    server_wait_s: list[float] = field(default_factory=list)
    back_s: list[float] = field(default_factory=list)

    added_s: list[float] = field(default_factory=list)

    def add_run(self, answers: list[Answer], stamps: list[dict[str, float]]) -> None:
        """One run's answers (in model order) and each model's server's stamps of it."""
        self.answers += answers
        for answer, stamp in zip(answers, stamps, strict=True):
            server_wait_s = stamp["first_sent_at"] - stamp["received_at"]
            self.server_wait_s.append(server_wait_s)
            # What the client side added to the server's own time: Lineup's stamps, the
            # loopback, and the scheduling of the client and server processes.
            self.added_s.append(answer.ttft_s - server_wait_s)
            if answer.started_at is not None and answer.first_at is not None:
                self.to_server_s.append(stamp["received_at"] - answer.started_at)
                self.back_s.append(answer.first_at - stamp["first_sent_at"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.1f}"


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def sample_image() -> Path:
    """The sample the app's picker shows first (screenshots first, as the page sorts them)."""
    from lineup.sets import list_samples

    samples = sorted(list_samples(), key=lambda s: s.kind != "screenshot")
    if not samples:
        raise SystemExit("No sample images: run `.venv/bin/python scripts/make_samples.py`.")
    return samples[0].path


# (i) the CLI's path ------------------------------------------------------------------------


def cli_series(name: str, urls: list[str], image_path: Path, runs: int, ocr: bool) -> Series:
    from lineup.app import Lineup

    app = Lineup.open()
    image = app.compare.image(image_path.read_bytes())
    specs = [f"openai:paced@{url}" for url in urls] + ([OCR] if ocr else [])
    series = Series(name)
    for run in range(runs + 1):  # the first run warms the reader and the connections
        seen = {url: len(server_stamps(url)) for url in urls}
        comparison = app.compare.vlm(question=QUESTION, models=specs, image=image, timeout_s=120)
        results = comparison.wait()
        answers = []
        for job, result in zip(comparison.jobs, results, strict=True):
            if result.model == OCR:
                continue
            assert result.status == "ok" and result.timings is not None, result.error
            answers.append(
                Answer(result.timings.ttft_s or 0.0, job.clock.started_at, job.clock.first_text_at)
            )
        if run:
            series.add_run(answers, [server_stamps(url)[seen[url]] for url in urls])
    return series


# (ii) the app ------------------------------------------------------------------------------


def serve_app(argv: list[str]) -> None:
    """`streamlit run` with a probe that notes each finished answer's clock (and, for the
    experiments, another switch interval)."""
    import lineup.run.vlm as runner

    interval = os.environ.get("LINEUP_BENCH_SWITCH_INTERVAL_S")
    if interval:
        sys.setswitchinterval(float(interval))
    probe_file = Path(os.environ[PROBE_FILE_ENV])
    real_vlm_timings = runner.vlm_timings

    def noted(clock: Any, text: str, usage: Any) -> Any:
        with probe_file.open("a") as out:
            out.write(json.dumps([clock.started_at, clock.first_text_at]) + "\n")
        return real_vlm_timings(clock, text, usage)

    runner.vlm_timings = noted  # type: ignore[assignment]
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    cli.main()


@contextmanager
def served_app(home: Path, env_extra: dict[str, str]) -> Iterator[str]:
    import httpx

    from testbed.net import free_port

    port = free_port()
    env = dict(os.environ, LINEUP_HOME=str(home), **env_extra)
    env[PROBE_FILE_ENV] = str(home / "probe.jsonl")
    env["LINEUP_BACKENDS_FILE"] = str(home / "none.toml")
    env.pop("LINEUP_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.ttft", "--serve-app", "run", "app.py"]
        + ["--server.address", "127.0.0.1", "--server.port", str(port)]
        + ["--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("streamlit did not start")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def app_series(
    name: str, urls: list[str], runs: int, ocr: bool, env_extra: dict[str, str]
) -> Series:
    from playwright.sync_api import expect, sync_playwright

    from lineup.store import Store
    from testbed.browser import CHROMIUM, CHROMIUM_ARGS, open_page, settled

    specs = [f"openai:paced@{url}" for url in urls] + ([OCR] if ocr else [])
    home = Path(tempfile.mkdtemp(prefix="lineup-bench-ttft-"))
    series = Series(name)
    with served_app(home, env_extra) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_page(page, url)
        page.get_by_role("textbox", name="Question", exact=True).fill(QUESTION)
        models = page.locator('[data-testid="stMultiSelect"]')
        clear = models.get_by_role("button", name="Clear all")
        if clear.count():
            clear.first.click()
        entry = models.locator("input")
        for spec in specs:
            entry.click()
            entry.fill(spec)
            entry.press("Enter")
        page.keyboard.press("Escape")
        page.locator("h1").first.click()
        settled(page)
        store = Store(f"sqlite:///{home / 'lineup.db'}")
        probe = home / "probe.jsonl"
        compare = page.get_by_role("button", name="Compare")
        for run in range(runs + 1):
            seen = {u: len(server_stamps(u)) for u in urls}
            noted = len(probe.read_text().splitlines()) if probe.exists() else 0
            compare.click()
            expect(compare).to_be_disabled(timeout=30_000)
            expect(compare).to_be_enabled(timeout=180_000)
            settled(page)
            [latest] = store.latest_runs("vlm", limit=1)
            rows = store.get_run(latest.id).generations
            assert [g.model_spec for g in rows] == specs, [g.model_spec for g in rows]
            assert all(g.status == "ok" for g in rows), [(g.status, g.error) for g in rows]
            clocks = [json.loads(line) for line in probe.read_text().splitlines()[noted:]]
            answers = []
            for row in rows:
                if row.model_spec == OCR:
                    continue
                assert row.ttft_s is not None
                # The probe's line of this answer: the one whose TTFT is the stored one.
                match = [
                    c for c in clocks if c[1] is not None and abs(c[1] - c[0] - row.ttft_s) < 1e-6
                ]
                started_at, first_at = match[0] if match else (None, None)
                answers.append(Answer(row.ttft_s, started_at, first_at))
            if run:
                series.add_run(answers, [server_stamps(u)[seen[u]] for u in urls])
        browser.close()
    return series


# The report --------------------------------------------------------------------------------


def machine_line() -> str:
    load_1m, load_5m, _ = os.getloadavg()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, Python "
        f"{platform.python_version()}; load average {load_1m:.1f} (1 min), {load_5m:.1f} (5 min)"
    )


def table(series: list[Series]) -> list[str]:
    lines = [
        "| path | answers | TTFT p50 ms | TTFT p90 ms | server's wait p50 ms | p90 ms "
        "| TTFT - server's wait p50 ms | p90 ms | to server p50 ms | back p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in series:
        ttfts = [a.ttft_s for a in s.answers]
        lines.append(
            f"| {s.name} | {len(ttfts)} | {ms(pct(ttfts, 0.5))} | {ms(pct(ttfts, 0.9))} | "
            f"{ms(pct(s.server_wait_s, 0.5))} | {ms(pct(s.server_wait_s, 0.9))} | "
            f"{ms(pct(s.added_s, 0.5))} | {ms(pct(s.added_s, 0.9))} | "
            f"{ms(median_or_none(s.to_server_s))} | {ms(median_or_none(s.back_s))} |"
        )
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-app":
        serve_app(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="runs of each comparison")
    parser.add_argument("--skip-app", action="store_true", help="the CLI's path only")
    parser.add_argument("--switch-interval", type=float, help="the app's sys.setswitchinterval")
    parser.add_argument("--omp-thread-limit", type=int, help="OMP_THREAD_LIMIT for tesseract")
    parser.add_argument("--note", default="", help="a line added under the title")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ttft.md")
    args = parser.parse_args()

    os.environ["LINEUP_HOME"] = tempfile.mkdtemp(prefix="lineup-bench-ttft-cli-")
    os.environ.pop("LINEUP_DATABASE_URL", None)
    os.environ["LINEUP_BACKENDS_FILE"] = str(Path(os.environ["LINEUP_HOME"]) / "none.toml")
    env_extra: dict[str, str] = {}
    if args.omp_thread_limit:
        os.environ["OMP_THREAD_LIMIT"] = str(args.omp_thread_limit)
    if args.switch_interval:
        env_extra["LINEUP_BENCH_SWITCH_INTERVAL_S"] = str(args.switch_interval)
    image = sample_image()
    at_start = machine_line()
    started = time.monotonic()
    series: list[Series] = []
    with ExitStack() as stack:
        urls = [
            stack.enter_context(paced_server(FIRST_TOKEN_S, TOKENS, TOKEN_GAP_S))
            for _ in range(MODELS)
        ]
        series.append(cli_series(f"CLI path, {MODELS} models", urls, image, args.runs, False))
        if not args.skip_app:
            series.append(app_series(f"app, {MODELS} columns", urls, args.runs, False, env_extra))
        series.append(cli_series(f"CLI path, {MODELS} models + OCR", urls, image, args.runs, True))
        if not args.skip_app:
            series.append(
                app_series(f"app, {MODELS} columns + OCR", urls, args.runs, True, env_extra)
            )
    minutes = (time.monotonic() - started) / 60
    from PIL import Image

    with Image.open(image) as picture:
        size = f"{picture.width}×{picture.height}"
    header = [
        f"## TTFT, CLI and app, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {at_start} at the start; {machine_line().split('; ')[1]} at the end "
        f"({minutes:.0f} min later).",
        f"Server: first token {FIRST_TOKEN_S * 1000:.0f} ms after the request came in, then "
        f"{TOKENS - 1} more every {TOKEN_GAP_S * 1000:.0f} ms; {MODELS} servers, one process "
        f"each. Image: {image.name} ({size}); {args.runs} runs per row after one warm-up run.",
    ]
    if args.switch_interval:
        header.append(f"Experiment: the app's sys.setswitchinterval({args.switch_interval}).")
    if args.omp_thread_limit:
        header.append(f"Experiment: OMP_THREAD_LIMIT={args.omp_thread_limit} for tesseract.")
    if args.note:
        header.append(args.note)
    lines = header + [""] + table(series)
    by_name = {s.name: pct([a.ttft_s for a in s.answers], 0.5) for s in series}
    for app_name, cli_name in (
        (f"app, {MODELS} columns", f"CLI path, {MODELS} models"),
        (f"app, {MODELS} columns + OCR", f"CLI path, {MODELS} models + OCR"),
    ):
        if app_name in by_name:
            app_p50, cli_p50 = by_name[app_name], by_name[cli_name]
            lines.append("")
            added = {s.name: pct(s.added_s, 0.5) for s in series}
            lines.append(
                f"{app_name}: TTFT p50 {ms(app_p50 - cli_p50)} ms from the CLI's (ratio "
                f"{app_p50 / cli_p50:.3f}); TTFT - server's wait p50 "
                f"{ms(added[app_name] - added[cli_name])} ms from the CLI's."
            )
    report = "\n".join(lines) + "\n"
    print(report)
    title = "# Time to first token, CLI and app (bench/ttft.py)\n\n"
    earlier = args.out.read_text().removeprefix(title) if args.out.exists() else ""
    args.out.write_text(title + report + ("\n" + earlier if earlier else ""))


if __name__ == "__main__":
    main()
