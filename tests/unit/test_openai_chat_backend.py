"""The `openai` backend's edges against a loopback server speaking the OpenAI streaming
protocol (server-sent events of chat.completion.chunk objects). The happy path against a real
server is in tests/integration/test_openai_llamacpp.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from backends.base import BackendError, BackendIncomplete, VLMRequest
from backends.http_stream import uses_proxy
from backends.openai_chat import OpenAIChatBackend
from backends.spec import parse_spec


def chunk(content: str | None = None, reasoning: str | None = None, **extra: Any) -> bytes:
    delta: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        **extra,
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class Script:
    """What the fixture server does with the next chat request."""

    def __init__(self) -> None:
        self.mode = "answer"
        self.requests = 0


@pytest.fixture()
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.requests += 1
            if script.mode == "unauthorized":
                body = json.dumps({"error": {"message": "Incorrect API key provided"}}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if script.mode == "json-document":
                # A server that ignores stream=true and sends the whole completion at once.
                body = json.dumps({"object": "chat.completion", "choices": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def send(data: bytes) -> None:
                if script.mode == "bytewise":
                    # Every byte its own HTTP chunk, CRLF line ends and a keep-alive comment: the
                    # events must be put together again across any split.
                    data = b": keep-alive\r\n\r\n" + data.replace(b"\n", b"\r\n")
                    for byte in data:
                        self.wfile.write(b"1\r\n" + bytes([byte]) + b"\r\n")
                    self.wfile.flush()
                    return
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            # A role-only opening chunk, reasoning, then the answer.
            send(chunk())
            send(chunk(reasoning="Looking at the screen."))
            send(chunk(content="Payment"))
            if script.mode == "break":
                # The server dies mid-answer: no terminating chunk, the socket just closes.
                self.connection.shutdown(2)
                self.close_connection = True
                return
            send(chunk(content=" failed."))
            final = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
            stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
            send(b"data: " + json.dumps({**final, "choices": [stop]}).encode() + b"\n\n")
            if script.mode == "finish-without-done":
                # The answer is whole (a finish_reason came); the server just never says [DONE].
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            usage = {"prompt_tokens": 30, "completion_tokens": 3, "total_tokens": 33}
            send(
                b"data: " + json.dumps({**final, "choices": [], "usage": usage}).encode() + b"\n\n"
            )
            send(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_reasoning_is_kept_apart_and_usage_is_the_servers(server: tuple[str, Script]) -> None:
    base_url, _ = server
    chunks = list(OpenAIChatBackend(parse_spec(f"openai:m@{base_url}")).stream(VLMRequest("q")))
    assert "".join(c.text for c in chunks) == "Payment failed."
    assert "".join(c.reasoning for c in chunks) == "Looking at the screen."
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.output_tokens_source) == (
        30,
        3,
        "server",
    )
    assert usage.decode_tokens_per_s is None  # no timings: the runner falls back to its own clock


def test_connection_lost_mid_answer_says_so(server: tuple[str, Script]) -> None:
    base_url, script = server
    script.mode = "break"
    backend = OpenAIChatBackend(parse_spec(f"openai:m@{base_url}"))
    received: list[str] = []
    with pytest.raises(BackendIncomplete, match="broke off mid-answer"):
        for piece in backend.stream(VLMRequest("q")):
            received.append(piece.text)
    assert "".join(received) == "Payment"
    assert script.requests == 1


def test_rejected_key_names_the_variable_to_set(
    server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, script = server
    script.mode = "unauthorized"
    monkeypatch.setenv("MY_VLLM_KEY", "wrong")
    backend = OpenAIChatBackend(
        parse_spec(f"openai:m@{base_url}"), OpenAIChatBackend.Options(api_key_env="MY_VLLM_KEY")
    )
    with pytest.raises(BackendError, match="Set MY_VLLM_KEY"):
        list(backend.stream(VLMRequest("q")))
    assert script.requests == 1  # retries are off


def test_events_split_across_any_bytes_and_crlf_lines_are_read_whole(
    server: tuple[str, Script],
) -> None:
    base_url, script = server
    script.mode = "bytewise"
    chunks = list(OpenAIChatBackend(parse_spec(f"openai:m@{base_url}")).stream(VLMRequest("q")))
    assert "".join(c.text for c in chunks) == "Payment failed."
    assert "".join(c.reasoning for c in chunks) == "Looking at the screen."
    usage = chunks[-1].usage
    assert usage is not None and usage.output_tokens == 3


def test_finish_reason_without_done_marker_is_a_whole_answer(server: tuple[str, Script]) -> None:
    base_url, script = server
    script.mode = "finish-without-done"
    chunks = list(OpenAIChatBackend(parse_spec(f"openai:m@{base_url}")).stream(VLMRequest("q")))
    assert "".join(c.text for c in chunks) == "Payment failed."
    usage = chunks[-1].usage
    assert usage is not None and usage.output_tokens is None  # no usage record came


def test_a_whole_json_document_instead_of_a_stream_is_not_an_answer(
    server: tuple[str, Script],
) -> None:
    base_url, script = server
    script.mode = "json-document"
    backend = OpenAIChatBackend(parse_spec(f"openai:m@{base_url}"))
    with pytest.raises(BackendIncomplete, match="ignored stream=true"):
        list(backend.stream(VLMRequest("q")))


def test_proxied_endpoints_keep_the_proxy_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client with its own transport ignores HTTP(S)_PROXY, so the backend builds its
    stoppable transport only for URLs the environment does not send through a proxy."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert uses_proxy("https://api.openai.com/v1")
    assert not uses_proxy("https://127.0.0.1:8000/v1")
    assert not uses_proxy("http://gpu-box:8000/v1")  # no proxy for plain http
