"""What backends say about their models (`describe()`: digest, quantisation, server version),
asked once per model and kept for a few minutes, so a comparison does not pay for those
look-ups on every request. The person can ask for fresh answers (`forget`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DESCRIBE_TTL_S = 300.0

Describer = Callable[[str, Any], dict[str, Any]]


def describe_now(_model: str, backend: Any) -> dict[str, Any]:
    """Ask the backend every time (what a comparison without a cache does)."""
    return dict(backend.describe())


class DescribeCache:
    """`describe()` answers per model spec, kept for `ttl_s`, empty ones too: a server that
    tells nothing (OpenAI's has no /version) is not asked again on every request."""

    def __init__(self, ttl_s: float = DESCRIBE_TTL_S, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, dict[str, Any]]] = {}

    def __call__(self, model: str, backend: Any) -> dict[str, Any]:
        now = self._clock()
        with self._lock:
            kept = self._answers.get(model)
        if kept is not None and now - kept[0] < self.ttl_s:
            return dict(kept[1])
        answer = describe_now(model, backend)
        with self._lock:
            self._answers[model] = (now, dict(answer))
        return answer

    def forget(self) -> None:
        """Ask every backend afresh next time (the Backends page's refresh)."""
        with self._lock:
            self._answers.clear()
