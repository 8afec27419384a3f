"""Reading a streamed HTTP answer truthfully: stopping its request from another thread at
once, splitting and decoding its lines strictly, and saying what went wrong.

The runner cancels a request on timeout, on Stop and on shutdown while the worker thread is
blocked reading from the server, perhaps still waiting for the response headers. Closing a
socket from another thread does not wake a blocked read on Linux; shutting it down does. So the
transports built here hand every socket they read or write to the `RequestGuard` that the
worker thread has bound while it sends the request, and `RequestGuard.abort()` shuts those
sockets down. Both HTTP libraries are covered: httpx (the `ollama` backend) and httpx2 (the
`openai` client's fork of it), which share their design.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2

from backends.base import (
    N_,
    BackendError,
    BackendIncomplete,
    BackendTimeout,
    BackendUnavailable,
    CancelToken,
    Phrase,
)

_bound = threading.local()

# Connection limits of the transports built here: httpx's own defaults.
_MAX_CONNECTIONS = 100
_MAX_KEEPALIVE_CONNECTIONS = 20
_KEEPALIVE_EXPIRY_S = 5.0


class RequestGuard:
    """The sockets one request uses, so that `abort()` from any thread can shut them down.

    The backend binds the guard while it sends the request (`with guard.sending(): ...`), so
    the socket is known even while the server has not answered yet, and `on_sent` learns the
    moment the request started to go out, once the client library has built it (the clock's
    start); `watch(response)` adds the response's socket for clients that were not built
    here. After `release()` (the request is over and its connection may serve another
    request) `abort()` does nothing.
    """

    def __init__(
        self, cancel: CancelToken | None = None, on_sent: Callable[[float], None] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self._aborted = False
        self._released = False
        self._on_sent = on_sent
        if cancel is not None:
            cancel.on_cancel(self.abort)

    def going_out(self) -> None:
        """The request starts to go out (its connection opens, or its first byte is
        written): `on_sent` gets the stamp of that moment, once."""
        on_sent, self._on_sent = self._on_sent, None
        if on_sent is not None:
            on_sent(time.perf_counter())

    @property
    def aborted(self) -> bool:
        return self._aborted

    @contextmanager
    def sending(self) -> Iterator[None]:
        previous = getattr(_bound, "guard", None)
        _bound.guard = self
        try:
            yield
        finally:
            _bound.guard = previous

    def watch(self, response: httpx.Response | httpx2.Response) -> None:
        network_stream = response.extensions.get("network_stream")
        if network_stream is not None:
            self.attach(network_stream)

    def attach(self, network_stream: Any) -> None:
        with self._lock:
            if self._released:
                return
            if not self._aborted:
                if not any(known is network_stream for known in self._streams):
                    self._streams.append(network_stream)
                return
        _shut_down(network_stream)  # aborted before this socket was known

    def abort(self) -> None:
        with self._lock:
            if self._released or self._aborted:
                return
            self._aborted = True
            streams, self._streams = self._streams, []
        for network_stream in streams:
            _shut_down(network_stream)

    def release(self) -> None:
        with self._lock:
            self._released = True
            self._streams = []


def _shut_down(network_stream: Any) -> None:
    """Shut the socket down both ways: a blocked read in another thread returns at once, the
    server sees the connection closed, and the worker thread then closes the connection."""
    try:
        sock = network_stream.get_extra_info("socket")
    except Exception:  # noqa: BLE001 - a stream without a socket (a test double) has nothing to stop
        return
    if isinstance(sock, socket.socket):
        try:
            # The plain socket's shutdown, also for a TLS socket: ssl.SSLSocket.shutdown would
            # drop its TLS state under the feet of the thread that is reading.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _GuardedStream:
    """A network stream that joins the guard bound in the thread that reads or writes it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def _join(self) -> None:
        guard: RequestGuard | None = getattr(_bound, "guard", None)
        if guard is not None:
            guard.attach(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._join()
        data: bytes = self._inner.read(max_bytes, timeout)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._join()
        guard: RequestGuard | None = getattr(_bound, "guard", None)
        if guard is not None:
            guard.going_out()
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _GuardedStream:
        return _GuardedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedNetworkBackend:
    """Wraps httpcore's (or httpcore2's) socket backend so that its streams join guards."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _GuardedStream:
        guard: RequestGuard | None = getattr(_bound, "guard", None)
        if guard is not None and guard.aborted:
            raise BackendError.of(N_("The request was stopped before it connected."))
        if guard is not None:
            guard.going_out()  # a new connection's setup is the network's time, in TTFT
        return _GuardedStream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _GuardedStream:
        return _GuardedStream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _guarded_pool(httpcore_module: Any, ssl_context: Any) -> Any:
    """A connection pool of httpcore (or its httpx2 fork) whose sockets join the bound guard."""
    return httpcore_module.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=_MAX_CONNECTIONS,
        max_keepalive_connections=_MAX_KEEPALIVE_CONNECTIONS,
        keepalive_expiry=_KEEPALIVE_EXPIRY_S,
        network_backend=_GuardedNetworkBackend(httpcore_module.SyncBackend()),
    )


class GuardedHTTPTransport(httpx.HTTPTransport):
    """httpx's transport, whose sockets a bound `RequestGuard` can shut down."""

    def __init__(self) -> None:
        import httpcore

        super().__init__()
        self._pool = _guarded_pool(httpcore, httpx.create_ssl_context())


class GuardedHTTP2Transport(httpx2.HTTPTransport):
    """httpx2's transport (the `openai` client's), whose sockets a bound guard can shut down."""

    def __init__(self) -> None:
        import httpcore2

        super().__init__()
        self._pool = _guarded_pool(httpcore2, httpx2.create_ssl_context())


def uses_proxy(url: str) -> bool:
    """Whether the environment sends requests to this URL through a proxy.

    A client given its own transport ignores the proxy settings of the environment, so such a
    URL keeps the library's own transport (a request is then stopped once its headers came).
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


# What went wrong with the connection, for both HTTP libraries.
_CONNECT_TIMEOUTS = (httpx.ConnectTimeout, httpx2.ConnectTimeout)
_READ_TIMEOUTS = (httpx.ReadTimeout, httpx2.ReadTimeout)
_WRITE_TIMEOUTS = (httpx.WriteTimeout, httpx2.WriteTimeout)
_POOL_TIMEOUTS = (httpx.PoolTimeout, httpx2.PoolTimeout)
_CONNECT_ERRORS = (httpx.ConnectError, httpx2.ConnectError)
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.TransportError,
    httpx2.TransportError,
    OSError,
)


def transport_error(
    exc: BaseException,
    *,
    where: str | Phrase,
    base_url: str,
    connect_timeout_s: float,
    timeout_s: float,
    headers_received: bool,
    chunks_received: int,
    unavailable: Callable[[], BackendUnavailable],
) -> BackendError:
    """The BackendError for an HTTP library's exception, naming the limit that was in force."""
    if isinstance(exc, _CONNECT_TIMEOUTS):
        return BackendTimeout.of(
            N_(
                "Could not connect to {where} within {seconds} s (connect_timeout_s). Check "
                "that the server is up and reachable, or raise connect_timeout_s."
            ),
            where=where,
            seconds=f"{connect_timeout_s:g}",
        )
    if isinstance(exc, _READ_TIMEOUTS):
        if not headers_received:
            silent = N_(
                "{where} accepted the request but sent nothing for {seconds} s (timeout_s). The "
                "server may be stuck or overloaded: check its log, or raise timeout_s."
            )
        elif not chunks_received:
            silent = N_(
                "{where} sent its headers, then nothing for {seconds} s (timeout_s). The server "
                "may be stuck or overloaded: check its log, or raise timeout_s."
            )
        else:
            silent = N_(
                "{where} stopped after {chunks} chunk(s) and sent nothing for {seconds} s "
                "(timeout_s). The server may be stuck or overloaded: check its log, or raise "
                "timeout_s."
            )
        return BackendTimeout.of(
            silent, where=where, chunks=chunks_received, seconds=f"{timeout_s:g}"
        )
    if isinstance(exc, _WRITE_TIMEOUTS):
        return BackendTimeout.of(
            N_("Could not send the request to {where} within {seconds} s (timeout_s)."),
            where=where,
            seconds=f"{timeout_s:g}",
        )
    if isinstance(exc, _POOL_TIMEOUTS):
        return BackendTimeout.of(
            N_(
                "No free connection to {where} within {seconds} s (timeout_s): too many "
                "requests at once. Lower the concurrency."
            ),
            where=where,
            seconds=f"{timeout_s:g}",
        )
    if isinstance(exc, _CONNECT_ERRORS) or not headers_received:
        reason = _os_reason(exc)
        if isinstance(reason, socket.gaierror):
            host = urlsplit(base_url).hostname
            return BackendUnavailable.of(
                N_(
                    "The host name {host} in {url} does not resolve ({reason}). Check the "
                    "spelling of the URL, or the network's DNS."
                ),
                host=repr(host),
                url=base_url,
                reason=reason.strerror,
            )
        if isinstance(exc, _CONNECT_ERRORS) or isinstance(reason, ConnectionRefusedError):
            return unavailable()
        return BackendError.of(
            N_(
                "{where} closed the connection without answering ({reason}). Check the "
                "server's log."
            ),
            where=where,
            reason=_short(exc),
        )
    return _cut_off(where, chunks_received, exc)


def _cut_off(where: str | Phrase, chunks_received: int, exc: BaseException) -> BackendError:
    return BackendIncomplete.of(
        N_(
            "The connection to {where} broke off mid-answer, after {chunks} chunk(s) "
            "({reason}): the server stopped or restarted. Check its log."
        ),
        where=where,
        chunks=chunks_received,
        reason=_short(exc),
    )


def _os_reason(exc: BaseException) -> BaseException | None:
    """The operating system's error at the root of an HTTP library's exception, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return shorten(text, 200)


def shorten(text: str, limit: int = 300) -> str:
    """A server's text cut to `limit` characters, on one line, for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def split_lines(pieces: Iterator[bytes], unterminated: bytearray) -> Iterator[bytes]:
    """The lines of a byte stream without their endings (LF, CRLF or CR), as they complete.

    A line still open when the stream ends is not yielded but left in `unterminated`: the
    caller decides what it means (often: the stream was cut in the middle of a record).
    """
    pending = bytearray()
    for piece in pieces:
        if b"\n" not in piece and b"\r" not in piece:
            pending += piece  # no line ends here: do not split the growing line again
            continue
        lines = bytes(pending + piece).splitlines(keepends=True)
        # A line is complete with its ending; a CR at the very end may be half of a CRLF.
        pending = bytearray() if lines[-1].endswith(b"\n") else bytearray(lines.pop())
        for line in lines:
            yield line.rstrip(b"\r\n")
    if pending.endswith(b"\r"):
        yield bytes(pending).rstrip(b"\r")
    else:
        unterminated += pending


def decode_line(line: bytes, where: str | Phrase) -> str:
    """A line of a JSON stream as text; JSON is UTF-8, so other bytes are the server's fault."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BackendError.of(
            N_(
                "{where} sent bytes that are not UTF-8 text ({reason} at byte {position}: "
                "{data}). The server (or a proxy in between) garbles its answers; check its log."
            ),
            where=where,
            reason=exc.reason,
            position=exc.start,
            data=repr(line[max(0, exc.start - 20) : exc.start + 20]),
        ) from None


def malformed_json(where: str | Phrase, exc: ValueError, data: str) -> BackendError:
    """The error for a record of a JSON stream that does not parse (Ollama's lines, an
    OpenAI-compatible server's events): the parser's reason and the record's beginning."""
    return BackendError.of(
        N_(
            "{where} sent malformed JSON in its stream ({reason}): {data}. The "
            "server (or a proxy in between) garbles its answers; check its log."
        ),
        where=where,
        reason=str(exc),
        data=repr(shorten(data, 120)),
    )


def read_head(response: httpx.Response | httpx2.Response, limit: int = 4096) -> str:
    """The first `limit` bytes of a body as text, for an error message; never the whole body."""
    data = bytearray()
    for piece in response.iter_bytes():
        data += piece
        if len(data) >= limit:
            break
    return bytes(data[:limit]).decode("utf-8", errors="replace")


def describe_page(text: str) -> str:
    """What an HTML page (or any other body) says, in a few words: its title, or its text."""
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return shorten(title.group(1), 120)
    return shorten(re.sub(r"<[^>]*>", " ", text), 200)


def is_html(response: httpx.Response | httpx2.Response) -> bool:
    return "html" in response.headers.get("content-type", "").lower()
