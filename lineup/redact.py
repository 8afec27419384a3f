"""Keeps secrets out of what Lineup stores and prints: configured API keys become [redacted]."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values are no keys, and replacing them would garble ordinary text.
MIN_SECRET_CHARS = 6


def redact(text: str | None, secrets: Iterable[str]) -> str | None:
    """`text` with every occurrence of each secret value replaced by [redacted]."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    return text
