"""Protocols, records and errors shared by every backend."""

from __future__ import annotations

from collections.abc import Iterator
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
    """

    question: str
    image: ImageInput | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


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
