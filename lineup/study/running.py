"""Running a study: every model (or voice) works through the set's items in order, K repeats
each, all models at once, in this process's threads; each answer is an ordinary generation.

- Each model has its lane: a queue of the (item, repeat) pairs it still lacks, worked by as
  many threads as its endpoint's concurrency (backends.toml `concurrency`, default 1). All
  lanes of one endpoint share its slots, so two models on one server take turns and each
  timing stays that of a lone request. In-process engines share one slot per kind.
- Every answer is claimed in the store before it runs (lineup.study.records.claim); the unique
  key makes a second claim fail, so an answer never runs twice, even when two processes
  resume one study.
- Timing `fair` (the study's `timing` parameter; lineup.run.contention): one worker per host
  instead, answering round by round (item, then repeat) with the host's models in
  fair_order for the round, one answer at a time and holding the host's turn; hosts still
  run at the same time.
- Each answer runs as a one-model comparison (lineup.run.vlm.start_one,
  lineup.run.tts.start_one_clip): the same timing, states, heartbeat and storage.
- A pause lets the answers under way finish and starts no more; a cancel stops them
  (`cancelled`); a shutdown interrupts them (`interrupted`) and leaves the study paused. A
  study another process asked to pause or cancel (the CLI, another app) learns it from its
  row within HEARTBEAT_S.
- Resuming gives up the keys of unfinished rows (interrupted, cancelled) and runs exactly the
  missing answers.
- With `warmup` in its parameters (`study run --warmup`, the study form's checkbox), each model
  first answers one warm-up request each time the study starts or resumes, before any of its
  answers: its first missing item, asked as the study asks it (a voice speaks the sentence,
  unscored). It is stored and marked: a run and a generation of kind `warmup`
  (lineup.store.WARMUP), its run's params naming the study (`warmup_for_study`), outside the
  study's key; so it is never in the study's answers, tables, queue or arena, never labeled,
  and in no leaderboard, export or figure (they all read `vlm` or `tts`). Its outcome does not
  matter: the model's answers follow whatever it did.

The study lives in the process that runs it, not in a page script: a reload or a closed tab
does not stop it, and `active_study` finds it again.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backends.base import VLMRequest
from lineup.catalog import Lane, ResolvedModel
from lineup.core import (
    FINAL_STATUSES,
    OK,
    RUNNING,
    Message,
    ValidatedImage,
    _,
    redact,
    redacted_values,
)
from lineup.run import (
    FAIR,
    PARALLEL,
    ProvenanceBook,
    STTChoice,
    failure_message,
    fair_order,
    host_of,
    machine_snapshot,
    start_one,
    start_one_clip,
    track,
    write_final,
)
from lineup.store import (
    STUDY_CANCELLED,
    STUDY_DONE,
    STUDY_PAUSED,
    STUDY_RUNNING,
    WARMUP,
    MediaStore,
    Store,
    utcnow,
)
from lineup.study.answers import answer_counts, answer_seconds, item_count
from lineup.study.records import (
    CANCEL,
    PAUSE,
    StudyInfo,
    StudyItem,
    StudyPlan,
    beat,
    claim,
    finish_study,
    load_plan,
    study_info,
)

HEARTBEAT_S = 1.0  # how often the owner refreshes its heartbeat and reads requests

ImageLoader = Callable[[str], ValidatedImage]


class _Slots:
    """Each endpoint's slots, shared by every study of this process (a concurrency changed
    in backends.toml makes new slots for the studies started after)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[Lane, threading.BoundedSemaphore] = {}

    def of(self, lane: Lane) -> threading.BoundedSemaphore:
        with self._lock:
            slots = self._slots.get(lane)
            if slots is None:
                slots = self._slots[lane] = threading.BoundedSemaphore(lane.concurrency)
            return slots


_slots = _Slots()


@dataclass(frozen=True)
class ModelProgress:
    model: str
    done: int  # answers in a final state
    total: int
    ok: int
    errors: int  # final states but `ok`
    running: int
    eta_s: float | None  # the time this model still needs, from its own pace so far


@dataclass(frozen=True)
class StudyProgress:
    study_id: int
    status: str
    done: int
    total: int
    errors: int
    elapsed_s: float
    eta_s: float | None
    models: list[ModelProgress]

    def as_dict(self) -> dict[str, Any]:
        """What `study run --json` and `study resume --json` print."""
        return {
            "study_id": self.study_id,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "errors": self.errors,
        }


def progress(
    store: Store,
    study_id: int,
    concurrency_of: Callable[[str], int] = lambda _model: 1,
    host_of_model: Callable[[str], str] | None = None,
) -> StudyProgress:
    """Where a study stands, from the store (any process can ask): per model its answers by
    state; elapsed since the study was created (or until it finished); the time left while it
    runs, the longest of the models' (they run at once), each the mean time of its answers so
    far times what it still lacks, over its concurrency. With fair timing the models of one
    host (`host_of_model`) take turns, one answer at a time: each of them has the time its
    host still needs, the sum of their own."""
    info = study_info(store, study_id)
    if info is None:
        raise ValueError(_("There is no study {study_id}.").format(study_id=study_id))
    counts = answer_counts(store, study_id)
    seconds = answer_seconds(store, study_id)
    per_model = item_count(store, study_id) * info.repeats
    models = []
    for model in info.models:
        states = counts.get(model, {})
        done = sum(n for state, n in states.items() if state in FINAL_STATUSES)
        left = per_model - done
        spent, timed = seconds.get(model, (0.0, 0))
        eta = (
            spent / timed * left / max(concurrency_of(model), 1)
            if timed and info.status == STUDY_RUNNING
            else None
        )
        models.append(
            ModelProgress(
                model=model,
                done=done,
                total=per_model,
                ok=states.get(OK, 0),
                errors=done - states.get(OK, 0),
                running=states.get(RUNNING, 0),
                eta_s=eta if left else 0.0,
            )
        )
    fair = info.params.get("timing") == FAIR
    if fair and host_of_model is not None and info.status == STUDY_RUNNING:
        models = _taking_turns(models, seconds, host_of_model)
    end = info.finished_at if info.finished_at is not None else utcnow()
    etas = [m.eta_s for m in models if m.eta_s is not None]
    return StudyProgress(
        study_id=study_id,
        status=info.status,
        done=sum(m.done for m in models),
        total=per_model * len(info.models),
        errors=sum(m.errors for m in models),
        elapsed_s=max((_aware(end) - _aware(info.created_at)).total_seconds(), 0.0),
        eta_s=max(etas) if len(etas) == len(models) and models else None,
        models=models,
    )


def _taking_turns(
    models: list[ModelProgress],
    seconds: Mapping[str, tuple[float, int]],
    host_of_model: Callable[[str], str],
) -> list[ModelProgress]:
    """Fair timing's time left: per host, the sum over its models of their mean answer time
    times what they lack (None while one of them has no time yet), given to each of them."""
    needs: dict[str, float | None] = {}
    for m in models:
        spent, timed = seconds.get(m.model, (0.0, 0))
        left = m.total - m.done
        own = 0.0 if not left else (spent / timed * left if timed else None)
        host = host_of_model(m.model)
        so_far = needs.get(host, 0.0)
        needs[host] = None if so_far is None or own is None else so_far + own
    return [
        dataclasses.replace(m, eta_s=needs[host_of_model(m.model)] if m.eta_s is not None else None)
        if m.total - m.done
        else m
        for m in models
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


class StudyRun:
    """A study being run by this process: one lane of worker threads per model.

    `models`: each of the study's models (by name), resolved once by the caller; `stt`: a
    voice study's STT choice (lineup.run.stt_choice), resolved too (None: no scoring)."""

    def __init__(
        self,
        store: Store,
        media: MediaStore,
        plan: StudyPlan,
        models: Mapping[str, ResolvedModel],
        *,
        image_of: ImageLoader,
        stt: STTChoice | None = None,
        secrets: Sequence[str] = (),
    ):
        self.store = store
        self.media = media
        self.plan = plan
        self.study: StudyInfo = plan.study
        self.models = dict(models)
        self.stt = stt
        self.image_of = image_of
        self.secrets = tuple(secrets)
        # What each model says about itself, asked once per study (a resumed study's stored
        # answers are kept): after that model's first answer, before its lane sends the next.
        self.provenance = ProvenanceBook(store, study_id=plan.study.id, secrets=self.secrets)
        self.run_ids: list[int] = []  # Stop on a run's page never stops a whole study
        self._lock = threading.Lock()
        self._stopping: str | None = None  # PAUSE, CANCEL or "interrupt"
        self._under_way: set[Any] = set()
        self._workers: list[threading.Thread] = []
        self._finished = threading.Event()
        self._queues = {model: deque(plan.missing(model)) for model in self.study.models}
        # Each model's warm-up, done once per run of the study by its lane's first worker.
        self._warmups = {model: threading.Lock() for model in self.study.models}
        self._warmed: set[str] = set()

    # The life of the run ------------------------------------------------------------------

    @property
    def study_id(self) -> int:
        return self.study.id

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def timing(self) -> str:
        return str(self.study.params.get("timing") or PARALLEL)

    def start(self) -> StudyRun:
        self.store.set_study_machine(self.study_id, machine_snapshot())
        track(self)
        _register(self)
        if self.timing == FAIR:
            self._start_fair()
        else:
            self._start_lanes()
        keeper = threading.Thread(
            target=self._keep, name=f"lineup-study-{self.study_id}", daemon=True
        )
        for worker in self._workers:
            worker.start()
        keeper.start()
        return self

    def wait(self, poll_s: float = 0.5) -> StudyProgress:
        """Block until the study stops (done, paused, cancelled); bounded waits let Ctrl-C
        through."""
        while not self._finished.wait(poll_s):
            pass
        return progress(self.store, self.study_id)

    def wait_for_change(self, timeout_s: float) -> None:
        """Sleep until the study ends or `timeout_s` passes (a poller's pace)."""
        self._finished.wait(timeout_s)

    def pause(self) -> None:
        """Start no more answers; those under way finish; the study becomes `paused`."""
        self._stop(PAUSE)

    def cancel(self) -> None:
        """Stop the answers under way (`cancelled`) and start no more; the study becomes
        `cancelled`."""
        if self._stop(CANCEL):
            for comparison in self._in_flight():
                comparison.cancel()

    def interrupt(self, why: Message) -> None:
        """The process is stopping: the answers under way become `interrupted`, and the study
        `paused`, to be resumed."""
        if self._stop("interrupt"):
            for comparison in self._in_flight():
                comparison.interrupt(why)
        # Shutdown does not wait for the workers: say so in the study's row now.
        finish_study(self.store, self.study_id, STUDY_PAUSED)

    def _stop(self, how: str) -> bool:
        with self._lock:
            if self._stopping is not None and how != CANCEL:
                return False
            self._stopping = how
            return True

    def _in_flight(self) -> list[Any]:
        with self._lock:
            return list(self._under_way)

    # The workers ---------------------------------------------------------------------------

    def _next(self, model: str) -> tuple[StudyItem, int] | None:
        with self._lock:
            if self._stopping is not None or not self._queues[model]:
                return None
            return self._queues[model].popleft()

    def _work(self, model: str, position: int, lane: Lane) -> None:
        slots = _slots.of(lane)
        while True:
            task = self._next(model)
            if task is None:
                return
            item, repeat = task
            while not slots.acquire(timeout=HEARTBEAT_S):
                if self._stopping is not None:
                    with self._lock:
                        self._queues[model].appendleft(task)
                    return
            try:
                if self._stopping is not None:
                    return
                self._warm_up(model, item)
                if self._stopping is not None:
                    with self._lock:
                        self._queues[model].appendleft(task)
                    return
                self._answer(model, position, item, repeat)
            finally:
                slots.release()

    def _start_lanes(self) -> None:
        """A lane per model, as many workers as its endpoint's concurrency (parallel)."""
        for position, model in enumerate(self.study.models):
            lane = self.models[model].lane
            for worker_index in range(max(1, lane.concurrency)):
                worker = threading.Thread(
                    target=self._work,
                    args=(model, position, lane),
                    name=f"lineup-study-{self.study_id}-{model}-{worker_index}",
                    daemon=True,
                )
                self._workers.append(worker)

    def _start_fair(self) -> None:
        """One worker per host, over its models (lineup.run.contention)."""
        hosts: dict[str, list[str]] = {}
        for model in self.study.models:
            hosts.setdefault(host_of(self.models[model].lane.endpoint), []).append(model)
        for host, models in hosts.items():
            self._workers.append(
                threading.Thread(
                    target=self._work_fair,
                    args=(models,),
                    name=f"lineup-study-{self.study_id}-{host}",
                    daemon=True,
                )
            )

    def _next_fair(self, models: Sequence[str]) -> tuple[str, StudyItem, int] | None:
        """The next answer of one host: the earliest round (item, then repeat) any of its
        models still lacks, and in it the first of fair_order(models, item, repeat) lacking it."""
        with self._lock:
            if self._stopping is not None:
                return None
            heads = {model: self._queues[model][0] for model in models if self._queues[model]}
            if not heads:
                return None
            item, repeat = min(heads.values(), key=lambda task: (task[0].position, task[1]))
            for model in fair_order(models, item.position, repeat):
                head = heads.get(model)
                if head is not None and (head[0].position, head[1]) == (item.position, repeat):
                    self._queues[model].popleft()
                    return model, item, repeat
            return None  # unreachable: the round came from one of the heads

    def _work_fair(self, models: Sequence[str]) -> None:
        positions = {model: self.study.models.index(model) for model in models}
        while True:
            task = self._next_fair(models)
            if task is None:
                return
            model, item, repeat = task
            slots = _slots.of(self.models[model].lane)
            while not slots.acquire(timeout=HEARTBEAT_S):
                if self._stopping is not None:
                    with self._lock:
                        self._queues[model].appendleft((item, repeat))
                    return
            try:
                if self._stopping is not None:
                    return
                self._warm_up(model, item)  # in its turn on the host, before its first answer
                if self._stopping is not None:
                    with self._lock:
                        self._queues[model].appendleft((item, repeat))
                    return
                self._answer(model, positions[model], item, repeat)
            finally:
                slots.release()

    def _warm_up(self, model: str, item: StudyItem) -> None:
        """The model's warm-up request, once per run of the study, before its first answer
        (the other workers of its lane wait for it); nothing when the study asks for none."""
        if not self.study.params.get("warmup"):
            return
        with self._warmups[model]:
            if model in self._warmed:
                return
            self._warmed.add(model)
            resolved = self.models[model]
            try:
                run_id, (generation_id,) = self.store.create_run_with_generations(
                    WARMUP,
                    item.text,
                    [model],
                    resolved_specs=[redact(resolved.resolved_spec, self.secrets) or ""],
                    image_hash=item.image_hash,
                    params={"warmup_for_study": self.study_id, "item_id": item.item_id},
                )
                self._run(model, item, 0, generation_id, run_id, scored=False)
            except Exception:  # noqa: BLE001 - a failed warm-up changes nothing of the study
                return

    def _answer(self, model: str, position: int, item: StudyItem, repeat: int) -> None:
        seed = self.study.seed
        seed = None if seed is None else seed + repeat
        resolved = self.models[model]
        generation_id = claim(
            self.store,
            self.study_id,
            item,
            model,
            repeat,
            position=position,
            seed=seed,
            resolved_spec=redact(resolved.resolved_spec, self.secrets),
        )
        if generation_id is None:
            return  # another process has this answer
        self._run(model, item, repeat, generation_id, item.run_id)

    def _run(
        self,
        model: str,
        item: StudyItem,
        repeat: int,
        generation_id: int,
        run_id: int,
        scored: bool = True,
    ) -> None:
        """One answer into its `running` row, as a one-model comparison; waits for its end.
        `scored=False` (a warm-up): a voice's clip is not transcribed."""
        seed = self.study.seed
        seed = None if seed is None else seed + repeat
        resolved = self.models[model]
        timeout_s = float(self.study.params.get("timeout_s", 300.0))
        try:
            if self.study.kind == "tts":
                comparison: Any = start_one_clip(
                    self.store,
                    self.media,
                    run_id,
                    generation_id,
                    resolved,
                    item.text,
                    sentence_index=item.position,
                    sample=repeat,
                    seed=seed,
                    stt=self.stt if scored else None,
                    timeout_s=timeout_s,
                    secrets=self.secrets,
                    language=item.language,
                    provenance=self.provenance,
                    timing=FAIR if self.timing == FAIR else PARALLEL,
                )
            else:
                image = self.image_of(item.image_hash) if item.image_hash else None
                request = VLMRequest(
                    question=item.text,
                    image=image,
                    system=self.study.params.get("system"),
                    temperature=self.study.params.get("temperature"),
                    max_tokens=self.study.params.get("max_tokens"),
                    seed=seed,
                )
                comparison = start_one(
                    self.store,
                    run_id,
                    generation_id,
                    resolved,
                    request,
                    timeout_s=timeout_s,
                    secrets=self.secrets,
                    provenance=self.provenance,
                    timing=FAIR if self.timing == FAIR else PARALLEL,
                )
        except BaseException as exc:  # noqa: BLE001 - this answer alone fails
            # Stored as a comparison stores it: English, its template beside, keys redacted.
            message = failure_message(exc)
            write_final(
                self.store,
                generation_id,
                "error",
                {
                    "error": redact(message.english, self.secrets),
                    "error_said": redacted_values(message.stored(), self.secrets)[0],
                },
            )
            return
        with self._lock:
            self._under_way.add(comparison)
            stopping = self._stopping
        if stopping == CANCEL:
            comparison.cancel()
        try:
            comparison.wait()
            comparison.settle()  # the model's first answer: it is asked about itself now
        finally:
            with self._lock:
                self._under_way.discard(comparison)

    # The keeper: heartbeat, requests from other processes, the end --------------------------

    def _keep(self) -> None:
        try:
            while True:
                deadline = time.monotonic() + HEARTBEAT_S
                for worker in self._workers:
                    worker.join(timeout=max(0.0, deadline - time.monotonic()))
                if not any(worker.is_alive() for worker in self._workers):
                    break
                self._beat()
            self._end()
        finally:
            self._finished.set()
            _unregister(self)

    def _beat(self) -> None:
        try:
            requested = beat(self.store, self.study_id)
        except Exception:  # noqa: BLE001 - a missed heartbeat is retried on the next beat
            return
        if requested == CANCEL:
            self.cancel()
        elif requested == PAUSE:
            self.pause()

    def _end(self) -> None:
        stopping = self._stopping
        if stopping == "interrupt":
            return  # interrupt() wrote the study's state
        if stopping == CANCEL:
            finish_study(self.store, self.study_id, STUDY_CANCELLED)
            return
        plan = load_plan(self.store, self.study_id)
        finished = sum(1 for state in plan.answers.values() if state in FINAL_STATUSES)
        complete = finished == plan.total  # a pause that came after the last answer changes nothing
        finish_study(self.store, self.study_id, STUDY_DONE if complete else STUDY_PAUSED)


# The studies this process runs ---------------------------------------------------------------

_running: dict[int, StudyRun] = {}
_running_lock = threading.Lock()


def _register(run: StudyRun) -> None:
    with _running_lock:
        _running[run.study_id] = run


def _unregister(run: StudyRun) -> None:
    with _running_lock:
        if _running.get(run.study_id) is run:
            del _running[run.study_id]


def active_study(study_id: int) -> StudyRun | None:
    """The run of this study in this process, while it goes on."""
    with _running_lock:
        return _running.get(study_id)


def first_seed() -> int:
    """A study's seed when none is given: drawn once and stored, so a resume repeats it."""
    return random.randrange(2**31 - 1_000)


__all__ = [
    "STUDY_RUNNING",
    "ModelProgress",
    "StudyProgress",
    "StudyRun",
    "active_study",
    "first_seed",
    "progress",
]
