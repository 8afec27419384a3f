"""The figures an answer shows while it streams, from its chunks' arrival stamps: elapsed time,
TTFT once known, chunks (or tokens) so far, the current rate and whether it has stalled.

All stamps are `time.perf_counter()` seconds (the runner's clock, lineup.measure.timing); `now`
is the moment the figures are drawn. A chunk counts here when it carries answer or reasoning
text (an empty or role-only chunk is no sign of progress, as for TTFT).

- elapsed: now - the request's start (`StreamClock.started_at`, the start of TTFT and total:
  for an HTTP model the moment it was handed to the reader process until that process says
  when the request went out, so elapsed can step back once, by the reader's set-up).
- TTFT: the first chunk of answer text - the request's start, as in the final figures.
- count so far: the chunks counted, or the tokens when the backend says how many each chunk
  holds (`unit` says which; no backend does today, so the unit is "chunks", never dressed up as
  tokens: one chunk may hold several tokens).
- current rate, over a sliding window of `window_s` (W = 3 s) ending now: the window opens at
  w0 = max(now - W, the first counted chunk's arrival); the rate is the count of chunks (or
  tokens) that arrived in (w0, now] divided by (now - w0). The first chunk is left out, as the
  final decode speed leaves out the token that arrived at TTFT. Until a second chunk has
  arrived there is no rate (None). Because the window ends now, not at the last chunk, the rate
  falls to 0 within W seconds of the stream stopping.
- stalled: nothing counted arrived for more than `stall_s` (default 5 s, LINEUP_STALL_S): now -
  the last counted chunk (or, before the first, now - the request's start) > stall_s. It clears
  as soon as a chunk arrives. `quiet_s` is that silence.

Before the request starts (the model getting ready) there are no figures (`live_figures`
returns None). The final figures (lineup.measure.timing) replace these when the answer ends.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lineup.core import DEFAULT_STALL_S, _, ngettext, number

DEFAULT_WINDOW_S = 3.0

LiveUnit = Literal["chunks", "tokens"]


@dataclass(frozen=True)
class LiveFigures:
    """One answer's figures at one moment while it streams (see the module's docstring)."""

    elapsed_s: float
    ttft_s: float | None
    count: int  # chunks (or tokens) so far
    unit: LiveUnit
    rate_per_s: float | None  # `unit` per second over the last window; None before a 2nd chunk
    window_s: float
    stalled: bool
    quiet_s: float  # seconds since the last counted chunk (or the start, before any)


def live_figures(
    *,
    started_at: float | None,
    arrivals: Sequence[float],
    now: float,
    first_text_at: float | None = None,
    counts: Sequence[int] | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    stall_s: float = DEFAULT_STALL_S,
) -> LiveFigures | None:
    """The live figures at `now` of a stream started at `started_at` whose counted chunks
    arrived at `arrivals` (ascending). `first_text_at`: the first chunk of answer text (TTFT).
    `counts`: tokens per chunk, when the backend gives them (then the unit is tokens).

    `arrivals` may be a list another thread appends to: only its first len() items are read.
    """
    if started_at is None:
        return None
    arrived = len(arrivals)
    if counts is not None:
        arrived = min(arrived, len(counts))
    unit: LiveUnit = "tokens" if counts is not None else "chunks"

    def amount(low: int, high: int) -> int:
        return sum(counts[low:high]) if counts is not None else high - low

    rate: float | None = None
    if arrived >= 2:
        window_start = max(now - window_s, arrivals[0])
        span_s = now - window_start
        if span_s > 0:
            # Chunks in (window_start, now]; one stamped after `now` (a clock read between the
            # two threads) is not in yet.
            low = bisect.bisect_right(arrivals, window_start, 0, arrived)
            high = bisect.bisect_right(arrivals, now, 0, arrived)
            rate = amount(low, high) / span_s
    last_at = arrivals[arrived - 1] if arrived else started_at
    quiet_s = max(now - last_at, 0.0)
    return LiveFigures(
        elapsed_s=now - started_at,
        ttft_s=None if first_text_at is None or first_text_at > now else first_text_at - started_at,
        count=amount(0, arrived),
        unit=unit,
        rate_per_s=rate,
        window_s=window_s,
        stalled=quiet_s > stall_s,
        quiet_s=quiet_s,
    )


def _seconds(value_s: float) -> str:
    if value_s < 1:
        return _("{value} ms").format(value=number(value_s * 1000))
    return _("{value} s").format(value=number(value_s, 1))


def live_line(figures: LiveFigures) -> str:
    """The live figures in one line of plain text, as the page and the command line show them:
    elapsed, TTFT, chunks (or tokens) so far and the current rate ("now": over the last
    window); the stall is `stall_line`. In the current language (lineup.core.i18n)."""
    rate = "–" if figures.rate_per_s is None else number(figures.rate_per_s, 1)
    if figures.unit == "tokens":
        count = ngettext("{count} token", "{count} tokens", figures.count)
        now = _("now {rate} tokens/s")
    else:
        count = ngettext("{count} chunk", "{count} chunks", figures.count)
        now = _("now {rate} chunks/s")
    return " · ".join(
        [
            _("{value} s").format(value=number(figures.elapsed_s, 1)),
            _("TTFT {time}").format(
                time="–" if figures.ttft_s is None else _seconds(figures.ttft_s)
            ),
            count.format(count=figures.count),
            now.format(rate=rate),
        ]
    )


def stall_line(figures: LiveFigures) -> str | None:
    """'stalled: nothing for 6.1 s' while the answer is stalled, else None."""
    if not figures.stalled:
        return None
    return _("stalled: nothing for {seconds} s").format(seconds=number(figures.quiet_s, 1))
