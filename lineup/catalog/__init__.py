"""What models there are and what a name stands for: backends.toml, discovery, descriptions, short
names."""

from lineup.catalog.config import BackendsConfig, ConfigError, load_backends_config, resolve_model
from lineup.catalog.descriptions import DescribeCache, Describer, describe_now
from lineup.catalog.discovery import EndpointReport, local_models, probe_endpoints
from lineup.catalog.names import hide_credentials, short_name, short_names

__all__ = [
    "BackendsConfig",
    "ConfigError",
    "DescribeCache",
    "Describer",
    "EndpointReport",
    "describe_now",
    "hide_credentials",
    "load_backends_config",
    "local_models",
    "probe_endpoints",
    "resolve_model",
    "short_name",
    "short_names",
]
