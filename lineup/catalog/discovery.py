"""What each endpoint offers, and whether it is up: for the Backends page and CLI. The
endpoints are those of backends.toml (and Ollama's), and, asked for, those that only the specs
of stored answers name (`KIND:MODEL@BASE_URL` typed in a past comparison)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from sqlalchemy import text

from backends.base import BackendError, DiscoveredModel, Health
from backends.registry import KINDS, backend_class, endpoint_class, is_endpoint_kind
from backends.spec import SpecError, check_base_url, redact_url, split_base_url
from lineup.catalog.config import BackendsConfig, Endpoint
from lineup.store import Store

PAST = "past comparisons"  # the name of an endpoint only stored answers name


@dataclass(frozen=True)
class EndpointReport:
    name: str
    kind: str
    base_url: str  # as shown: an endpoint from stored answers' specs has it redacted
    health: Health
    models: tuple[DiscoveredModel, ...] = field(default=())
    # The specs of stored answers that name this endpoint (redacted), when backends.toml
    # does not: empty for a configured endpoint.
    used_by: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Target:
    endpoint: Endpoint
    shown_url: str
    used_by: tuple[str, ...] = ()
    refused: str | None = None  # why it is not asked (a credential in its URL)


def _probe(target: _Target) -> EndpointReport:
    endpoint = target.endpoint

    def report(health: Health, models: tuple[DiscoveredModel, ...] = ()) -> EndpointReport:
        if target.shown_url != endpoint.base_url:  # no credential in what is shown
            values = {
                name: value.replace(endpoint.base_url, target.shown_url)
                if isinstance(value, str)
                else value
                for name, value in (health.values or {}).items()
            }
            health = replace(
                health,
                message=health.message.replace(endpoint.base_url, target.shown_url),
                values=values if health.values is not None else None,
            )
        return EndpointReport(
            endpoint.name, endpoint.kind, target.shown_url, health, models, target.used_by
        )

    if target.refused is not None:
        return report(Health(False, target.refused))
    cls = endpoint_class(endpoint.kind)
    try:
        models = tuple(cls.discover(endpoint.base_url, api_key_env=endpoint.api_key_env))
        # Never raises: a failure is Health(False, advice).
        health = cls.health(endpoint.base_url, api_key_env=endpoint.api_key_env)
    except BackendError as exc:
        return report(Health(False, str(exc), template=exc.template, values=exc.values))
    return report(health, models)


def probe_endpoints(config: BackendsConfig, store: Store | None = None) -> list[EndpointReport]:
    """Probe every endpoint at once, so one that hangs costs its timeout only once: those of
    backends.toml, then (given the store) those that only stored answers' specs name."""
    targets = [_Target(endpoint, endpoint.base_url) for endpoint in config.endpoints]
    if store is not None:
        targets += _past_targets(used_specs(store), config)
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        return list(pool.map(_probe, targets))


# Every distinct spec of stored answers, one index seek each (a loose scan of the index on
# generations (kind, model_spec, status)) rather than a read of every row: a store holds
# millions of answers and a few dozen specs.
_DISTINCT_SPECS = text(
    """
    WITH RECURSIVE specs(spec) AS (
        SELECT (SELECT model_spec FROM generations WHERE kind = :kind
                ORDER BY model_spec LIMIT 1)
        UNION ALL
        SELECT (SELECT model_spec FROM generations WHERE kind = :kind AND model_spec > specs.spec
                ORDER BY model_spec LIMIT 1)
        FROM specs WHERE specs.spec IS NOT NULL
    )
    SELECT spec FROM specs WHERE spec IS NOT NULL
    """
)


def used_specs(store: Store) -> list[str]:
    """The distinct model specs of stored answers (both kinds), in order."""
    with store.session() as session:
        found = {
            spec
            for kind in ("vlm", "tts")
            for spec in session.scalars(_DISTINCT_SPECS, {"kind": kind})
        }
    return sorted(found)


def _past_targets(specs: list[str], config: BackendsConfig) -> list[_Target]:
    """The endpoints that specs name with `@BASE_URL` and backends.toml does not hold, each
    once (by kind and URL), with the specs that name it."""
    named: dict[tuple[str, str], list[str]] = {}
    for spec in specs:
        head, base_url = split_base_url(spec.strip())
        kind = head.split(":", 1)[0].strip().lower()
        if base_url is None or kind not in KINDS or not is_endpoint_kind(kind):
            continue
        if config.endpoint_at(base_url) is not None:
            continue  # listed with backends.toml's endpoints
        named.setdefault((kind, base_url.rstrip("/")), []).append(f"{head}@{redact_url(base_url)}")
    targets = []
    for (kind, base_url), used_by in named.items():
        refused = None
        try:
            check_base_url(base_url)
        except SpecError as exc:  # an old row's URL with a credential: never sent again
            refused = f"Not asked: {exc}"
        endpoint = Endpoint(PAST, kind, base_url)  # its kind's own key, as the spec had
        targets.append(_Target(endpoint, redact_url(base_url), tuple(used_by), refused))
    return targets


def local_models() -> list[DiscoveredModel]:
    """Offline models that need no server: OCR languages, and more as backends add them."""
    found: list[DiscoveredModel] = []
    for kind in KINDS:
        try:
            found.extend(backend_class(kind).discover_local())
        except (ImportError, OSError, BackendError):
            continue  # a missing optional engine (package, binary, data) just offers nothing
    return found
