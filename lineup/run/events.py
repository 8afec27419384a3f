"""Jobs started together whose events reach the caller over one queue, and the one thread per
comparison that ends the jobs whose deadline has passed."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from lineup.core import TIMEOUT, Message, Status


class _Timed(Protocol):
    def finish(self, status: Status, error: str | Message | None) -> bool: ...


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
            while not member.finished.wait(0.5):  # a bounded wait lets Ctrl-C through
                pass
        self._cancel_timers()
        return self.results()

    def results(self) -> list[ResultT]:
        """Finished jobs' results, in the order the jobs were added."""
        return [member.result for member in self.members() if member.result is not None]

    def _cancel_timers(self) -> None:
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()


class Watchdog:
    """Ends jobs whose deadline has passed, from one thread per comparison.

    A deadline is a number in a dict, so setting one on the way to the request costs no
    thread start (a `threading.Timer` per model did, and it showed as start skew).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._deadlines: dict[_Timed, tuple[float, str | Message]] = {}
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="lineup-watchdog", daemon=True)
        self._thread.start()

    def set(self, job: _Timed, timeout_s: float, message: str | Message) -> None:
        with self._changed:
            self._deadlines[job] = (time.monotonic() + timeout_s, message)
            self._changed.notify()

    def clear(self, job: _Timed) -> None:
        with self._changed:
            self._deadlines.pop(job, None)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                if self._stopped:
                    return
                now = time.monotonic()
                due = [
                    (job, message) for job, (at, message) in self._deadlines.items() if at <= now
                ]
                for job, _ in due:
                    del self._deadlines[job]
                if not due:
                    soonest = min((at for at, _ in self._deadlines.values()), default=None)
                    self._changed.wait(None if soonest is None else soonest - now)
                    continue
            for job, message in due:
                job.finish(TIMEOUT, message)
