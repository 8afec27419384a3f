"""OpenAI-compatible speech servers (Kokoro-FastAPI, openedai-speech, OpenAI): POST
/v1/audio/speech with the voice as the spec's preset, WAV back."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx2  # the openai client's HTTP library: its timeouts and injected clients

from backends.base import (
    Audio,
    BackendError,
    BackendUnavailable,
    DiscoveredModel,
    Health,
    Modality,
    Options,
)
from backends.http_stream import transport_error
from backends.openai_chat import _message, make_client
from backends.spec import ModelSpec
from backends.wav import from_wav_bytes

DEFAULT_BASE_URL = "http://127.0.0.1:8880/v1"  # Kokoro-FastAPI's default port


class OpenAITTSOptions(Options):
    voice: str = "alloy"  # when the spec has no #PRESET
    speed: float | None = None
    instructions: str | None = None
    timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    api_key_env: str = "OPENAI_API_KEY"
    extra_body: dict[str, Any] = {}


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"No speech server answers at {base_url}. Start one (for example Kokoro-FastAPI on "
        "port 8880) or fix the spec's @URL."
    )


class OpenAITTSBackend:
    modality: ClassVar[Modality] = "tts"
    Options = OpenAITTSOptions

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
        timeout = httpx2.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        # make_client turns retries off: a retried request would hide its failure in gen_s.
        self._client = make_client(self.base_url, self.options.api_key_env, timeout, http_client)

    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        """Ask the server for WAV; the API has no seed, so `seed` is recorded but not sent."""
        import openai

        voice = (preset or "").strip() or self.options.voice
        kwargs: dict[str, Any] = {}
        if self.options.speed is not None:
            kwargs["speed"] = self.options.speed
        if self.options.instructions:
            kwargs["instructions"] = self.options.instructions
        if self.options.extra_body:
            kwargs["extra_body"] = dict(self.options.extra_body)
        try:
            response = self._client.audio.speech.create(
                model=self.spec.model,
                voice=voice,
                input=text,
                response_format="wav",
                **kwargs,
            )
            data = response.content
        except openai.APIConnectionError as exc:
            # Which limit was in force (connect_timeout_s or timeout_s), a name that does not
            # resolve, a refused connection: said by the one mapping the chat backend uses.
            raise transport_error(
                exc.__cause__ or exc,
                where=self.base_url,
                base_url=self.base_url,
                connect_timeout_s=self.options.connect_timeout_s,
                timeout_s=self.options.timeout_s,
                headers_received=False,
                chunks_received=0,
                unavailable=lambda: _unavailable(self.base_url),
            ) from exc
        except openai.AuthenticationError as exc:
            raise BackendError(
                f"{self.base_url} refused the API key. Set {self.options.api_key_env} "
                "(or `api_key_env` in backends.toml) to a valid key."
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(
                f"{self.base_url} answered {exc.status_code} for model {self.spec.model!r}, "
                f"voice {voice!r}: {_message(exc)}"
            ) from exc
        audio = from_wav_bytes(data, source=f"{self.base_url}/audio/speech")
        audio.metadata.update({"model": self.spec.model, "voice": voice})
        return audio

    def languages(self, preset: str | None = None) -> set[str] | None:
        return None  # a server's voices do not say which languages they speak

    @classmethod
    def discover(
        cls,
        base_url: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        http_client: httpx2.Client | None = None,
    ) -> list[DiscoveredModel]:
        import openai

        client = make_client(base_url, api_key_env, httpx2.Timeout(10.0, connect=3.0), http_client)
        try:
            models = list(client.models.list())
        except openai.APIConnectionError as exc:
            raise _unavailable(base_url) from exc
        except openai.APIStatusError as exc:
            raise BackendError(f"{base_url} answered {exc.status_code}: {_message(exc)}") from exc
        return [
            DiscoveredModel(f"openai-tts:{m.id}@{base_url}", m.id, vision=False) for m in models
        ]

    @classmethod
    def health(cls, base_url: str, *, api_key_env: str = "OPENAI_API_KEY") -> Health:
        try:
            count = len(cls.discover(base_url, api_key_env=api_key_env))
        except BackendError as exc:
            return Health(False, str(exc))
        return Health(True, f"{count} model(s) at {base_url}")
