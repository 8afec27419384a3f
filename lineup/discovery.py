"""What each configured endpoint offers, and whether it is up: for the Backends page and CLI."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from backends.base import BackendError, DiscoveredModel, Health
from backends.registry import KINDS, backend_class
from lineup.config import BackendsConfig, Endpoint


@dataclass(frozen=True)
class EndpointReport:
    name: str
    kind: str
    base_url: str
    health: Health
    models: tuple[DiscoveredModel, ...] = field(default=())


def _probe(endpoint: Endpoint) -> EndpointReport:
    cls = backend_class(endpoint.kind)
    kwargs = {"api_key_env": endpoint.api_key_env} if endpoint.api_key_env else {}
    try:
        models = tuple(cls.discover(endpoint.base_url, **kwargs))
        health = Health(True, f"{len(models)} model(s)")
        try:
            health = cls.health(endpoint.base_url, **kwargs)
        except Exception:  # noqa: BLE001 - the model list already proved it answers
            pass
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
            local = getattr(backend_class(kind), "discover_local", None)
            if local is not None:
                found.extend(local())
        except (ImportError, OSError, BackendError):
            continue  # a missing optional engine (package, binary, data) just offers nothing
    return found
