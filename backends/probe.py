"""Short questions to a model's server about itself, for the provenance card: each bounded by a
short timeout and all of one model's by one budget; never raising. Every field asked for is
either answered or left None with the reason in `reasons`.

What a server says is hostile text: values are kept only as short strings, numbers or booleans,
and a path under a home folder is shown from `~` (a user name is not the record's business).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from backends.http_stream import shorten

PROBE_REQUEST_TIMEOUT_S = 2.0  # one request
PROBE_BUDGET_S = 4.0  # every request of one model's probe together
MAX_VALUE_CHARS = 200

_HOME = re.compile(
    r"^(?:/home|/Users|/var/home)/[^/]+(?=/)|^/root(?=/)|^[A-Za-z]:\\Users\\[^\\]+(?=\\)"
)


def plain(value: Any) -> str | int | float | bool | None:
    """A server's value as something safe to store and show: a short one-line string, a
    number or a boolean (anything else becomes its short text)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return shorten(
        value if isinstance(value, str) else json.dumps(value, default=str), MAX_VALUE_CHARS
    )


def without_home(path: str) -> str:
    """`/home/alice/models/x.gguf` -> `~/models/x.gguf` (and root's `/root/...`): the record
    keeps the file, not whose it is."""
    return _HOME.sub("~", path)


def host_of(base_url: str | None) -> str | None:
    """host:port of a server (no user, no path, no query): where a model ran."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if not parts.hostname:
        return None
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{name}:{parts.port}" if parts.port else name


class Card:
    """The fields of one model's provenance as they are learned, each with a reason if not."""

    def __init__(self, engine: str, fields: tuple[str, ...], **known: Any) -> None:
        self.values: dict[str, Any] = {"engine": engine} | dict.fromkeys(fields)
        self.reasons: dict[str, str] = {}
        for name, value in known.items():
            self.values[name] = plain(value)

    def set(self, name: str, value: Any) -> None:
        if value is not None and value != "":
            self.values[name] = plain(value)
            self.reasons.pop(name, None)

    def missing(self, reason: str, *names: str) -> None:
        """`names` (those not known yet) stay empty, for `reason`."""
        for name in names:
            if self.values.get(name) is None:
                self.reasons.setdefault(name, reason)

    def as_dict(self) -> dict[str, Any]:
        for name, value in self.values.items():
            if value is None:
                self.reasons.setdefault(name, "the server or engine did not say")
        return self.values | {"reasons": dict(self.reasons)}


class Prober:
    """GET or POST JSON on one server, each request under `request_timeout_s`, all of them
    within `budget_s`. `ask` returns (the JSON object, None) or (None, why not)."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        *,
        request_timeout_s: float = PROBE_REQUEST_TIMEOUT_S,
        budget_s: float = PROBE_BUDGET_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_timeout_s = request_timeout_s
        self.deadline = time.monotonic() + budget_s
        self.budget_s = budget_s
        self._client = httpx.Client(
            headers=headers or {}, transport=transport, follow_redirects=False
        )

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._client.close()

    def ask(
        self, path: str, body: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any] | None, str | None]:
        left_s = self.deadline - time.monotonic()
        if left_s <= 0.05:
            return None, f"{path}: not asked, the probe's {self.budget_s:g} s were used up"
        limit_s = min(self.request_timeout_s, left_s)
        try:
            if body is None:
                response = self._client.get(self.base_url + path, timeout=limit_s)
            else:
                response = self._client.post(self.base_url + path, json=body, timeout=limit_s)
        except httpx.TimeoutException:
            return None, f"{path}: no answer within {limit_s:.1f} s"
        except httpx.HTTPError as exc:
            return None, f"{path}: {shorten(type(exc).__name__ + ': ' + str(exc), 120)}"
        if response.status_code != 200:
            return None, f"{path}: HTTP {response.status_code}"
        try:
            data = response.json()
        except ValueError:
            return None, f"{path}: the answer is not JSON"
        if not isinstance(data, dict):
            return None, f"{path}: the answer is not a JSON object"
        return data, None


IN_PROCESS = "in process"  # the host of an in-process engine's card
IN_PROCESS_FIELDS = ("dtype", "device", "parameters", "engine_version", "torch_version")


def package_version(name: str) -> str | None:
    """An installed package's version (None when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def torch_model_card(engine: str, package: str, model: Any) -> dict[str, Any]:
    """A torch model in this process: its dtype, device and parameter count, with the
    versions of its engine (`package`) and torch."""
    card = Card(engine, ("host", *IN_PROCESS_FIELDS), host=IN_PROCESS)
    card.set("dtype", str(model.dtype).removeprefix("torch."))
    card.set("device", str(model.device))
    card.set("parameters", sum(parameter.numel() for parameter in model.parameters()))
    card.set("engine_version", package_version(package))
    card.set("torch_version", package_version("torch"))
    return card.as_dict()


def engine_card(engine: str, package: str | None, **known: Any) -> dict[str, Any]:
    """An engine in this process or a local program: what is knowable, its version."""
    card = Card(engine, ("host", "engine_version", *known), host=IN_PROCESS)
    for name, value in known.items():
        card.set(name, value)
    if package is not None:
        card.set("engine_version", package_version(package))
    return card.as_dict()
