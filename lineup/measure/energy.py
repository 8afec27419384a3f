"""Energy per answer from hardware counters: the arithmetic on two readings of each counter.

energy_j: the energy the machine's counters measured between an answer's start (its request
sent, or its synthesis started) and its end, in joules, summed over every counter that could be
read at both ends: each NVIDIA GPU's total energy counter (NVML
nvmlDeviceGetTotalEnergyConsumption, millijoules since the driver loaded) and each CPU package's
Linux RAPL counter (/sys/class/powercap/intel-rapl:N/energy_uj, microjoules). It is the whole
device's energy over the answer's time, idle power and every other program and answer running
meanwhile included, not the model's alone; `energy_source` names the counters ("nvml",
"rapl" or "nvml+rapl"), and the figure is n/a (None) where no counter can be read (no NVIDIA
GPU, no RAPL, or RAPL readable by root only, as on most Linux systems since 2020).

A RAPL counter counts up to its `max_energy_range_uj` and starts again from 0: a reading at
the end lower than at the start wrapped once, and the energy is end + range - start. A counter
that wrapped more than once during one answer (minutes at a package's full power) cannot be
told from one that wrapped once and is undercounted; a counter whose range is unknown and that
went down is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CounterReading:
    """One counter at one moment: its value in joules, and its wrap range in joules (None:
    it does not wrap, or the range is unknown)."""

    joules: float
    wrap_j: float | None = None


def counter_delta(start: CounterReading, end: CounterReading) -> float | None:
    """The energy between two readings of one counter, in joules; a wrap-around counted once;
    None when the counter went down and its range is unknown."""
    if end.joules >= start.joules:
        return end.joules - start.joules
    wrap_j = end.wrap_j if end.wrap_j is not None else start.wrap_j
    if wrap_j is None:
        return None
    return end.joules + wrap_j - start.joules


def energy_between(
    start: Mapping[str, CounterReading], end: Mapping[str, CounterReading]
) -> tuple[float | None, dict[str, float]]:
    """The energy over an answer from the counters read at its start and its end (by name,
    e.g. "nvml:0", "rapl:package-0"): the sum over the counters read at both ends, and each
    counter's own share. (None, {}) when no counter was read at both ends."""
    parts = {
        name: delta
        for name, reading in end.items()
        if name in start and (delta := counter_delta(start[name], reading)) is not None
    }
    return (sum(parts.values()) if parts else None), parts


def energy_source(parts: Mapping[str, float]) -> str | None:
    """What measured an energy: the kinds of its counters ("nvml", "rapl", "nvml+rapl")."""
    kinds = sorted({name.split(":", 1)[0] for name in parts})
    return "+".join(kinds) or None
