"""Runs several models at once in worker threads and reports to the caller over a queue.

Workers never touch the UI: they put `RunnerEvent`s on `Comparison.events` and write their
own row to the store the moment they finish. Every generation ends in exactly one final state
(docs/design.md, "States of a generation"), decided once under the job's lock by whoever gets there
first: the worker (`ok` or `error`), the per-model timer (`timeout`), Stop (`cancelled`) or a
shutdown (`interrupted`). The last three also stop the request through the job's
`CancelToken`, which closes its connection at once. Whatever the store does, the job finishes:
a failed final write is retried and then recorded as an error with its cause, and the caller
gets its result in every case. While a model streams, its partial text is saved about twice a
second (lineup.run.liveness), so nothing streamed is lost if the process dies. An HTTP model's
answer is sent, read and stamped in the reader process (backends.reader), so its figures do
not depend on what this process does meanwhile (a page's redraws, OCR).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from backends import reader
from backends.base import (
    BackendTimeout,
    CancelToken,
    Chunk,
    Usage,
    VLMBackend,
    VLMRequest,
)
from lineup.catalog import ResolvedModel
from lineup.core import (
    CANCELLED,
    DEFAULT_STALL_S,
    ERROR,
    INTERRUPTED,
    N_,
    OK,
    REDACTED_COUNT,
    RUNNING,
    TIMEOUT,
    Message,
    Status,
    redact,
    redact_stream,
    redacted_values,
)
from lineup.measure import LiveFigures, StreamClock, VLMTimings, live_figures, vlm_timings
from lineup.run import liveness
from lineup.run.contention import (
    FAIR,
    HOST_TURNS,
    IN_FLIGHT,
    PARALLEL,
    InFlight,
    InFlightRegistry,
    TimingMode,
    Turn,
    fair_order,
    host_of,
)
from lineup.run.events import EventRun, Watchdog
from lineup.run.meters import AnswerMeter, meters
from lineup.run.outcome import (
    describe_error,
    failure_message,
    interrupted_message,
    timeout_message,
    write_final,
)
from lineup.run.provenance import ProvenanceBook, machine_snapshot
from lineup.store import Store, storable

EventKind = Literal["chunk", "done", "failed"]
# What builds a model's backend: ResolvedModel.backend, or a test's fake.
BackendFactory = Callable[[ResolvedModel], VLMBackend]


def built(model: ResolvedModel) -> VLMBackend:
    """The model's own backend (ResolvedModel.backend): the factory when none is given."""
    return model.backend()


NO_END_MARKER = Message.of(
    N_(
        "The answer is cut off: the stream ended without its end marker, so the server stopped "
        "or the connection broke. The text received until then is kept. Check the server's log "
        "and run it again."
    )
)
EMPTY_ANSWER = Message.of(N_("The model returned an empty answer."))
REASONING_ONLY = Message.of(
    N_(
        "The model reasoned but gave no answer (it may have run out of tokens while thinking): "
        "raise Max tokens, or turn thinking off for it."
    )
)
CANCELLED_MESSAGE = Message.of(
    N_("Stopped before it finished; the text streamed until then is kept.")
)


@dataclass(frozen=True)
class GenerationResult:
    generation_id: int
    model: str
    status: Status
    text: str
    reasoning: str
    error: str | None
    timings: VLMTimings | None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The most other requests in flight beside this one on its host / endpoint
    # (lineup.run.contention); None when it was never sent.
    concurrent_max: int | None = None
    concurrent_endpoint_max: int | None = None
    # energy_j, energy_source, gpu_mem_mb as stored (lineup.run.meters); None: n/a.
    hardware: dict[str, Any] = field(default_factory=dict)
    # The error's template and values, as stored in generations.error_said (Message.stored).
    error_said: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunnerEvent:
    generation_id: int
    kind: EventKind
    text: str = ""
    reasoning: str = ""
    result: GenerationResult | None = None


@dataclass(frozen=True)
class JobView:
    """What a page draws of one model while the run goes on (see `Comparison.snapshot`)."""

    generation_id: int
    model: str  # as the person named it
    status: str  # "running" until finished, then the final status
    text: str
    reasoning: str
    result: GenerationResult | None
    spec: str = ""  # the full spec the name stood for
    # While it streams, the figures so far (lineup.measure.live); None before the request
    # is sent and once the answer has ended (its final figures are in `result`).
    live: LiveFigures | None = None


class _Job:
    """One model's generation: its worker thread, its clock, its cancel and its one finish."""

    def __init__(self, comparison: Comparison, generation_id: int, model: ResolvedModel) -> None:
        self.comparison = comparison
        self.generation_id = generation_id
        self.model = model
        self.clock = StreamClock()
        self.cancel_token = CancelToken()
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.result: GenerationResult | None = None
        # Its backend once built (asked about itself after the answers: lineup.run.provenance),
        # or why it was not.
        self.backend: VLMBackend | None = None
        self.not_built: str | None = None
        self.meter: AnswerMeter | None = None
        self._finish_lock = threading.Lock()
        self.finished = threading.Event()
        self.host = host_of(model.lane.endpoint)
        self.in_flight: InFlight | None = None  # from the request's sending to its end
        # Fair timing: the job of the same host that goes just before this one, and this
        # one's hold on the host's turn (lineup.run.contention).
        self.after: _Job | None = None
        self.turn: Turn | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    def progress(self) -> tuple[str | None, str | None]:
        return self.live_text or None, self.live_reasoning or None

    # The text so far as it is saved and shown: a configured key echoed by the server is
    # [redacted] there too, as in the stored row (lineup.core.redaction.redact_stream).
    @property
    def live_text(self) -> str:
        return redact_stream(self.text, self.comparison.secrets)

    @property
    def live_reasoning(self) -> str:
        return redact_stream(self.reasoning, self.comparison.secrets)

    def live(self, now: float) -> LiveFigures | None:
        """The live figures at `now` (a `time.perf_counter()`), while the answer streams."""
        if self.result is not None:
            return None
        return live_figures(
            started_at=self.clock.started_at,
            arrivals=self.clock.arrivals,
            first_text_at=self.clock.first_text_at,
            now=now,
            stall_s=self.comparison.stall_s,
        )

    def view(self, now: float | None = None) -> JobView:
        result = self.result
        live = self.live(time.perf_counter() if now is None else now)
        return JobView(
            self.generation_id,
            self.model.name,
            result.status if result is not None else RUNNING,
            result.text if result is not None else self.live_text,
            result.reasoning if result is not None else self.live_reasoning,
            result,
            redact(self.model.resolved_spec, self.comparison.secrets) or "",
            live,
        )

    def arm_timer(self, timeout_s: float, message: Message) -> None:
        """(Re)start this job's timeout: it ends the job as `timeout` with `message`."""
        if not self.finished.is_set():
            self.comparison.watchdog.set(self, timeout_s, message)

    def run(self, factory: BackendFactory, request: VLMRequest) -> None:
        usage: Usage | None = None
        prepared: BaseException | None = None
        try:
            # Building the backend may load an in-process model; that time is the backend's
            # to report (Usage.load_s) and stays out of TTFT, total and decode speed.
            backend = factory(self.model)
            self.backend = backend
            # An HTTP model's request is read and timed in the reader process, away from
            # this process's interpreter lock (backends.reader); it goes there now.
            ready = reader.prepare_stream(
                backend, dataclasses.replace(request, cancel=self.cancel_token)
            )
            # The machine's counters are found once per process, here, before the gate.
            machine = meters()
        except BaseException as exc:  # noqa: BLE001 - reported after the start gate
            prepared = exc
        # Ready: the wait at the gate is bounded by the gate itself.
        self.comparison.watchdog.clear(self)
        self.comparison.wait_for_all_ready()
        if prepared is not None:
            if self.backend is None:
                self.not_built = (
                    f"not asked: the backend was not built ({describe_error(prepared)})"
                )
            self.cancel_token.cancel()  # a request the reader process holds is dropped there
            self.finish(
                TIMEOUT if isinstance(prepared, BackendTimeout) else ERROR,
                failure_message(prepared),
            )
            return
        if not self._wait_for_turn():
            return  # stopped before its turn came
        try:
            if self.finished.is_set():
                return  # stopped or timed out before the request was sent
            # The per-model timeout counts from the moment the request is sent.
            timeout_s = self.comparison.timeout_s
            self.arm_timer(timeout_s, timeout_message(timeout_s))
            # The energy counters (and an in-process engine's GPU memory), read before the
            # clock starts and again when the answer ends (lineup.measure.energy).
            self.meter = machine.start(gpu_memory=backend.in_process)
            with self._finish_lock:  # a Stop just now must see it, or it is never left
                if self.finished.is_set():
                    return
                self.in_flight = self.comparison.registry.enter(self.model.lane.endpoint)
            stream = ready.start(self.clock.start)
            try:
                for chunk in stream:
                    self.clock.observe(chunk)
                    if self.finished.is_set():
                        break  # timed out or stopped: the row is already written
                    self._take(chunk)
                    if chunk.usage is not None:
                        usage = chunk.usage
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - any failure belongs to this model alone
            status: Status = TIMEOUT if isinstance(exc, BackendTimeout) else ERROR
            self.finish(status, failure_message(exc))
            return
        if self.finished.is_set():
            return
        if usage is None:
            self.finish(ERROR, NO_END_MARKER)
        elif not self.text.strip():
            self.finish(ERROR, REASONING_ONLY if self.reasoning.strip() else EMPTY_ANSWER, usage)
        else:
            self.finish(OK, None, usage)

    def _wait_for_turn(self) -> bool:
        """Fair timing: wait until the job before this one on its host has finished, then take
        the host's turn (no other fair run of this process sends there meanwhile). False when
        this job was stopped while it waited. Parallel timing never waits."""
        if self.comparison.timing != FAIR:
            return True
        if self.after is not None:
            while not self.after.finished.wait(0.05):
                if self.finished.is_set():
                    return False
        self.turn = Turn(HOST_TURNS.of(self.host))
        return self.turn.take(self.finished)

    def _take(self, chunk: Chunk) -> None:
        if chunk.text:
            self.text_parts.append(chunk.text)
        if chunk.reasoning:
            self.reasoning_parts.append(chunk.reasoning)
        if chunk.text or chunk.reasoning:
            self.comparison.events.put(
                RunnerEvent(self.generation_id, "chunk", chunk.text, chunk.reasoning)
            )

    def finish(
        self, status: Status, error: str | Message | None, usage: Usage | None = None
    ) -> bool:
        """End this generation in `status`, once: write the row, tell the caller.

        False when it had already finished. A timeout, Stop or shutdown also stops the
        request and frees its connection. Never raises.
        """
        with self._finish_lock:
            if self.finished.is_set():
                return False
            if self.in_flight is not None:
                self.in_flight.leave()  # before `finished`: the next fair job must not see it
            try:
                result = self._record(status, _message(error), usage)
            except Exception as exc:  # noqa: BLE001 - a bug here must not leave the job open
                failed = Message.of(
                    N_("Lineup failed to record this answer: {error}"),
                    error=f"{type(exc).__name__}: {exc}",
                )
                text, reasoning = (
                    redact(t, self.comparison.secrets) or "" for t in (self.text, self.reasoning)
                )
                result = GenerationResult(
                    self.generation_id,
                    self.model.name,
                    ERROR,
                    text,
                    reasoning,
                    failed.english,
                    None,
                    error_said=failed.stored(),
                )
            self.result = result
            # The event goes out before the job counts as finished: a reader that finds every
            # job finished and the queue empty has had every event (EventRun.iter_events).
            kind: EventKind = "done" if result.status == OK else "failed"
            self.comparison.events.put(RunnerEvent(self.generation_id, kind, result=result))
            self.finished.set()
        if self.turn is not None:
            self.turn.give_back()
        self.comparison.watchdog.clear(self)
        if self.comparison.done:
            self.comparison.watchdog.stop()
        if status in (TIMEOUT, CANCELLED, INTERRUPTED):
            self.cancel_token.cancel()
        return True

    def _record(
        self, status: Status, message: Message | None, usage: Usage | None
    ) -> GenerationResult:
        text, text_repairs = storable(self.text)
        reasoning, reasoning_repairs = storable(self.reasoning)
        secrets = self.comparison.secrets
        english = message.english if message is not None else None
        (text, reasoning, error), hidden = redacted_values([text, reasoning, english], secrets)
        # The values are the error's own words again: redacted alike, not counted twice.
        error_said = redacted_values(message.stored(), secrets)[0] if message else None
        metadata, hidden_in_metadata = redacted_values(usage.metadata if usage else {}, secrets)
        if text_repairs or reasoning_repairs:
            # The answer held characters no database stores (lone surrogates, NUL).
            metadata["replaced_unstorable_chars"] = text_repairs + reasoning_repairs
        if hidden + hidden_in_metadata:
            # The server echoed a configured key (lineup.core.redaction): say how often.
            metadata[REDACTED_COUNT] = hidden + hidden_in_metadata
        timings: VLMTimings | None = None
        if status == OK:
            timings = vlm_timings(self.clock, self.text, usage)
            fields: dict[str, Any] = {**timings.as_fields()}
        else:
            now = time.perf_counter()
            fields = {
                "total_s": self.clock.since_start(now),
                "ttft_s": self.clock.since_start(self.clock.first_text_at),
            }
        hardware = self.meter.fields() if self.meter is not None else {}
        if self.meter is not None and self.meter.parts:
            metadata["energy_j_by_counter"] = self.meter.parts
        fields.update(
            output_text=text or None,
            reasoning_text=reasoning or None,
            error=error,
            error_said=error_said,
            backend_metadata=metadata,
            **hardware,
        )
        contention = self.in_flight.figures() if self.in_flight is not None else {}
        fields.update(contention)
        failure = write_final(self.comparison.store, self.generation_id, status, fields)
        if failure is not None:
            status, error, error_said, timings = ERROR, failure.english, failure.stored(), None
        return GenerationResult(
            self.generation_id,
            self.model.name,
            status,
            text,
            reasoning,
            error,
            timings,
            metadata,
            hardware=hardware,
            error_said=error_said,
            **contention,
        )


class Comparison(EventRun[RunnerEvent, GenerationResult]):
    """A run in progress: one job per model, all started at once."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        timeout_s: float,
        secrets: Sequence[str] = (),
        provenance: ProvenanceBook | None = None,
        stall_s: float = DEFAULT_STALL_S,
        timing: TimingMode = PARALLEL,
        registry: InFlightRegistry = IN_FLIGHT,
    ) -> None:
        super().__init__()
        self.stall_s = stall_s
        self.timing = timing
        self.registry = registry
        self.store = store
        self.run_id = run_id
        self.run_ids = [run_id]
        self.timeout_s = timeout_s
        self.secrets = tuple(secrets)
        self.jobs: list[_Job] = []
        # What each model says about itself: this comparison's own book, or its study's.
        self.provenance = provenance or ProvenanceBook(store, run_ids=[run_id], secrets=secrets)
        self._returned = 0
        self._returned_lock = threading.Lock()
        self.settled = threading.Event()  # every worker returned and every model was asked

    def members(self) -> Sequence[_Job]:
        return self.jobs

    def start(self, factory: BackendFactory, request: VLMRequest) -> None:
        """Start every model: each gets ready (backend built), then all send
        their requests together, so their clocks start within a thread wake-up of each other.

        Getting ready has its own limit, the per-model timeout: a model not ready by then
        ends as `timeout`, and the others go ahead without it. With fair timing, the models
        of one host then send one after another, in the order fair_order gives for `item`
        and `repeat` (a comparison is item 0, repeat 0: the order given).
        """
        self.chain_by_host()
        liveness.track(self)
        self.watchdog = Watchdog()
        self._ready = threading.Barrier(len(self.jobs))
        not_ready = Message.of(
            N_(
                "Not ready after {seconds} s (the per-model timeout): building the backend or "
                "loading the model took too long. Raise the timeout, or check the server."
            ),
            seconds=f"{self.timeout_s:g}",
        )
        for job in self.jobs:
            liveness.keep_alive(self.store, job)
            job.arm_timer(self.timeout_s, not_ready)
            worker = threading.Thread(
                target=self._work,
                args=(job, factory, request),
                name=f"lineup-{job.model.name}",
                daemon=True,
            )
            worker.start()

    def _work(self, job: _Job, factory: BackendFactory, request: VLMRequest) -> None:
        try:
            job.run(factory, request)
        finally:
            self._after(job)

    def _after(self, job: _Job) -> None:
        """The last worker to return asks every model about itself (lineup.run.provenance):
        after every answer of the comparison is final, so no probe shares a timed request."""
        with self._returned_lock:
            self._returned += 1
            last = self._returned == len(self.jobs)
        if not last:
            return
        try:
            for each in self.jobs:
                failed = each.not_built or (
                    "not asked: the backend was not built" if each.backend is None else None
                )
                self.provenance.note(each.model, each.backend, failed=failed)
        finally:
            self.settled.set()

    def settle(self, timeout_s: float = 8.0) -> bool:
        """Wait (at most `timeout_s`) until every model was asked about itself."""
        return self.settled.wait(timeout_s)

    def provenance_of(self, model: str) -> dict[str, Any] | None:
        """What `model` (as named) said about itself, once asked."""
        return self.provenance.get(model)

    def chain_by_host(self, item: int = 0, repeat: int = 0) -> None:
        """Fair timing: each job waits for the one before it on its host."""
        if self.timing != FAIR:
            return
        hosts: dict[str, list[_Job]] = {}
        for job in self.jobs:
            hosts.setdefault(job.host, []).append(job)
        for members in hosts.values():
            ordered = fair_order(members, item, repeat)
            for before, job in zip(ordered, ordered[1:], strict=False):
                job.after = before

    def wait_for_all_ready(self) -> None:
        """The start gate: return when every model is ready (or the wait ran out)."""
        try:
            self._ready.wait(timeout=self.timeout_s)
        except threading.BrokenBarrierError:
            pass  # one was not ready in time: the others start without it

    def snapshot(self) -> list[JobView]:
        """Each model's state, text and live figures so far, in column order, all read at
        one moment; safe to call at any time."""
        now = time.perf_counter()
        return [job.view(now) for job in self.jobs]

    def cancel(self) -> None:
        """Stop: every unfinished model becomes `cancelled` at once, its request stopped."""
        for job in self.jobs:
            job.finish(CANCELLED, CANCELLED_MESSAGE)

    def interrupt(self, why: Message) -> None:
        """The process is stopping: every unfinished model becomes `interrupted`."""
        for job in self.jobs:
            job.finish(INTERRUPTED, interrupted_message(why))


def start_vlm_comparison(
    store: Store,
    models: Sequence[ResolvedModel],
    request: VLMRequest,
    factory: BackendFactory = built,
    *,
    image_hash: str | None = None,
    timeout_s: float = 300.0,
    blind: bool = False,
    secrets: Sequence[str] = (),
    stall_s: float = DEFAULT_STALL_S,
    timing: TimingMode = PARALLEL,
) -> Comparison:
    """Store the run (with the machine that runs it) and one `running` row per model (its
    name and the full spec it stands for), then start every model at once (`parallel`), or
    with `fair` timing the models of one host one after another (lineup.run.contention).
    `stall_s`: when its live figures call a model stalled (lineup.measure.live)."""
    params = {
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "timeout_s": timeout_s,
        "timing": timing,
    }
    run_id, generation_ids = store.create_run_with_generations(
        "vlm",
        request.question,
        [model.name for model in models],
        resolved_specs=[redact(model.resolved_spec, secrets) or "" for model in models],
        image_hash=image_hash,
        system_prompt=request.system,
        params=params,
        seed=request.seed,
        blind=blind,
        machine=machine_snapshot(),
    )
    comparison = Comparison(store, run_id, timeout_s, secrets, stall_s=stall_s, timing=timing)
    for generation_id, model in zip(generation_ids, models, strict=True):
        comparison.jobs.append(_Job(comparison, generation_id, model))
    comparison.start(factory, request)
    return comparison


def start_one(
    store: Store,
    run_id: int,
    generation_id: int,
    model: ResolvedModel,
    request: VLMRequest,
    factory: BackendFactory = built,
    *,
    timeout_s: float,
    secrets: Sequence[str] = (),
    provenance: ProvenanceBook | None = None,
    timing: TimingMode = PARALLEL,
) -> Comparison:
    """One model's answer into a `running` row that already exists (a study claims its rows
    one by one): the same timing, states and storage as a comparison's. `provenance`: the
    study's book, so each model is asked about itself once per study. With fair timing it
    takes its host's turn before it sends (the study orders its answers)."""
    comparison = Comparison(store, run_id, timeout_s, secrets, provenance, timing=timing)
    comparison.jobs.append(_Job(comparison, generation_id, model))
    comparison.start(factory, request)
    return comparison


def _message(error: str | Message | None) -> Message | None:
    """A finish's error as a Message (a text made without a template is said as it is)."""
    return Message(error) if isinstance(error, str) else error
