"""The child's side of the reader process (backends.reader says what the process is for, and
the messages it exchanges with its parent): `python -m backends.reader_child FD` imports the
HTTP backends and their clients, then serves the parent over the socket FD until it goes.

Each prepared request is built and held in a thread of its own, sent when the parent says go,
and its chunks stamped with `time.perf_counter()` as they arrive; the messages go back in
batches through one sending thread, so the loop that reads the parent's commands stays free
for a cancel.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from backends.base import CancelToken, Phrase, ReaderRecipe, VLMBackend

# The most messages sent to the parent at once.
_MAX_BATCH = 512


class _Held:
    """A request held in the child: its cancel, and the signal to send it."""

    def __init__(self) -> None:
        self.cancel = CancelToken()
        self.go = threading.Event()


def serve(conn: Connection) -> None:
    """The child's main loop: commands in, batches of messages out, until the parent goes."""
    outbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
    held: dict[int, _Held] = {}
    held_lock = threading.Lock()

    def send_batches() -> None:
        while True:
            batch = [outbox.get()]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(outbox.get_nowait())
                except queue.Empty:
                    break
            try:
                conn.send(batch)
            except (OSError, ValueError):
                os._exit(0)  # the parent is gone

    def run(rid: int, recipe: ReaderRecipe, found: dict[str, str | None], request: Any) -> None:
        entry = held[rid]
        try:
            backend = _backend(recipe)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the answer's error
            outbox.put(("failed", rid, *failure(exc)))
            _forget(rid)
            return
        outbox.put(("ready", rid))
        entry.go.wait()
        if entry.cancel.cancelled:
            _forget(rid)
            return
        _use_keys(found)

        def sent(at: float) -> None:
            outbox.put(("started", rid, at))

        try:
            sent(time.perf_counter())  # the backend tells the moment it goes out, if it can
            request = dataclasses.replace(request, cancel=entry.cancel, sent=sent)
            for chunk in backend.stream(request):
                outbox.put(("chunk", rid, time.perf_counter(), chunk))
            outbox.put(("end", rid))
        except Exception as exc:  # noqa: BLE001 - every failure is the parent's to report
            outbox.put(("failed", rid, *failure(exc)))
        finally:
            _forget(rid)

    def _forget(rid: int) -> None:
        with held_lock:
            held.pop(rid, None)

    threading.Thread(target=send_batches, name="reader-send", daemon=True).start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone: its requests' sockets close with this process
        kind, rid = message[0], message[1]
        if kind == "warm":
            outbox.put(("ready", rid))  # `main` warmed this process before the loop
            continue
        if kind == "prepare":
            with held_lock:
                held[rid] = _Held()
            # Building a backend may import its client library: never in this loop, which
            # must stay free for a cancel.
            threading.Thread(
                target=run, args=message[1:], name=f"reader-{rid}", daemon=True
            ).start()
            continue
        with held_lock:
            entry = held.get(rid)
        if entry is None:
            continue  # already over
        if kind == "cancel":
            entry.cancel.cancel()
        entry.go.set()


def _warm() -> None:
    """Import what the HTTP backends need, before any request waits for it."""
    from backends import registry

    for kind, info in registry.KINDS.items():
        if info.modality == "vlm" and registry.is_endpoint_kind(kind):
            registry.backend_class(kind)
    # Their clients, which they import lazily (the openai client even on its first request).
    for module in ("openai", "openai.resources.chat.chat", "ollama", "httpcore", "httpcore2"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # that kind's backend says so when it is used


def _backend(recipe: ReaderRecipe) -> VLMBackend:
    from backends import registry

    backend: VLMBackend = registry.create_backend(
        registry.check_spec(recipe.spec, "vlm"), recipe.options
    )
    return backend


def _use_keys(found: dict[str, str | None]) -> None:
    """The keys as the parent found them just now (its environment or the app's secrets);
    backends read them from this process's environment at request time."""
    for name, value in found.items():
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv if argv is None else argv
    _warm()
    serve(Connection(int(args[-1])))


def failure(exc: BaseException) -> tuple[str, str, str | None, dict[str, object] | None]:
    """An error as the parent rebuilds it: its class's name, its English message, and the
    template and values a BackendError keeps (values as plain text or numbers, or a Phrase of
    them, so they pickle and are stored as they are)."""
    template, values = getattr(exc, "template", None), getattr(exc, "values", None)
    if not isinstance(template, str) or not isinstance(values, dict):
        return type(exc).__name__, str(exc), None, None
    plain = {str(name): _plain(value) for name, value in values.items()}
    return type(exc).__name__, str(exc), template, plain


def _plain(value: object) -> object:
    """A value as plain text or a number; a Phrase kept, with plain values, to be said whole."""
    if isinstance(value, Phrase):
        return Phrase(value.template, {str(k): _plain(v) for k, v in value.values.items()})
    return value if isinstance(value, str | int | float | bool | None) else str(value)


if __name__ == "__main__":
    main()
