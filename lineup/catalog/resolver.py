"""What a person names as a model (a spec, or a name from backends.toml), resolved once at the
edge: the facade resolves every model, voice, STT model, judge and reference model it is given
into one `ResolvedModel`, and the runner, studies and the judge take that object and never
parse or resolve the text again.

A resolved model keeps the name as typed (what the store groups by: `generations.model_spec`)
beside the full spec it stands for now (`generations.resolved_spec`): editing backends.toml
changes what a name means for the answers made after, never for those made before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.base import Modality
from backends.registry import create_backend, is_endpoint_kind, kind_info
from backends.spec import ModelSpec, SpecError
from lineup.catalog.config import BackendsConfig, resolve_model
from lineup.core import _
from lineup.store import MODEL_SPEC_MAX_CHARS


@dataclass(frozen=True)
class Lane:
    """Where a model's requests go: its endpoint's key and how many a study sends there at once."""

    endpoint: str
    concurrency: int = 1


@dataclass(frozen=True)
class ResolvedModel:
    """A model as a person named it, resolved once: the name as typed, the full spec, the
    backend's options (backends.toml's, plus its endpoint's api_key_env) and its lane."""

    name: str
    spec: ModelSpec
    options: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    lane: Lane = Lane("")
    modality: Modality = "vlm"

    @property
    def resolved_spec(self) -> str:
        """The full spec the name stands for, as stored beside the name."""
        return str(self.spec)

    @property
    def preset(self) -> str | None:
        return self.spec.preset

    @property
    def api_key_env(self) -> str | None:
        key_env = self.options.get("api_key_env")
        return key_env if isinstance(key_env, str) else None

    def backend(self, **kwargs: Any) -> Any:
        """The model's backend (built once where it is kept: backends.registry)."""
        return create_backend(self.spec, dict(self.options), **kwargs)


def resolve(text: str, modality: Modality, config: BackendsConfig) -> ResolvedModel:
    """The one resolver: `text` (a spec or a backends.toml name) checked to be a model of
    `modality`. SpecError when it is too long to store, neither a spec nor a name, or of
    another modality."""
    if len(text) > MODEL_SPEC_MAX_CHARS:
        raise SpecError(
            _(
                "A model spec is {length} characters long; the limit is {limit}. Give the "
                "model a short name in backends.toml."
            ).format(length=len(text), limit=MODEL_SPEC_MAX_CHARS)
        )
    spec, options = resolve_model(text, config)
    if kind_info(spec.kind).modality != modality:
        message = (
            _("{spec} is not a TTS backend.")
            if modality == "tts"
            else _("{spec} is not a VLM backend.")
            if modality == "vlm"
            else _("{spec} is not a STT backend.")
        )
        raise SpecError(message.format(spec=repr(text)))
    if len(str(spec)) > MODEL_SPEC_MAX_CHARS:
        raise SpecError(
            _("{name} stands for a spec {length} characters long; the limit is {limit}.").format(
                name=repr(text), length=len(str(spec)), limit=MODEL_SPEC_MAX_CHARS
            )
        )
    return ResolvedModel(text, spec, options, lane_of(spec, config), modality)


def resolve_all(
    texts: Sequence[str], modality: Modality, config: BackendsConfig
) -> list[ResolvedModel]:
    """Every model, in order, before anything runs; SpecError naming the bad one."""
    if not texts:
        raise SpecError(
            _("Choose at least one voice.")
            if modality == "tts"
            else _("Choose at least one model.")
        )
    return [resolve(text, modality, config) for text in texts]


def lane_of(spec: ModelSpec, config: BackendsConfig) -> Lane:
    """The endpoint a spec's requests go to, and how many a study sends there at once."""
    if not is_endpoint_kind(spec.kind):
        return Lane(f"in-process:{spec.kind}")  # one compute owner per engine kind
    endpoint = (
        config.endpoint_at(spec.base_url) if spec.base_url else config.default_endpoint(spec.kind)
    )
    where = spec.base_url or (endpoint.base_url if endpoint is not None else spec.kind)
    return Lane(where.rstrip("/"), endpoint.concurrency if endpoint is not None else 1)
