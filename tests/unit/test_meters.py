"""Energy and GPU memory: the RAPL reader against fake sysfs trees, the NVML reader against a fake
pynvml module, and the arithmetic (wrap-around) against sums done by hand."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from backends.base import Chunk, Usage, VLMBackend, VLMRequest
from backends.spec import parse_spec
from lineup.measure import CounterReading, counter_delta, energy_between, energy_source
from lineup.run import meters as meters_module
from lineup.run.meters import Meters, NvmlCounters, RaplCounters
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from tests.builders import by_name, resolved_all


def zone(root: Path, name: str, label: str, energy_uj: int | None, range_uj: int | None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "name").write_text(label + "\n")
    if energy_uj is not None:
        (folder / "energy_uj").write_text(f"{energy_uj}\n")
    if range_uj is not None:
        (folder / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return folder


def set_energy(folder: Path, energy_uj: int) -> None:
    (folder / "energy_uj").write_text(f"{energy_uj}\n")


def test_rapl_reads_each_package_and_leaves_its_sub_zones_out(tmp_path: Path) -> None:
    package0 = zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, 262_143_328_850)
    package1 = zone(tmp_path, "intel-rapl:1", "package-1", 5_000_000, 262_143_328_850)
    zone(tmp_path, "intel-rapl:0:0", "core", 400_000, 262_143_328_850)  # inside package-0's
    zone(tmp_path, "intel-rapl-mmio:0", "package-0", 9, 262_143_328_850)  # another interface
    rapl = RaplCounters(tmp_path)
    start = rapl.read()
    assert sorted(start) == ["rapl:package-0", "rapl:package-1"]
    set_energy(package0, 3_500_000)  # +2.5 J
    set_energy(package1, 5_250_000)  # +0.25 J
    energy_j, parts = energy_between(start, rapl.read())
    assert parts == pytest.approx({"rapl:package-0": 2.5, "rapl:package-1": 0.25})
    assert energy_j == pytest.approx(2.75)
    assert energy_source(parts) == "rapl"
    assert rapl.unavailable == []


def test_rapl_counter_that_wrapped_counts_the_range_once(tmp_path: Path) -> None:
    # The counter counts to max_energy_range_uj (here 10 J) and starts again from 0:
    # 9.5 J -> wrap -> 1.25 J is 0.5 + 1.25 = 1.75 J.
    package = zone(tmp_path, "intel-rapl:0", "package-0", 9_500_000, 10_000_000)
    rapl = RaplCounters(tmp_path)
    start = rapl.read()
    set_energy(package, 1_250_000)
    energy_j, _ = energy_between(start, rapl.read())
    assert energy_j == pytest.approx(1.75)


def test_a_counter_that_went_down_without_a_known_range_is_left_out() -> None:
    assert counter_delta(CounterReading(5.0), CounterReading(2.0)) is None
    assert counter_delta(CounterReading(5.0, 10.0), CounterReading(2.0, 10.0)) == 7.0
    assert energy_between({"rapl:x": CounterReading(5.0)}, {"rapl:x": CounterReading(2.0)}) == (
        None,
        {},
    )


def test_rapl_unknown_range_still_measures_a_counter_that_did_not_wrap(tmp_path: Path) -> None:
    package = zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, None)
    rapl = RaplCounters(tmp_path)
    start = rapl.read()
    set_energy(package, 1_600_000)
    assert energy_between(start, rapl.read())[0] == pytest.approx(0.6)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_rapl_readable_by_root_only_is_n_a_with_its_reason(tmp_path: Path) -> None:
    package = zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, 10_000_000)
    (package / "energy_uj").chmod(0o000)
    try:
        rapl = RaplCounters(tmp_path)
        assert rapl.read() == {}
        assert rapl.unavailable == [
            f"rapl:package-0: {package / 'energy_uj'} is readable by root only"
        ]
    finally:
        (package / "energy_uj").chmod(0o644)


def test_rapl_permission_error_is_caught_whatever_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, 10_000_000)
    readable = zone(tmp_path, "intel-rapl:1", "package-1", 2_000_000, 10_000_000)
    real_read_text = Path.read_text

    def read_text(path: Path, *args: Any, **kwargs: Any) -> str:
        if path.name == "energy_uj" and path.parent.name == "intel-rapl:0":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    rapl = RaplCounters(tmp_path)
    assert list(rapl.read()) == ["rapl:package-1"]
    assert "readable by root only" in rapl.unavailable[0]
    # A counter that fails later is left out of that answer only.
    start = rapl.read()
    (readable / "energy_uj").unlink()
    assert energy_between(start, rapl.read()) == (None, {})


def test_no_powercap_folder_is_n_a(tmp_path: Path) -> None:
    rapl = RaplCounters(tmp_path / "missing")
    assert rapl.read() == {}
    assert "no RAPL on this machine" in rapl.unavailable[0]
    empty = RaplCounters(tmp_path)
    assert empty.read() == {} and "no package zone" in empty.unavailable[0]


class NVMLError(Exception):
    pass


def fake_pynvml(
    energies_mj: list[int | None], used_bytes: list[int], init_error: str | None = None
) -> ModuleType:
    """A pynvml with the calls the reader makes: per GPU a total energy counter (None: not
    supported, as before Volta) and the memory in use."""
    module = ModuleType("pynvml")
    state: dict[str, Any] = {"energies": list(energies_mj), "used": list(used_bytes)}

    def init() -> None:
        if init_error is not None:
            raise NVMLError(init_error)

    def energy(handle: int) -> int:
        value = state["energies"][handle]
        if value is None:
            raise NVMLError("Not Supported")
        return value

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(state["used"])  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    module.nvmlDeviceGetTotalEnergyConsumption = energy  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda handle: SimpleNamespace(  # type: ignore[attr-defined]
        used=state["used"][handle], total=24 * 2**30, free=0
    )
    module.state = state  # type: ignore[attr-defined]
    return module


def test_nvml_energy_sums_the_gpus_that_have_a_counter_in_joules() -> None:
    nvml = fake_pynvml([10_000, None], [2 * 2**30, 512 * 2**20])
    counters = NvmlCounters(lambda: nvml)
    start = counters.read()
    assert list(start) == ["nvml:0"]  # GPU 1 has no energy counter
    assert counters.unavailable == ["nvml:1: no energy counter (Not Supported)"]
    nvml.state["energies"][0] = 13_500  # +3.5 J (the counter is in millijoules)
    energy_j, parts = energy_between(start, counters.read())
    assert energy_j == pytest.approx(3.5) and energy_source(parts) == "nvml"
    assert counters.memory_used_mb() == pytest.approx(2048 + 512)


def test_no_nvidia_gpu_or_library_is_n_a() -> None:
    absent = NvmlCounters(lambda: fake_pynvml([], [], init_error="NVML Shared Library Not Found"))
    assert absent.read() == {} and absent.memory_used_mb() is None
    assert "NVML Shared Library Not Found" in absent.unavailable[0]

    def missing() -> ModuleType:
        raise ImportError("No module named 'pynvml'")

    assert "nvidia-ml-py is not installed" in NvmlCounters(missing).unavailable[0]


def test_an_answer_meter_sums_gpu_and_cpu_and_keeps_the_larger_gpu_memory(tmp_path: Path) -> None:
    nvml = fake_pynvml([1_000_000], [3 * 2**30])
    package = zone(tmp_path, "intel-rapl:0", "package-0", 50_000_000, 262_143_328_850)
    meters = Meters(RaplCounters(tmp_path), NvmlCounters(lambda: nvml))
    meter = meters.start(gpu_memory=True)
    nvml.state["energies"][0] = 1_012_000  # +12 J on the GPU
    nvml.state["used"][0] = 2 * 2**30  # less in use at the end than at the start
    set_energy(package, 58_000_000)  # +8 J on the CPU package
    assert meter.fields() == {
        "energy_j": pytest.approx(20.0),
        "energy_source": "nvml+rapl",
        "gpu_mem_mb": pytest.approx(3072.0),
    }
    assert meter.parts == pytest.approx({"nvml:0": 12.0, "rapl:package-0": 8.0})
    # Not an in-process engine: no GPU memory, the energy all the same.
    assert meters.start(gpu_memory=False).fields()["gpu_mem_mb"] is None


def test_on_a_machine_without_counters_every_figure_is_n_a(tmp_path: Path) -> None:
    meters = Meters(
        RaplCounters(tmp_path / "none"),
        NvmlCounters(lambda: fake_pynvml([], [], init_error="NVML Shared Library Not Found")),
    )
    assert meters.start(gpu_memory=True).fields() == {
        "energy_j": None,
        "energy_source": None,
        "gpu_mem_mb": None,
    }
    assert len(meters.unavailable) == 2


class _Answering(VLMBackend):
    """Two chunks and a usage record, from a server."""

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk(text="Two")
        yield Chunk(text=" cats.")
        yield Chunk(usage=Usage(output_tokens=2, output_tokens_source="client", loaded=False))


class _InProcess(_Answering):
    """The same, in this process: its answers' GPU memory is read."""

    in_process = True


def test_the_runner_stores_each_answers_energy_and_an_in_process_engines_gpu_memory(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nvml = fake_pynvml([0], [1024 * 2**20])
    calls = {"energy": 0}
    energy = nvml.nvmlDeviceGetTotalEnergyConsumption

    def counting(handle: int) -> int:
        # Each read 250 mJ later than the last: an answer's two reads are 0.25 J apart, or
        # more when another answer read in between (the whole device's energy).
        calls["energy"] += 1
        nvml.state["energies"][handle] = calls["energy"] * 250
        return energy(handle)

    nvml.nvmlDeviceGetTotalEnergyConsumption = counting  # type: ignore[attr-defined]
    machine = Meters(RaplCounters(tmp_path / "no-rapl"), NvmlCounters(lambda: nvml))
    monkeypatch.setattr(meters_module, "_meters", machine)
    backends = {
        "fake:in-process": _InProcess(parse_spec("fake:in-process")),
        "fake:server": _Answering(parse_spec("fake:server")),
    }
    comparison = start_vlm_comparison(
        store, resolved_all(list(backends)), VLMRequest("How many?"), by_name(backends.__getitem__)
    )
    list(comparison.iter_events())  # to the end
    results = {r.model: r for r in comparison.results()}
    rows = {g.model_spec: g for g in store.get_run(comparison.run_id).generations}
    for model, row in rows.items():
        assert row.status == "ok" and row.cold is False
        assert row.energy_source == "nvml" and 0.25 <= row.energy_j <= 0.75
        assert results[model].hardware["energy_j"] == row.energy_j
        assert row.backend_metadata["energy_j_by_counter"] == {"nvml:0": row.energy_j}
    assert rows["fake:in-process"].gpu_mem_mb == pytest.approx(1024.0)
    assert rows["fake:server"].gpu_mem_mb is None  # not an in-process engine
