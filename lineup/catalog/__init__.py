"""What models there are and what a name stands for: backends.toml, discovery, descriptions, short
names."""

from lineup.catalog.config import BackendsConfig, ConfigError, load_backends_config
from lineup.catalog.discovery import EndpointReport, local_models, probe_endpoints
from lineup.catalog.names import (
    ModelLabel,
    hide_credentials,
    model_label,
    short_name,
    short_names,
)
from lineup.catalog.resolver import Lane, ResolvedModel, resolve, resolve_all

__all__ = [
    "BackendsConfig",
    "ConfigError",
    "EndpointReport",
    "Lane",
    "ModelLabel",
    "ResolvedModel",
    "hide_credentials",
    "load_backends_config",
    "local_models",
    "model_label",
    "probe_endpoints",
    "resolve",
    "resolve_all",
    "short_name",
    "short_names",
]
