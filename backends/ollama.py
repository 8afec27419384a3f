"""Ollama server: streaming /api/chat with images; models from /api/tags, vision from /api/show."""

from __future__ import annotations

import base64
import json
import platform
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from backends.base import (
    N_,
    BackendError,
    BackendIncomplete,
    BackendUnavailable,
    Chunk,
    DiscoveredModel,
    EndpointBackend,
    Health,
    Options,
    Phrase,
    ReaderRecipe,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.http_stream import (
    TRANSPORT_ERRORS,
    GuardedHTTPTransport,
    RequestGuard,
    decode_line,
    describe_page,
    is_html,
    malformed_json,
    read_head,
    shorten,
    split_lines,
    transport_error,
    uses_proxy,
)
from backends.keys import api_key
from backends.probe import Card, Prober, host_of
from backends.spec import ModelSpec, default_ollama_host

NS_PER_S = 1_000_000_000
OLLAMA_API_KEY_ENV = "OLLAMA_API_KEY"  # the `ollama` client's own variable (Ollama's cloud)


class OllamaOptions(Options):
    timeout_s: float = 300.0
    connect_timeout_s: float = 5.0
    num_ctx: int | None = None
    keep_alive: str | None = None
    think: bool | None = None
    max_image_side: int | None = 2048
    api_key_env: str = OLLAMA_API_KEY_ENV


def _client(
    base_url: str,
    timeout: httpx.Timeout,
    transport: httpx.BaseTransport | None,
    api_key_env: str,
) -> Any:
    import ollama

    kwargs: dict[str, Any] = {"timeout": timeout, "headers": _auth_headers(api_key_env)}
    if transport is not None:
        kwargs["transport"] = transport
    return ollama.Client(host=base_url, **kwargs)


def _auth_headers(api_key_env: str) -> dict[str, str]:
    """The key for a server that needs one (Ollama's cloud, a proxy), where one is set."""
    key = api_key(api_key_env)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _headers() -> dict[str, str]:
    """The headers the `ollama` client sends (the key is added per request)."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"lineup ({platform.machine()} {platform.system().lower()}) "
        f"Python/{platform.python_version()}",
    }


@dataclass
class _Progress:
    """How far a request got, for the error message when it fails."""

    headers_received: bool = False
    records: int = 0


def _unavailable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable.of(
        N_(
            "Is Ollama running at {base_url}? Start it with `ollama serve`, or set OLLAMA_HOST "
            "(or the spec's @URL) to where it runs."
        ),
        base_url=base_url,
    )


class OllamaBackend(VLMBackend, EndpointBackend):
    Options = OllamaOptions
    default_api_key_env: ClassVar[str] = OLLAMA_API_KEY_ENV

    @classmethod
    def resolved_base_url(cls, spec: ModelSpec) -> str | None:
        return spec.base_url or default_ollama_host()

    def __init__(
        self,
        spec: ModelSpec,
        options: OllamaOptions | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.spec = spec
        self.options = options or OllamaOptions()
        self.base_url = self.resolved_base_url(spec) or default_ollama_host()
        timeout = httpx.Timeout(self.options.timeout_s, connect=self.options.connect_timeout_s)
        self._transport = transport
        if transport is None and not uses_proxy(self.base_url):
            # A transport whose sockets a cancel can shut down, even before the headers came.
            transport = GuardedHTTPTransport()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            headers=_headers(),
        )

    def reader_recipe(self) -> ReaderRecipe | None:
        if self._transport is not None:
            return None  # a test's transport lives in this process
        return ReaderRecipe(
            str(self.spec.with_base_url(self.base_url)),
            self.options.model_dump(),
            self.options.api_key_env,
            self.options.max_image_side,
        )

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        """Stream /api/chat, reading the NDJSON records itself.

        The `ollama` client decodes the body leniently (bytes that are not UTF-8 become U+FFFD
        and pass as a good answer), hides the content type (an HTML page fails as a raw
        JSONDecodeError) and holds no handle to stop the request; so the chat request is sent
        here, and only a stream that ends with its `done: true` record yields the Usage chunk.
        """
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        user: dict[str, Any] = {"role": "user", "content": request.question}
        if request.image is not None:
            png = request.image.png_bytes(self.options.max_image_side)
            user["images"] = [base64.b64encode(png).decode()]
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
        body: dict[str, Any] = {"model": self.spec.model, "messages": messages, "stream": True}
        if model_options:
            body["options"] = model_options
        if self.options.keep_alive is not None:
            body["keep_alive"] = self.options.keep_alive
        if self.options.think is not None:
            body["think"] = self.options.think
        guard = RequestGuard(request.cancel, request.sent)
        progress = _Progress()
        try:
            if guard.aborted:
                raise self._stopped()
            with ExitStack() as exits:
                with guard.sending():
                    response = exits.enter_context(
                        self._http.stream(
                            "POST",
                            "/api/chat",
                            json=body,
                            headers=_auth_headers(self.options.api_key_env),
                        )
                    )
                    progress.headers_received = True
                    if response.status_code != 200:
                        raise self._status_error(response)
                # Runs before the response closes: its connection may then serve another request.
                exits.callback(guard.release)
                guard.watch(response)
                for chunk in self._read_records(response, progress):
                    if guard.aborted:
                        raise self._stopped()
                    yield chunk
        except BackendError:
            if guard.aborted:
                raise self._stopped() from None
            raise
        except TRANSPORT_ERRORS as exc:
            if guard.aborted:
                raise self._stopped() from exc
            raise transport_error(
                exc,
                where=self._where,
                base_url=self.base_url,
                connect_timeout_s=self.options.connect_timeout_s,
                timeout_s=self.options.timeout_s,
                headers_received=progress.headers_received,
                chunks_received=progress.records,
                unavailable=lambda: _unavailable(self.base_url),
            ) from exc
        finally:
            guard.release()

    @property
    def _where(self) -> Phrase:
        return Phrase.of(N_("Ollama at {url}"), url=self.base_url)

    def _stopped(self) -> BackendError:
        return BackendError.of(
            N_("The request to {where} was stopped (timeout or Stop)."), where=self._where
        )

    def _status_error(self, response: httpx.Response) -> BackendError:
        status = response.status_code
        head = read_head(response)
        if is_html(response) or head.lstrip().startswith("<"):
            message = describe_page(head)
        else:
            try:
                parsed = json.loads(head)
            except ValueError:
                parsed = None
            error = parsed.get("error") if isinstance(parsed, dict) else None
            message = shorten(str(error) if error else head)
        if status == 404 and "not found" in message and self.spec.model in message:
            return BackendError.of(
                N_("{where} has no model {quoted}. Pull it with `ollama pull {model}`."),
                where=self._where,
                quoted=repr(self.spec.model),
                model=self.spec.model,
            )
        if status == 404:
            return BackendError.of(
                N_(
                    "{where} answered HTTP 404 ({message}): is this an Ollama server? Check the "
                    "spec's @URL (Ollama listens on port 11434)."
                ),
                where=self._where,
                message=message,
            )
        if status in (401, 403):
            return BackendError.of(
                N_(
                    "{where} refused the request (HTTP {status}: {message}). Set {variable} (or "
                    "name another variable with `api_key_env` for this endpoint in "
                    "backends.toml) if the server needs a key, or check the proxy in front of it."
                ),
                where=self._where,
                status=status,
                message=message,
                variable=self.options.api_key_env,
            )
        if status in (429, 503):
            return BackendError.of(
                N_(
                    "{where} answered {status}: {message}. It is busy: try again later, or lower "
                    "the concurrency for this endpoint (OLLAMA_NUM_PARALLEL on the server)."
                ),
                where=self._where,
                status=status,
                message=message,
            )
        if status >= 500:
            return BackendError.of(
                N_(
                    "{where} answered {status}: {message}. Check the server's log (a crashed "
                    "model or a full GPU memory show there)."
                ),
                where=self._where,
                status=status,
                message=message,
            )
        return BackendError.of(
            N_("{where} answered {status}: {message}"),
            where=self._where,
            status=status,
            message=message,
        )

    def _read_records(self, response: httpx.Response, progress: _Progress) -> Iterator[Chunk]:
        import ollama
        from pydantic import ValidationError

        where = self._where
        if is_html(response):
            raise BackendIncomplete.of(
                N_(
                    "{where} answered HTTP 200 with an HTML page, not a stream of answers "
                    "({page}). Check the spec's @URL: it must be the Ollama server (port 11434), "
                    "not a web page, proxy or login page."
                ),
                where=where,
                page=repr(describe_page(read_head(response))),
            )
        unterminated = bytearray()
        for raw_line in split_lines(response.iter_bytes(), unterminated):
            line = decode_line(raw_line, where)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                if not progress.records and line.lstrip().startswith("<"):
                    raise BackendIncomplete.of(
                        N_(
                            "{where} answered with a page, not a stream of answers ({page}). "
                            "Check the spec's @URL."
                        ),
                        where=where,
                        page=repr(describe_page(line)),
                    ) from None
                raise malformed_json(where, exc, line) from None
            if isinstance(record, dict) and record.get("error"):
                raise BackendError.of(
                    N_("{where} reported an error mid-answer: {error}. Check the server's log."),
                    where=where,
                    error=shorten(str(record["error"])),
                )
            try:
                parsed = ollama.ChatResponse.model_validate(record)
            except ValidationError:
                raise BackendError.of(
                    N_(
                        "{where} sent a record that is not an Ollama chat answer: {data}. Check "
                        "that the spec's @URL is an Ollama server."
                    ),
                    where=where,
                    data=repr(shorten(line, 120)),
                ) from None
            progress.records += 1
            message = parsed.message
            chunk = Chunk(text=message.content or "", reasoning=message.thinking or "")
            if parsed.done:
                chunk.usage = self._usage(parsed)
                yield chunk
                return
            if chunk.text or chunk.reasoning:
                yield chunk
        if not progress.records and not unterminated:
            raise BackendIncomplete.of(
                N_(
                    "{where} sent an empty stream: HTTP 200 and no records. Check the server's log."
                ),
                where=where,
            )
        if unterminated:
            raise BackendIncomplete.of(
                N_(
                    "The stream from {where} ended in the middle of a record after {records} "
                    "record(s) without its final `done: true` record: the answer may be cut "
                    "off. Check the server's log."
                ),
                where=where,
                records=progress.records,
            )
        raise BackendIncomplete.of(
            N_(
                "The stream from {where} ended after {records} record(s) without its final "
                "`done: true` record: the answer may be cut off. Check the server's log."
            ),
            where=where,
            records=progress.records,
        )

    def _usage(self, response: Any) -> Usage:
        eval_count = response.eval_count
        return Usage(
            input_tokens=response.prompt_eval_count,
            output_tokens=eval_count,
            output_tokens_source="server" if eval_count is not None else None,
            load_s=_seconds(response.load_duration),
            prompt_eval_s=_seconds(response.prompt_eval_duration),
            decode_s=_seconds(response.eval_duration),
            metadata={"model": response.model}
            | ({"done_reason": response.done_reason} if response.done_reason else {}),
        )

    def describe(self) -> dict[str, Any]:
        """What Ollama says of the model: /api/version; /api/show (family, parameter size,
        quantisation level, context length); /api/ps (the bytes it holds in VRAM and in all,
        the CPU/GPU split `ollama ps` shows, its digest) or, when the model is not loaded now,
        its digest from /api/tags. Bounded, never raises (backends.probe)."""
        card = Card(
            "ollama",
            OLLAMA_FIELDS,
            host=host_of(self.base_url),
        )
        with Prober(
            self.base_url, _auth_headers(self.options.api_key_env), transport=self._transport
        ) as probe:
            version, why = probe.ask("/api/version")
            if version is not None:
                card.set("server_version", version.get("version"))
            else:
                card.missing(str(why), "server_version")
            shown, why = probe.ask("/api/show", {"model": self.spec.model})
            if shown is not None:
                details = _object(shown.get("details"))
                card.set("family", details.get("family"))
                card.set("parameter_size", details.get("parameter_size"))
                card.set("quantization", details.get("quantization_level"))
                card.set("format", details.get("format"))
                info = _object(shown.get("model_info"))
                arch = info.get("general.architecture")
                if isinstance(arch, str):
                    card.set("context_length", info.get(f"{arch}.context_length"))
            else:
                card.missing(str(why), "family", "parameter_size", "quantization", "format")
            card.missing("/api/show gave no context length", "context_length")
            loaded, why = probe.ask("/api/ps")
            entry = _listed(loaded, self.spec.model) if loaded is not None else None
            if entry is not None:
                size, vram = entry.get("size"), entry.get("size_vram")
                card.set("size_bytes", size)
                card.set("vram_bytes", vram)
                card.set("processor", processor_split(size, vram))
                card.set("digest", entry.get("digest"))
            else:
                card.missing(
                    str(why) if loaded is None else "/api/ps: the model is not loaded now",
                    "size_bytes",
                    "vram_bytes",
                    "processor",
                )
            if card.values["digest"] is None:
                tags, why = probe.ask("/api/tags")
                entry = _listed(tags, self.spec.model) if tags is not None else None
                if entry is not None:
                    card.set("digest", entry.get("digest"))
                card.missing(str(why) if tags is None else "/api/tags: not listed", "digest")
        return card.as_dict()

    @classmethod
    def discover(cls, base_url: str, *, api_key_env: str | None = None) -> list[DiscoveredModel]:
        """The server's models, marking those whose /api/show lists the vision capability."""
        import ollama

        key_env = api_key_env or cls.default_api_key_env
        client = _client(base_url, httpx.Timeout(10.0, connect=3.0), None, key_env)
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
            raise BackendError.of(
                N_("Ollama at {url} answered: {error}"), url=base_url, error=str(exc.error)
            ) from exc

    @classmethod
    def health(cls, base_url: str, *, api_key_env: str | None = None) -> Health:
        try:
            version = server_version(base_url, None, api_key_env or cls.default_api_key_env)
        except httpx.HTTPError:
            error = _unavailable(base_url)
            return Health(False, str(error), template=error.template, values=error.values)
        template = N_("Ollama {version} at {base_url}")
        values: dict[str, object] = {"version": version, "base_url": base_url}
        return Health(True, template.format(**values), version, template, values)


OLLAMA_FIELDS = (
    "host",
    "server_version",
    "family",
    "parameter_size",
    "quantization",
    "format",
    "context_length",
    "digest",
    "size_bytes",
    "vram_bytes",
    "processor",
)


def _listed(answer: dict[str, Any], model: str) -> dict[str, Any] | None:
    """The entry of `model` in an /api/ps or /api/tags answer (`llava` is `llava:latest`)."""
    models = answer.get("models")
    if not isinstance(models, list):
        return None
    names = {model, f"{model}:latest"}
    for entry in models:
        if isinstance(entry, dict) and (entry.get("model") in names or entry.get("name") in names):
            return entry
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def processor_split(size: Any, vram: Any) -> str | None:
    """Where a loaded model sits, as `ollama ps` says it: "100% GPU", "100% CPU" or
    "48%/52% CPU/GPU" (the share of its bytes outside and inside VRAM)."""
    if not isinstance(size, int) or not isinstance(vram, int) or size <= 0 or vram < 0:
        return None
    gpu_pct = round(100 * min(vram, size) / size)
    if gpu_pct >= 100:
        return "100% GPU"
    if gpu_pct <= 0:
        return "100% CPU"
    return f"{100 - gpu_pct}%/{gpu_pct}% CPU/GPU"


def server_version(
    base_url: str,
    transport: httpx.BaseTransport | None = None,
    api_key_env: str = OLLAMA_API_KEY_ENV,
) -> str:
    with httpx.Client(
        base_url=base_url, timeout=3.0, transport=transport, headers=_auth_headers(api_key_env)
    ) as http:
        response = http.get("/api/version")
        response.raise_for_status()
        return str(response.json().get("version", "unknown"))


def _seconds(duration_ns: int | None) -> float | None:
    return duration_ns / NS_PER_S if duration_ns is not None else None
