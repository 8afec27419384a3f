"""backends.toml: endpoints to discover models on, and named models referred to by name."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.spec import ModelSpec, SpecError
from lineup.settings import Settings


class ConfigError(ValueError):
    """backends.toml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "ollama" or "openai" (or "openai-tts")
    base_url: str
    api_key_env: str | None = None

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True)
class NamedModel:
    name: str
    spec: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendsConfig:
    endpoints: tuple[Endpoint, ...] = ()
    models: tuple[NamedModel, ...] = ()
    path: Path | None = None

    def named(self, name: str) -> NamedModel | None:
        return next((m for m in self.models if m.name == name), None)

    def api_key_env_for(self, base_url: str | None) -> str | None:
        for endpoint in self.endpoints:
            if base_url and endpoint.base_url.rstrip("/") == base_url.rstrip("/"):
                return endpoint.api_key_env
        return None


def load_backends_config(settings: Settings) -> BackendsConfig:
    """Read backends.toml, adding the default Ollama endpoint (OLLAMA_HOST) when none is named."""
    path = settings.backends_file
    endpoints: list[Endpoint] = []
    models: list[NamedModel] = []
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        for name, entry in (data.get("endpoints") or {}).items():
            if not isinstance(entry, dict) or "kind" not in entry or "base_url" not in entry:
                raise ConfigError(f"{path}: [endpoints.{name}] needs `kind` and `base_url`.")
            unknown = set(entry) - {"kind", "base_url", "api_key_env"}
            if "api_key" in unknown:
                raise ConfigError(
                    f"{path}: [endpoints.{name}] holds a key. Keys stay out of files: put it in "
                    "an environment variable and name that with `api_key_env`."
                )
            if unknown:
                raise ConfigError(f"{path}: [endpoints.{name}] has unknown keys {sorted(unknown)}.")
            endpoints.append(
                Endpoint(name, entry["kind"], entry["base_url"], entry.get("api_key_env"))
            )
        for name, entry in (data.get("models") or {}).items():
            if not isinstance(entry, dict) or "spec" not in entry:
                raise ConfigError(f"{path}: [models.{name}] needs `spec`.")
            unknown = set(entry) - {"spec", "options"}
            if unknown:
                raise ConfigError(f"{path}: [models.{name}] has unknown keys {sorted(unknown)}.")
            models.append(NamedModel(name, entry["spec"], dict(entry.get("options") or {})))
    if not any(e.kind == "ollama" for e in endpoints):
        endpoints.insert(0, Endpoint("ollama", "ollama", settings.ollama_host))
    return BackendsConfig(tuple(endpoints), tuple(models), path if path.exists() else None)


def resolve_model(text: str, config: BackendsConfig) -> tuple[ModelSpec, dict[str, Any]]:
    """A typed spec, or the name of a model declared in backends.toml, to a spec and its options."""
    from backends.registry import check_spec

    named = config.named(text.strip())
    if named is not None:
        spec, options = check_spec(named.spec), dict(named.options)
    elif ":" not in text:
        raise SpecError(
            f"{text!r} is neither a spec (KIND:MODEL) nor a model named in backends.toml."
        )
    else:
        spec, options = check_spec(text), {}
    key_env = config.api_key_env_for(spec.base_url)
    if key_env and spec.kind in ("openai", "openai-tts"):
        options.setdefault("api_key_env", key_env)
    return spec, options
