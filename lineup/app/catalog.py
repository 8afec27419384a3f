"""What models there are and what a name stands for: backend kinds, endpoints, local and
named models, the descriptions cache, and a spec or name checked and built."""

from __future__ import annotations

from collections.abc import Sequence

from backends.base import DiscoveredModel, Modality
from backends.registry import KINDS, KindInfo
from backends.spec import SpecError
from lineup.app.part import Part
from lineup.catalog import (
    EndpointReport,
    ModelLabel,
    ResolvedModel,
    local_models,
    model_label,
    probe_endpoints,
    resolve,
    resolve_all,
)
from lineup.run import AUTO_STT, ENGLISH_STT, MULTILINGUAL_STT, STTChoice


class Catalog(Part):
    """What models there are and what a name stands for: backend kinds, endpoints, local and
    named models, the descriptions cache, and a spec or name checked and built."""

    def kinds(self) -> dict[str, KindInfo]:
        """Every backend kind, by name: its modality and what it is."""
        return dict(KINDS)

    def endpoint_reports(self, *, past: bool = False) -> list[EndpointReport]:
        """Each endpoint of backends.toml (and Ollama's): up or not, and its models; with
        `past`, then each endpoint only the specs of stored answers name (`@BASE_URL` typed in
        a past comparison), its URL redacted and the specs in `used_by`."""
        return probe_endpoints(self.config, self.store if past else None)

    def local_models(self, modality: Modality | None = None) -> list[DiscoveredModel]:
        """Models that need no server (of one modality, or all)."""
        found = local_models()
        if modality is None:
            return found
        return [m for m in found if self.modality(m.spec) == modality]

    def named_models(self, modality: Modality) -> list[str]:
        """The names backends.toml gives models of this modality."""
        return [m.name for m in self.config.models if self.modality(m.spec) == modality]

    @staticmethod
    def modality(spec_text: str) -> Modality | None:
        kind = spec_text.split(":", 1)[0]
        return KINDS[kind].modality if kind in KINDS else None

    def resolve(self, model: str, modality: Modality) -> ResolvedModel:
        """A spec or a backends.toml name, resolved once (lineup.catalog.resolver): what the
        runner, studies and the judge are given. SpecError when it is not a model of
        `modality`."""
        return resolve(model, modality, self.config)

    def model_label(self, name: str, spec: str | None = None) -> ModelLabel:
        """How a model shows: its name as typed, with the full spec in the tooltip: `spec`,
        the one it stood for when its answer was made (generations.resolved_spec), else the
        one backends.toml gives the name now. No resolution: a lookup of the name."""
        named = self.config.named(name.strip())
        if spec is None or spec == name:
            spec = named.spec if named is not None else name
        return model_label(name, spec, named=named is not None or ":" not in name)

    def resolve_all(self, models: Sequence[str], modality: Modality) -> list[ResolvedModel]:
        """Every spec or name, before anything runs; SpecError naming the bad one."""
        return resolve_all(models, modality, self.config)

    def resolve_stt(self, stt: str | None) -> STTChoice | None:
        """The STT model of a voice comparison or study (lineup.run.stt_choice): None for no
        scoring, `auto` to choose by each sentence's language, else a spec or name resolved
        (SpecError when it is not an STT model)."""
        if stt is None:
            return None
        if stt.strip().lower() == AUTO_STT:
            return STTChoice(
                english=self.resolve(ENGLISH_STT, "stt"),
                multilingual=self.resolve(MULTILINGUAL_STT, "stt"),
            )
        return STTChoice(named=self.resolve(stt, "stt"))

    def resolved_or_none(self, model: str, modality: Modality) -> ResolvedModel | None:
        try:
            return self.resolve(model, modality)
        except SpecError:
            return None
