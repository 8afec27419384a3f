"""The runner: models run at once, each finishes (or fails, or times out) on its own."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator

import pytest

from backends.base import BackendError, Chunk, Usage, VLMBackend, VLMRequest
from backends.spec import ModelSpec
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from tests.builders import by_name, resolved_all


class Scripted(VLMBackend):
    """A backend that streams the given pieces with the given pauses, then reports usage."""

    def __init__(
        self,
        pieces: list[str],
        pause_s: float = 0.0,
        fail: str | None = None,
        tokens: int | None = None,
    ) -> None:
        self.pieces = pieces
        self.pause_s = pause_s
        self.fail = fail
        self.tokens = tokens
        self.closed = threading.Event()

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        try:
            yield Chunk()  # a role-only opening chunk
            for piece in self.pieces:
                time.sleep(self.pause_s)
                yield Chunk(text=piece)
            if self.fail:
                raise BackendError(self.fail)
            yield Chunk(
                usage=Usage(
                    output_tokens=self.tokens,
                    output_tokens_source="server",
                    metadata={"model": "scripted"},
                )
            )
        finally:
            self.closed.set()


def test_fast_slow_and_failing_models_run_together(store: Store) -> None:
    backends = {
        "fake:fast": Scripted(["The", " answer"], tokens=2),
        "fake:slow": Scripted(["very", " slow"] * 50, pause_s=0.4),  # 40 s if left alone
        "fake:failing": Scripted(["partial"], fail="Is the server up? Start it with `serve`."),
    }
    started = time.perf_counter()
    comparison = start_vlm_comparison(
        store,
        resolved_all(list(backends)),
        VLMRequest("What is it?"),
        by_name(backends.__getitem__),
        timeout_s=1.5,
    )
    order = [e.result.model for e in comparison.iter_events() if e.result is not None]
    wall_s = time.perf_counter() - started

    # Close to the slowest (cut at its 1.5 s timeout), far from the sum (40 s and more).
    assert wall_s < 6
    assert order.index("fake:fast") < order.index("fake:slow")
    rows = {g.model_spec: g for g in store.get_run(comparison.run_id).generations}
    fast, slow, failing = rows["fake:fast"], rows["fake:slow"], rows["fake:failing"]

    assert fast.status == "ok" and fast.output_text == "The answer"
    assert fast.output_tokens == 2 and fast.output_tokens_source == "server"
    assert fast.backend_metadata == {"model": "scripted"}
    assert fast.finished_at < slow.finished_at

    assert failing.status == "error"
    assert failing.error == "Is the server up? Start it with `serve`."
    assert failing.output_text == "partial"

    assert slow.status == "timeout"
    assert slow.error.startswith("Timed out after 1.5 s")
    assert slow.output_text.startswith("very slow")
    assert slow.total_s == pytest.approx(1.5, abs=0.5)
    # The worker stops reading the abandoned stream at its next chunk.
    assert backends["fake:slow"].closed.wait(timeout=3)
    assert [g.position for g in store.get_run(comparison.run_id).generations] == [0, 1, 2]


def test_models_overlap_in_time(store: Store) -> None:
    backends = {f"fake:m{i}": Scripted(["x"] * 4, pause_s=0.25, tokens=4) for i in range(3)}
    started = time.perf_counter()
    comparison = start_vlm_comparison(
        store,
        resolved_all(list(backends)),
        VLMRequest("q"),
        by_name(backends.__getitem__),
        timeout_s=30,
    )
    results = comparison.wait()
    wall_s = time.perf_counter() - started
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    # Each takes about 1 s; run one after another they would take 3 s.
    assert wall_s < 2.5


def test_a_backend_that_cannot_be_built_is_an_error_row(store: Store) -> None:
    def factory(model: str) -> Scripted:
        if model == "fake:broken":
            raise BackendError("Bad options for fake:broken: nope: extra inputs are not permitted.")
        return Scripted(["fine"], tokens=1)

    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:broken", "fake:ok"]),
        VLMRequest("q", system="sys", seed=3),
        by_name(factory),
    )
    results = {r.model: r for r in comparison.wait()}
    assert results["fake:broken"].status == "error"
    assert "extra inputs" in results["fake:broken"].error
    assert results["fake:ok"].text == "fine"
    run = store.get_run(comparison.run_id)
    assert run.system_prompt == "sys" and run.seed == 3
    assert [g.status for g in run.generations] == ["error", "ok"]


def test_unexpected_exceptions_keep_their_type_in_the_message(store: Store) -> None:
    class Exploding(VLMBackend):
        def stream(self, request: VLMRequest) -> Iterator[Chunk]:
            raise KeyError("choices")
            yield Chunk()

    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:x"]),
        VLMRequest("q"),
        by_name(lambda m: Exploding(ModelSpec("fake", "x"))),
    )
    [result] = comparison.wait()
    assert result.error == "KeyError: 'choices'"


class Pausing(VLMBackend):
    """Streams three chunks, waits until `resume` is set, then two more and the end."""

    def __init__(self) -> None:
        self.sent_three = threading.Event()
        self.resume = threading.Event()
        self.resumed = threading.Event()

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk()  # role-only: no sign of progress
        for piece in ["a", " b", " c"]:
            yield Chunk(text=piece)
        self.sent_three.set()
        self.resume.wait(30)
        yield Chunk(text=" d")
        self.resumed.set()
        self.resume.clear()
        self.resume.wait(30)
        yield Chunk(text=" e")
        yield Chunk(usage=Usage(output_tokens=5, output_tokens_source="server"))


def test_the_snapshot_carries_live_figures_that_stall_and_recover(store: Store) -> None:
    backend = Pausing()
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:pausing"]),
        VLMRequest("What is it?"),
        by_name(lambda name: backend),
        timeout_s=60,
        stall_s=0.3,
    )
    assert backend.sent_three.wait(30)
    time.sleep(0.6)  # twice the stall time without a chunk
    [view] = comparison.snapshot()
    assert view.status == "running" and view.live is not None
    assert view.live.count == 3 and view.live.unit == "chunks"
    assert view.live.ttft_s is not None and 0 <= view.live.ttft_s < view.live.elapsed_s
    assert view.live.stalled and view.live.quiet_s >= 0.6
    # The stall time is read at each snapshot: a long one now, so that a loaded machine's late
    # snapshot below cannot see the next chunk as stalled again.
    comparison.stall_s = 30
    backend.resume.set()
    assert backend.resumed.wait(30)
    deadline = time.monotonic() + 10
    while (view := comparison.snapshot()[0]).live is not None and view.live.count < 4:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert view.live is not None and view.live.count == 4
    assert not view.live.stalled
    backend.resume.set()
    comparison.wait()
    [done] = comparison.snapshot()
    # The final figures replace the live ones.
    assert done.status == "ok" and done.live is None
    assert done.result is not None and done.result.timings is not None
    assert done.result.timings.output_tokens == 5


class Teletype(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_the_command_line_shows_live_figures_the_stall_and_the_end(
    store: Store, terminal: bool
) -> None:
    from lineup.cli.progress import ERASE_LINE, follow_comparison

    backend = Pausing()
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:pausing"]),
        VLMRequest("What is it?"),
        by_name(lambda name: backend),
        timeout_s=60,
        stall_s=0.3,
    )
    out = Teletype() if terminal else io.StringIO()

    def release() -> None:
        assert backend.sent_three.wait(30)
        deadline = time.monotonic() + 30
        while "STALLED" not in out.getvalue():  # the stall was drawn: the stream resumes
            assert time.monotonic() < deadline
            time.sleep(0.02)
        comparison.stall_s = 30  # no stall between the last chunks, however loaded the machine
        backend.resume.set()
        assert backend.resumed.wait(30)
        time.sleep(0.3)  # a few redraws of the resumed stream
        backend.resume.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    follow_comparison(comparison, out, interval_s=0.05)
    releaser.join()
    drawn = out.getvalue()
    lines = [line.split(ERASE_LINE)[-1] for line in drawn.splitlines()]
    stalled = [line for line in lines if "STALLED" in line]
    assert stalled and all(" · 3 chunks · " in line for line in stalled)
    assert stalled[0].startswith("  fake:pausing: STALLED 0.")
    # After the stall, the fourth chunk, not stalled.
    assert any(" · 4 chunks · " in line and "STALLED" not in line for line in lines)
    assert lines[-1] == f"  done   fake:pausing (generation {comparison.jobs[0].generation_id})"
    assert (ERASE_LINE in drawn) == terminal  # redrawn in place only on a terminal
