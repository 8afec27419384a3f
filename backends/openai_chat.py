"""Any OpenAI-compatible chat server (vLLM, llama.cpp, LM Studio, SGLang, OpenAI): streaming
chat completions with the image as a data URI, usage at the end of the stream."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import httpx2  # the HTTP library the openai client is built on (a fork of httpx)

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

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


class OpenAIChatOptions(Options):
    timeout_s: float = 300.0
    connect_timeout_s: float = 5.0
    api_key_env: str = "OPENAI_API_KEY"
    # Some servers reject the newer parameter name; both mean the same limit.
    max_tokens_param: str = "max_tokens"
    extra_body: dict[str, Any] = {}
    max_image_side: int | None = 2048


def make_client(
    base_url: str,
    api_key_env: str,
    timeout: httpx2.Timeout,
    http_client: httpx2.Client | None = None,
) -> Any:
    import openai

    # Local servers need no key, but the client insists on one.
    api_key = os.environ.get(api_key_env) or "not-needed"
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout,
        max_retries=0,  # a retried request would hide its failure inside a longer latency
        http_client=http_client,
    )


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"Nothing answers at {base_url}. Start the server (for example `vllm serve MODEL` or "
        "`llama-server -m MODEL.gguf --port 8000`) or fix the spec's @URL."
    )


class OpenAIChatBackend:
    modality: ClassVar[Modality] = "vlm"
    Options = OpenAIChatOptions

    def __init__(
        self,
        spec: ModelSpec,
        options: OpenAIChatOptions | None = None,
        *,
        http_client: httpx2.Client | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or OpenAIChatOptions()
        self.base_url = spec.base_url or DEFAULT_BASE_URL
        timeout = httpx2.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self._client = make_client(self.base_url, self.options.api_key_env, timeout, http_client)

    def _messages(self, request: VLMRequest) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        content: list[dict[str, Any]] = [{"type": "text", "text": request.question}]
        if request.image is not None:
            png = request.image.png_bytes(self.options.max_image_side)
            data_uri = "data:image/png;base64," + base64.b64encode(png).decode()
            content.append({"type": "image_url", "image_url": {"url": data_uri}})
        messages.append({"role": "user", "content": content})
        return messages

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        import openai

        kwargs: dict[str, Any] = {}
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs[self.options.max_tokens_param] = request.max_tokens
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if self.options.extra_body:
            kwargs["extra_body"] = dict(self.options.extra_body)
        events_seen = 0
        try:
            stream = self._client.chat.completions.create(
                model=self.spec.model,
                messages=self._messages(request),
                stream=True,
                stream_options={"include_usage": True},
                **kwargs,
            )
            metadata: dict[str, Any] = {}
            usage: Usage | None = None
            with stream:
                for event in stream:
                    events_seen += 1
                    if event.model:
                        metadata["model"] = event.model
                    if event.system_fingerprint:
                        metadata["system_fingerprint"] = event.system_fingerprint
                    text, reasoning = "", ""
                    if event.choices:
                        delta = event.choices[0].delta
                        text = delta.content or ""
                        extra = delta.model_extra or {}
                        reasoning = extra.get("reasoning_content") or extra.get("reasoning") or ""
                    if event.usage is not None or (event.model_extra or {}).get("timings"):
                        usage = _usage(event, usage)
                    if text or reasoning:
                        yield Chunk(text=text, reasoning=reasoning)
            usage = usage or Usage()
            usage.metadata.update(metadata)
            yield Chunk(usage=usage)
        except openai.APIConnectionError as exc:
            if isinstance(exc, openai.APITimeoutError):
                raise BackendTimeout(
                    f"{self.base_url} did not answer within {self.options.timeout_s:g} s."
                ) from exc
            if events_seen:
                raise BackendError(
                    f"The connection to {self.base_url} broke off mid-answer, after "
                    f"{events_seen} chunk(s): the server stopped or restarted. Check its log."
                ) from exc
            raise _unavailable(self.base_url) from exc
        except openai.NotFoundError as exc:
            raise BackendError(
                f"{self.base_url} has no model {self.spec.model!r} ({_message(exc)}). "
                "See the Backends page for the models it serves."
            ) from exc
        except openai.AuthenticationError as exc:
            raise BackendError(
                f"{self.base_url} refused the API key. Set {self.options.api_key_env} "
                "(or `api_key_env` in backends.toml) to a valid key."
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(
                f"{self.base_url} answered {exc.status_code}: {_message(exc)}"
            ) from exc

    def describe(self) -> dict[str, Any]:
        """The server's version where it tells it: vLLM's /version, llama.cpp's /props.

        Asked before the runner starts its clock, on a plain client of its own so that a
        test's recording transport sees only the chat request.
        """
        root = self.base_url.rstrip("/").removesuffix("/v1")
        details: dict[str, Any] = {}
        try:
            with httpx.Client(timeout=httpx.Timeout(2.0)) as http:
                for path, key, field in (
                    ("/version", "version", "server_version"),
                    ("/props", "build_info", "server_build"),
                ):
                    response = http.get(root + path)
                    if response.status_code == 200 and "json" in response.headers.get(
                        "content-type", ""
                    ):
                        value = response.json().get(key)
                        if value:
                            details[field] = str(value)
        except (httpx.HTTPError, ValueError):
            pass  # the answer itself will say what is wrong with the server
        return details

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
            DiscoveredModel(
                f"openai:{m.id}@{base_url}",
                m.id,
                vision=_accepts_images(m.model_extra or {}),
                details={"owned_by": m.owned_by},
            )
            for m in models
        ]

    @classmethod
    def health(cls, base_url: str, *, api_key_env: str = "OPENAI_API_KEY") -> Health:
        try:
            count = len(cls.discover(base_url, api_key_env=api_key_env))
        except BackendError as exc:
            return Health(False, str(exc))
        return Health(True, f"{count} model(s) at {base_url}")


def _accepts_images(extra: dict[str, Any]) -> bool | None:
    """llama.cpp's server lists `architecture.input_modalities`; most servers say nothing."""
    modalities = (extra.get("architecture") or {}).get("input_modalities")
    return "image" in modalities if isinstance(modalities, list) else None


def _usage(event: Any, previous: Usage | None) -> Usage:
    """OpenAI `usage`, plus llama.cpp's `timings` where the server sends them."""
    usage = previous or Usage()
    if event.usage is not None:
        usage.input_tokens = event.usage.prompt_tokens
        usage.output_tokens = event.usage.completion_tokens
        usage.output_tokens_source = "server"
    timings = (event.model_extra or {}).get("timings")
    if timings:
        # llama.cpp times decoding from the second token on (the first comes out of the prompt
        # batch) and sends 0.0 tokens/s, its "not known", when there was no second token.
        if timings.get("predicted_per_second"):
            usage.decode_tokens_per_s = float(timings["predicted_per_second"])
            if timings.get("predicted_ms") is not None:
                usage.decode_s = float(timings["predicted_ms"]) / 1000
        if timings.get("prompt_ms") is not None:
            usage.prompt_eval_s = float(timings["prompt_ms"]) / 1000
        usage.metadata["timings"] = timings
        if usage.output_tokens is None and timings.get("predicted_n") is not None:
            usage.output_tokens = int(timings["predicted_n"])
            usage.output_tokens_source = "server"
    return usage


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message", error))
        return str(error)
    return str(getattr(exc, "message", exc))
