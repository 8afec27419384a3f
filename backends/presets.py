"""The one parser for TTS parameter presets: a preset name, or `name=value,name=value`."""

from __future__ import annotations

import math
from collections.abc import Mapping

from backends.base import N_, BackendError

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
        raise BackendError.of(
            N_(
                "{engine} has no preset {preset}. Use one of {names}, or `key=value` pairs "
                "such as `{example}` (keys: {keys})."
            ),
            engine=engine,
            preset=repr(text),
            names=", ".join(sorted(named)),
            example=example,
            keys=", ".join(bounds),
        )
    values: dict[str, float] = {}
    for part in text.split(","):
        key, sep, raw = (piece.strip() for piece in part.partition("="))
        if not sep or not key or not raw:
            raise BackendError.of(
                N_(
                    "{engine} preset {preset}: {part} is not `key=value`. Write for example "
                    "`{example}`."
                ),
                engine=engine,
                preset=repr(text),
                part=repr(part.strip()),
                example=example,
            )
        if key not in bounds:
            raise BackendError.of(
                N_("{engine} preset {preset}: unknown parameter {key}. Known parameters: {keys}."),
                engine=engine,
                preset=repr(text),
                key=repr(key),
                keys=", ".join(bounds),
            )
        if key in values:
            raise BackendError.of(
                N_("{engine} preset {preset}: {key} is given twice."),
                engine=engine,
                preset=repr(text),
                key=key,
            )
        try:
            value = float(raw)
        except ValueError:
            raise BackendError.of(
                N_("{engine} preset {preset}: {key}={value} is not a number."),
                engine=engine,
                preset=repr(text),
                key=key,
                value=repr(raw),
            ) from None
        low, high = bounds[key]
        if not math.isfinite(value) or not low <= value <= high:
            raise BackendError.of(
                N_("{engine} preset {preset}: {key}={value} is outside {low}..{high}."),
                engine=engine,
                preset=repr(text),
                key=key,
                value=raw,
                low=f"{low:g}",
                high=f"{high:g}",
            )
        values[key] = value
    return values
