"""Running generations in this process: their partial text saved and heartbeat kept, and the
runs in progress, so Stop, a page reload and a shutdown can find them.

One saver thread per store writes, every `SAVE_INTERVAL_S`, the partial text of each running
generation whose text changed (and the heartbeat of the others every `HEARTBEAT_EVERY_S`) in
one statement: one small write per generation, never one per chunk. A failed save is retried
on the next tick; it never stops a generation.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import weakref
from typing import Any, Protocol

from lineup.core import N_, Message
from lineup.store import Store

SAVE_INTERVAL_S = 0.5
HEARTBEAT_EVERY_S = 5.0
IDLE_EXIT_S = 10.0  # a saver with nothing to save for this long ends its thread


class Live(Protocol):
    generation_id: int
    finished: threading.Event

    def progress(self) -> tuple[str | None, str | None]:
        """(text so far, reasoning so far), or (None, None) for rows without text."""
        ...


class _Saver:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._live: dict[int, Live] = {}
        self._saved: dict[int, tuple[Any, Any, float]] = {}
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lineup-progress", daemon=True)
        self._thread.start()

    def add(self, live: Live) -> None:
        with self._lock:
            self._live[live.generation_id] = live
            self._saved[live.generation_id] = (None, None, time.monotonic())

    def _loop(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(SAVE_INTERVAL_S)
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                print(f"lineup: could not save progress: {exc}", file=sys.stderr, flush=True)
            with self._lock:
                busy = bool(self._live)
            if busy:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE_EXIT_S and self._retire():
                return

    def _retire(self) -> bool:
        """Leave the savers (under their lock, so no job is added to a saver that ends)."""
        with _savers_lock, self._lock:
            if self._live:
                return False
            if _savers.get(id(self.store)) is self:
                del _savers[id(self.store)]
            return True

    def tick(self) -> None:
        now = time.monotonic()
        due: list[tuple[int, str | None, str | None]] = []
        with self._lock:
            for gid, live in list(self._live.items()):
                if live.finished.is_set():
                    del self._live[gid]
                    self._saved.pop(gid, None)
                    continue
                text, reasoning = live.progress()
                last_text, last_reasoning, last_at = self._saved[gid]
                changed = (text, reasoning) != (last_text, last_reasoning)
                if changed or now - last_at >= HEARTBEAT_EVERY_S:
                    due.append((gid, text, reasoning))
        if not due:
            return
        self.store.save_progress(due)
        with self._lock:
            for gid, text, reasoning in due:
                if gid in self._saved:
                    self._saved[gid] = (text, reasoning, now)


_savers: dict[int, _Saver] = {}
_savers_lock = threading.Lock()


def keep_alive(store: Store, live: Live) -> None:
    """Save `live`'s partial text and heartbeat until it finishes."""
    with _savers_lock:
        saver = _savers.get(id(store))
        if saver is None or saver.store is not store:
            saver = _savers[id(store)] = _Saver(store)
    saver.add(live)


class Cancellable(Protocol):
    run_ids: list[int]

    @property
    def done(self) -> bool: ...

    def cancel(self) -> None: ...

    def interrupt(self, why: Message) -> None: ...


_active: weakref.WeakSet[Any] = weakref.WeakSet()
_active_lock = threading.Lock()


def track(run: Cancellable) -> None:
    with _active_lock:
        _active.add(run)


@atexit.register
def _at_exit() -> None:
    # Worker threads are daemons and die with the interpreter: say so in their rows.
    interrupt_all(Message.of(N_("the Lineup process exited")))


def active_run(run_id: int) -> Any | None:
    """The run in progress in this process that holds `run_id`, if any."""
    with _active_lock:
        runs = list(_active)
    return next((r for r in runs if run_id in r.run_ids and not r.done), None)


def interrupt_all(why: Message) -> int:
    """Finish every unfinished generation of this process as `interrupted` (`why` a phrase, said
    within its message in the language of the page that shows it); how many runs."""
    with _active_lock:
        runs = [r for r in _active if not r.done]
    for run in runs:
        run.interrupt(why)
    return len(runs)
