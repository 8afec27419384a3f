"""What every command shares: the exit statuses, the error for input the user must fix, and
how results are written (JSON on stdout, text tables, messages on stderr)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from typing import Any

from lineup.app import ENGLISH, _, clean_number, current_language

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
    energy, memory = result.get("energy_j"), result.get("gpu_mem_mb")
    if energy is None:
        said = _("energy n/a")
    else:
        said = _("energy {energy} J (whole {source} device(s) over the answer)").format(
            energy=decimal_text(f"{energy:.3g}"), source=result["energy_source"]
        )
    if memory is None:
        return _("{energy}; GPU memory n/a").format(energy=said)
    return _("{energy}; GPU memory {memory} MiB").format(energy=said, memory=f"{memory:.0f}")


def decimal_text(text: str) -> str:
    """A number written in English ("0.25") with the current language's decimal mark."""
    return text if current_language() == ENGLISH else text.replace(".", ",")


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
    # Latin and Cyrillic letters take one terminal column each, so len() aligns the columns.
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def said_table(rows: list[dict[str, Any]], columns: list[str], header: Callable[[str], str]) -> str:
    """A table for a person (`study show`, `study compare`): in English headed by its keys,
    as it always was; in another language by `header(key)`, its figures with the language's
    decimal mark. `--json` keeps the keys and the values."""
    if current_language() == ENGLISH:
        return table(rows, columns)
    said = [
        {
            key: decimal_text(cell_text(row.get(key)))
            if isinstance(row.get(key), float)
            else row.get(key)
            for key in columns
        }
        for row in rows
    ]
    return table(said, columns, [header(key) for key in columns])


def terminal_safe(text: str) -> str:
    """Model output for a terminal: control and format characters (escape sequences, bidi
    overrides) written as their escapes, so a reply cannot drive the terminal."""
    return "".join(
        char if char.isprintable() or char in "\n\t" else char.encode("unicode_escape").decode()
        for char in text
    )
