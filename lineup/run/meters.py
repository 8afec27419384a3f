"""The hardware's energy counters and GPU memory, read around each answer (lineup.measure.energy
defines the figures): NVML through nvidia-ml-py for NVIDIA GPUs, Linux RAPL under
/sys/class/powercap for the CPU packages.

Each reader finds its counters once per process and never fails an answer: a library that is
missing, a machine without the hardware, a file readable by root only or a call the GPU does
not support leaves that counter out, with its reason (`Meters.unavailable`), and the figures
are n/a (None) when nothing is left. `meters()` is the process's one instance.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from lineup.measure import CounterReading, energy_between, energy_source

POWERCAP = Path("/sys/class/powercap")
# A CPU package's zone: intel-rapl:0, intel-rapl:1 (its sub-zones, intel-rapl:0:0 for the
# cores, are inside the package's figure and are not added again). AMD's packages appear
# under the same name on Linux.
_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplCounters:
    """The RAPL package counters under `root` (/sys/class/powercap; a test gives a fake tree).

    A zone counts when its `energy_uj` can be read; its `max_energy_range_uj` is its wrap range
    (unknown when unreadable). Since 2020 (CVE-2020-8694) most kernels let only root read
    `energy_uj`: the zone is then left out, with that reason.
    """

    def __init__(self, root: Path = POWERCAP) -> None:
        self.unavailable: list[str] = []
        self._zones: dict[str, tuple[Path, float | None]] = {}
        if not root.is_dir():
            self.unavailable.append(f"rapl: no {root} (no RAPL on this machine)")
            return
        for zone in sorted(root.iterdir()):
            if not _PACKAGE_ZONE.fullmatch(zone.name):
                continue
            name = self._zone_name(zone)
            try:
                _read_int(zone / "energy_uj")
            except PermissionError:
                self.unavailable.append(
                    f"rapl:{name}: {zone / 'energy_uj'} is readable by root only"
                )
                continue
            except (OSError, ValueError) as exc:
                self.unavailable.append(f"rapl:{name}: {zone / 'energy_uj'} unreadable ({exc})")
                continue
            try:
                wrap_j: float | None = _read_int(zone / "max_energy_range_uj") / 1e6
            except (OSError, ValueError):
                wrap_j = None
            self._zones[f"rapl:{name}"] = (zone / "energy_uj", wrap_j)
        if not self._zones and not self.unavailable:
            self.unavailable.append(f"rapl: no package zone under {root}")

    @staticmethod
    def _zone_name(zone: Path) -> str:
        try:
            return (zone / "name").read_text().strip() or zone.name
        except OSError:
            return zone.name

    def read(self) -> dict[str, CounterReading]:
        readings = {}
        for name, (path, wrap_j) in self._zones.items():
            try:
                readings[name] = CounterReading(_read_int(path) / 1e6, wrap_j)
            except (OSError, ValueError):
                continue  # a counter that fails now is left out of this answer only
        return readings


def _import_pynvml() -> ModuleType:
    import pynvml

    return pynvml


class NvmlCounters:
    """Each NVIDIA GPU's total energy counter and memory in use, through NVML (nvidia-ml-py's
    `pynvml`; `load` gives a test its fake module). A GPU whose counter NVML does not support
    (before Volta) gives memory but no energy."""

    def __init__(self, load: Callable[[], ModuleType] = _import_pynvml) -> None:
        self.unavailable: list[str] = []
        self._nvml: Any = None
        self._handles: list[tuple[int, Any]] = []
        self._energy: set[int] = set()
        try:
            nvml = load()
            nvml.nvmlInit()
        except ImportError:
            self.unavailable.append("nvml: nvidia-ml-py is not installed")
            return
        except Exception as exc:  # noqa: BLE001 - NVMLError and its kinds: no GPU here
            self.unavailable.append(f"nvml: {exc} (no NVIDIA GPU or driver)")
            return
        self._nvml = nvml
        try:
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = [(i, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        except Exception as exc:  # noqa: BLE001
            self.unavailable.append(f"nvml: cannot list the GPUs ({exc})")
            return
        if not self._handles:
            self.unavailable.append("nvml: no GPU")
        for index, handle in self._handles:
            try:
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                self._energy.add(index)
            except Exception as exc:  # noqa: BLE001 - NVMLError_NotSupported on older GPUs
                self.unavailable.append(f"nvml:{index}: no energy counter ({exc})")

    @property
    def present(self) -> bool:
        return bool(self._handles)

    def read(self) -> dict[str, CounterReading]:
        readings = {}
        for index, handle in self._handles:
            if index not in self._energy:
                continue
            try:
                millijoules = self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except Exception:  # noqa: BLE001 - left out of this answer only
                continue
            readings[f"nvml:{index}"] = CounterReading(float(millijoules) / 1000)
        return readings

    def memory_used_mb(self) -> float | None:
        """The memory in use on every GPU together, in MiB (None without a GPU)."""
        if not self._handles:
            return None
        used = 0
        try:
            for _, handle in self._handles:
                used += int(self._nvml.nvmlDeviceGetMemoryInfo(handle).used)
        except Exception:  # noqa: BLE001
            return None
        return used / 2**20


@dataclass
class Meters:
    """Every counter of this machine, found once."""

    rapl: RaplCounters
    nvml: NvmlCounters

    @property
    def unavailable(self) -> list[str]:
        return [*self.nvml.unavailable, *self.rapl.unavailable]

    def read(self) -> dict[str, CounterReading]:
        return {**self.nvml.read(), **self.rapl.read()}

    def start(self, gpu_memory: bool = False) -> AnswerMeter:
        """Read the counters at an answer's start; `gpu_memory` for an in-process engine."""
        return AnswerMeter(self, self.read(), self.gpu_mb(gpu_memory), gpu_memory)

    def gpu_mb(self, wanted: bool) -> float | None:
        return self.nvml.memory_used_mb() if wanted else None


@dataclass
class AnswerMeter:
    """The counters read at an answer's start; `fields()` reads them again at its end."""

    meters: Meters
    started: dict[str, Any]
    gpu_mb_at_start: float | None
    gpu_memory: bool
    parts: dict[str, float] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """energy_j and energy_source (lineup.measure.energy), and gpu_mem_mb: the GPUs'
        memory in use at the larger of the answer's start and end (in-process engines on a
        machine with an NVIDIA GPU); each None when n/a."""
        energy_j, self.parts = energy_between(self.started, self.meters.read())
        gpu = [
            mb
            for mb in (self.gpu_mb_at_start, self.meters.gpu_mb(self.gpu_memory))
            if mb is not None
        ]
        return {
            "energy_j": energy_j,
            "energy_source": energy_source(self.parts),
            "gpu_mem_mb": max(gpu) if gpu else None,
        }


_meters: Meters | None = None
_meters_lock = threading.Lock()


def meters() -> Meters:
    """This process's meters, found on first use."""
    global _meters
    with _meters_lock:
        if _meters is None:
            _meters = Meters(RaplCounters(), NvmlCounters())
        return _meters
