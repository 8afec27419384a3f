"""What each configured endpoint offers, and whether it is up: for the Backends page and CLI."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from backends.base import BackendError, DiscoveredModel, Health
from backends.registry import KINDS, backend_class, endpoint_class
from lineup.config import BackendsConfig, Endpoint


@dataclass(frozen=True)
class EndpointReport:
    name: str
    kind: str
    base_url: str
    health: Health
    models: tuple[DiscoveredModel, ...] = field(default=())


def _probe(endpoint: Endpoint) -> EndpointReport:
    cls = endpoint_class(endpoint.kind)
    try:
        models = tuple(cls.discover(endpoint.base_url, api_key_env=endpoint.api_key_env))
        # Never raises: a failure is Health(False, advice).
        health = cls.health(endpoint.base_url, api_key_env=endpoint.api_key_env)
    except BackendError as exc:
        return EndpointReport(
            endpoint.name, endpoint.kind, endpoint.base_url, Health(False, str(exc))
        )
    return EndpointReport(endpoint.name, endpoint.kind, endpoint.base_url, health, models)


def probe_endpoints(config: BackendsConfig) -> list[EndpointReport]:
    """Probe every endpoint at once, so one that hangs costs its timeout only once."""
    if not config.endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(config.endpoints))) as pool:
        return list(pool.map(_probe, config.endpoints))


def local_models() -> list[DiscoveredModel]:
    """Offline models that need no server: OCR languages, and more as backends add them."""
    found: list[DiscoveredModel] = []
    for kind in KINDS:
        try:
            found.extend(backend_class(kind).discover_local())
        except (ImportError, OSError, BackendError):
            continue  # a missing optional engine (package, binary, data) just offers nothing
    return found
