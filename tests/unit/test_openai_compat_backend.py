"""The one module both OpenAI-compatible kinds (`openai`, `openai-tts`) use: API keys from the
environment or a registered source, no Authorization header without a key, OpenAI's own API
refused before any request without one, the same model listing and error messages."""

from __future__ import annotations

import io
import json
import threading
import wave
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest

from backends import keys
from backends.base import BackendError, VLMRequest
from backends.openai_chat import OpenAIChatBackend
from backends.openai_compat import is_openai_api
from backends.openai_tts import OpenAITTSBackend
from backends.spec import parse_spec

KEY_ENV = "LINEUP_TEST_SERVER_KEY"


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\x00\x10" * 1600)
    return buffer.getvalue()


def events(*payloads: Any) -> bytes:
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)


ANSWER = events(
    {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
) + (b"data: [DONE]\n\n")


class Recorder:
    """A mock transport that answers like an OpenAI-compatible server and keeps every request."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx2.Response(self.status, json={"error": {"message": "Invalid API key"}})
        if request.url.path.endswith("/audio/speech"):
            return httpx2.Response(200, content=wav_bytes(), headers={"content-type": "audio/wav"})
        return httpx2.Response(200, content=ANSWER, headers={"content-type": "text/event-stream"})

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))

    @property
    def authorization(self) -> list[str | None]:
        return [request.headers.get("Authorization") for request in self.requests]


def chat(recorder: Recorder, base_url: str = "http://127.0.0.1:8000/v1") -> Callable[[], Any]:
    backend = OpenAIChatBackend(
        parse_spec(f"openai:m@{base_url}"),
        OpenAIChatBackend.Options(api_key_env=KEY_ENV),
        http_client=recorder.client(),
    )
    return lambda: "".join(chunk.text for chunk in backend.stream(VLMRequest("q")))


def speech(recorder: Recorder, base_url: str = "http://127.0.0.1:8880/v1") -> Callable[[], Any]:
    backend = OpenAITTSBackend(
        parse_spec(f"openai-tts:kokoro@{base_url}#af_sky"),
        OpenAITTSBackend.Options(api_key_env=KEY_ENV),
        http_client=recorder.client(),
    )
    return lambda: backend.synthesize("Hello.", "af_sky").audio_s


CALLS = {"chat": chat, "speech": speech}


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture()
def secrets() -> Iterator[dict[str, str]]:
    """A registered key source, as the app registers one that reads Streamlit secrets."""
    held: dict[str, str] = {}
    source = held.get
    keys.register_source(source)
    yield held
    keys.unregister_source(source)


@pytest.mark.parametrize("call", CALLS)
def test_a_local_server_without_a_key_gets_no_authorization_header(call: str) -> None:
    recorder = Recorder()
    assert CALLS[call](recorder)()
    assert recorder.authorization == [None]


@pytest.mark.parametrize("call", CALLS)
def test_a_key_set_after_the_backend_was_built_is_sent_as_a_bearer_token(
    call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    request = CALLS[call](recorder)
    monkeypatch.setenv(KEY_ENV, "sk-env")
    request()
    assert recorder.authorization == ["Bearer sk-env"]


@pytest.mark.parametrize("call", CALLS)
def test_a_key_from_a_registered_source_is_used_and_the_environment_wins(
    call: str, secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    request = CALLS[call](recorder)
    secrets[KEY_ENV] = "sk-secret"
    request()
    monkeypatch.setenv(KEY_ENV, "sk-env")
    request()
    assert recorder.authorization == ["Bearer sk-secret", "Bearer sk-env"]


@pytest.mark.parametrize("call", CALLS)
def test_the_openai_api_without_a_key_is_an_error_before_any_request(call: str) -> None:
    recorder = Recorder()
    request = CALLS[call](recorder, "https://api.openai.com/v1")
    with pytest.raises(BackendError, match=f"needs an API key, and none is set. Set {KEY_ENV}"):
        request()
    assert recorder.requests == []


@pytest.mark.parametrize("call", CALLS)
def test_a_server_that_needs_a_key_and_got_none_names_the_variable(call: str) -> None:
    recorder = Recorder(status=401)
    with pytest.raises(BackendError) as caught:
        CALLS[call](recorder)()
    message = str(caught.value)
    assert "needs an API key (HTTP 401: Invalid API key)" in message
    assert f"Set {KEY_ENV}" in message
    assert len(recorder.requests) == 1  # retries are off


@pytest.mark.parametrize("call", CALLS)
def test_a_refused_key_says_to_set_a_valid_one(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    with pytest.raises(BackendError, match=f"refused the API key .*Set {KEY_ENV}"):
        CALLS[call](Recorder(status=401))()


def test_only_openai_hosts_count_as_the_openai_api() -> None:
    assert is_openai_api("https://api.openai.com/v1")
    assert is_openai_api("https://eu.api.openai.com/v1")
    assert not is_openai_api("http://127.0.0.1:8000/v1")
    assert not is_openai_api("https://notapi.openai.com.example/v1")


@pytest.fixture()
def models_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback /v1/models that records the Authorization header of each request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization") or "")
            body = json.dumps(
                {"object": "list", "data": [{"id": "m1", "object": "model", "owned_by": "me"}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_both_kinds_list_models_the_same_way_with_the_endpoints_key(
    models_server: tuple[str, list[str]], secrets: dict[str, str]
) -> None:
    base_url, seen = models_server
    secrets["VLLM_KEY"] = "sk-vllm"
    [chat_model] = OpenAIChatBackend.discover(base_url, api_key_env="VLLM_KEY")
    [voice_model] = OpenAITTSBackend.discover(base_url)
    assert chat_model.spec == f"openai:m1@{base_url}"
    assert voice_model.spec == f"openai-tts:m1@{base_url}"
    assert OpenAITTSBackend.health(base_url).message == f"1 model(s) at {base_url}"
    assert seen == ["Bearer sk-vllm", "", ""]


def test_discovering_the_openai_api_without_a_key_says_which_variable_to_set() -> None:
    with pytest.raises(BackendError, match="Set OPENAI_API_KEY"):
        OpenAIChatBackend.discover("https://api.openai.com/v1")
    assert not OpenAITTSBackend.health("https://api.openai.com/v1").ok


def test_a_failing_key_source_is_skipped(secrets: dict[str, str]) -> None:
    def broken(name: str) -> str | None:
        raise FileNotFoundError("no secrets.toml")

    keys.register_source(broken)
    try:
        secrets[KEY_ENV] = "sk-secret"
        assert keys.api_key(KEY_ENV) == "sk-secret"
        assert keys.api_key("LINEUP_TEST_NOWHERE") is None
        assert keys.api_key(None) is None
    finally:
        keys.unregister_source(broken)
