"""The backend contract (base classes with a default for every optional hook), and the
records and errors shared by every backend."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, ConfigDict

from backends.spec import ModelSpec

Modality = Literal["vlm", "tts", "stt"]
CountSource = Literal["server", "client"]


def N_(message: str) -> str:
    """A message marked for Lineup's catalogs (`make messages` extracts it; the backends import
    nothing of Lineup, which translates it where it is shown: lineup.core.i18n)."""
    return message


class BackendError(Exception):
    """A backend failed; the message tells the user what to do about it.

    `BackendError.of(N_("... {name} ..."), name=...)` keeps the English template and its
    values beside the message, so the interface can say it in another language; `str()` is
    always the English message."""

    template: str | None = None
    values: dict[str, object] | None = None

    @classmethod
    def of(cls, template: str, **values: object) -> Self:
        error = cls(template.format(**values))
        error.template, error.values = template, values
        return error


@dataclass(frozen=True)
class Phrase:
    """A message that is a value of another (Ollama's "Ollama at {url}" in its errors, the
    reader process's "why"): its template and values, so the message around it is said whole
    in another language; `str()` (and a plain format) gives its English text."""

    template: str
    values: dict[str, object]

    @classmethod
    def of(cls, template: str, **values: object) -> Phrase:
        return cls(template, values)

    @property
    def english(self) -> str:
        return self.template.format(**self.values)

    def __str__(self) -> str:
        return self.english


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


# The same class under a name that `Backend.Options` (the class attribute) does not shadow.
BackendOptions = Options


class ImageInput(Protocol):
    """A validated image (lineup.core.images.ValidatedImage): RGB, EXIF orientation applied."""

    def png_bytes(self, max_side: int | None = None) -> bytes: ...

    def rgb(self) -> Any: ...


@dataclass(frozen=True)
class VLMRequest:
    """One question about one image (or none), with the generation parameters.

    Each backend asks the image for the size it needs; the original is kept in the store.
    `cancel` is the runner's handle for stopping this one request (see `CancelToken`); the
    runner gives each model its own. `sent`, where given, is called with the
    `time.perf_counter()` of the moment the request starts to go out (its connection opens or
    its first byte is written) by backends that can tell (the HTTP ones): the clock's start.
    """

    question: str
    image: ImageInput | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    cancel: CancelToken | None = field(default=None, compare=False)
    sent: Callable[[float], None] | None = field(default=None, compare=False)


@dataclass
class Usage:
    """What a backend reports at the end of a stream; the runner does the timing itself.

    `output_tokens_source` says who counted the output tokens: "server" (the server's own
    count) or "client" (token ids counted in-process). `decode_s` and `decode_tokens_per_s`
    are the server's own decode figures, when it reports them. `loaded`: whether this answer
    came with the model's load, from an engine that knows (an in-process one loads it
    itself); None when it cannot tell (a server's `load_s` is then all there is).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_source: CountSource | None = None
    load_s: float | None = None
    loaded: bool | None = None
    prompt_eval_s: float | None = None
    decode_s: float | None = None
    decode_tokens_per_s: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chunk:
    """A piece of a streamed answer. Reasoning text is kept apart from the answer.

    `arrived_at` is the `time.perf_counter()` of its arrival when it was read in another
    process (backends.reader); None: it arrives as the runner gets it.
    """

    text: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    arrived_at: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReaderRecipe:
    """How the reader process (backends.reader) builds an HTTP backend again: its spec with
    the server's URL filled in, its options, the variable its key is read from (the key is
    looked up where the request is made, and handed over with it) and the longest image side
    it sends (the image is encoded before the clock starts)."""

    spec: str
    options: dict[str, Any]
    api_key_env: str | None = None
    max_image_side: int | None = None


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
    message: str  # English
    version: str | None = None
    # The message's template (marked N_) and values, to say it in another language.
    template: str | None = None
    values: dict[str, object] | None = None


class Backend(ABC):
    """What every backend declares. Each optional hook has its default here, so callers call
    it plainly and never probe for it.

    A backend is built by the registry as `cls(spec, options)` (options: an instance of its
    `Options`), plus, in tests, an injected client (`client=` / `transport=` / `http_client=`).
    Heavy engines are imported lazily, inside the constructor or the call that needs them.
    """

    modality: ClassVar[Modality]
    # The pydantic model of the backend's options; unknown keys are an error (`Options`).
    Options: ClassVar[type[BackendOptions]] = BackendOptions
    # True for a model loaded into this process (transformers, Bark, Piper, Whisper): the
    # registry keeps one instance per spec and options, and its compute takes turns with every
    # other in-process engine through `backends.compute`.
    in_process: ClassVar[bool] = False
    spec: ModelSpec

    @classmethod
    def resolved_base_url(cls, spec: ModelSpec) -> str | None:
        """Where the spec's server is, its default filled in from the environment where the
        kind has one (Ollama's OLLAMA_HOST). The registry keeps one backend per resolved
        spec and options. Default: the spec's own @URL."""
        return spec.base_url

    def __init__(self, spec: ModelSpec, options: Any = None) -> None:
        """The registry's call. Each backend takes its own `Options` (None: the defaults) and
        stores both; the base only keeps the spec."""
        self.spec = spec

    def describe(self) -> dict[str, Any]:
        """What the model's server or engine says about itself (the provenance card: digest,
        quantisation, context, build, dtype, device, versions, ...), as `backends.probe.Card`
        gives it: every field it asks for, None with its reason in `reasons` when not learned.

        Asked once per model per comparison or study, after the answers (lineup.run.provenance):
        never before the clock, never in a timed request. Each request is bounded
        (backends.probe); it never raises. Default: the engine's kind alone.
        """
        return {"engine": self.spec.kind, "reasons": {}}

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        """Models of this kind that need no server and are on this machine (bundled voices,
        installed OCR languages). Default: none."""
        return []


class VLMBackend(Backend):
    """Streams an answer; the last chunk carries the Usage record.

    The Usage record is the backend's word that the answer is complete: a backend yields it
    only after the protocol's end marker (OpenAI `[DONE]` / a `finish_reason`, Ollama
    `done: true`, the end of in-process generation). A stream that stops without it raises
    `BackendIncomplete`; the runner also treats a stream with no Usage record as cut off.
    """

    modality: ClassVar[Modality] = "vlm"

    @abstractmethod
    def stream(self, request: VLMRequest) -> Iterator[Chunk]: ...

    def reader_recipe(self) -> ReaderRecipe | None:
        """How to build this backend in the reader process, which reads and times its answers
        away from this process's interpreter lock (backends.reader). Default: None, it
        streams in this process (in-process engines; a backend given a test's client)."""
        return None


class SpeechBackend(Backend):
    """A TTS or STT backend: it may say which languages it handles."""

    def languages(self, preset: str | None = None) -> set[str] | None:
        """ISO 639-1 codes of the languages handled (with this preset); None = unknown, so no
        language warning is given. Default: None."""
        return None


class TTSBackend(SpeechBackend):
    """Speaks a text with a preset (voice, speed, ...; None = the engine's defaults)."""

    modality: ClassVar[Modality] = "tts"
    # True when the engine samples from a generator the seed sets (Bark), so the seed picks
    # the clip; False for deterministic engines (espeak-ng) and those that cannot be seeded
    # (Piper, HTTP servers). Every TTS backend takes `seed` (the runner always passes sample
    # k's seed); one that cannot use it ignores it.
    supports_seed: ClassVar[bool] = False

    @abstractmethod
    def synthesize(
        self, text: str, preset: str | None = None, *, seed: int | None = None
    ) -> Audio: ...


class STTBackend(SpeechBackend):
    """Transcribes a clip, for the word error rate of TTS voices."""

    modality: ClassVar[Modality] = "stt"

    @abstractmethod
    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        """The clip's text. `language` (ISO 639-1) is the sentence's, given so that the model
        does not guess it; the caller has checked it is one of `languages()`."""


class EndpointBackend(ABC):
    """A kind that talks to a server at a base URL (Ollama, OpenAI-compatible servers).

    Mixed into a VLM or TTS backend. `discover` and `health` take the same keyword arguments
    for every endpoint kind, so an endpoint in backends.toml is probed the same way whatever
    its kind. `api_key_env` names the environment variable (or Streamlit secret) that holds
    the endpoint's key; None means `default_api_key_env`. Keys are read through
    `backends.keys`, at request time, and are never stored.
    """

    # Where this kind's key lives unless the endpoint names another variable; the backend's
    # Options have an `api_key_env` option with this default.
    default_api_key_env: ClassVar[str]

    @classmethod
    @abstractmethod
    def discover(cls, base_url: str, *, api_key_env: str | None = None) -> list[DiscoveredModel]:
        """The models the server offers; BackendError (with advice) when it cannot say."""

    @classmethod
    def health(cls, base_url: str, *, api_key_env: str | None = None) -> Health:
        """Whether the server answers. Never raises: a failure is `Health(False, advice)`.
        Default: it answers when its models can be listed."""
        try:
            count = len(cls.discover(base_url, api_key_env=api_key_env))
        except BackendError as exc:
            return Health(False, str(exc), template=exc.template, values=exc.values)
        template = N_("{count} model(s) at {base_url}")
        values: dict[str, object] = {"count": count, "base_url": base_url}
        return Health(True, template.format(**values), template=template, values=values)
