"""API keys, resolved in one place: the environment first, then the sources the app registers
(its Streamlit secrets), under the same variable names. Keys are read when a request is made
and never stored."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# A source answers a variable name with its key, or None when it has none.
KeySource = Callable[[str], str | None]

_sources: list[KeySource] = []
_lock = threading.Lock()


def register_source(source: KeySource) -> None:
    """Look keys up with `source(name)` too, after the environment (the environment wins).

    The app's components layer registers one that reads `st.secrets`; registering the same
    source again does nothing, so it may be called on every page run.
    """
    with _lock:
        if source not in _sources:
            _sources.append(source)


def unregister_source(source: KeySource) -> None:
    with _lock:
        if source in _sources:
            _sources.remove(source)


def api_key(name: str | None) -> str | None:
    """The key held by the variable `name`: the environment's value, else the first source's;
    None when no one has a non-empty one (or `name` is None)."""
    if not name:
        return None
    value = os.environ.get(name, "").strip()
    if value:
        return value
    with _lock:
        sources = list(_sources)
    for source in sources:
        try:
            found = source(name)
        except Exception:  # noqa: BLE001 - a broken source (no secrets file) has no key
            log.debug("The key source %r failed for %s.", source, name, exc_info=True)
            continue
        if isinstance(found, str) and found.strip():
            return found.strip()
    return None
