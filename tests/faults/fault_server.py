"""Loopback servers that speak OpenAI's and Ollama's streaming chat protocols with one fault per
model name, for the fault-injection tests.

`FaultServer` answers `POST /v1/chat/completions` (server-sent events ending in `data: [DONE]`)
and `POST /api/chat` (NDJSON ending in a `done: true` record), plus `GET /v1/models`,
`/api/version`, `/api/tags` and `/api/show`; the model name picks what goes wrong. The faults
below the HTTP level have their own helpers: `refused_url` (a port nothing listens on),
`DNS_FAILURE_HOST` (a `.invalid` name; the tests make its lookup fail without asking any DNS
server), `BacklogFullListener` (a listener whose accept queue is full, so a connect times
out) and `SilentListener` (one that accepts and never answers). Everything listens on
127.0.0.1 only, and every loop is bounded in count and in time.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testbed.net import free_port

HEALTHY_WORDS = ["The", "quick", "brown", "fox."]
HEALTHY_TEXT = " ".join(HEALTHY_WORDS)
PARTIAL_TEXT = "The quick"  # what the faults that break off mid-answer send first
REASONING = ["Looking at ", "the question."]
BIG_ANSWER_CHARS = 1_000_000
DNS_FAILURE_HOST = "lineup-fault.invalid"  # RFC 6761: never resolves
SERVER_SECRET_ECHO = "Incorrect API key provided: "  # a 401 that echoes the key it was given

# Faults the HTTP server plays, by model name.
HTTP_FAULTS = (
    "healthy",
    "silent",
    "headers-then-silence",
    "slow-drip",
    "http-500",
    "http-404",
    "http-401",
    "http-429",
    "malformed-json",
    "non-utf8",
    "error-in-stream",
    "cut-mid-answer",
    "no-end-marker",
    "html-200",
    "empty-stream",
    "reasoning-only",
    "lone-surrogate",
    "nul",
    "big-answer",
)
# Faults below HTTP, with their own servers (or none).
NETWORK_FAULTS = ("refused", "dns-failure", "connect-timeout")

LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head>"
    "<body><form>" + "<p>Please sign in to continue.</p>" * 200 + "</form></body></html>"
)


@dataclass
class FaultServerLimits:
    """Bounds on every loop the server runs, so a test that goes wrong cannot hang."""

    stall_s: float = 20.0  # how long a silent handler waits for the client to give up
    drip_interval_s: float = 0.5
    drip_tokens: int = 120  # the slow drip ends (properly) after this many tokens


@dataclass
class Seen:
    """What the server saw, for the tests to assert on."""

    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, model)
    authorization: list[str] = field(default_factory=list)
    # Set when a stalled handler (silent, headers then silence, slow drip) saw the client close
    # its connection, by model name.
    client_closed: dict[str, threading.Event] = field(default_factory=dict)
    # Set when a stalled handler started waiting, by model name.
    stalled: dict[str, threading.Event] = field(default_factory=dict)

    def event(self, table: dict[str, threading.Event], model: str) -> threading.Event:
        return table.setdefault(model, threading.Event())


class FaultServer:
    def __init__(self, limits: FaultServerLimits | None = None) -> None:
        self.limits = limits or FaultServerLimits()
        self.seen = Seen()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.seen.requests.append((self.path, ""))
                if self.path == "/v1/models":
                    models = [
                        {"id": m, "object": "model", "owned_by": "faults"} for m in HTTP_FAULTS
                    ]
                    _send_json(self, 200, {"object": "list", "data": models})
                elif self.path == "/api/version":
                    _send_json(self, 200, {"version": "0.12.3"})
                elif self.path == "/api/tags":
                    _send_json(self, 200, {"models": [_tag(m) for m in HTTP_FAULTS]})
                else:
                    _send_json(self, 404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                model = str(body.get("model") or body.get("name") or "")
                server.seen.requests.append((self.path, model))
                server.seen.authorization.append(self.headers.get("Authorization") or "")
                if self.path == "/v1/chat/completions":
                    server._play(self, OpenAIWire(self), model)
                elif self.path == "/api/chat":
                    server._play(self, OllamaWire(self), model)
                elif self.path == "/api/show":
                    _send_json(
                        self,
                        200,
                        {"details": _details(), "capabilities": ["completion", "vision"]},
                    )
                else:
                    _send_json(self, 404, {"error": "not found"})

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()  # wakes every stalled handler
        self.httpd.shutdown()
        self.httpd.server_close()

    # Specs for the backends.

    def openai_spec(self, fault: str) -> str:
        return f"openai:{fault}@{self.base_url}/v1"

    def ollama_spec(self, fault: str) -> str:
        return f"ollama:{fault}@{self.base_url}"

    # The faults.

    def _play(self, handler: BaseHTTPRequestHandler, wire: Wire, model: str) -> None:
        limits = self.limits
        if model == "silent":
            self._stall(handler, model)
            return
        if model.startswith("http-"):
            status = int(model.removeprefix("http-"))
            message = {
                500: "model runner has unexpectedly stopped (CUDA error: out of memory)",
                404: f"model '{model}' not found",
                401: SERVER_SECRET_ECHO + _bearer(handler),
                429: "Too many requests: rate limit reached, please slow down",
            }[status]
            wire.error_status(status, message)
            return
        if model == "html-200":
            _send_body(handler, 200, "text/html; charset=utf-8", LOGIN_PAGE.encode())
            return
        wire.start()
        if model == "empty-stream":
            wire.finish()
            return
        if model == "headers-then-silence":
            self._stall(handler, model)
            return
        wire.opening()
        if model == "slow-drip":
            wire.text("drip")
            for _ in range(limits.drip_tokens):
                if self._stop.wait(limits.drip_interval_s):
                    return
                try:
                    wire.text(" drip")
                except OSError:
                    self.seen.event(self.seen.client_closed, model).set()
                    return
            wire.end(model)
            return
        if model == "reasoning-only":
            for piece in REASONING:
                wire.reasoning(piece)
            wire.end(model)
            return
        if model == "big-answer":
            piece = "x" * 1000
            for _ in range(BIG_ANSWER_CHARS // len(piece)):
                wire.text(piece)
            wire.end(model, output_tokens=BIG_ANSWER_CHARS // 4)
            return
        special = {"lone-surrogate": "a\ud800b", "nul": "a\u0000b"}
        if model in special:
            wire.text(special[model])
            wire.end(model)
            return
        if model == "healthy":
            for index, word in enumerate(HEALTHY_WORDS):
                wire.text(word if index == 0 else " " + word)
            wire.end(model, output_tokens=len(HEALTHY_WORDS))
            return
        # The faults that break off after part of an answer.
        for index, word in enumerate(PARTIAL_TEXT.split()):
            wire.text(word if index == 0 else " " + word)
        if model == "malformed-json":
            wire.malformed()
        elif model == "non-utf8":
            wire.raw_text(b" br\xff\xfeown")
        elif model == "error-in-stream":
            wire.stream_error("CUDA error: an illegal memory access was encountered")
        elif model == "cut-mid-answer":
            # The server dies: no end of the chunked body, the socket just closes.
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        elif model == "no-end-marker":
            pass  # the body ends properly, without the protocol's end marker
        else:
            wire.stream_error(f"unknown fault model {model!r}")
        wire.finish()

    def _stall(self, handler: BaseHTTPRequestHandler, model: str) -> None:
        """Send nothing more; notice when the client closes the connection. Bounded in time."""
        self.seen.event(self.seen.stalled, model).set()
        connection = handler.connection
        connection.settimeout(0.05)
        deadline = time.monotonic() + self.limits.stall_s
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                if connection.recv(4096) == b"":
                    self.seen.event(self.seen.client_closed, model).set()
                    break
            except TimeoutError:
                continue
            except OSError:
                self.seen.event(self.seen.client_closed, model).set()
                break
        handler.close_connection = True


class _QuietServer(ThreadingHTTPServer):
    """Handler threads die with the process, and a client that drops its connection (as the
    faults make them do) is no error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Wire:
    """How one protocol frames a streamed answer; subclasses fill in the records."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler

    def _chunk(self, data: bytes) -> None:
        out = self.handler.wfile
        out.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        out.flush()

    def finish(self) -> None:
        """End the chunked body (the HTTP level), whatever the protocol said before."""
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def start(self) -> None:
        """The status line and headers of a streamed answer."""
        raise NotImplementedError

    def opening(self) -> None:
        """What a server sends before the first token, if anything."""

    def text(self, content: str) -> None:
        raise NotImplementedError

    def reasoning(self, content: str) -> None:
        raise NotImplementedError

    def end(self, model: str, output_tokens: int = 3) -> None:
        raise NotImplementedError

    def malformed(self) -> None:
        """A record cut off in the middle of its JSON, and then properly ended."""
        raise NotImplementedError

    def raw_text(self, raw_text: bytes) -> None:
        """A record whose answer text is these bytes, as they are (not necessarily UTF-8)."""
        raise NotImplementedError

    def stream_error(self, message: str) -> None:
        raise NotImplementedError

    def error_status(self, status: int, message: str) -> None:
        raise NotImplementedError


class OpenAIWire(Wire):
    def _event(self, body: dict[str, Any]) -> None:
        self._chunk(b"data: " + json.dumps(body).encode() + b"\n\n")

    def _delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        self._event(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "fault",
                "choices": [choice],
            }
        )

    def start(self) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()

    def opening(self) -> None:
        self._delta({"role": "assistant", "content": ""})  # a role-only first chunk, at once

    def text(self, content: str) -> None:
        self._delta({"content": content})

    def reasoning(self, content: str) -> None:
        self._delta({"reasoning_content": content})

    def end(self, model: str, output_tokens: int = 3) -> None:
        self._delta({}, finish_reason="stop")
        usage = {"prompt_tokens": 11, "completion_tokens": output_tokens}
        self._event({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self._chunk(b"data: [DONE]\n\n")
        self.finish()

    def malformed(self) -> None:
        self._chunk(b'data: {"choices": [{"index": 0, "delta": {"content": " brown\n\n')

    def raw_text(self, raw_text: bytes) -> None:
        self._chunk(
            b'data: {"choices": [{"index": 0, "delta": {"content": "' + raw_text + b'"}}]}\n\n'
        )

    def stream_error(self, message: str) -> None:
        self._event({"error": {"message": message, "type": "server_error", "code": 500}})

    def error_status(self, status: int, message: str) -> None:
        kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status, "server_error")
        _send_json(self.handler, status, {"error": {"message": message, "type": kind}})


class OllamaWire(Wire):
    def _record(self, body: dict[str, Any]) -> None:
        self._chunk(json.dumps(body).encode() + b"\n")

    def _message(self, content: str = "", thinking: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking is not None:
            message["thinking"] = thinking
        return {"model": "fault", "created_at": "2026-11-01T10:00:00Z", "message": message}

    def start(self) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-ndjson")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()

    def text(self, content: str) -> None:
        self._record({**self._message(content), "done": False})

    def reasoning(self, content: str) -> None:
        self._record({**self._message(thinking=content), "done": False})

    def end(self, model: str, output_tokens: int = 3) -> None:
        self._record(
            {
                **self._message(),
                "done": True,
                "done_reason": "stop",
                "load_duration": 1_000_000,
                "prompt_eval_count": 11,
                "prompt_eval_duration": 2_000_000,
                "eval_count": output_tokens,
                "eval_duration": 50_000_000,
            }
        )
        self.finish()

    def malformed(self) -> None:
        self._chunk(b'{"model": "fault", "message": {"role": "assistant", "content": " brown\n')

    def raw_text(self, raw_text: bytes) -> None:
        self._chunk(
            b'{"model": "fault", "message": {"role": "assistant", "content": "'
            + raw_text
            + b'"}, "done": false}\n'
        )

    def stream_error(self, message: str) -> None:
        self._record({"error": message})

    def error_status(self, status: int, message: str) -> None:
        _send_json(self.handler, status, {"error": message})


class BacklogFullListener:
    """A listening socket that never accepts, with its accept queue full: a new connection
    attempt waits for the handshake until the client's connect timeout. Loopback only."""

    def __init__(self, max_queued: int = 16) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._queued: list[socket.socket] = []
        # Connect until the kernel stops completing handshakes: the queue is then full.
        for _ in range(max_queued):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", self.port))
            except OSError:
                probe.close()
                return
            self._queued.append(probe)
        self.close()
        raise RuntimeError("could not fill the accept queue of the loopback listener")

    def close(self) -> None:
        for queued in self._queued:
            queued.close()
        self.sock.close()


class SilentListener:
    """A listener that accepts every connection and never sends or reads a byte: a server that
    hangs after the handshake. Loopback only; the connections close with the listener."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._accepted:
            connection.close()
        self.sock.close()


def refused_url() -> str:
    """A loopback URL where nothing listens: the connection is refused."""
    return f"http://127.0.0.1:{free_port()}"


def _bearer(handler: BaseHTTPRequestHandler) -> str:
    return (handler.headers.get("Authorization") or "").removeprefix("Bearer ")


def _send_body(
    handler: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    handler.wfile.flush()


def _send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    _send_body(handler, status, "application/json", json.dumps(body).encode())


def _details() -> dict[str, Any]:
    return {
        "format": "gguf",
        "family": "llama",
        "parameter_size": "7B",
        "quantization_level": "Q4_K_M",
    }


def _tag(model: str) -> dict[str, Any]:
    return {
        "name": model,
        "model": model,
        "modified_at": "2026-11-01T10:00:00Z",
        "size": 4_000_000_000,
        "digest": "sha256:" + "cd" * 32,
        "details": _details(),
    }
