"""The one way Lineup talks to OpenAI-compatible servers, for chat (`openai`) and speech
(`openai-tts`) alike: the official client with retries off, its API key, the model list and
what a failed answer means."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2  # the HTTP library the openai client is built on (a fork of httpx)

from backends import keys
from backends.base import N_, BackendError, BackendUnavailable
from backends.http_stream import (
    GuardedHTTP2Transport,
    describe_page,
    shorten,
    transport_error,
    uses_proxy,
)

OPENAI_API_KEY_ENV = "OPENAI_API_KEY"
# Listing models is a quick question: a server that does not answer it soon is not up.
LIST_TIMEOUT_S = 10.0
LIST_CONNECT_TIMEOUT_S = 3.0


def is_openai_api(base_url: str) -> bool:
    """Whether `base_url` is OpenAI's own API (api.openai.com or a regional *.api.openai.com)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".api.openai.com")


class ServerOptions(Protocol):
    """What both backends' options say about their server."""

    @property
    def api_key_env(self) -> str: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def connect_timeout_s(self) -> float: ...


class OpenAIServer:
    """One OpenAI-compatible server, as both backends talk to it.

    The key is read through `backends.keys` for every request, so a key set after the backend
    was built counts. With a key, the client sends `Authorization: Bearer KEY`; with none, it
    sends no Authorization header at all (a local server that needs no key gets none, and one
    that needs a key answers a plain 401); OpenAI's own API with no key is an error before any
    request is sent.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str | None,
        timeout_s: float,
        connect_timeout_s: float,
        unavailable: Callable[[], BackendUnavailable],
        http_client: httpx2.Client | None = None,
    ) -> None:
        import openai

        self.base_url = base_url
        self.api_key_env = api_key_env or OPENAI_API_KEY_ENV
        self.unavailable = unavailable
        # The option values, named in the message when one of them runs out.
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        timeout = httpx2.Timeout(timeout_s, connect=connect_timeout_s)
        if http_client is None and not uses_proxy(base_url):
            # A transport whose sockets a cancel can shut down, even before the headers came.
            http_client = httpx2.Client(
                transport=GuardedHTTP2Transport(), timeout=timeout, follow_redirects=True
            )
        # Any: requests are built from plain dicts (messages, extra_body), which the client's
        # TypedDict overloads would refuse to type-check.
        self.client: Any = openai.OpenAI(
            base_url=base_url,
            # Asked per request; "" (no key) never reaches the wire: see `request_options`.
            api_key=self._key_or_empty,
            timeout=timeout,
            max_retries=0,  # a retried request would hide its failure inside a longer latency
            http_client=http_client,
        )

    @classmethod
    def for_options(
        cls,
        base_url: str,
        options: ServerOptions,
        *,
        unavailable: Callable[[], BackendUnavailable],
        http_client: httpx2.Client | None = None,
    ) -> OpenAIServer:
        """The server a backend's options describe (key variable and timeouts)."""
        return cls(
            base_url,
            api_key_env=options.api_key_env,
            timeout_s=options.timeout_s,
            connect_timeout_s=options.connect_timeout_s,
            unavailable=unavailable,
            http_client=http_client,
        )

    def _key_or_empty(self) -> str:
        return keys.api_key(self.api_key_env) or ""

    def has_key(self) -> bool:
        return keys.api_key(self.api_key_env) is not None

    def request_options(self) -> dict[str, Any]:
        """Keyword arguments for each request: none with a key; with none, the Authorization
        header left out. BackendError (nothing sent) for OpenAI's API without a key."""
        import openai

        if self.has_key():
            return {}
        if is_openai_api(self.base_url):
            raise BackendError.of(
                N_(
                    "The OpenAI API at {url} needs an API key, and none is set. Set {variable} "
                    "in the environment or in the app's Streamlit secrets (or name another "
                    "variable with `api_key_env` for this endpoint in backends.toml)."
                ),
                url=self.base_url,
                variable=self.api_key_env,
            )
        return {"extra_headers": {"Authorization": openai.Omit()}}

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for a plain HTTP request to the same server, if a key is set."""
        key = keys.api_key(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    @classmethod
    def list_models(
        cls, base_url: str, api_key_env: str | None, unavailable: Callable[[], BackendUnavailable]
    ) -> list[Any]:
        """The models a server offers (discovery, health), asked with short limits on a
        client of its own that is closed afterwards."""
        server = cls(
            base_url,
            api_key_env=api_key_env,
            timeout_s=LIST_TIMEOUT_S,
            connect_timeout_s=LIST_CONNECT_TIMEOUT_S,
            unavailable=unavailable,
        )
        try:
            return server.models()
        finally:
            server.client.close()

    def models(self) -> list[Any]:
        """The server's /models list (openai `Model` objects)."""
        import openai

        options = self.request_options()
        try:
            return list(self.client.models.list(**options))
        except openai.APIConnectionError as exc:
            raise self.unavailable() from exc
        except openai.APIStatusError as exc:
            raise self.status_error(exc) from exc

    def connection_error(
        self, exc: BaseException, *, headers_received: bool = False, chunks_received: int = 0
    ) -> BackendError:
        """What a transport failure means (refused, unresolvable name, which limit ran out)."""
        return transport_error(
            exc,
            where=self.base_url,
            base_url=self.base_url,
            connect_timeout_s=self.connect_timeout_s,
            timeout_s=self.timeout_s,
            headers_received=headers_received,
            chunks_received=chunks_received,
            unavailable=self.unavailable,
        )

    def status_error(
        self, exc: Any, *, model: str | None = None, voiced: tuple[str, str] | None = None
    ) -> BackendError:
        """What an HTTP error answer means, with what to do. `voiced` (a speech request's
        model and voice) adds what was asked to the plain form of the message."""
        import openai

        status = exc.status_code
        message = status_message(exc)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            if not self.has_key():
                return BackendError.of(
                    N_(
                        "{where} needs an API key (HTTP {status}: {message}), and none is set. "
                        "Set {variable} (or name another variable with `api_key_env` for this "
                        "endpoint in backends.toml)."
                    ),
                    where=self.base_url,
                    status=status,
                    message=message,
                    variable=self.api_key_env,
                )
            return BackendError.of(
                N_(
                    "{where} refused the API key (HTTP {status}: {message}). Set {variable} (or "
                    "`api_key_env` in backends.toml) to a valid key."
                ),
                where=self.base_url,
                status=status,
                message=message,
                variable=self.api_key_env,
            )
        if isinstance(exc, openai.NotFoundError) and model is not None:
            return BackendError.of(
                N_(
                    "{where} has no model {model} (HTTP 404: {message}). See the Backends page "
                    "for the models it serves, and check that the URL ends in /v1."
                ),
                where=self.base_url,
                model=repr(model),
                message=message,
            )
        if isinstance(exc, openai.RateLimitError):
            return BackendError.of(
                N_(
                    "{where} answered 429: {message}. It is rate limited or busy: try again "
                    "later, or lower the concurrency for this endpoint."
                ),
                where=self.base_url,
                message=message,
            )
        values: dict[str, object] = {"where": self.base_url, "status": status, "message": message}
        if voiced is not None:
            values.update(model=repr(voiced[0]), voice=repr(voiced[1]))
            if status >= 500:
                return BackendError.of(
                    N_(
                        "{where} answered {status} for model {model}, voice {voice}: {message}. "
                        "Check the server's log (a crashed model or a full GPU memory show there)."
                    ),
                    **values,
                )
            return BackendError.of(
                N_("{where} answered {status} for model {model}, voice {voice}: {message}"),
                **values,
            )
        if status >= 500:
            return BackendError.of(
                N_(
                    "{where} answered {status}: {message}. Check the server's log (a crashed "
                    "model or a full GPU memory show there)."
                ),
                **values,
            )
        return BackendError.of(N_("{where} answered {status}: {message}"), **values)


def error_text(error: Any) -> str:
    """The message of an OpenAI error object (`{"message": ..., "type": ...}`) or string."""
    if isinstance(error, dict):
        message = error.get("message") or error.get("error") or error
        return shorten(str(message))
    return shorten(str(error))


def status_message(exc: Any) -> str:
    """What a failed HTTP answer says, short: an error object's message, a page's title."""
    body = exc.body
    if isinstance(body, dict):
        return error_text(body.get("error", body))
    if isinstance(body, str) and body.strip():
        return describe_page(body) if "<" in body else shorten(body)
    return shorten(str(exc.message))
