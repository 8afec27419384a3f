"""The timing arithmetic, checked against figures computed by hand from fixed clock stamps."""

import pytest

from backends.base import Chunk, Usage
from lineup.measure.timing import StreamClock, vlm_timings


def clocked(stamps: list[tuple[float, Chunk]], start: float = 100.0) -> StreamClock:
    clock = StreamClock()
    clock.start(now=start)
    for at, chunk in stamps:
        clock.observe(chunk, now=at)
    return clock


def test_ttft_skips_empty_and_role_only_chunks_and_reasoning() -> None:
    clock = clocked(
        [
            (100.05, Chunk()),  # role-only first chunk, sent at once by some servers
            (100.30, Chunk(reasoning="Let me look")),
            (100.90, Chunk(text="A")),
            (102.90, Chunk(text=" cat")),
        ]
    )
    timings = vlm_timings(clock, "A cat", Usage(output_tokens=10, output_tokens_source="client"))
    assert timings.ttft_s == pytest.approx(0.90)
    assert timings.reasoning_ttft_s == pytest.approx(0.30)
    assert timings.total_s == pytest.approx(2.90)
    # No server figure: the 9 tokens after the first, over the 2 s after the first.
    assert timings.tokens_per_s == pytest.approx((10 - 1) / 2.0)
    assert timings.tokens_per_s_source == "client"
    assert timings.chars_per_s == pytest.approx(len(" cat") / 2.0)


def test_server_decode_figure_wins_over_client_arithmetic() -> None:
    clock = clocked([(101.0, Chunk(text="x")), (103.0, Chunk(usage=Usage()))])
    usage = Usage(output_tokens=40, output_tokens_source="server", decode_tokens_per_s=37.5)
    timings = vlm_timings(clock, "x", usage)
    assert timings.tokens_per_s == 37.5
    assert timings.tokens_per_s_source == "server"
    assert timings.output_tokens == 40
    assert timings.output_tokens_source == "server"


def test_server_decode_duration_gives_tokens_per_second_and_load_stays_apart() -> None:
    # Ollama: eval_count / eval_duration; load_duration is stored on its own.
    clock = clocked([(103.0, Chunk(text="hi")), (104.0, Chunk())])
    usage = Usage(output_tokens=50, output_tokens_source="server", decode_s=0.5, load_s=2.5)
    timings = vlm_timings(clock, "hi", usage)
    assert timings.tokens_per_s == pytest.approx(100.0)
    assert timings.tokens_per_s_source == "server"
    assert timings.load_s == 2.5
    assert timings.ttft_s == pytest.approx(3.0)


def test_no_token_count_means_no_tokens_per_second_never_a_chunk_count() -> None:
    clock = clocked([(100.5, Chunk(text="a")), (100.6, Chunk(text="b")), (101.5, Chunk(text="c"))])
    timings = vlm_timings(clock, "abc", None)
    assert timings.output_tokens is None
    assert timings.tokens_per_s is None
    assert timings.tokens_per_s_source is None
    assert timings.chars_per_s == pytest.approx(len("bc") / 1.0)


def test_single_chunk_answer_has_no_decode_window() -> None:
    # The usage record may follow the one text chunk a moment later: still no decode window.
    clock = clocked([(100.7, Chunk(text="all at once")), (100.7001, Chunk(usage=Usage()))])
    timings = vlm_timings(
        clock, "all at once", Usage(output_tokens=3, output_tokens_source="client")
    )
    assert timings.ttft_s == pytest.approx(0.7)
    assert timings.total_s == pytest.approx(0.7001)
    assert timings.tokens_per_s is None
    assert timings.chars_per_s is None


def test_a_chunk_stamped_where_it_arrived_is_timed_by_its_own_stamp() -> None:
    """Chunks read in the reader process carry the stamp taken there as they arrived: the
    clock uses it, however late this process gets to see the chunk."""
    clock = StreamClock()
    clock.start(now=100.0)
    clock.observe(Chunk(text="A", arrived_at=100.5))
    clock.observe(Chunk(usage=Usage(output_tokens=1), arrived_at=100.75))
    timings = vlm_timings(clock, "A", Usage(output_tokens=1))
    assert timings.ttft_s == pytest.approx(0.5)
    assert timings.total_s == pytest.approx(0.75)
