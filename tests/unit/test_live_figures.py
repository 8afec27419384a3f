"""The live figures of a streaming answer, checked against figures worked out by hand from fixed
arrival stamps (lineup.measure.live: W = 3 s window, stalled after 5 s)."""

import pytest

from backends.base import Chunk
from lineup.measure import live_figures
from lineup.measure.timing import StreamClock

START = 100.0
# A steady stream: a chunk every 0.5 s from 100.5 to 104.5 (9 chunks), then a 6 s pause, then
# one more at 110.5.
STEADY = [100.5 + 0.5 * k for k in range(9)]
RESUMED = [*STEADY, 110.5]


def test_no_figures_before_the_request_is_sent() -> None:
    assert live_figures(started_at=None, arrivals=[], now=START) is None


def test_no_chunk_yet_shows_elapsed_only() -> None:
    figures = live_figures(started_at=START, arrivals=[], now=100.2)
    assert figures is not None
    assert figures.elapsed_s == pytest.approx(0.2)
    assert figures.ttft_s is None
    assert figures.count == 0
    assert figures.unit == "chunks"
    assert figures.rate_per_s is None
    assert not figures.stalled
    assert figures.quiet_s == pytest.approx(0.2)


def test_nothing_for_six_seconds_from_the_start_is_stalled() -> None:
    figures = live_figures(started_at=START, arrivals=[], now=106.0)
    assert figures is not None
    assert figures.stalled
    assert figures.quiet_s == pytest.approx(6.0)


def test_steady_stream_rate_counts_the_chunks_of_the_last_three_seconds() -> None:
    figures = live_figures(started_at=START, arrivals=STEADY, first_text_at=100.5, now=105.0)
    assert figures is not None
    assert figures.elapsed_s == pytest.approx(5.0)
    assert figures.ttft_s == pytest.approx(0.5)
    assert figures.count == 9
    # Window (102.0, 105.0]: 102.5, 103.0, 103.5, 104.0, 104.5 -> 5 chunks in 3 s.
    assert figures.rate_per_s == pytest.approx(5 / 3)
    assert figures.quiet_s == pytest.approx(0.5)
    assert not figures.stalled


def test_early_window_opens_at_the_first_chunk_and_leaves_it_out() -> None:
    figures = live_figures(started_at=START, arrivals=STEADY[:2], first_text_at=100.5, now=101.2)
    assert figures is not None
    # Window (100.5, 101.2]: only 101.0 -> 1 chunk in 0.7 s.
    assert figures.rate_per_s == pytest.approx(1 / 0.7)


def test_one_chunk_answer_has_a_ttft_and_no_rate() -> None:
    figures = live_figures(started_at=START, arrivals=[101.2], first_text_at=101.2, now=101.5)
    assert figures is not None
    assert figures.count == 1
    assert figures.ttft_s == pytest.approx(1.2)
    assert figures.rate_per_s is None
    assert figures.quiet_s == pytest.approx(0.3)


def test_a_pause_slows_the_rate_to_zero_then_stalls_then_recovers() -> None:
    # 104.9 s of stream, 0.4 s after the last chunk: (101.9, 104.9] holds 102.0 ... 104.5, 6.
    during = live_figures(started_at=START, arrivals=STEADY, now=104.9)
    assert during is not None and during.rate_per_s == pytest.approx(6 / 3)
    # 4.9 s of silence: the window (106.4, 109.4] is empty, not stalled yet.
    quiet = live_figures(started_at=START, arrivals=STEADY, now=109.4)
    assert quiet is not None
    assert quiet.rate_per_s == 0.0
    assert quiet.quiet_s == pytest.approx(4.9)
    assert not quiet.stalled
    # Exactly 5 s is not more than 5 s.
    edge = live_figures(started_at=START, arrivals=STEADY, now=109.5)
    assert edge is not None and not edge.stalled
    stalled = live_figures(started_at=START, arrivals=STEADY, now=109.6)
    assert stalled is not None and stalled.stalled
    assert stalled.quiet_s == pytest.approx(5.1)
    # A chunk at 110.5: 0.1 s later it is no longer stalled; (107.6, 110.6] holds one chunk.
    resumed = live_figures(started_at=START, arrivals=RESUMED, now=110.6)
    assert resumed is not None
    assert not resumed.stalled
    assert resumed.count == 10
    assert resumed.rate_per_s == pytest.approx(1 / 3)


def test_the_stall_time_and_window_are_settings() -> None:
    figures = live_figures(started_at=START, arrivals=STEADY, now=106.0, stall_s=1.0, window_s=2.0)
    assert figures is not None
    assert figures.stalled  # 1.5 s of silence > 1 s
    # Window (104.0, 106.0]: 104.5 -> 1 chunk in 2 s.
    assert figures.rate_per_s == pytest.approx(0.5)
    assert figures.window_s == 2.0


def test_token_counts_per_chunk_make_the_unit_tokens() -> None:
    figures = live_figures(
        started_at=START, arrivals=[100.5, 101.0, 101.5], counts=[3, 2, 4], now=102.0
    )
    assert figures is not None
    assert figures.unit == "tokens"
    assert figures.count == 9
    # Window (100.5, 102.0]: the 2 + 4 tokens of 101.0 and 101.5, over 1.5 s.
    assert figures.rate_per_s == pytest.approx(4.0)


def test_a_chunk_stamped_after_now_is_not_in_the_window_yet() -> None:
    figures = live_figures(started_at=START, arrivals=[100.5, 101.0, 101.3], now=101.2)
    assert figures is not None
    # (100.5, 101.2] holds 101.0 only; 101.3 was stamped by the worker after this read.
    assert figures.rate_per_s == pytest.approx(1 / 0.7)


def test_clock_stamps_text_and_reasoning_chunks_not_empty_ones() -> None:
    clock = StreamClock()
    clock.start(now=START)
    for at, chunk in [
        (100.05, Chunk()),  # role-only
        (100.3, Chunk(reasoning="Let me look")),
        (100.9, Chunk(text="A")),
        (101.4, Chunk(text=" cat")),
    ]:
        clock.observe(chunk, now=at)
    assert clock.arrivals == [100.3, 100.9, 101.4]
    figures = live_figures(
        started_at=clock.started_at,
        arrivals=clock.arrivals,
        first_text_at=clock.first_text_at,
        now=101.5,
    )
    assert figures is not None
    assert figures.ttft_s == pytest.approx(0.9)  # the reasoning chunk is not the first token
    assert figures.count == 3
    # Window (100.3, 101.5]: 100.9 and 101.4 -> 2 chunks in 1.2 s.
    assert figures.rate_per_s == pytest.approx(2 / 1.2)
