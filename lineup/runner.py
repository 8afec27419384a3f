"""Runs several models at once in worker threads and reports to the caller over a queue.

Workers never touch the UI: they put `RunnerEvent`s on `Comparison.events`, write their own
row to the store the moment they finish, and a per-model timer turns a model that runs past
its timeout into an error row without waiting for it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from backends.base import BackendError, Chunk, Usage, VLMBackend, VLMRequest
from lineup.store import Store
from lineup.timing import StreamClock, VLMTimings, vlm_timings

EventKind = Literal["chunk", "done", "failed"]
BackendFactory = Callable[[str], VLMBackend]


@dataclass(frozen=True)
class GenerationResult:
    generation_id: int
    model: str
    status: Literal["ok", "error"]
    text: str
    reasoning: str
    error: str | None
    timings: VLMTimings | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunnerEvent:
    generation_id: int
    kind: EventKind
    text: str = ""
    reasoning: str = ""
    result: GenerationResult | None = None


def describe_error(exc: BaseException) -> str:
    """The message a user sees for a failed model: ours as written, others with their type."""
    if isinstance(exc, BackendError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Job:
    """One model's generation: its worker thread, its clock and its one-time finish."""

    def __init__(self, comparison: Comparison, generation_id: int, model: str) -> None:
        self.comparison = comparison
        self.generation_id = generation_id
        self.model = model
        self.clock = StreamClock()
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.result: GenerationResult | None = None
        self.described: dict[str, Any] = {}
        self._finish_lock = threading.Lock()
        self.finished = threading.Event()

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    def run(self, factory: BackendFactory, request: VLMRequest) -> None:
        usage: Usage | None = None
        try:
            # Building the backend may load an in-process model; that time is the backend's
            # to report (Usage.load_s) and stays out of TTFT, total and decode speed.
            backend = factory(self.model)
            describe = getattr(backend, "describe", None)
            self.described = describe() if describe is not None else {}
            self.clock.start()
            stream = backend.stream(request)
            try:
                for chunk in stream:
                    self.clock.observe(chunk)
                    if self.finished.is_set():
                        break  # timed out: stop reading, the row is already written
                    self._take(chunk)
                    if chunk.usage is not None:
                        usage = chunk.usage
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - any failure belongs to this model alone
            self.fail(describe_error(exc))
            return
        self.succeed(usage)

    def _take(self, chunk: Chunk) -> None:
        if chunk.text:
            self.text_parts.append(chunk.text)
        if chunk.reasoning:
            self.reasoning_parts.append(chunk.reasoning)
        if chunk.text or chunk.reasoning:
            self.comparison.events.put(
                RunnerEvent(self.generation_id, "chunk", chunk.text, chunk.reasoning)
            )

    def succeed(self, usage: Usage | None) -> None:
        with self._finish_lock:
            if self.finished.is_set():
                return
            timings = vlm_timings(self.clock, self.text, usage)
            metadata = {**self.described, **(usage.metadata if usage else {})}
            self.comparison.store.finish_generation(
                self.generation_id,
                "ok",
                output_text=self.text,
                reasoning_text=self.reasoning or None,
                backend_metadata=metadata,
                **timings.as_fields(),
            )
            self._finish(
                GenerationResult(
                    self.generation_id,
                    self.model,
                    "ok",
                    self.text,
                    self.reasoning,
                    None,
                    timings,
                    metadata,
                ),
                "done",
            )

    def fail(self, message: str) -> None:
        with self._finish_lock:
            if self.finished.is_set():
                return
            total_s = self.clock.since_start(time.perf_counter())
            self.comparison.store.finish_generation(
                self.generation_id,
                "error",
                error=message,
                output_text=self.text or None,
                reasoning_text=self.reasoning or None,
                total_s=total_s,
                ttft_s=self.clock.since_start(self.clock.first_text_at),
            )
            self._finish(
                GenerationResult(
                    self.generation_id,
                    self.model,
                    "error",
                    self.text,
                    self.reasoning,
                    message,
                    None,
                ),
                "failed",
            )

    def _finish(self, result: GenerationResult, kind: EventKind) -> None:
        self.result = result
        self.finished.set()
        self.comparison.events.put(RunnerEvent(self.generation_id, kind, result=result))


class _Finishing(Protocol):
    finished: threading.Event

    @property
    def result(self) -> Any: ...


EventT = TypeVar("EventT")
ResultT = TypeVar("ResultT")


class EventRun(Generic[EventT, ResultT]):
    """Jobs started together, whose events reach the caller over one queue.

    Subclasses list their jobs in `members()`; each job has a `finished` event and, once
    finished, a `result`. Per-job timers registered with `track_timer` are cancelled when
    every job is done.
    """

    def __init__(self) -> None:
        self.events: queue.Queue[EventT] = queue.Queue()
        self._timers: list[threading.Timer] = []
        self._timers_lock = threading.Lock()

    def members(self) -> Sequence[_Finishing]:
        raise NotImplementedError

    def track_timer(self, timer: threading.Timer) -> None:
        with self._timers_lock:
            self._timers.append(timer)

    @property
    def done(self) -> bool:
        return all(member.finished.is_set() for member in self.members())

    def iter_events(self, poll_s: float = 0.05) -> Iterator[EventT]:
        """Yield events until every job has finished (or timed out)."""
        while True:
            try:
                yield self.events.get(timeout=poll_s)
            except queue.Empty:
                if self.done and self.events.empty():
                    self._cancel_timers()
                    return

    def wait(self) -> list[ResultT]:
        for member in self.members():
            member.finished.wait()
        self._cancel_timers()
        return self.results()

    def results(self) -> list[ResultT]:
        """Finished jobs' results, in the order the jobs were added."""
        return [member.result for member in self.members() if member.result is not None]

    def _cancel_timers(self) -> None:
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()


class Comparison(EventRun[RunnerEvent, GenerationResult]):
    """A run in progress: one job per model, all started at once."""

    def __init__(self, store: Store, run_id: int, timeout_s: float) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.timeout_s = timeout_s
        self.jobs: list[_Job] = []

    def members(self) -> Sequence[_Job]:
        return self.jobs

    def start(self, factory: BackendFactory, request: VLMRequest) -> None:
        for job in self.jobs:
            worker = threading.Thread(
                target=job.run, args=(factory, request), name=f"lineup-{job.model}", daemon=True
            )
            timer = threading.Timer(
                self.timeout_s,
                job.fail,
                args=(
                    f"Timed out after {self.timeout_s:g} s. Raise the per-model timeout "
                    "if this model needs longer.",
                ),
            )
            timer.daemon = True
            self.track_timer(timer)
            worker.start()
            timer.start()


def start_vlm_comparison(
    store: Store,
    models: list[str],
    request: VLMRequest,
    factory: BackendFactory,
    *,
    image_hash: str | None = None,
    timeout_s: float = 300.0,
    blind: bool = False,
) -> Comparison:
    """Store the run and one `running` row per model, then start every model at once."""
    params = {
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "timeout_s": timeout_s,
    }
    run_id = store.create_run(
        "vlm",
        request.question,
        image_hash=image_hash,
        system_prompt=request.system,
        params=params,
        seed=request.seed,
        blind=blind,
    )
    comparison = Comparison(store, run_id, timeout_s)
    for position, model in enumerate(models):
        generation_id = store.add_generation(run_id, model, position=position, seed=request.seed)
        comparison.jobs.append(_Job(comparison, generation_id, model))
    comparison.start(factory, request)
    return comparison
