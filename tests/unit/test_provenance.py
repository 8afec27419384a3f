"""What ran where: each model asked about itself once per comparison, after the answers, within
its bound; the machine snapshot; the words when two columns differ."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backends.base import Chunk, Usage, VLMBackend, VLMRequest
from backends.ollama import OllamaBackend, processor_split
from backends.openai_chat import OpenAIChatBackend
from backends.probe import without_home
from backends.spec import parse_spec
from lineup.run import ColumnConditions, differences, machine_line
from lineup.run.provenance import ask_bounded, cpu_model, machine_snapshot, read_machine
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import by_name, resolved_all


class Described(VLMBackend):
    """A fake model that records when it was asked about itself and when it answered."""

    def __init__(self, answer: dict[str, Any], log: list[str], name: str = "m") -> None:
        self.spec = parse_spec(f"fake:{name}")
        self.answer = answer
        self.log = log
        self.name = name

    def describe(self) -> dict[str, Any]:
        self.log.append(f"describe {self.name}")
        return dict(self.answer)

    def stream(self, request: VLMRequest):  # noqa: ANN201 - an iterator of chunks
        self.log.append(f"stream {self.name}")
        time.sleep(0.05)
        yield Chunk(text="hi")
        self.log.append(f"end {self.name}")
        yield Chunk(usage=Usage(output_tokens=1, output_tokens_source="server"))


def test_models_are_asked_once_after_every_answer_and_the_card_is_stored(store: Store) -> None:
    log: list[str] = []
    backends = {
        "fake:a": Described({"engine": "fake", "digest": "sha256:ab", "reasons": {}}, log, "a"),
        "fake:b": Described({"engine": "fake", "secret": "key-123", "reasons": {}}, log, "b"),
    }
    comparison = start_vlm_comparison(
        store,
        resolved_all(["fake:a", "fake:b"]),
        VLMRequest("q"),
        by_name(lambda name: backends[name]),
        secrets=["key-123"],
    )
    comparison.wait()
    assert comparison.settle(10)
    # Never before or during a timed request: both answers ended before the first probe.
    first_probe = min(i for i, line in enumerate(log) if line.startswith("describe"))
    assert all(i < first_probe for i, line in enumerate(log) if line.startswith("end"))
    assert sorted(line for line in log if line.startswith("describe")) == [
        "describe a",
        "describe b",
    ]
    stored = store.provenance_of(run_id=comparison.run_id)
    assert stored["fake:a"]["digest"] == "sha256:ab"
    assert stored["fake:b"]["secret"] == "[redacted]"  # keys never stored
    assert comparison.provenance_of("fake:a") == stored["fake:a"]
    machine = store.machine_of(run_id=comparison.run_id)
    assert machine is not None and machine["cpu"] == cpu_model()


def test_a_model_that_never_got_ready_gets_a_card_that_says_why(store: Store) -> None:
    def factory(name: str) -> VLMBackend:
        raise RuntimeError("no such engine")

    comparison = start_vlm_comparison(
        store, resolved_all(["fake:x"]), VLMRequest("q"), by_name(factory)
    )
    comparison.wait()
    assert comparison.settle(10)
    card = store.provenance_of(run_id=comparison.run_id)["fake:x"]
    assert "not asked: the backend was not built" in card["reasons"]["probe"]


class Hanging(Described):
    def describe(self) -> dict[str, Any]:
        time.sleep(30)
        return {}


def test_an_engine_that_hangs_when_asked_leaves_the_card_empty_within_the_bound() -> None:
    started = time.monotonic()
    card = ask_bounded(Hanging({}, []), "fake", bound_s=0.5)
    assert time.monotonic() - started < 5
    assert card == {"engine": "fake", "reasons": {"probe": card["reasons"]["probe"]}}
    assert "did not answer within 0.5 s" in card["reasons"]["probe"]


class SilentServer:
    """Accepts connections and never answers (a hung server), or answers garbage."""

    def __init__(self, garbage: bytes | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.garbage = garbage
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)
            if self.garbage is not None:
                connection.recv(65536)
                connection.sendall(self.garbage)
                connection.close()

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json",
        b"\x00\xff garbage \r\n\r\n",
    ],
    ids=["hangs", "not-json", "not-http"],
)
def test_probes_of_a_hanging_or_garbage_server_leave_fields_empty_with_reasons(
    garbage: bytes | None,
) -> None:
    server = SilentServer(garbage)
    try:
        for backend in (
            OllamaBackend(parse_spec(f"ollama:llava:7b@{server.base_url}")),
            OpenAIChatBackend(parse_spec(f"openai:m@{server.base_url}/v1")),
        ):
            started = time.monotonic()
            card = ask_bounded(backend, backend.spec.kind)
            assert time.monotonic() - started < 7  # the 4 s budget, and a grace second
            empty = [k for k, v in card.items() if v is None]
            assert empty and all(card["reasons"].get(k) for k in empty), card
            assert card["host"] == server.base_url.removeprefix("http://")
    finally:
        server.close()


def test_ollama_card_has_quantization_digest_and_vram_size(store: Store) -> None:
    model = FakeModel(
        "llava:7b", ["A", "cat."], size_bytes=8_000_000_000, size_vram_bytes=6_000_000_000
    )
    with OllamaFixture([model]) as ollama:
        spec = f"ollama:llava:7b@{ollama.base_url}"
        comparison = start_vlm_comparison(
            store,
            resolved_all([spec]),
            VLMRequest("q"),
            by_name(lambda s: OllamaBackend(parse_spec(s))),
        )
        comparison.wait()
        assert comparison.settle(10)
        paths = [path for path, _ in ollama.requests]
    assert paths[0] == "/api/chat"  # nothing asked before the answer
    card = store.provenance_of(run_id=comparison.run_id)[spec]
    assert card["quantization"] == "Q4_K_M"
    assert card["digest"] == "sha256:" + "ab" * 32
    assert card["vram_bytes"] == 6_000_000_000 and card["size_bytes"] == 8_000_000_000
    assert card["processor"] == "25%/75% CPU/GPU"  # 2 of 8 GB outside VRAM, as `ollama ps`
    assert card["family"] == "llama" and card["parameter_size"] == "7B"
    assert card["context_length"] == 4096
    assert card["server_version"] == "0.12.3"
    assert card["host"] == ollama.base_url.removeprefix("http://")


def test_ollama_card_of_a_model_not_loaded_says_so_and_takes_the_digest_from_tags() -> None:
    with OllamaFixture([FakeModel("llava:7b", ["A"])]) as ollama:
        card = OllamaBackend(parse_spec(f"ollama:llava:7b@{ollama.base_url}")).describe()
    assert card["vram_bytes"] is None
    assert card["reasons"]["vram_bytes"] == "/api/ps: the model is not loaded now"
    assert card["digest"] == "sha256:" + "ab" * 32


def test_processor_split_reads_like_ollama_ps() -> None:
    assert processor_split(100, 100) == "100% GPU"
    assert processor_split(100, 0) == "100% CPU"
    assert processor_split(100, 52) == "48%/52% CPU/GPU"
    assert processor_split(None, 3) is None


def test_a_model_path_under_a_home_folder_keeps_the_file_not_the_person() -> None:
    assert without_home("/home/alice/models/x.gguf") == "~/models/x.gguf"
    assert without_home("/Users/bob/m.gguf") == "~/m.gguf"
    assert without_home("/srv/models/x.gguf") == "/srv/models/x.gguf"


def test_machine_snapshot_here_names_its_cpu_and_says_no_gpu() -> None:
    machine = machine_snapshot()
    cpuinfo = Path("/proc/cpuinfo").read_text()
    names = {
        line.split(":", 1)[1].strip()
        for line in cpuinfo.splitlines()
        if line.startswith("model name")
    }
    assert machine["cpu"] in {" ".join(name.split()) for name in names}
    assert machine["gpus"] == [] and "no GPU" in machine_line(machine)
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert machine["memory_gb"] > 0 and machine["os"].startswith("Linux")
    assert set(machine) >= {"cpu", "cores", "memory_gb", "os", "gpus", "python", "torch"}
    text = repr(machine)
    assert socket.gethostname() not in text and str(Path.home()) not in text


class FakeNVML:
    """NVML as nvidia-ml-py exposes it, with one 24 GiB GPU."""

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlSystemGetDriverVersion(self) -> bytes:
        return b"550.54.15"

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return "NVIDIA GeForce RTX 4090"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return type("Memory", (), {"total": 24 * 2**30})()


def test_machine_with_a_gpu_lists_its_name_memory_and_driver(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test   CPU  9000\n")
    machine = read_machine(FakeNVML(), cpuinfo)
    assert machine["cpu"] == "Test CPU 9000"
    assert machine["gpus"] == [
        {"name": "NVIDIA GeForce RTX 4090", "memory_gb": 24.0, "driver": "550.54.15"}
    ]


def test_differences_say_hosts_cold_contention_and_quantization_in_words() -> None:
    a = ColumnConditions(
        "llava-q4",
        {"host": "gpu1:11434", "family": "llama", "quantization": "Q4_K_M"},
        cold=True,
        concurrent_max=2,
    )
    b = ColumnConditions(
        "llava-q8",
        {"host": "gpu2:11434", "family": "llama", "quantization": "Q8_0"},
        cold=False,
        concurrent_max=0,
    )
    said = differences([a, b])
    assert said == [
        "These columns ran on different hosts (llava-q4 on gpu1; llava-q8 on gpu2): "
        "their speeds compare machines as much as models.",
        "llava-q4 was cold (the answer included loading the model) and llava-q8 warm: compare "
        "their speeds with care.",
        "Measured under different contention: llava-q4 with up to 2 other requests in flight "
        "on its host, llava-q8 alone.",
        "The same family (llama) at different quantizations: llava-q4 at Q4_K_M, llava-q8 at "
        "Q8_0; quality and speed differences may come from the quantization.",
    ]


def test_servers_on_one_machine_are_one_host_whatever_their_ports() -> None:
    loopback = ColumnConditions("a", {"host": "127.0.0.1:11434"})
    other_port = ColumnConditions("b", {"host": "localhost:8080"})
    in_process = ColumnConditions("ocr", {"host": "in process"})
    ipv6 = ColumnConditions("c", {"host": "[::1]:8000"})
    assert differences([loopback, other_port, in_process, ipv6]) == []
    remote = ColumnConditions("d", {"host": "gpu1.lan:11434"})
    [said] = differences([loopback, remote])
    assert said.startswith(
        "These columns ran on different hosts (a on this machine; d on gpu1.lan)"
    )


def test_differences_stay_silent_when_nothing_known_differs() -> None:
    same = {"host": "h:1", "family": "llama", "quantization": "Q4_K_M"}
    assert (
        differences(
            [
                ColumnConditions("a", same, cold=False, concurrent_max=0),
                ColumnConditions("b", same, cold=False, concurrent_max=0),
            ]
        )
        == []
    )
    # Unknowns are never a difference: no card, cold and contention not measured.
    assert differences([ColumnConditions("a"), ColumnConditions("b", same)]) == []
    # Two families at different quantizations are not "the same family".
    other = {"host": "h:1", "family": "qwen2", "quantization": "Q8_0"}
    assert differences([ColumnConditions("a", same), ColumnConditions("b", other)]) == []


def test_what_a_server_says_is_kept_short_and_plain(store: Store) -> None:
    """A lying server: a huge family name with markup, a nested object for a quantization."""
    model = FakeModel("llava:7b", ["A"], quantization="Q4_K_M")
    with OllamaFixture([model]) as ollama:
        ollama.models["llava:7b"].digest = "sha256:" + "<b>x</b>" * 100
        card = ask_bounded(
            OllamaBackend(parse_spec(f"ollama:llava:7b@{ollama.base_url}")), "ollama"
        )
    assert len(card["digest"]) <= 200 and card["digest"].endswith("…")
    assert all(
        isinstance(v, str | int | float | bool | type(None))
        for k, v in card.items()
        if k != "reasons"
    )
