"""What Lineup adds to a request, and how together several models start.

(a) Added latency: the same loopback OpenAI-compatible server (its pacing scripted: first token
    after FIRST_TOKEN_S, then TOKENS more every TOKEN_GAP_S, then `[DONE]`) is asked by a
    direct `openai` client and by a one-model Lineup comparison (`app.compare.vlm`, the
    app's and the CLI's path), requests interleaved. For each: p50 and p99 of TTFT, total,
    and the whole call (from the caller's first line to the result in its hands).
(b) Fan-out: N = 1, 2, 4, 8 models on N independent loopback servers with the same pacing:
    the run's wall time over the slowest model's own total, and the spread (max - min) of
    the models' first-token times.

Each server runs in its own process.
Usage: .venv/bin/python -m bench.overhead [--requests N] [--fanout-runs K] [--out PATH]
Prints a Markdown report and prepends it, dated, to bench/results/overhead.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIRST_TOKEN_S = 0.050
TOKEN_GAP_S = 0.005
TOKENS = 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "paced", "object": "model"}]})
        self._send(200, body.encode(), "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        time.sleep(FIRST_TOKEN_S)
        for index in range(TOKENS):
            if index:
                time.sleep(TOKEN_GAP_S)
            self._event({"choices": [{"index": 0, "delta": {"content": f"w{index} "}}]})
        self._event(
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": TOKENS, "total_tokens": 25},
            }
        )
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, record: dict[str, Any]) -> None:
        record = {"id": "x", "object": "chat.completion.chunk", "model": "paced", **record}
        self._chunk(f"data: {json.dumps(record)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that closes its kept-alive connection is no error here


def _serve(ports: Any) -> None:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


@contextmanager
def paced_server() -> Iterator[str]:
    """A paced server in a process of its own, so N servers are N independent peers that do
    not share the clients' interpreter (and its lock) with them."""
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    process = context.Process(target=_serve, args=(ports,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}/v1"
    finally:
        process.terminate()
        process.join(timeout=10)


def direct_openai(client: Any) -> dict[str, float]:
    started = time.perf_counter()
    first: float | None = None
    stream = client.chat.completions.create(
        model="paced", messages=[{"role": "user", "content": "q"}], stream=True
    )
    for event in stream:
        if first is None and event.choices and event.choices[0].delta.content:
            first = time.perf_counter()
    ended = time.perf_counter()
    assert first is not None
    return {"ttft_s": first - started, "total_s": ended - started, "call_s": ended - started}


def through_lineup(app: Any, specs: list[str]) -> tuple[float, list[Any], Any]:
    started = time.perf_counter()
    comparison = app.compare.vlm(question="q", models=specs, timeout_s=60)
    results = comparison.wait()
    call_s = time.perf_counter() - started
    for result in results:
        assert result.status == "ok", result.error
    return call_s, results, comparison


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--fanout-runs", type=int, default=10)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "overhead.md"
    )
    args = parser.parse_args()
    load_1m, load_5m, _ = os.getloadavg()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    header = [
        f"## Overhead and fan-out, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, "
        f"Python {platform.python_version()}; load average {load_1m:.1f} (1 min), "
        f"{load_5m:.1f} (5 min) at the start. Store: SQLite in a temporary LINEUP_HOME.",
        "",
    ]

    os.environ["LINEUP_HOME"] = tempfile.mkdtemp(prefix="lineup-bench-")
    os.environ.pop("LINEUP_DATABASE_URL", None)
    os.environ["LINEUP_BACKENDS_FILE"] = str(Path(os.environ["LINEUP_HOME"]) / "none.toml")
    import openai

    from lineup.app import Lineup

    app = Lineup.open()
    lines = [
        "### (a) Added latency, one model, loopback server "
        f"(first token {FIRST_TOKEN_S * 1000:.0f} ms, {TOKENS} tokens every "
        f"{TOKEN_GAP_S * 1000:.0f} ms), {args.requests} requests each, interleaved",
        "",
        "| path | TTFT p50 ms | TTFT p99 ms | total p50 ms | total p99 ms | call p50 ms "
        "| call p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    with paced_server() as url:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
        spec = f"openai:paced@{url}"
        direct: list[dict[str, float]] = []
        lineup: list[dict[str, float]] = []
        through_lineup(app, [spec])  # warm both paths once
        direct_openai(client)
        for _ in range(args.requests):
            direct.append(direct_openai(client))
            call_s, (result,), _ = through_lineup(app, [spec])
            lineup.append(
                {
                    "ttft_s": result.timings.ttft_s,
                    "total_s": result.timings.total_s,
                    "call_s": call_s,
                }
            )
    for name, rows in (("direct `openai` client", direct), ("Lineup comparison", lineup)):
        cells = []
        for key in ("ttft_s", "total_s", "call_s"):
            values = [row[key] for row in rows]
            cells += [ms(pct(values, 0.5)), ms(pct(values, 0.99))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    added = {
        key: [ours[key] - theirs[key] for ours, theirs in zip(lineup, direct, strict=True)]
        for key in ("ttft_s", "call_s")
    }
    lines += [
        "",
        f"Added by Lineup (paired): TTFT p50 {ms(pct(added['ttft_s'], 0.5))} ms, "
        f"p99 {ms(pct(added['ttft_s'], 0.99))} ms; whole call p50 "
        f"{ms(pct(added['call_s'], 0.5))} ms, p99 {ms(pct(added['call_s'], 0.99))} ms.",
        "",
        f"### (b) Fan-out: N models on N loopback servers, {args.fanout_runs} runs each",
        "",
        "| N | wall / slowest model, median | first-token spread p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for n in (1, 2, 4, 8):
        with ExitStack() as stack:
            urls = [stack.enter_context(paced_server()) for _ in range(n)]
            specs = [f"openai:paced@{url}" for url in urls]
            through_lineup(app, specs)  # warm
            ratios: list[float] = []
            spreads: list[float] = []
            for _ in range(args.fanout_runs):
                call_s, results, comparison = through_lineup(app, specs)
                slowest = max(r.timings.total_s for r in results)
                ratios.append(call_s / slowest)
                firsts = [job.clock.first_text_at for job in comparison.jobs]
                spreads.append(max(firsts) - min(firsts))
            lines.append(
                f"| {n} | {statistics.median(ratios):.3f} | {ms(pct(spreads, 0.5))} | "
                f"{ms(pct(spreads, 0.99))} |"
            )
    report = "\n".join(header + lines) + "\n"
    print(report)
    title = "# Overhead and fan-out benchmark (bench/overhead.py)\n\n"
    earlier = args.out.read_text().removeprefix(title) if args.out.exists() else ""
    args.out.write_text(title + report + ("\n" + earlier if earlier else ""))


if __name__ == "__main__":
    main()
