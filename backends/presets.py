"""The one parser for TTS parameter presets: a preset name, or `name=value,name=value`."""

from __future__ import annotations

import math
from collections.abc import Mapping

from backends.base import BackendError

Bounds = Mapping[str, tuple[float, float]]


def parse_preset(
    preset: str | None,
    named: Mapping[str, Mapping[str, float]],
    bounds: Bounds,
    *,
    engine: str,
    example: str,
) -> dict[str, float]:
    """The parameter values a preset stands for.

    `None` or "" means the engine's defaults (an empty dict). A name from `named` gives its
    values. Anything else must be `key=value` pairs separated by commas, each key one of
    `bounds` (at most once) and each value a finite number within that key's bounds; any
    other text is an error that lists what is accepted.
    """
    text = (preset or "").strip()
    if not text:
        return {}
    if text in named:
        return dict(named[text])
    if "=" not in text:
        raise BackendError(
            f"{engine} has no preset {text!r}. Use one of {', '.join(sorted(named))}, or "
            f"`key=value` pairs such as `{example}` (keys: {', '.join(bounds)})."
        )
    values: dict[str, float] = {}
    for part in text.split(","):
        key, sep, raw = (piece.strip() for piece in part.partition("="))
        if not sep or not key or not raw:
            raise BackendError(
                f"{engine} preset {text!r}: {part.strip()!r} is not `key=value`. "
                f"Write for example `{example}`."
            )
        if key not in bounds:
            raise BackendError(
                f"{engine} preset {text!r}: unknown parameter {key!r}. "
                f"Known parameters: {', '.join(bounds)}."
            )
        if key in values:
            raise BackendError(f"{engine} preset {text!r}: {key} is given twice.")
        try:
            value = float(raw)
        except ValueError:
            raise BackendError(
                f"{engine} preset {text!r}: {key}={raw!r} is not a number."
            ) from None
        low, high = bounds[key]
        if not math.isfinite(value) or not low <= value <= high:
            raise BackendError(
                f"{engine} preset {text!r}: {key}={raw} is outside {low:g}..{high:g}."
            )
        values[key] = value
    return values
