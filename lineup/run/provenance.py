"""What ran where: the machine that ran a comparison or a study, what each model's server or
engine said about itself, and the words a comparison says when two columns ran under
conditions that differ in a way that matters.

The machine (`machine_snapshot`): CPU model (/proc/cpuinfo's "model name", else `platform`),
logical cores, total memory in GiB (2**30 bytes), OS, Python, torch's version and the device it
would use, and each NVIDIA GPU (name, memory in GiB, driver) through NVML (nvidia-ml-py; an
empty list when there is no NVIDIA GPU or driver: "no GPU"). Never the host name, a user name,
a path under a home folder or the environment. It cannot change while a process lives, so it is
read once per process.

A model's provenance (`ProvenanceBook`): its backend's `describe()` (backends.probe: each
request under 2 s, all of one model's under 4 s, every field it could not learn None with its
reason), asked once per model per comparison or study, after the comparison's last answer is
final (a study's: after that model's first answer), so a probe is never in a timed request and
never delays the first one. The book bounds the whole call again (a hung engine leaves the
card empty with the reason) and stores it (lineup.store, `model_provenance`), redacted.
"""

from __future__ import annotations

import functools
import importlib
import platform
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.probe import IN_PROCESS, PROBE_BUDGET_S, package_version, plain
from lineup.catalog import ResolvedModel
from lineup.core import (
    ENGLISH,
    N_,
    _,
    current_language,
    grouped,
    ngettext,
    number,
    redacted_values,
)
from lineup.run.contention import THIS_MACHINE, is_this_machine
from lineup.store import Store

# How long the book waits for one model's `describe()` beyond its own budget.
PROBE_GRACE_S = 1.0
GIB = 2**30


# The machine ----------------------------------------------------------------------------------


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's marketing name ("AMD EPYC 7B13"), else what `platform` knows."""
    try:
        for line in cpuinfo.read_text("utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def nvidia_gpus(nvml: Any = None) -> tuple[list[dict[str, Any]], str | None]:
    """Each NVIDIA GPU NVML sees (name, memory_gb, driver), or [] and why there is none."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")  # nvidia-ml-py
        except ImportError:
            return [], "nvidia-ml-py is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        return [], f"no NVIDIA driver ({exc})"
    try:
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append(
                {
                    "name": _text(nvml.nvmlDeviceGetName(handle)),
                    "memory_gb": round(nvml.nvmlDeviceGetMemoryInfo(handle).total / GIB, 1),
                    "driver": driver,
                }
            )
        return gpus, None if gpus else "NVML lists no GPU"
    except Exception as exc:  # noqa: BLE001 - a GPU NVML cannot read is not a failed run
        return [], f"NVML could not be read ({exc})"
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001, S110 - nothing to undo
            pass


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def torch_device(has_gpu: bool) -> str | None:
    """The device torch would run on here: asked of torch when it is loaded already (or a GPU
    makes the answer worth loading it); "cpu" when there is no NVIDIA GPU; None without torch."""
    if "torch" not in sys.modules and not has_gpu:
        return "cpu" if package_version("torch") else None
    try:
        import torch
    except ImportError:
        return None
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def _os_name() -> str:
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        pretty = None
    base = f"{platform.system()} {platform.release()}".strip()
    return f"{base} ({pretty})" if pretty else base


def read_machine(nvml: Any = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """The machine as it is now (see the module's docstring); `machine_snapshot` keeps it."""
    import psutil

    gpus, no_gpu = nvidia_gpus(nvml)
    machine: dict[str, Any] = {
        "cpu": cpu_model(cpuinfo),
        "cores": psutil.cpu_count(logical=True) or 0,
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / GIB, 1),
        "os": _os_name(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "torch_device": torch_device(bool(gpus)),
        "gpus": gpus,
    }
    if no_gpu is not None:
        machine["gpu_reason"] = no_gpu
    return machine


@functools.cache
def machine_snapshot() -> dict[str, Any]:
    """This machine, read once per process (nothing in it changes while a process lives)."""
    return read_machine()


def machine_line(machine: Mapping[str, Any] | None) -> str:
    """One line for a person: "AMD EPYC 7B13, 2 cores, 7.8 GiB, Linux 6.1, no GPU"."""
    if not machine:
        return _("machine not recorded")
    gpus = machine.get("gpus") or []
    gpu_text = (
        ", ".join(
            _("{name} ({memory} GiB, driver {driver})").format(
                name=g.get("name"), memory=_gib(g.get("memory_gb")), driver=g.get("driver")
            )
            for g in gpus
        )
        if gpus
        else _("no GPU")
    )
    os_name = str(machine.get("os") or "").split(" (")[0]
    parts = [
        str(machine.get("cpu") or _("unknown CPU")),
        _("{cores} cores").format(cores=machine.get("cores")),
        _("{memory} GiB").format(memory=_gib(machine.get("memory_gb"))),
        os_name,
        f"Python {machine.get('python')}",
    ]
    if machine.get("torch"):
        parts.append(f"torch {machine.get('torch')} ({machine.get('torch_device')})")
    return ", ".join(part for part in [*parts, gpu_text] if part)


def _gib(value: Any) -> str:
    """A memory size in GiB as recorded (a float to one decimal), with the language's decimal
    separator: "23.5" in English (as recorded, as it always was), "23,5" in Russian."""
    if current_language() == ENGLISH or isinstance(value, bool):
        return str(value)
    if not isinstance(value, int | float):
        return str(value)  # not recorded, or recorded as something else: as it is
    return number(value, 0 if isinstance(value, int) else 1)


# The models -----------------------------------------------------------------------------------


def ask_bounded(
    backend: Any, engine: str, bound_s: float = PROBE_BUDGET_S + PROBE_GRACE_S
) -> dict[str, Any]:
    """The backend's `describe()`, given at most `bound_s`; whatever happens, a card: a failed
    or late answer is an empty card of `engine` (the model's kind) with its reason."""
    box: dict[str, Any] = {}

    def ask() -> None:
        try:
            box["answer"] = backend.describe()
        except Exception as exc:  # noqa: BLE001 - a probe never fails a run
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=ask, name="lineup-provenance", daemon=True)
    thread.start()
    thread.join(bound_s)
    answer = box.get("answer")
    if isinstance(answer, dict):
        return _plain_card(answer)
    why = box.get("error") or f"the server or engine did not answer within {bound_s:g} s"
    return {"engine": engine, "reasons": {"probe": str(plain(why))}}


def _plain_card(answer: dict[str, Any]) -> dict[str, Any]:
    reasons = answer.get("reasons")
    card: dict[str, Any] = {
        str(key): plain(value) for key, value in answer.items() if key != "reasons"
    }
    card["reasons"] = (
        {str(key): str(plain(value)) for key, value in reasons.items()}
        if isinstance(reasons, dict)
        else {}
    )
    return card


def not_asked(model: ResolvedModel, why: str) -> dict[str, Any]:
    """The card of a model whose backend was never built: nothing to ask."""
    return {"engine": model.spec.kind, "reasons": {"probe": why}}


class ProvenanceBook:
    """What each model of one comparison or one study said about itself: asked once per model
    (later callers for the same model wait for the first answer), stored for the comparison's
    runs or the study, and kept here for the caller (`get`).

    A study's book starts with the cards stored already (a resumed study's): those models are
    not asked again."""

    def __init__(
        self,
        store: Store,
        *,
        run_ids: Sequence[int] = (),
        study_id: int | None = None,
        secrets: Sequence[str] = (),
        ask: Callable[[Any, str], dict[str, Any]] = ask_bounded,
    ) -> None:
        self.store = store
        self.run_ids = tuple(run_ids)
        self.study_id = study_id
        self.secrets = tuple(secrets)
        self._ask = ask
        self._lock = threading.Lock()
        self._answers: dict[str, dict[str, Any]] = {}
        self._asking: dict[str, threading.Event] = {}
        if study_id is not None:
            self._answers.update(store.provenance_of(study_id=study_id))

    def get(self, model: str) -> dict[str, Any] | None:
        with self._lock:
            answer = self._answers.get(model)
        return dict(answer) if answer is not None else None

    def note(
        self, model: ResolvedModel, backend: Any, *, failed: str | None = None
    ) -> dict[str, Any]:
        """Ask `backend` about `model` (once: a second call gets the first answer) and store
        it. `failed`: the backend was never built, so the card says why instead."""
        with self._lock:
            kept = self._answers.get(model.name)
            if kept is not None:
                return dict(kept)
            waiting = self._asking.get(model.name)
            if waiting is None:
                self._asking[model.name] = threading.Event()
        if waiting is not None:
            waiting.wait(PROBE_BUDGET_S + 2 * PROBE_GRACE_S)
            return self.get(model.name) or not_asked(model, "another thread is still asking")
        card = not_asked(model, "the probe failed")
        try:
            if failed is not None:
                card = not_asked(model, failed)
            else:
                card = self._ask(backend, model.spec.kind)
            card, _ = redacted_values(card, self.secrets)
            self._store(model, card)
        finally:
            with self._lock:
                self._answers[model.name] = card
                self._asking.pop(model.name).set()
        return dict(card)

    def _store(self, model: ResolvedModel, card: dict[str, Any]) -> None:
        try:
            self.store.save_provenance(
                model.name,
                str(redacted_values(model.resolved_spec, self.secrets)[0] or ""),
                card,
                run_ids=self.run_ids,
                study_id=self.study_id,
            )
        except Exception:  # noqa: BLE001 - the card is kept here; a store that fails says so elsewhere
            pass


# A card for a person -------------------------------------------------------------------------

# (field, label) in the order a card shows them; bytes are shown in GB (10**9).
_CARD_FIELDS = (
    ("host", N_("Host")),
    ("server", N_("Server")),
    ("server_version", N_("Version")),
    ("build", N_("Build")),
    ("engine_version", N_("Engine version")),
    ("family", N_("Family")),
    ("parameter_size", N_("Parameters")),
    ("parameters", N_("Parameters")),
    ("quantization", N_("Quantization")),
    ("format", N_("Format")),
    ("dtype", "dtype"),
    ("device", N_("Device")),
    ("model_path", N_("Model file")),
    ("voice", N_("Voice")),
    ("context", N_("Context")),
    ("context_length", N_("Context")),
    ("max_model_len", N_("Max model length")),
    ("context_train", N_("Trained context")),
    ("digest", N_("Digest")),
    ("vram_bytes", N_("In VRAM")),
    ("size_bytes", N_("Loaded size")),
    ("processor", N_("Processor")),
    ("torch_version", "torch"),
    ("languages", N_("Languages")),
)


_IN_PROCESS_SAID = N_("in process")


def host_words(host: object) -> str:
    """A card's host as a person reads it: an in-process engine's said in the language, any
    server's host as it is."""
    return _(_IN_PROCESS_SAID) if host == IN_PROCESS else str(host)


def card_facts(card: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What a model's card says, as (label, text) pairs in a fixed order, the engine first;
    then what is not known, with why ("Not known": "vram_bytes: /api/ps: no answer ...")."""
    if not card:
        return [
            (_("Not known"), _("the model was not asked yet, or was stored before Lineup asked"))
        ]
    facts = [(_("Engine"), str(card.get("engine") or "?"))]
    for field, label in _CARD_FIELDS:
        value = card.get(field)
        if value is None or value == "":
            continue
        if field.endswith("_bytes") and isinstance(value, int | float):
            text = _("{size} GB").format(size=number(value / 1e9, 2))
        elif field == "parameters" and isinstance(value, int | float):
            text = grouped(value)
        elif field == "digest":
            text = str(value)[:19]
        elif field == "host":
            text = host_words(value)
        else:
            text = str(value)
        facts.append((_(label), text))
    reasons = card.get("reasons") or {}
    if reasons:
        facts.append(
            (_("Not known"), "; ".join(f"{field}: {why}" for field, why in sorted(reasons.items())))
        )
    return facts


def card_line(card: Mapping[str, Any] | None) -> str:
    """The card on one line (the CLI, tables): "Engine: ollama · Host: ... · ..."."""
    return " · ".join(f"{label}: {text}" for label, text in card_facts(card))


# Words when two columns differ ----------------------------------------------------------------


@dataclass(frozen=True)
class ColumnConditions:
    """What a column's figures were measured under: the model (as shown), its card, and when
    known whether its answer included a model load (`cold`) and how many other requests Lineup
    had in flight on its host meanwhile (`concurrent_max`)."""

    model: str
    provenance: Mapping[str, Any] | None = None
    cold: bool | None = None
    concurrent_max: int | None = None


def differences(columns: Sequence[ColumnConditions]) -> list[str]:
    """The sentences a comparison says when its columns' figures were measured under conditions
    that differ in a way that matters: different hosts, one cold and another warm, one under
    contention and another alone, or the same family at different quantisations. Empty when
    nothing known differs (an unknown is never a difference). In the current language
    (lineup.core.i18n)."""
    said: list[str] = []
    hosts: dict[str, list[str]] = {}
    for column in columns:
        host = (column.provenance or {}).get("host")
        if host:
            hosts.setdefault(machine_of(str(host)), []).append(column.model)
    if len(hosts) > 1:
        where = "; ".join(
            _("{models} on {host}").format(
                models=_names(models), host=_(_THIS_MACHINE_SAID) if host == THIS_MACHINE else host
            )
            for host, models in hosts.items()
        )
        said.append(
            _(
                "These columns ran on different hosts ({where}): their speeds compare machines "
                "as much as models."
            ).format(where=where)
        )
    cold = [c.model for c in columns if c.cold is True]
    warm = [c.model for c in columns if c.cold is False]
    if cold and warm:
        said.append(
            ngettext(
                "{cold} was cold (the answer included loading the model) and {warm} warm: "
                "compare their speeds with care.",
                "{cold} were cold (the answer included loading the model) and {warm} warm: "
                "compare their speeds with care.",
                len(cold),
            ).format(cold=_names(cold), warm=_names(warm))
        )
    busy = [c for c in columns if c.concurrent_max is not None and c.concurrent_max > 0]
    alone = [c.model for c in columns if c.concurrent_max == 0]
    if busy and alone:
        shared = ", ".join(
            ngettext(
                "{model} with up to {count} other request",
                "{model} with up to {count} other requests",
                c.concurrent_max,
            ).format(model=c.model, count=c.concurrent_max)
            for c in busy
            if c.concurrent_max is not None
        )
        said.append(
            _(
                "Measured under different contention: {busy} in flight on its host, {alone} alone."
            ).format(busy=shared, alone=_names(alone))
        )
    families: dict[str, dict[str, list[str]]] = {}
    for column in columns:
        card = column.provenance or {}
        family, quantization = card.get("family"), card.get("quantization")
        if family and quantization:
            families.setdefault(str(family), {}).setdefault(str(quantization), []).append(
                column.model
            )
    for family, by_quantization in families.items():
        if len(by_quantization) > 1:
            which = ", ".join(
                _("{models} at {quantization}").format(
                    models=_names(models), quantization=quantization
                )
                for quantization, models in by_quantization.items()
            )
            said.append(
                _(
                    "The same family ({family}) at different quantizations: {which}; quality "
                    "and speed differences may come from the quantization."
                ).format(family=family, which=which)
            )
    return said


_THIS_MACHINE_SAID = N_("this machine")  # contention.THIS_MACHINE, said


def machine_of(host: str) -> str:
    """The machine a card's host names: its name without the port; loopback servers and
    in-process engines are all "this machine" (two servers on one host are one machine)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    if name.startswith("[") and "]" in name:
        name = name[: name.index("]") + 1]
    local = name == IN_PROCESS or is_this_machine(name.strip("[]").lower())
    return THIS_MACHINE if local else name


def _names(models: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`, in the current language."""
    if len(models) == 1:
        return models[0]
    return _("{first} and {last}").format(first=", ".join(models[:-1]), last=models[-1])
