"""The openai-tts backend against a loopback server on 127.0.0.1.

The server is a protocol fixture: it speaks the documented OpenAI `POST /v1/audio/speech`
request and answers with WAV bytes (a tone), as Kokoro-FastAPI or openedai-speech would; it
is not a speech engine. It records each request so the test can check what was sent.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from backends import registry
from backends.base import Audio, BackendError, BackendUnavailable
from backends.openai_tts import OpenAITTSBackend, OpenAITTSOptions
from backends.spec import parse_spec
from backends.wav import to_wav_bytes
from lineup.run.tts import start_tts_comparison
from lineup.store.database import Store
from lineup.store.media import MediaStore
from tests.builders import by_name, resolved_all

pytestmark = pytest.mark.integration

RATE_HZ = 24_000


def tone_wav(seconds: float, *, streamed: bool = False) -> bytes:
    samples = 0.2 * np.sin(np.linspace(0, 2 * np.pi * 300 * seconds, int(RATE_HZ * seconds)))
    wav = to_wav_bytes(Audio(samples.astype(np.float32), RATE_HZ))
    if streamed:  # the placeholder sizes a streaming server writes
        wav = (
            wav[:4]
            + struct.pack("<I", 0xFFFFFFFF)
            + wav[8:40]
            + struct.pack("<I", 0xFFFFFFFF)
            + wav[44:]
        )
    return wav


class SpeechServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.streamed = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if server.status != 200:
                    payload = json.dumps(
                        {"error": {"message": f"voice {body.get('voice')} is unknown"}}
                    )
                    self._send(server.status, payload.encode(), "application/json")
                    return
                self._send(200, tone_wav(0.5, streamed=server.streamed), "audio/wav")

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SpeechServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[SpeechServer]:
    with SpeechServer() as running:
        yield running


def test_speech_request_carries_model_voice_input_and_wav_format(server: SpeechServer) -> None:
    backend = registry.create_backend(f"openai-tts:kokoro#af_bella@{server.base_url}")
    audio = backend.synthesize("Hello from the fixture.", "af_bella")
    assert audio.sample_rate_hz == RATE_HZ
    assert audio.audio_s == pytest.approx(0.5)
    [request] = server.requests
    assert request["path"] == "/v1/audio/speech"
    assert request["body"] == {
        "model": "kokoro",
        "voice": "af_bella",
        "input": "Hello from the fixture.",
        "response_format": "wav",
    }
    assert audio.metadata == {"model": "kokoro", "voice": "af_bella"}


def test_default_voice_speed_and_a_streamed_wav_header(server: SpeechServer) -> None:
    server.streamed = True
    spec = parse_spec(f"openai-tts:tts-1@{server.base_url}")
    backend = OpenAITTSBackend(spec, OpenAITTSOptions(voice="nova", speed=1.25))
    audio = backend.synthesize("Fast.")
    assert audio.audio_s == pytest.approx(0.5)
    body = server.requests[0]["body"]
    assert (body["voice"], body["speed"]) == ("nova", 1.25)


def test_server_error_is_reported_once_without_retries(server: SpeechServer) -> None:
    server.status = 400
    backend = registry.create_backend(f"openai-tts:kokoro@{server.base_url}")
    with pytest.raises(BackendError, match="answered 400 .* voice 'ghost': voice ghost is unknown"):
        backend.synthesize("Hi", "ghost")
    server.status = 500
    with pytest.raises(BackendError, match="answered 500"):
        backend.synthesize("Hi", "ghost")
    assert len(server.requests) == 2  # max_retries=0: one request per call


def test_nothing_listening_is_unavailable_with_a_hint() -> None:
    backend = registry.create_backend("openai-tts:kokoro@http://127.0.0.1:9/v1")
    with pytest.raises(
        BackendUnavailable, match="No speech server answers at http://127.0.0.1:9/v1"
    ):
        backend.synthesize("Hi")


def test_an_injected_http_client_carries_the_requests(server: SpeechServer) -> None:
    seen: list[str] = []
    client = httpx2.Client(event_hooks={"request": [lambda request: seen.append(str(request.url))]})
    spec = parse_spec(f"openai-tts:kokoro@{server.base_url}")
    OpenAITTSBackend(spec, http_client=client).synthesize("Hi", "af_sky")
    assert seen == [f"{server.base_url}/audio/speech"]


def test_server_voices_run_side_by_side_in_the_runner(server: SpeechServer, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lineup.db'}")
    voices = [
        f"openai-tts:kokoro#af_bella@{server.base_url}",
        f"openai-tts:kokoro#am_adam@{server.base_url}",
    ]
    comparison = start_tts_comparison(
        store,
        MediaStore(tmp_path / "media"),
        resolved_all(voices, "tts"),
        "Hi there.",
        by_name(registry.create_backend),
        samples=2,
        stt=None,
        seed=0,
    )
    results = comparison.wait()
    assert [(r.voice, r.status, r.audio_s) for r in results] == [
        (voices[0], "ok", 0.5),
        (voices[0], "ok", 0.5),
        (voices[1], "ok", 0.5),
        (voices[1], "ok", 0.5),
    ]
    assert sorted(request["body"]["voice"] for request in server.requests) == [
        "af_bella",
        "af_bella",
        "am_adam",
        "am_adam",
    ]
