"""Protocols, records and errors shared by every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

Modality = Literal["vlm", "tts", "stt"]
CountSource = Literal["server", "client"]


class BackendError(Exception):
    """A backend failed; the message tells the user what to do about it."""


class BackendUnavailable(BackendError):
    """The engine, server or package a backend needs is not there."""


class BackendTimeout(BackendError):
    """The backend did not answer in time."""


class BackendIncomplete(BackendError):
    """The answer is not whole: the stream ended without the protocol's end marker, or the
    server sent something that is not a stream (an HTML page, an empty body). The text
    received so far is kept by the runner; the answer is never counted as complete."""


class CancelToken:
    """Lets the runner stop one request from another thread (timeout, Stop, shutdown).

    A backend that holds a connection registers a callback that closes it (for an HTTP
    response: shut its socket down, which wakes a read blocked in the worker thread at once).
    `cancel()` runs every callback once; one registered after the cancel runs at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._cancelled.is_set():
                self._callbacks.append(callback)
                return
        _call_quietly(callback)

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled.is_set():
                return
            self._cancelled.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call_quietly(callback)


def _call_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # noqa: BLE001 - closing what is already broken must not fail the cancel
        pass


class Options(BaseModel):
    """Base for every backend's options: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageInput(Protocol):
    """A validated image (lineup.media.ValidatedImage): RGB, EXIF orientation applied."""

    def png_bytes(self, max_side: int | None = None) -> bytes: ...

    def rgb(self) -> Any: ...


@dataclass(frozen=True)
class VLMRequest:
    """One question about one image (or none), with the generation parameters.

    Each backend asks the image for the size it needs; the original is kept in the store.
    `cancel` is the runner's handle for stopping this one request (see `CancelToken`); the
    runner gives each model its own.
    """

    question: str
    image: ImageInput | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    cancel: CancelToken | None = field(default=None, compare=False)


@dataclass
class Usage:
    """What a backend reports at the end of a stream; the runner does the timing itself.

    `output_tokens_source` says who counted the output tokens: "server" (the server's own
    count) or "client" (token ids counted in-process). `decode_s` and `decode_tokens_per_s`
    are the server's own decode figures, when it reports them.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_source: CountSource | None = None
    load_s: float | None = None
    prompt_eval_s: float | None = None
    decode_s: float | None = None
    decode_tokens_per_s: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chunk:
    """A piece of a streamed answer. Reasoning text is kept apart from the answer."""

    text: str = ""
    reasoning: str = ""
    usage: Usage | None = None


@dataclass
class Audio:
    """Mono audio as float32 samples in [-1, 1]."""

    samples: np.ndarray
    sample_rate_hz: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def audio_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz if self.sample_rate_hz else 0.0


@dataclass
class Transcript:
    text: str
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiscoveredModel:
    """A model an endpoint offers."""

    spec: str
    name: str
    vision: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str
    version: str | None = None


@runtime_checkable
class VLMBackend(Protocol):
    """Streams an answer; the last chunk carries the Usage record.

    The Usage record is the backend's word that the answer is complete: a backend yields it
    only after the protocol's end marker (OpenAI `[DONE]` / a `finish_reason`, Ollama
    `done: true`, the end of in-process generation). A stream that stops without it raises
    `BackendIncomplete`; the runner also treats a stream with no Usage record as cut off.

    A backend may also offer `describe() -> dict` (what it knows about the model and server:
    digest, quantisation, versions). The runner calls it before starting the clock, so such
    look-ups never count in a timing.
    """

    modality: ClassVar[Modality]

    def stream(self, request: VLMRequest) -> Iterator[Chunk]: ...


@runtime_checkable
class TTSBackend(Protocol):
    modality: ClassVar[Modality]

    def synthesize(self, text: str, preset: str | None = None) -> Audio: ...


@runtime_checkable
class STTBackend(Protocol):
    modality: ClassVar[Modality]

    def transcribe(self, audio: Audio) -> Transcript: ...
