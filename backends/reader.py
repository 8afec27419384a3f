"""The reader process: HTTP answers read and timed in a process of their own.

A model's time to first token is the gap between two stamps, and a stamp is only as good as
the thread that takes it. In the app's process, a thread that reads an answer shares the
interpreter lock with the page's redraws (about 20 a second per column) and with the
in-process engines (OCR's image work, transformers): after each `recv` it waits for the lock
before it can stamp what arrived, so the app's TTFT came out hundreds of milliseconds longer
than the CLI's for the same server. Here, one long-lived child process per Lineup process
sends the requests of the HTTP backends, reads their answers and stamps each chunk with
`time.perf_counter()` as it arrives (CLOCK_MONOTONIC: on Linux the same clock in every
process); the chunks and their stamps go back to the runner, which computes the figures as
before. Nothing else runs in that process, so its stamps do not depend on what the page or
another model does.

A request is prepared before the clock starts (`prepare_stream`): the parent encodes the image,
looks the key up, and the child builds the backend (kept for the process's life, with its
HTTP client) and holds the request ready. `start` sends it: the child stamps the moment the
request starts to go out (its connection opens or its first byte is written: the clock's
start) and every chunk as it arrives. A cancel (Stop, the
timeout, a shutdown) ends the parent's side at once and reaches the child, which shuts the
request's socket down. If the child dies, every request it had ends with an error that says
so, and the next request starts a new child.

This module is the parent's side; the child's is backends.reader_child (`python -m
backends.reader_child FD`, FD the descriptor of its end of the socket pair).

Backends say whether they can be read there (`VLMBackend.reader_recipe`); in-process engines
stream in the caller's process as before (`prepare_stream` gives them a `LocalStream`).

The messages, pickled over one socket pair:
    parent -> child: ("warm", rid), ("prepare", rid, recipe, keys, request), ("go", rid),
        ("cancel", rid)
    child -> parent, in batches: ("ready", rid), ("started", rid, at), ("chunk", rid, at, chunk),
        ("end", rid), ("failed", rid, error class name, message, template, values)
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from backends import keys
from backends.base import (
    N_,
    BackendError,
    BackendIncomplete,
    BackendTimeout,
    BackendUnavailable,
    Chunk,
    Phrase,
    ReaderRecipe,
    VLMBackend,
    VLMRequest,
)

# Where `backends` is, for the child's import path.
_ROOT = Path(__file__).resolve().parents[1]
# How long a lost child gets to report its exit status, for the message.
_EXIT_WAIT_S = 2.0

_ERRORS: dict[str, type[BackendError]] = {
    cls.__name__: cls
    for cls in (BackendError, BackendUnavailable, BackendTimeout, BackendIncomplete)
}


class PreparedStream(Protocol):
    """A request made ready to send: `start(on_sent)` sends it and returns its chunks.

    `on_sent(at)` is given the `time.perf_counter()` of the send, the clock's start; it may be
    called again with a truer stamp before the first chunk comes.
    """

    def start(self, on_sent: Callable[[float], None]) -> Iterator[Chunk]: ...


class LocalStream:
    """A backend that streams in this process (in-process engines, test clients)."""

    def __init__(self, backend: VLMBackend, request: VLMRequest) -> None:
        self.backend = backend
        self.request = request

    def start(self, on_sent: Callable[[float], None]) -> Iterator[Chunk]:
        on_sent(time.perf_counter())  # HTTP backends say when the request went out
        return self.backend.stream(dataclasses.replace(self.request, sent=on_sent))


def prepare_stream(backend: VLMBackend, request: VLMRequest) -> PreparedStream:
    """Make `request` ready to send, before the clock starts: an HTTP backend's goes to the
    reader process (which builds the backend and holds the request until `start`), an
    in-process engine's stays here. The request's cancel token stops it at any point.
    Never blocks on the reader process: its failures come out of the stream."""
    recipe = backend.reader_recipe()
    if recipe is None:
        return LocalStream(backend, request)
    return shared().prepare(recipe, request)


class PNGImage:
    """An image already encoded as PNG for a backend (longest side at most `max_side`), the
    form in which the reader process gets it: the encoding is done before the clock starts."""

    def __init__(self, data: bytes, max_side: int | None) -> None:
        self.data = data
        self.max_side = max_side

    def png_bytes(self, max_side: int | None = None) -> bytes:
        if max_side != self.max_side:
            raise ValueError(
                f"The image was encoded for a longest side of {self.max_side}, not {max_side}."
            )
        return self.data

    def rgb(self) -> Any:
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            return image.convert("RGB")


# The last images encoded, kept (with the image, so its id is not reused) for the other
# models of the same comparison: they wait for the first one's encoding instead of each
# doing it again. Two, as an image may be large.
_encoded_lock = threading.Lock()
_encoded_images: dict[tuple[int, int | None], tuple[Any, PNGImage]] = {}
_ENCODED_KEPT = 2


def _encoded(image: Any, max_side: int | None) -> PNGImage:
    key = (id(image), max_side)
    with _encoded_lock:
        kept = _encoded_images.get(key)
        if kept is not None and kept[0] is image:
            return kept[1]
        png = PNGImage(image.png_bytes(max_side), max_side)
        _encoded_images[key] = (image, png)
        while len(_encoded_images) > _ENCODED_KEPT:
            del _encoded_images[next(iter(_encoded_images))]
        return png


# The parent's side ------------------------------------------------------------------------


class Reader:
    """The parent's handle on its reader process, started on first use and again after it
    died. `argv` is the child's command (its socket's descriptor is appended)."""

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        self.argv = list(argv) if argv else [sys.executable, "-m", "backends.reader_child"]
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._ids = itertools.count(1)

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first request or once it died)."""
        child = self._child
        return child.process.pid if child is not None and child.alive else None

    def prepare(self, recipe: ReaderRecipe, request: VLMRequest) -> RemoteStream:
        """Send the request to the child, which builds its backend meanwhile (the caller
        describes the model, then waits at the start gate); `start` waits for that."""
        image = request.image
        if image is not None:
            image = _encoded(image, recipe.max_image_side)
        payload = dataclasses.replace(request, image=image, cancel=None, sent=None)
        found = {recipe.api_key_env: keys.api_key(recipe.api_key_env)} if recipe.api_key_env else {}
        child = self._running_child()
        stream = RemoteStream(child, next(self._ids), recipe.spec)
        if request.cancel is not None:
            request.cancel.on_cancel(stream.stop)
        child.open(stream, ("prepare", stream.rid, recipe, found, payload))
        return stream

    def warm(self, timeout_s: float = 60.0) -> None:
        """Start the child now and return once it has imported the HTTP backends and their
        clients (it does that first), so no request waits for it; BackendError if it cannot
        within `timeout_s`."""
        child = self._running_child()
        stream = RemoteStream(child, next(self._ids), "the reader process")
        child.open(stream, ("warm", stream.rid))
        stream.wait_ready(timeout_s)

    def stop(self) -> None:
        """End the child (its requests end as lost); the next request starts a new one."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.kill()

    def _running_child(self) -> _Child:
        with self._lock:
            if self._child is None or not self._child.alive:
                self._child = _Child(self.argv)
            return self._child


class RemoteStream:
    """One request in the reader process, as the parent sees it."""

    def __init__(self, child: _Child, rid: int, spec: str) -> None:
        self.child = child
        self.rid = rid
        self.spec = spec
        self._inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._over = threading.Event()
        self._chunks = 0

    def deliver(self, message: tuple[Any, ...]) -> None:
        """A message from the child (or the parent's own "stopped" / "lost")."""
        if message[0] == "ready":
            self._ready.set()
            return
        self._inbox.put(message)
        if message[0] in ("failed", "stopped", "lost"):
            self._ready.set()  # wakes `wait_ready`, which finds the failure in the inbox

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Return once the child holds the request ready; raise its failure, or a stopped
        error after a cancel (the runner's timer bounds the wait with one)."""
        if not self._ready.wait(timeout_s):
            self.stop()
        if self._inbox.empty():
            return
        message = self._inbox.get()
        self._finish()
        raise self._error(message)

    def start(self, on_sent: Callable[[float], None]) -> Iterator[Chunk]:
        on_sent(time.perf_counter())  # until the child says when it sent
        return self._read(on_sent)

    def _read(self, on_sent: Callable[[float], None]) -> Iterator[Chunk]:
        try:
            self.wait_ready()  # the child built the backend while this process described it
            self.child.send(("go", self.rid))
            while True:
                message = self._inbox.get()
                kind = message[0]
                if kind == "started":
                    on_sent(message[2])
                elif kind == "chunk":
                    chunk: Chunk = message[3]
                    chunk.arrived_at = message[2]
                    self._chunks += 1
                    yield chunk
                elif kind == "end":
                    self._over.set()
                    return
                else:
                    self._over.set()
                    raise self._error(message)
        finally:
            self._finish()

    def stop(self) -> None:
        """The cancel token fired: end this side at once, and tell the child."""
        if self._over.is_set():
            return
        self.deliver(("stopped", self.rid))
        self._finish()

    def _finish(self) -> None:
        """Done with this request: the child forgets it (stops it, if it still runs)."""
        if self.child.close(self):
            self.child.send(("cancel", self.rid))

    def _error(self, message: tuple[Any, ...]) -> BackendError:
        kind = message[0]
        if kind == "failed":
            name, text, template, values = message[2:6]
            cls = _ERRORS.get(name)
            if cls is None:
                return BackendError(f"{name}: {text}")
            error = cls(text)
            error.template, error.values = template, values  # said in any language
            return error
        if kind == "stopped":
            return BackendError.of(
                N_("The request to {spec} was stopped (timeout or Stop)."), spec=str(self.spec)
            )
        if self._chunks:
            return BackendError.of(
                N_(
                    "{why}: the answer is cut off after {chunks} chunk(s); the text received "
                    "until then is kept. Run it again: a new reader process starts."
                ),
                why=message[2],
                chunks=self._chunks,
            )
        return BackendError.of(
            N_("{why}: no answer came. Run it again: a new reader process starts."),
            why=message[2],
        )


class _Child:
    """One reader process, its socket, and the requests it holds."""

    def __init__(self, argv: Sequence[str]) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        # Its own session: a Ctrl-C in the terminal stops the parent, which ends its runs
        # (interrupted) and then its reader; the reader never dies first.
        self.process = subprocess.Popen(
            [*argv, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the CLI's stdout is its JSON; tracebacks go to stderr
            env=env,
            start_new_session=True,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.alive = True
        self.trouble: str | None = None
        self._lock = threading.Lock()
        self._streams: dict[int, RemoteStream] = {}
        # Sends go through one thread, so no caller (a Stop, a timer) ever blocks on the socket.
        self._outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        threading.Thread(target=self._send_loop, name="lineup-reader-send", daemon=True).start()
        threading.Thread(
            target=self._receive_loop, name="lineup-reader-receive", daemon=True
        ).start()

    def open(self, stream: RemoteStream, message: tuple[Any, ...]) -> None:
        with self._lock:
            if self.alive:
                self._streams[stream.rid] = stream
                self._outbox.put(message)
                return
        stream.deliver(("lost", stream.rid, self._lost_reason()))

    def close(self, stream: RemoteStream) -> bool:
        """Forget the stream; True if it was still known (so the child may still hold it)."""
        with self._lock:
            return self._streams.pop(stream.rid, None) is not None and self.alive

    def send(self, message: tuple[Any, ...]) -> None:
        self._outbox.put(message)

    def kill(self) -> None:
        try:
            self.process.kill()
        except OSError:
            pass

    def _send_loop(self) -> None:
        while True:
            message = self._outbox.get()
            if message is None:
                return
            try:
                self.conn.send(message)
            except (OSError, ValueError):
                return  # the child is gone: the receiving side says so

    def _receive_loop(self) -> None:
        try:
            while True:
                batch = self.conn.recv()
                for message in batch:
                    with self._lock:
                        stream = self._streams.get(message[1])
                        if stream is not None and message[0] in ("end", "failed"):
                            del self._streams[message[1]]
                    if stream is not None:
                        stream.deliver(message)
        except (EOFError, OSError):
            trouble = None
        except Exception as exc:  # noqa: BLE001 - a garbled message: the child is not trusted further
            trouble = f"{type(exc).__name__}: {exc}"
        self._lose(trouble)

    def _lose(self, trouble: str | None) -> None:
        self.trouble = trouble
        with self._lock:
            self.alive = False
            streams, self._streams = list(self._streams.values()), {}
        self._outbox.put(None)
        if trouble is not None:
            self.kill()  # it garbled its messages: nothing it says can be trusted
        try:
            self.process.wait(_EXIT_WAIT_S)  # for its exit status, in the message
        except subprocess.TimeoutExpired:
            self.kill()  # it closed its socket but lives on: it is useless
            self.process.wait()
        self.conn.close()
        reason = self._lost_reason()
        for stream in streams:
            stream.deliver(("lost", stream.rid, reason))

    def _lost_reason(self) -> Phrase:
        """Why the child is gone, as a whole sentence (a value of the errors of its requests)."""
        code = self.process.poll()
        pid = self.process.pid
        if code is not None and code < 0:
            try:
                how = Phrase.of(
                    N_(
                        "Lineup's reader process (pid {pid}), which reads the answers of HTTP "
                        "models, was killed by {signal}"
                    ),
                    pid=pid,
                    signal=signal.Signals(-code).name,
                )
            except ValueError:
                how = Phrase.of(
                    N_(
                        "Lineup's reader process (pid {pid}), which reads the answers of HTTP "
                        "models, was killed by signal {number}"
                    ),
                    pid=pid,
                    number=-code,
                )
        elif code is not None:
            how = Phrase.of(
                N_(
                    "Lineup's reader process (pid {pid}), which reads the answers of HTTP "
                    "models, ended with exit status {code}"
                ),
                pid=pid,
                code=code,
            )
        else:
            how = Phrase.of(
                N_(
                    "Lineup's reader process (pid {pid}), which reads the answers of HTTP "
                    "models, stopped answering"
                ),
                pid=pid,
            )
        if self.trouble is None:
            return how
        # What garbled its messages, as Python said it (not translated).
        return Phrase.of(N_("{how} ({trouble})"), how=how, trouble=self.trouble)


_shared = Reader()


def shared() -> Reader:
    """The reader process of this Lineup process (one for the app, the CLI and studies)."""
    return _shared
