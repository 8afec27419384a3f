"""Any OpenAI-compatible chat server (vLLM, llama.cpp, LM Studio, SGLang, OpenAI): streaming
chat completions with the image as a data URI, usage at the end of the stream."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx2  # the HTTP library the openai client is built on (a fork of httpx)

from backends.base import (
    N_,
    BackendError,
    BackendIncomplete,
    BackendUnavailable,
    Chunk,
    DiscoveredModel,
    EndpointBackend,
    Options,
    ReaderRecipe,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.http_stream import (
    TRANSPORT_ERRORS,
    RequestGuard,
    decode_line,
    describe_page,
    is_html,
    malformed_json,
    read_head,
    shorten,
    split_lines,
)
from backends.openai_compat import OPENAI_API_KEY_ENV, OpenAIServer, error_text
from backends.probe import Card, Prober, host_of, without_home
from backends.spec import ModelSpec

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


class OpenAIChatOptions(Options):
    timeout_s: float = 300.0
    connect_timeout_s: float = 5.0
    api_key_env: str = OPENAI_API_KEY_ENV
    # Some servers reject the newer parameter name; both mean the same limit.
    max_tokens_param: str = "max_tokens"
    extra_body: dict[str, Any] = {}
    max_image_side: int | None = 2048


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable.of(
        N_(
            "Nothing answers at {url}. Start the server (for example `vllm serve MODEL` or "
            "`llama-server -m MODEL.gguf --port 8000`) or fix the spec's @URL."
        ),
        url=base_url,
    )


class OpenAIChatBackend(VLMBackend, EndpointBackend):
    Options = OpenAIChatOptions
    default_api_key_env: ClassVar[str] = OPENAI_API_KEY_ENV

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
        self._server = OpenAIServer.for_options(
            self.base_url,
            self.options,
            unavailable=lambda: _unavailable(self.base_url),
            http_client=http_client,
        )
        self._client = self._server.client
        self._injected = http_client is not None

    def reader_recipe(self) -> ReaderRecipe | None:
        if self._injected:
            return None  # a test's client lives in this process
        return ReaderRecipe(
            str(self.spec.with_base_url(self.base_url)),
            self.options.model_dump(),
            self._server.api_key_env,
            self.options.max_image_side,
        )

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
        """Stream the answer, reading the server-sent events itself.

        The openai client's own `Stream` cannot say whether it saw `data: [DONE]` (it ends the
        same way when the body just stops), and it lets `JSONDecodeError` and
        `UnicodeDecodeError` out raw; so the raw response is read here, and only a stream that
        ends with `[DONE]` or a `finish_reason` yields the final Usage chunk.
        """
        import openai

        # No key for OpenAI's own API is an error here, before anything is sent.
        kwargs: dict[str, Any] = self._server.request_options()
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs[self.options.max_tokens_param] = request.max_tokens
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if self.options.extra_body:
            kwargs["extra_body"] = dict(self.options.extra_body)
        guard = RequestGuard(request.cancel, request.sent)
        progress = _Progress()
        try:
            if guard.aborted:
                raise self._stopped()
            with ExitStack() as exits:
                with guard.sending():
                    raw = exits.enter_context(
                        self._client.chat.completions.with_streaming_response.create(
                            model=self.spec.model,
                            messages=self._messages(request),
                            stream=True,
                            stream_options={"include_usage": True},
                            **kwargs,
                        )
                    )
                # Runs before the response closes: its connection may then serve another request.
                exits.callback(guard.release)
                response = raw.http_response
                guard.watch(response)
                progress.headers_received = True
                self._check_body_kind(response)
                for chunk in self._read_events(response, progress):
                    if guard.aborted:
                        raise self._stopped()
                    yield chunk
        except BackendError:
            if guard.aborted:
                raise self._stopped() from None
            raise
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except openai.APIConnectionError as exc:
            raise self._transport_error(exc.__cause__ or exc, progress, guard) from exc
        except TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, progress, guard) from exc
        finally:
            guard.release()

    def _stopped(self) -> BackendError:
        return BackendError.of(
            N_("The request to {where} was stopped (timeout or Stop)."), where=self.base_url
        )

    def _transport_error(
        self, exc: BaseException, progress: _Progress, guard: RequestGuard
    ) -> BackendError:
        if guard.aborted:
            return self._stopped()
        return self._server.connection_error(
            exc, headers_received=progress.headers_received, chunks_received=progress.events
        )

    def _status_error(self, exc: Any) -> BackendError:
        return self._server.status_error(exc, model=self.spec.model)

    def _check_body_kind(self, response: httpx2.Response) -> None:
        """An HTML page or a single JSON document is not the event stream that was asked for."""
        content_type = response.headers.get("content-type", "").lower()
        if is_html(response):
            raise BackendIncomplete.of(
                N_(
                    "{where} answered HTTP {status} with an HTML page, not an event stream "
                    "({page}). Check the URL: it must be the model server's API (usually ending "
                    "in /v1), not a web page, proxy or login page."
                ),
                where=self.base_url,
                status=response.status_code,
                page=repr(describe_page(read_head(response))),
            )
        if content_type.startswith("application/json"):
            head = read_head(response, 64 * 1024)
            try:
                body = json.loads(head)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("error"):
                raise BackendError.of(
                    N_("{where} reported an error: {error}"),
                    where=self.base_url,
                    error=error_text(body["error"]),
                )
            raise BackendIncomplete.of(
                N_(
                    "{where} answered with one JSON document, not an event stream: it ignored "
                    "stream=true ({data}). Use a server that streams."
                ),
                where=self.base_url,
                data=repr(shorten(head, 200)),
            )

    def _read_events(self, response: httpx2.Response, progress: _Progress) -> Iterator[Chunk]:
        where = self.base_url
        metadata: dict[str, Any] = {}
        usage: Usage | None = None
        finished = done = False
        stray = ""  # the first line that is not server-sent events, for the message
        data_lines: list[str] = []
        event_name = ""
        unterminated = bytearray()
        for raw_line in split_lines(response.iter_bytes(), unterminated):
            line = decode_line(raw_line, where)
            if line:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "data":
                    data_lines.append(value)
                elif field == "event":
                    event_name = value
                elif field and field not in ("id", "retry") and not stray:
                    stray = line
                continue
            if not data_lines:
                continue
            data, name = "\n".join(data_lines), event_name
            data_lines, event_name = [], ""
            if data.strip() == "[DONE]":
                done = True
                break
            event = _parse_event(data, name, where)
            progress.events += 1
            if event.get("model"):
                metadata["model"] = event["model"]
            if event.get("system_fingerprint"):
                metadata["system_fingerprint"] = event["system_fingerprint"]
            text, reasoning, finish_reason = _delta(event)
            if finish_reason:
                finished = True
                metadata["finish_reason"] = finish_reason  # "length": cut by max tokens
            if isinstance(event.get("usage"), dict) or isinstance(event.get("timings"), dict):
                usage = _usage(event, usage)
            if text or reasoning:
                yield Chunk(text=text, reasoning=reasoning)
        if not done:
            # A last `data: [DONE]` without the blank line after it still ends the stream.
            tail = unterminated.decode("utf-8", errors="replace")
            if tail.startswith("data:"):
                data_lines.append(tail.removeprefix("data:").strip())
            done = "\n".join(data_lines).strip() == "[DONE]"
        if not (done or finished):
            raise self._incomplete(progress.events, stray, bool(data_lines) or bool(unterminated))
        usage = usage or Usage()
        usage.metadata.update(metadata)
        yield Chunk(usage=usage)

    def _incomplete(self, events: int, stray: str, mid_event: bool) -> BackendIncomplete:
        where = self.base_url
        if not events and stray:
            return BackendIncomplete.of(
                N_(
                    "{where} answered HTTP 200 with a body that is not an event stream ({data}). "
                    "Check that the URL is an OpenAI-compatible API."
                ),
                where=where,
                data=repr(shorten(stray, 200)),
            )
        if not events and not mid_event:
            return BackendIncomplete.of(
                N_("{where} sent an empty stream: HTTP 200 and no events. Check the server's log."),
                where=where,
            )
        if mid_event:
            return BackendIncomplete.of(
                N_(
                    "The stream from {where} ended in the middle of an event after {events} "
                    "chunk(s) without its end marker (`data: [DONE]` or a finish_reason): the "
                    "answer may be cut off. Check the server's log."
                ),
                where=where,
                events=events,
            )
        return BackendIncomplete.of(
            N_(
                "The stream from {where} ended after {events} chunk(s) without its end marker "
                "(`data: [DONE]` or a finish_reason): the answer may be cut off. Check the "
                "server's log."
            ),
            where=where,
            events=events,
        )

    def describe(self) -> dict[str, Any]:
        """What an OpenAI-compatible server says of itself and the model: llama.cpp's /props
        (model path, context `n_ctx`, build) and /v1/models (parameters, training context);
        vLLM's /version and /v1/models (`max_model_len`; quantisation where it says). Other
        servers leave these empty, each with its reason. Bounded, never raises
        (backends.probe); asked on a client of its own, after the answers."""
        root = self.base_url.rstrip("/").removesuffix("/v1")
        card = Card("openai", OPENAI_FIELDS, host=host_of(self.base_url))
        with Prober(root, self._server.auth_headers()) as probe:
            props, props_why = probe.ask("/props")
            if props is not None:
                card.set("build", props.get("build_info"))
                path = props.get("model_path")
                card.set("model_path", without_home(path) if isinstance(path, str) else None)
                settings = props.get("default_generation_settings")
                if isinstance(settings, dict):
                    card.set("context", settings.get("n_ctx"))
                if card.values["build"] is not None:
                    card.set("server", "llama.cpp")
            version, version_why = probe.ask("/version")
            if version is not None:
                card.set("server_version", version.get("version"))
                if card.values["server"] is None:
                    card.set("server", "vLLM")
            listed, models_why = probe.ask("/v1/models")
            entry = _model_entry(listed, self.spec.model) if listed is not None else None
            if entry is not None:
                card.set("max_model_len", entry.get("max_model_len"))
                card.set("quantization", entry.get("quantization"))
                meta = entry.get("meta")
                if isinstance(meta, dict):  # llama.cpp's
                    card.set("parameters", meta.get("n_params"))
                    card.set("context_train", meta.get("n_ctx_train"))
            if card.values["context"] is None:
                card.set("context", card.values["max_model_len"])
        card.missing(str(props_why), "build", "model_path")
        card.missing(str(version_why), "server_version")
        models_reason = str(models_why) if listed is None else "/v1/models: not said"
        card.missing(models_reason, "max_model_len", "parameters", "context_train")
        card.missing("neither /props (llama.cpp) nor /v1/models (vLLM) gave a context", "context")
        card.missing("the server does not say", "quantization", "server")
        return card.as_dict()

    @classmethod
    def discover(cls, base_url: str, *, api_key_env: str | None = None) -> list[DiscoveredModel]:
        models = OpenAIServer.list_models(
            base_url, api_key_env or cls.default_api_key_env, lambda: _unavailable(base_url)
        )
        return [
            DiscoveredModel(
                f"openai:{m.id}@{base_url}",
                m.id,
                vision=_accepts_images(m.model_extra or {}),
                details={"owned_by": m.owned_by},
            )
            for m in models
        ]


OPENAI_FIELDS = (
    "host",
    "server",
    "server_version",
    "build",
    "model_path",
    "context",
    "max_model_len",
    "context_train",
    "parameters",
    "quantization",
)


def _model_entry(answer: dict[str, Any], model: str) -> dict[str, Any] | None:
    """The model's entry in /v1/models (by id, else the only one: llama.cpp serves one)."""
    data = answer.get("data")
    if not isinstance(data, list):
        return None
    entries = [entry for entry in data if isinstance(entry, dict)]
    for entry in entries:
        if entry.get("id") == model:
            return entry
    return entries[0] if len(entries) == 1 else None


def _accepts_images(extra: dict[str, Any]) -> bool | None:
    """llama.cpp's server lists `architecture.input_modalities`; most servers say nothing."""
    modalities = (extra.get("architecture") or {}).get("input_modalities")
    return "image" in modalities if isinstance(modalities, list) else None


@dataclass
class _Progress:
    """How far a request got, for the error message when it fails."""

    headers_received: bool = False
    events: int = 0


def _parse_event(data: str, event_name: str, where: str) -> dict[str, Any]:
    """One event's JSON; an error object (or an `event: error`) is the server's failure."""
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise malformed_json(where, exc, data) from None
    if not isinstance(event, dict):
        raise BackendError.of(
            N_(
                "{where} sent an event that is not a chat.completion.chunk object: {data}. "
                "Check that the URL is an OpenAI-compatible API."
            ),
            where=where,
            data=repr(shorten(data, 120)),
        )
    if event.get("error") or event_name == "error":
        raise BackendError.of(
            N_("{where} reported an error mid-answer: {error}. Check the server's log."),
            where=where,
            error=error_text(event.get("error") or event),
        )
    return event


def _delta(event: dict[str, Any]) -> tuple[str, str, str | None]:
    """The answer text, reasoning text and finish_reason of a chunk's first choice."""
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", "", None
    choice = choices[0]
    raw_delta = choice.get("delta")
    delta: dict[str, Any] = raw_delta if isinstance(raw_delta, dict) else {}
    text = delta.get("content")
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    finish_reason = choice.get("finish_reason")
    return (
        text if isinstance(text, str) else "",
        reasoning if isinstance(reasoning, str) else "",
        str(finish_reason) if finish_reason else None,
    )


def _usage(event: dict[str, Any], previous: Usage | None) -> Usage:
    """OpenAI `usage`, plus llama.cpp's `timings` where the server sends them."""
    usage = previous or Usage()
    reported = event.get("usage")
    if isinstance(reported, dict):
        usage.input_tokens = _int_or_none(reported.get("prompt_tokens"))
        usage.output_tokens = _int_or_none(reported.get("completion_tokens"))
        usage.output_tokens_source = "server" if usage.output_tokens is not None else None
    timings = event.get("timings")
    if isinstance(timings, dict) and timings:
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


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
