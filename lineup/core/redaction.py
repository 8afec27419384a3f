"""Keeps secrets out of what Lineup stores, shows and prints: configured API keys become
[redacted], in errors and in what models say (a server can echo the key it was sent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
# Where a stored row says how many times a key was [redacted] in it: a generation's
# backend_metadata, a judge verdict's request. Absent when none was.
REDACTED_COUNT = "redacted_secrets"
# Shorter values are no keys, and replacing them would garble ordinary text.
MIN_SECRET_CHARS = 6


def _keys(secrets: Iterable[str]) -> list[str]:
    """The secrets worth replacing, longest first (a key that holds another goes whole)."""
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len)[::-1]


def redacted(text: str | None, secrets: Iterable[str]) -> tuple[str | None, int]:
    """`text` with every occurrence of each secret value replaced by [redacted], and the
    number of occurrences replaced."""
    if not text:
        return text, 0
    count = 0
    for secret in _keys(secrets):
        found = text.count(secret)
        if found:
            count += found
            text = text.replace(secret, REDACTED)
    return text, count


def redact(text: str | None, secrets: Iterable[str]) -> str | None:
    """`text` with every occurrence of each secret value replaced by [redacted]."""
    return redacted(text, secrets)[0]


def redact_stream(text: str, secrets: Iterable[str]) -> str:
    """The text of a stream so far, as it may be shown or saved: redacted, and without a tail
    that could be the start of a secret (a key split between two chunks); that tail shows
    once the stream goes on past it, or as [redacted] once the key is whole."""
    keys = _keys(secrets)
    text = redact(text, keys) or ""
    held = 0
    for secret in keys:
        for length in range(min(len(secret) - 1, len(text)), held, -1):
            if text.endswith(secret[:length]):
                held = length
                break
    return text[: len(text) - held]


def redacted_values(value: Any, secrets: Iterable[str]) -> tuple[Any, int]:
    """A JSON-like value (dicts, lists, text, numbers) with every secret in its text
    redacted, and the number of occurrences replaced."""
    keys = _keys(secrets)
    if isinstance(value, str):
        return redacted(value, keys)
    if isinstance(value, dict):
        pairs = [(k, redacted_values(v, keys)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, sum(n for _, (_, n) in pairs)
    if isinstance(value, list):
        items = [redacted_values(v, keys) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0
