"""backends.toml: endpoints to discover models on, and named models referred to by name."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backends.spec import ModelSpec, SpecError, check_base_url, redact_url
from lineup.core import Settings, _, error_text


class ConfigError(ValueError):
    """backends.toml is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # a kind that talks to a server (backends.registry.endpoint_kinds)
    base_url: str
    api_key_env: str | None = None
    # How many requests a study sends to this server at once (a comparison sends one per
    # model regardless): 1 keeps every timing that of a lone request.
    concurrency: int = 1


MAX_CONCURRENCY = 64


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
        endpoint = self.endpoint_at(base_url)
        return endpoint.api_key_env if endpoint is not None else None

    def endpoint_at(self, base_url: str | None) -> Endpoint | None:
        for endpoint in self.endpoints:
            if base_url and endpoint.base_url.rstrip("/") == base_url.rstrip("/"):
                return endpoint
        return None

    def default_endpoint(self, kind: str) -> Endpoint | None:
        """The endpoint a spec of `kind` without a base URL goes to (Ollama's), if any."""
        return next((e for e in self.endpoints if e.kind == kind), None)


# The kinds that talk to a server, so that an endpoint can name them.
_ENDPOINT_KEYS = {"kind", "base_url", "api_key_env", "concurrency"}
_MODEL_KEYS = {"spec", "options"}


def load_backends_config(settings: Settings) -> BackendsConfig:
    """Read backends.toml, adding the default Ollama endpoint (OLLAMA_HOST) when none is named.

    Every wrong shape or type is a ConfigError that names the file and the key.
    """
    path = settings.backends_file
    endpoints: list[Endpoint] = []
    models: list[NamedModel] = []
    data = _read_toml(path)
    if data is not None:
        unknown = set(data) - {"endpoints", "models"}
        if unknown:
            raise ConfigError(
                _(
                    "{path} has unknown top-level keys {keys}; it holds only [endpoints.NAME] "
                    "and [models.NAME] tables."
                ).format(path=path, keys=sorted(unknown))
            )
        for name, entry in _table(path, data, "endpoints").items():
            endpoints.append(_endpoint(path, name, entry))
        for name, entry in _table(path, data, "models").items():
            models.append(_named_model(path, name, entry))
    if not any(e.kind == "ollama" for e in endpoints):
        endpoints.insert(0, Endpoint("ollama", "ollama", settings.ollama_host))
    return BackendsConfig(tuple(endpoints), tuple(models), path if data is not None else None)


def _read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(
            _(
                "{path} is a folder, not a backends.toml file. Point LINEUP_BACKENDS_FILE at a "
                "file, or remove the folder."
            ).format(path=path)
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path} cannot be read ({reason}).").format(path=path, reason=exc.strerror or exc)
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            _("{path} is not UTF-8 text (byte {byte} cannot be read). Save it as UTF-8.").format(
                path=path, byte=exc.start
            )
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _("{path} is not valid TOML: {reason}").format(path=path, reason=exc)
        ) from exc


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    table = data.get(key)
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(
            _("{path}: `{key}` must be a table of entries, like [{key}.NAME], not {value}.").format(
                path=path, key=key, value=_describe(table)
            )
        )
    return table


def _endpoint(path: Path, name: str, entry: Any) -> Endpoint:
    where = f"{path}: [endpoints.{name}]"
    if not isinstance(entry, dict):
        raise ConfigError(
            _("{where} must be a table with `kind` and `base_url`, not {value}.").format(
                where=where, value=_describe(entry)
            )
        )
    if "kind" not in entry or "base_url" not in entry:
        raise ConfigError(_("{where} needs `kind` and `base_url`.").format(where=where))
    unknown = set(entry) - _ENDPOINT_KEYS
    if "api_key" in unknown:
        raise ConfigError(
            _(
                "{where} holds a key. Keys stay out of files: put it in an environment variable "
                "and name that with `api_key_env`."
            ).format(where=where)
        )
    if unknown:
        raise ConfigError(
            _("{where} has unknown keys {keys}.").format(where=where, keys=sorted(unknown))
        )
    from backends.registry import endpoint_kinds

    kind = _string(where, entry, "kind")
    if kind not in endpoint_kinds():
        raise ConfigError(
            _(
                "{where}: kind = {kind} is not a kind that talks to a server. Use one of: {kinds}."
            ).format(where=where, kind=repr(kind), kinds=", ".join(endpoint_kinds()))
        )
    base_url = _string(where, entry, "base_url")
    if not base_url.startswith(("http://", "https://")) or not base_url.split("://", 1)[1]:
        raise ConfigError(
            _("{where}: base_url = {url} is not an http:// or https:// address.").format(
                where=where, url=repr(redact_url(base_url))
            )
        )
    try:
        check_base_url(base_url)
    except SpecError as exc:
        raise ConfigError(
            _("{where}: base_url: {problem}").format(where=where, problem=error_text(exc))
        ) from None
    api_key_env = entry.get("api_key_env")
    if api_key_env is not None:
        api_key_env = _string(where, entry, "api_key_env")
    concurrency = entry.get("concurrency", 1)
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise ConfigError(
            _(
                "{where}: `concurrency` must be a whole number from 1 to {maximum} (the requests "
                "a study sends there at once), not {value}."
            ).format(where=where, maximum=MAX_CONCURRENCY, value=_describe(concurrency))
        )
    return Endpoint(name, kind, base_url, api_key_env, concurrency)


def _named_model(path: Path, name: str, entry: Any) -> NamedModel:
    from backends.registry import backend_class, check_spec

    where = f"{path}: [models.{name}]"
    if not isinstance(entry, dict):
        raise ConfigError(
            _("{where} must be a table with `spec`, not {value}.").format(
                where=where, value=_describe(entry)
            )
        )
    if "spec" not in entry:
        raise ConfigError(_("{where} needs `spec`.").format(where=where))
    unknown = set(entry) - _MODEL_KEYS
    if unknown:
        raise ConfigError(
            _("{where} has unknown keys {keys}.").format(where=where, keys=sorted(unknown))
        )
    text = _string(where, entry, "spec")
    try:
        spec = check_spec(text)
    except SpecError as exc:
        raise ConfigError(
            _("{where}: spec: {problem}").format(where=where, problem=error_text(exc))
        ) from None
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(
            _("{where}: `options` must be a table, like options = {example}, not {value}.").format(
                where=where, example="{ timeout_s = 120 }", value=_describe(options)
            )
        )
    # Checked now, with the backend's own Options model, so a typo shows when the file is
    # read rather than as a failed answer. Backend modules import their engines lazily.
    try:
        options_model = backend_class(spec.kind).Options
    except ImportError:
        options_model = None  # an engine that is not installed says so when the model is used
    if options_model is not None:
        try:
            options_model(**options)
        except ValidationError as exc:
            raise ConfigError(
                _("{where}: options: {problems}.").format(
                    where=where, problems=_problems(exc, options_model)
                )
            ) from None
    return NamedModel(name, text, dict(options))


def _problems(exc: ValidationError, options_model: Any) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "?"
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(options_model.model_fields))
            problems.append(
                _("`{key}` is not an option of this backend (it has: {known})").format(
                    key=key, known=known
                )
            )
        else:
            problems.append(f"`{key}`: {error['msg']}")  # pydantic's words, English
    return "; ".join(problems)


def _string(where: str, entry: dict[str, Any], key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            _("{where}: `{key}` must be a non-empty string, not {value}.").format(
                where=where, key=key, value=_describe(value)
            )
        )
    return value.strip()


def _describe(value: Any) -> str:
    """What a wrong value is, for a message's {value} (a noun phrase standing alone, so a
    translation can say "not {value}" as its language does); only scalars are shown."""
    if isinstance(value, str):
        if not value.strip():
            return _("an empty string")
        return _("the string {value}").format(value=repr(value))
    if isinstance(value, bool):
        return _("a boolean ({value})").format(value=str(value).lower())
    if isinstance(value, int | float):
        return _("a number ({value})").format(value=repr(value))
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a table")
    return _("a {type}").format(type=type(value).__name__)  # TOML dates and times


def resolve_model(text: str, config: BackendsConfig) -> tuple[ModelSpec, dict[str, Any]]:
    """A typed spec, or the name of a model declared in backends.toml, to a spec and its options."""
    from backends.registry import check_spec, is_endpoint_kind

    named = config.named(text.strip())
    if named is not None:
        spec, options = check_spec(named.spec), dict(named.options)
    elif ":" not in text:
        raise SpecError(
            _("{text} is neither a spec (KIND:MODEL) nor a model named in backends.toml.").format(
                text=repr(text)
            )
        )
    else:
        spec, options = check_spec(text), {}
    key_env = config.api_key_env_for(spec.base_url)
    if key_env and is_endpoint_kind(spec.kind):
        options.setdefault("api_key_env", key_env)
    return spec, options
