"""The timing arithmetic of docs/design.md, in one place: TTFT, total, tokens, decode speed,
and whether an answer was cold."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from backends.base import Chunk, CountSource, Usage


@dataclass(frozen=True)
class VLMTimings:
    ttft_s: float | None
    reasoning_ttft_s: float | None
    total_s: float
    input_tokens: int | None
    output_tokens: int | None
    output_tokens_source: CountSource | None
    tokens_per_s: float | None
    tokens_per_s_source: CountSource | None
    chars_per_s: float | None
    load_s: float | None
    prompt_eval_s: float | None
    cold: bool | None = None

    def as_fields(self) -> dict[str, Any]:
        return asdict(self)


# Ollama's load_duration at or above which an answer counts as cold (cold_start).
COLD_LOAD_S = 0.5


def cold_start(usage: Usage | None) -> bool | None:
    """Whether an answer was cold: True when it included a model load, False when it did not,
    None when nothing says.

    - An engine that loads the model itself says so (`Usage.loaded`): an in-process VLM
      (transformers) is cold on the answer that loaded it (its row carries the load in
      `load_s`, kept out of TTFT and total; the first generate() after a load also pays
      one-off costs inside them) and warm on every later one.
    - Ollama reports `load_duration` on every answer, and never says whether it loaded: it is
      the time from the request's arrival to its runner being ready (server/routes.go,
      checkpointStart to checkpointLoaded), which holds a load when there was one and, warm,
      only reading the model's metadata and finding its runner: milliseconds, sometimes a few
      hundred. So an answer is cold when `load_duration` >= COLD_LOAD_S (0.5 s), warm below.
      A tiny model loaded from the page cache in less counts as warm; a warm answer whose
      scheduling took longer counts as cold: either way the error keeps a doubtful figure out
      of the warm medians rather than in them.
    - llama.cpp's llama-server, vLLM and other OpenAI-compatible servers report no load time
      (llama-server's `timings` hold prompt and decode figures only, and it loads its model
      before it listens): None, unknown.
    - A stream cut off before its usage record: None.
    - Voices: None. An in-process voice (Piper, Bark) loads once, before its first clip's
      clock, and never inside gen_s; espeak-ng and HTTP voices say nothing about loads.

    The speed medians count the answers not known to be cold (False or None) and show the
    cold ones apart (lineup.measure.figures.cold_figures).
    """
    if usage is None:
        return None
    if usage.loaded is not None:
        return usage.loaded
    if usage.load_s is not None:
        return usage.load_s >= COLD_LOAD_S
    return None


class StreamClock:
    """Stamps a stream's chunks with `time.perf_counter()` as they arrive.

    `start()` is called right before the request is sent. TTFT is the first chunk with
    non-empty answer text; reasoning text is timed on its own and never counts as the
    answer's first token; empty or role-only chunks count for nothing but the end time.
    A chunk read in the reader process brings its own stamp (`Chunk.arrived_at`, taken there
    as it arrived, with the same clock), and the start is that process's stamp of the send.
    """

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.first_text_at: float | None = None
        self.first_reasoning_at: float | None = None
        self.last_chunk_at: float | None = None
        self.text_chunks = 0
        self.first_text_chars = 0
        # Every chunk with answer or reasoning text, as it arrived: the live figures'
        # stamps (lineup.measure.live). Appended by the worker, read by the page's thread.
        self.arrivals: list[float] = []

    def start(self, now: float | None = None) -> None:
        self.started_at = time.perf_counter() if now is None else now

    def observe(self, chunk: Chunk, now: float | None = None) -> None:
        if now is None:
            now = time.perf_counter() if chunk.arrived_at is None else chunk.arrived_at
        if chunk.text:
            self.text_chunks += 1
            if self.first_text_at is None:
                self.first_text_at = now
                self.first_text_chars = len(chunk.text)
        if chunk.reasoning and self.first_reasoning_at is None:
            self.first_reasoning_at = now
        if chunk.text or chunk.reasoning:
            self.arrivals.append(now)
        self.last_chunk_at = now

    def since_start(self, at: float | None) -> float | None:
        if at is None or self.started_at is None:
            return None
        return at - self.started_at


def vlm_timings(clock: StreamClock, text: str, usage: Usage | None) -> VLMTimings:
    """Compute the stored figures of one answer from its clock, its text and the usage record.

    - total: request sent to last chunk.
    - output tokens: the server's (or in-process) count from `usage`; never a chunk count.
    - decode tokens/s: the server's own figure if reported, else the server's token count
      over the server's decode duration, else (output tokens - 1) / (total - TTFT): the
      first token arrived at TTFT, so the window after it holds the other n - 1 (the same
      count llama.cpp's own `predicted_per_second` uses; n / window would overstate the
      speed by n / (n - 1), 2% at 48 tokens, 11% at 10).
    - chars/s: the characters after the first chunk / (total - TTFT), the same window.

    A client-side rate needs a streamed answer: when the whole answer arrived in one chunk
    there is no decode window to divide by, and the rate is left empty rather than made up.
    """
    usage = usage or Usage()
    total_s = clock.since_start(clock.last_chunk_at) or 0.0
    ttft_s = clock.since_start(clock.first_text_at)
    streamed = clock.text_chunks >= 2
    stream_window_s = total_s - ttft_s if ttft_s is not None and streamed else None
    if stream_window_s is not None and stream_window_s <= 0:
        stream_window_s = None

    tokens_per_s: float | None = None
    tokens_per_s_source: CountSource | None = None
    if usage.decode_tokens_per_s is not None:
        tokens_per_s, tokens_per_s_source = usage.decode_tokens_per_s, "server"
    elif usage.output_tokens is not None and usage.decode_s:
        tokens_per_s, tokens_per_s_source = usage.output_tokens / usage.decode_s, "server"
    elif usage.output_tokens is not None and usage.output_tokens >= 2 and stream_window_s:
        tokens_per_s = (usage.output_tokens - 1) / stream_window_s
        tokens_per_s_source = "client"

    chars_per_s = (
        (len(text) - clock.first_text_chars) / stream_window_s if stream_window_s else None
    )
    return VLMTimings(
        ttft_s=ttft_s,
        reasoning_ttft_s=clock.since_start(clock.first_reasoning_at),
        total_s=total_s,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        output_tokens_source=usage.output_tokens_source
        if usage.output_tokens is not None
        else None,
        tokens_per_s=tokens_per_s,
        tokens_per_s_source=tokens_per_s_source,
        chars_per_s=chars_per_s,
        load_s=usage.load_s,
        prompt_eval_s=usage.prompt_eval_s,
        cold=cold_start(usage),
    )
