"""At most one start per request id, across threads: a start button clicked twice (or a page
rerun that repeats the click) starts one run, and the repeat gets the run the first started."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

KEEP_REQUESTS = 256  # a repeat comes within seconds; older ids are forgotten


@dataclass
class _Request:
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False
    result: Any = None


class StartOnce:
    """Request id -> what its start returned, kept for the last KEEP_REQUESTS ids.

    A start that raises records nothing: the same id may start once the input is fixed. While
    one thread starts an id, a second with the same id waits for it and gets its result (never
    a second run). Different ids start in parallel.
    """

    def __init__(self, keep: int = KEEP_REQUESTS) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._requests: OrderedDict[str, _Request] = OrderedDict()

    def __call__(self, request_id: str | None, start: Callable[[], T]) -> T:
        if request_id is None:
            return start()
        request = self._request(request_id)
        with request.lock:
            if not request.started:
                request.result = start()
                request.started = True
            result: T = request.result
            return result

    def _request(self, request_id: str) -> _Request:
        with self._lock:
            request = self._requests.get(request_id)
            if request is None:
                request = self._requests[request_id] = _Request()
            self._requests.move_to_end(request_id)
            # Forget the oldest ids, never one being started (a waiter would start it again).
            for old_id in list(self._requests)[: max(0, len(self._requests) - self._keep)]:
                if not self._requests[old_id].lock.locked():
                    del self._requests[old_id]
            return request
