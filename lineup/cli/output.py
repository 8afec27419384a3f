"""What every command shares: the exit statuses, the error for input the user must fix, and
how results are written (JSON on stdout, text tables, messages on stderr)."""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

from lineup.app import clean_number

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
# What a shell reports for a command ended by SIGPIPE (128 + 13), as `yes | head -1` does.
EXIT_READER_GONE = 128 + signal.SIGPIPE


class BadInput(Exception):
    """Input the user must fix; printed to stderr, exit status 2."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(document: Any) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2, default=clean_number)
    sys.stdout.write("\n")


HARDWARE_FIELDS = ("energy_j", "energy_source", "gpu_mem_mb")


def hardware_fields(hardware: dict[str, Any]) -> dict[str, Any]:
    """An answer's energy (the whole device's over its time, with its source) and GPU memory,
    null where the machine has no counter (lineup.measure.energy)."""
    return {name: hardware.get(name) for name in HARDWARE_FIELDS}


def energy_line(result: dict[str, Any]) -> str:
    """One line of an answer's energy and GPU memory, "n/a" where there is no counter."""
    energy = result.get("energy_j")
    said = (
        f"energy {energy:.3g} J (whole {result['energy_source']} device(s) over the answer)"
        if energy is not None
        else "energy n/a"
    )
    memory = result.get("gpu_mem_mb")
    return f"{said}; GPU memory {'n/a' if memory is None else f'{memory:.0f} MiB'}"


def cell_text(value: Any) -> str:
    """A text table's cell: "-" for none, a float to three significant digits."""
    value = clean_number(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        # Three significant digits, never e-notation (999.99 is "1000", not "1e+03").
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str], headers: list[str] | None = None) -> str:
    """A text table of `columns` (the keys of `rows`), headed by the keys or by `headers`; a
    cell that is already a string is shown as it is."""
    heads = columns if headers is None else headers
    cells = [[cell_text(row.get(c)) for c in columns] for row in rows]
    # Lineup's scripts (Latin, Cyrillic) are one column wide a character, so len() aligns.
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def terminal_safe(text: str) -> str:
    """Model output for a terminal: control and format characters (escape sequences, bidi
    overrides) written as their escapes, so a reply cannot drive the terminal."""
    return "".join(
        char if char.isprintable() or char in "\n\t" else char.encode("unicode_escape").decode()
        for char in text
    )
