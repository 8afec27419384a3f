"""The one place that maps a spec's kind to its backend class, and caches in-process models."""

from __future__ import annotations

import importlib
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from backends.base import N_, Backend, BackendError, EndpointBackend, Modality
from backends.spec import ModelSpec, SpecError, parse_spec


@dataclass(frozen=True)
class KindInfo:
    kind: str
    modality: Modality
    target: str  # "module:Class", imported lazily
    description: str


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in [
        KindInfo("ollama", "vlm", "backends.ollama:OllamaBackend", N_("Ollama server (/api/chat)")),
        KindInfo(
            "openai",
            "vlm",
            "backends.openai_chat:OpenAIChatBackend",
            N_("OpenAI-compatible server: vLLM, llama.cpp, LM Studio, SGLang, OpenAI"),
        ),
        KindInfo(
            "transformers",
            "vlm",
            "backends.transformers_vlm:TransformersVLMBackend",
            N_("Hugging Face transformers model, in process"),
        ),
        KindInfo("ocr", "vlm", "backends.ocr:OCRBackend", N_("Tesseract OCR baseline (offline)")),
        KindInfo("piper", "tts", "backends.piper_tts:PiperBackend", N_("Piper neural voices")),
        KindInfo("espeak", "tts", "backends.espeak:EspeakBackend", N_("espeak-ng voices")),
        KindInfo("festival", "tts", "backends.festival:FestivalBackend", N_("Festival voices")),
        KindInfo("bark", "tts", "backends.bark:BarkBackend", N_("Bark / Bark-small, in process")),
        KindInfo(
            "openai-tts",
            "tts",
            "backends.openai_tts:OpenAITTSBackend",
            N_("OpenAI-compatible /v1/audio/speech"),
        ),
        KindInfo(
            "faster-whisper",
            "stt",
            "backends.whisper_stt:FasterWhisperBackend",
            N_("Whisper speech-to-text (CTranslate2)"),
        ),
    ]
}


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise SpecError.of(
            N_("Unknown backend kind {kind}. Known kinds: {kinds}."),
            kind=repr(kind),
            kinds=", ".join(sorted(KINDS)),
        ) from None


def backend_class(kind: str) -> type[Backend]:
    """The class of a kind, imported now (backend modules import their engines lazily)."""
    module_name, class_name = kind_info(kind).target.split(":")
    cls = vars(importlib.import_module(module_name))[class_name]
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"{kind_info(kind).target} is not a backends.base.Backend subclass.")
    return cls


def is_endpoint_kind(kind: str) -> bool:
    """Whether the kind talks to a server at a base URL (and so may need an API key)."""
    return issubclass(backend_class(kind), EndpointBackend)


def endpoint_kinds() -> tuple[str, ...]:
    """The kinds an endpoint in backends.toml may have."""
    return tuple(kind for kind in KINDS if is_endpoint_kind(kind))


def endpoint_class(kind: str) -> type[EndpointBackend]:
    cls = backend_class(kind)
    if not issubclass(cls, EndpointBackend):
        raise SpecError(
            f"{kind!r} does not talk to a server. Endpoint kinds: {', '.join(endpoint_kinds())}."
        )
    return cls


def default_api_key_envs() -> set[str]:
    """The variable each endpoint kind reads its key from when the endpoint names none."""
    return {endpoint_class(kind).default_api_key_env for kind in endpoint_kinds()}


def check_spec(text: str, modality: Modality | None = None) -> ModelSpec:
    """Parse a spec and check its kind exists (and is of the wanted modality)."""
    spec = parse_spec(text)
    info = kind_info(spec.kind)
    if modality is not None and info.modality != modality:
        raise SpecError(
            f"{text!r} is a {info.modality.upper()} backend; "
            f"a {modality.upper()} one is needed here."
        )
    return spec


# Backends live as long as the process: one instance per kind, model, resolved server and
# options, shared by every comparison, run and study (their HTTP clients keep connections
# alive; in-process models load once). Backends hold no per-request state, so one instance
# serves concurrent requests. The counter lets tests check how often each was built.
_instances: dict[str, Any] = {}
_instance_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}
load_counts: Counter[str] = Counter()


def _cache_key(cls: type[Backend], spec: ModelSpec, options: dict[str, Any]) -> str:
    # The preset is chosen per call, so it does not make a new backend.
    where = cls.resolved_base_url(spec)
    return json.dumps([spec.kind, spec.model, where, options], sort_keys=True, default=str)


def create_backend(
    spec: ModelSpec | str,
    options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:  # Any: callers know the modality they asked for (see `check_spec`)
    """The backend for a spec and options: built once, then reused for the process's life.

    Options that the backend does not know are an error that names them. A backend given an
    injected client (`client=`, `transport=`, `http_client=`: tests) is built fresh.
    """
    if isinstance(spec, str):
        spec = check_spec(spec)
    cls = backend_class(spec.kind)
    try:
        parsed = cls.Options(**(options or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise BackendError.of(
            N_("Bad options for {spec}: {problems}."), spec=str(spec), problems=problems
        ) from exc
    if kwargs:
        return cls(spec, parsed, **kwargs)
    key = _cache_key(cls, spec, parsed.model_dump())
    with _instance_lock:
        instance = _instances.get(key)
        if instance is not None:
            return instance
        building = _building.setdefault(key, threading.Lock())
    # One lock per backend, so a model loading for a minute holds up no other backend.
    with building:
        with _instance_lock:
            instance = _instances.get(key)
        if instance is None:
            instance = cls(spec, parsed)
            with _instance_lock:
                _instances[key] = instance
                load_counts[key] += 1
        return instance


def clear_cache() -> None:
    with _instance_lock:
        _instances.clear()
        load_counts.clear()
