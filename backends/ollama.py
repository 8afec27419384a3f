"""Ollama server: streaming /api/chat with images; models from /api/tags, vision from /api/show."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from backends.base import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    Chunk,
    DiscoveredModel,
    Health,
    Modality,
    Options,
    Usage,
    VLMRequest,
)
from backends.spec import ModelSpec
from lineup.settings import default_ollama_host

NS_PER_S = 1_000_000_000


class OllamaOptions(Options):
    timeout_s: float = 300.0
    connect_timeout_s: float = 5.0
    num_ctx: int | None = None
    keep_alive: str | None = None
    think: bool | None = None
    max_image_side: int | None = 2048


def _client(base_url: str, timeout: httpx.Timeout, transport: httpx.BaseTransport | None) -> Any:
    import ollama

    kwargs: dict[str, Any] = {"timeout": timeout}
    if transport is not None:
        kwargs["transport"] = transport
    return ollama.Client(host=base_url, **kwargs)


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"Is Ollama running at {base_url}? Start it with `ollama serve`, or set OLLAMA_HOST "
        "(or the spec's @URL) to where it runs."
    )


class OllamaBackend:
    modality: ClassVar[Modality] = "vlm"
    Options = OllamaOptions

    def __init__(
        self,
        spec: ModelSpec,
        options: OllamaOptions | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or OllamaOptions()
        self.base_url = spec.base_url or default_ollama_host()
        timeout = httpx.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self._transport = transport
        self._client = _client(self.base_url, timeout, transport)

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        import ollama

        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        user: dict[str, Any] = {"role": "user", "content": request.question}
        if request.image is not None:
            user["images"] = [request.image.png_bytes(self.options.max_image_side)]
        messages.append(user)
        model_options: dict[str, Any] = {}
        if request.temperature is not None:
            model_options["temperature"] = request.temperature
        if request.max_tokens is not None:
            model_options["num_predict"] = request.max_tokens
        if request.seed is not None:
            model_options["seed"] = request.seed
        if self.options.num_ctx is not None:
            model_options["num_ctx"] = self.options.num_ctx
        kwargs: dict[str, Any] = {}
        if self.options.keep_alive is not None:
            kwargs["keep_alive"] = self.options.keep_alive
        if self.options.think is not None:
            kwargs["think"] = self.options.think
        try:
            responses = self._client.chat(
                model=self.spec.model,
                messages=messages,
                stream=True,
                options=model_options or None,
                **kwargs,
            )
            for response in responses:
                message = response.message
                chunk = Chunk(text=message.content or "", reasoning=message.thinking or "")
                if response.done:
                    chunk.usage = self._usage(response)
                yield chunk
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise BackendError(
                    f"Ollama at {self.base_url} has no model {self.spec.model!r}. "
                    f"Pull it with `ollama pull {self.spec.model}`."
                ) from exc
            raise BackendError(f"Ollama at {self.base_url} answered: {exc.error}") from exc
        except (httpx.ConnectError, ConnectionError) as exc:
            raise _unavailable(self.base_url) from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout(
                f"Ollama at {self.base_url} did not answer within {self.options.timeout_s:g} s."
            ) from exc

    def _usage(self, response: Any) -> Usage:
        eval_count = response.eval_count
        return Usage(
            input_tokens=response.prompt_eval_count,
            output_tokens=eval_count,
            output_tokens_source="server" if eval_count is not None else None,
            load_s=_seconds(response.load_duration),
            prompt_eval_s=_seconds(response.prompt_eval_duration),
            decode_s=_seconds(response.eval_duration),
            metadata={"model": response.model},
        )

    def describe(self) -> dict[str, Any]:
        """Digest, quantisation and server version, for the record; never fails the answer.

        The runner asks before it starts the clock, so these requests are not in any timing.
        """
        import ollama

        details: dict[str, Any] = {}
        try:
            for model in self._client.list().models:
                if model.model == self.spec.model or model.model == f"{self.spec.model}:latest":
                    details["digest"] = model.digest
                    if model.details is not None:
                        details["quantization"] = model.details.quantization_level
                        details["parameter_size"] = model.details.parameter_size
                        details["family"] = model.details.family
            details["server_version"] = server_version(self.base_url, self._transport)
        except (httpx.HTTPError, ConnectionError, ollama.ResponseError):
            pass  # the answer itself will say what is wrong with the server
        return details

    @classmethod
    def discover(
        cls, base_url: str, *, transport: httpx.BaseTransport | None = None
    ) -> list[DiscoveredModel]:
        """The server's models, marking those whose /api/show lists the vision capability."""
        import ollama

        client = _client(base_url, httpx.Timeout(10.0, connect=3.0), transport)
        try:
            listed = client.list().models
            found = []
            for model in listed:
                name = model.model or ""
                capabilities = list(client.show(name).capabilities or [])
                details = {"digest": model.digest, "size": model.size}
                if model.details is not None:
                    details["parameter_size"] = model.details.parameter_size
                    details["quantization"] = model.details.quantization_level
                spec = f"ollama:{name}"
                if base_url != default_ollama_host():
                    spec += f"@{base_url}"
                found.append(
                    DiscoveredModel(spec, name, vision="vision" in capabilities, details=details)
                )
            return found
        except (httpx.ConnectError, ConnectionError) as exc:
            raise _unavailable(base_url) from exc
        except ollama.ResponseError as exc:
            raise BackendError(f"Ollama at {base_url} answered: {exc.error}") from exc

    @classmethod
    def health(cls, base_url: str, *, transport: httpx.BaseTransport | None = None) -> Health:
        try:
            version = server_version(base_url, transport)
        except httpx.HTTPError:
            return Health(False, str(_unavailable(base_url)))
        return Health(True, f"Ollama {version} at {base_url}", version)


def server_version(base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    with httpx.Client(base_url=base_url, timeout=3.0, transport=transport) as http:
        response = http.get("/api/version")
        response.raise_for_status()
        return str(response.json().get("version", "unknown"))


def _seconds(duration_ns: int | None) -> float | None:
    return duration_ns / NS_PER_S if duration_ns is not None else None
