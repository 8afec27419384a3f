"""OpenAI-compatible speech servers (Kokoro-FastAPI, openedai-speech, OpenAI): POST
/v1/audio/speech with the voice as the spec's preset, WAV back."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx2  # the openai client's HTTP library: its injected clients

from backends.base import (
    N_,
    Audio,
    BackendUnavailable,
    DiscoveredModel,
    EndpointBackend,
    Options,
    TTSBackend,
)
from backends.openai_compat import OPENAI_API_KEY_ENV, OpenAIServer
from backends.spec import ModelSpec
from backends.wav import from_wav_bytes

DEFAULT_BASE_URL = "http://127.0.0.1:8880/v1"  # Kokoro-FastAPI's default port


class OpenAITTSOptions(Options):
    voice: str = "alloy"  # when the spec has no #PRESET
    speed: float | None = None
    instructions: str | None = None
    timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    api_key_env: str = OPENAI_API_KEY_ENV
    extra_body: dict[str, Any] = {}


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable.of(
        N_(
            "No speech server answers at {url}. Start one (for example Kokoro-FastAPI on port "
            "8880) or fix the spec's @URL."
        ),
        url=base_url,
    )


class OpenAITTSBackend(TTSBackend, EndpointBackend):
    Options = OpenAITTSOptions
    default_api_key_env: ClassVar[str] = OPENAI_API_KEY_ENV

    def __init__(
        self,
        spec: ModelSpec,
        options: OpenAITTSOptions | None = None,
        *,
        http_client: httpx2.Client | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or OpenAITTSOptions()
        self.base_url = spec.base_url or DEFAULT_BASE_URL
        # Retries are off: a retried request would hide its failure in gen_s.
        self._server = OpenAIServer.for_options(
            self.base_url,
            self.options,
            unavailable=lambda: _unavailable(self.base_url),
            http_client=http_client,
        )

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        """Ask the server for WAV; the API has no seed, so `seed` is recorded but not sent."""
        import openai

        voice = (preset or "").strip() or self.options.voice
        # No key for OpenAI's own API is an error here, before anything is sent.
        kwargs: dict[str, Any] = self._server.request_options()
        if self.options.speed is not None:
            kwargs["speed"] = self.options.speed
        if self.options.instructions:
            kwargs["instructions"] = self.options.instructions
        if self.options.extra_body:
            kwargs["extra_body"] = dict(self.options.extra_body)
        try:
            response = self._server.client.audio.speech.create(
                model=self.spec.model,
                voice=voice,
                input=text,
                response_format="wav",
                **kwargs,
            )
            data = response.content
        except openai.APIConnectionError as exc:
            # Which limit was in force, a name that does not resolve, a refused connection:
            # said by the one mapping the chat backend uses.
            raise self._server.connection_error(exc.__cause__ or exc) from exc
        except openai.APIStatusError as exc:
            raise self._server.status_error(exc, voiced=(self.spec.model, voice)) from exc
        audio = from_wav_bytes(data, source=f"{self.base_url}/audio/speech")
        audio.metadata.update({"model": self.spec.model, "voice": voice})
        return audio

    @classmethod
    def discover(cls, base_url: str, *, api_key_env: str | None = None) -> list[DiscoveredModel]:
        models = OpenAIServer.list_models(
            base_url, api_key_env or cls.default_api_key_env, lambda: _unavailable(base_url)
        )
        return [
            DiscoveredModel(f"openai-tts:{m.id}@{base_url}", m.id, vision=False) for m in models
        ]
