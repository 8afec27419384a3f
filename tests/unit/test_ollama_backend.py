"""The `ollama` backend against a loopback protocol fixture of Ollama's documented API.

No Ollama server can be installed here, so testbed/ollama_server.py speaks the
documented protocol (streaming /api/chat, /api/tags, /api/show, /api/version) on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from backends import keys
from backends.base import BackendError, BackendUnavailable, VLMRequest
from backends.ollama import OllamaBackend
from backends.spec import default_ollama_host, parse_spec
from lineup.core.images import validate_image
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import by_name, png_bytes, resolved_all


@pytest.fixture()
def ollama() -> OllamaFixture:
    models = [
        FakeModel(
            "llava:7b", ["A", "navy", "square."], thinking=["hmm"], eval_duration_ns=250_000_000
        ),
        FakeModel("llama3:8b", ["text", "only"], vision=False),
        FakeModel("broken:1b", [], fail_with="model runner has unexpectedly stopped"),
    ]
    with OllamaFixture(models) as fixture:
        yield fixture


def test_stream_sends_image_and_options_and_reports_server_figures(ollama: OllamaFixture) -> None:
    backend = OllamaBackend(parse_spec(f"ollama:llava:7b@{ollama.base_url}"))
    image = validate_image(png_bytes((40, 30)))
    request = VLMRequest(
        "What colour?", image=image, system="Be brief.", temperature=0.0, max_tokens=32, seed=42
    )
    chunks = list(backend.stream(request))
    assert [path for path, _ in ollama.requests] == ["/api/chat"]  # nothing else while timed

    assert "".join(c.text for c in chunks) == "A navy square."
    assert "".join(c.reasoning for c in chunks) == "hmm"
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.output_tokens == 3 and usage.output_tokens_source == "server"
    assert usage.decode_s == pytest.approx(0.25)
    assert usage.load_s == pytest.approx(1.25)
    assert usage.prompt_eval_s == pytest.approx(0.04)
    assert usage.input_tokens == 17
    assert usage.metadata == {"model": "llava:7b", "done_reason": "stop"}
    described = backend.describe()
    assert described["digest"] == "sha256:" + "ab" * 32
    assert described["quantization"] == "Q4_K_M"
    assert described["server_version"] == "0.12.3"

    [sent] = ollama.chat_requests()
    assert sent["model"] == "llava:7b" and sent["stream"] is True
    assert sent["options"] == {"temperature": 0.0, "num_predict": 32, "seed": 42}
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert base64.b64decode(sent["messages"][1]["images"][0]) == image.png_bytes(2048)


def test_runner_stores_ollama_decode_speed_from_eval_count_over_eval_duration(
    ollama: OllamaFixture, store: Store
) -> None:
    spec = f"ollama:llava:7b@{ollama.base_url}"
    comparison = start_vlm_comparison(
        store,
        resolved_all([spec]),
        VLMRequest("q"),
        by_name(lambda s: OllamaBackend(parse_spec(s))),
    )
    [result] = comparison.wait()
    row = store.get_generation(result.generation_id)
    assert row.status == "ok"
    assert row.tokens_per_s == pytest.approx(3 / 0.25)
    assert row.tokens_per_s_source == "server"
    assert row.load_s == pytest.approx(1.25)
    assert row.reasoning_text == "hmm"
    assert row.backend_metadata["model"] == "llava:7b"
    # What the server says of the model is asked after the answer (lineup.run.provenance):
    # never before the clock, never beside the timed request.
    assert comparison.settle(10)
    paths = [path for path, _ in ollama.requests]
    assert paths[0] == "/api/chat" and "/api/version" in paths
    card = store.provenance_of(run_id=comparison.run_id)[spec]
    assert card["digest"].startswith("sha256:") and card["server_version"] == "0.12.3"


def test_missing_model_says_how_to_pull_it(ollama: OllamaFixture) -> None:
    backend = OllamaBackend(parse_spec(f"ollama:qwen2.5vl:3b@{ollama.base_url}"))
    with pytest.raises(BackendError, match="ollama pull qwen2.5vl:3b"):
        list(backend.stream(VLMRequest("q")))


def test_server_error_is_passed_on(ollama: OllamaFixture) -> None:
    backend = OllamaBackend(parse_spec(f"ollama:broken:1b@{ollama.base_url}"))
    with pytest.raises(BackendError, match="unexpectedly stopped"):
        list(backend.stream(VLMRequest("q")))


def test_nothing_listening_says_start_ollama() -> None:
    backend = OllamaBackend(parse_spec("ollama:llava:7b@http://127.0.0.1:9"))
    with pytest.raises(BackendUnavailable, match="ollama serve"):
        list(backend.stream(VLMRequest("q")))


def test_discover_marks_vision_models_from_api_show(ollama: OllamaFixture) -> None:
    found = {m.name: m for m in OllamaBackend.discover(ollama.base_url)}
    assert set(found) == {"llava:7b", "llama3:8b", "broken:1b"}
    assert found["llava:7b"].vision is True
    assert found["llama3:8b"].vision is False
    assert found["llava:7b"].spec == f"ollama:llava:7b@{ollama.base_url}"
    assert found["llava:7b"].details["quantization"] == "Q4_K_M"
    health = OllamaBackend.health(ollama.base_url)
    assert health.ok and health.version == "0.12.3"
    assert not OllamaBackend.health("http://127.0.0.1:9").ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("https://ollama.example.test", "https://ollama.example.test:11434"),
        ("http://10.0.0.5:11434/", "http://10.0.0.5:11434"),
    ],
)
def test_default_host_honours_ollama_host(
    value: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", value)
    assert default_ollama_host() == expected


def test_backend_options_reach_the_chat_request(ollama: OllamaFixture) -> None:
    options = OllamaBackend.Options(keep_alive="10m", think=True, num_ctx=4096)
    backend = OllamaBackend(parse_spec(f"ollama:llava:7b@{ollama.base_url}"), options)
    chunks = list(backend.stream(VLMRequest("q", temperature=0.2)))
    assert chunks[-1].usage is not None
    [sent] = ollama.chat_requests()
    assert (sent["keep_alive"], sent["think"]) == ("10m", True)
    assert sent["options"] == {"temperature": 0.2, "num_ctx": 4096}
    assert sent["messages"] == [{"role": "user", "content": "q"}]


def test_the_endpoints_key_variable_is_read_at_request_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        done = {"model": "m", "message": {"role": "assistant", "content": "ok"}, "done": True}
        return httpx.Response(200, content=json.dumps(done).encode() + b"\n")

    monkeypatch.delenv("OLLAMA_CLOUD_KEY", raising=False)
    backend = OllamaBackend(
        parse_spec("ollama:m@http://127.0.0.1:9"),
        OllamaBackend.Options(api_key_env="OLLAMA_CLOUD_KEY"),
        transport=httpx.MockTransport(answer),
    )
    list(backend.stream(VLMRequest("q")))
    secrets = {"OLLAMA_CLOUD_KEY": "from-secrets"}
    keys.register_source(secrets.get)
    try:
        list(backend.stream(VLMRequest("q")))
    finally:
        keys.unregister_source(secrets.get)
    assert seen == [None, "Bearer from-secrets"]
