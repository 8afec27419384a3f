"""The fault table shared by the backend-level and the comparison-level tests: which spec plays
each fault, and what each backend must say about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends import registry
from backends.base import (
    BackendError,
    BackendIncomplete,
    BackendTimeout,
    BackendUnavailable,
)
from backends.registry import check_spec
from testbed.net import free_port
from tests.faults.fault_server import (
    BIG_ANSWER_CHARS,
    DNS_FAILURE_HOST,
    HEALTHY_TEXT,
    PARTIAL_TEXT,
    REASONING,
    BacklogFullListener,
    FaultServer,
    refused_url,
)

PROTOCOLS = ("openai", "ollama")
TIMEOUT_S = 2.0  # the backends' read limit (option timeout_s) in these tests
CONNECT_TIMEOUT_S = 1.0  # option connect_timeout_s
OPTIONS = {"timeout_s": TIMEOUT_S, "connect_timeout_s": CONNECT_TIMEOUT_S}
KEY_ENV = "LINEUP_FAULT_KEY"
KEY_VALUE = "sk-fault-suite-0123456789abcdef"


@dataclass(frozen=True)
class Expect:
    """What a backend does with one fault: a complete answer (`error` None) or an exception
    of exactly this type whose message holds `words`, within `limit_s` (plus one second)."""

    error: type[BackendError] | None
    words: tuple[str, ...] = ()
    limit_s: float = 0.0  # the limit in force; 0 for a fault that must fail at once
    text: str = ""  # the answer, or the text received before the failure
    reasoning: str = ""


def _common() -> dict[str, Expect]:
    return {
        "healthy": Expect(None, text=HEALTHY_TEXT),
        "dns-failure": Expect(BackendUnavailable, ("does not resolve", DNS_FAILURE_HOST)),
        "connect-timeout": Expect(
            BackendTimeout,
            ("Could not connect", f"{CONNECT_TIMEOUT_S:g} s (connect_timeout_s)"),
            limit_s=CONNECT_TIMEOUT_S,
        ),
        "silent": Expect(
            BackendTimeout,
            ("accepted the request but sent nothing", f"{TIMEOUT_S:g} s (timeout_s)"),
            limit_s=TIMEOUT_S,
        ),
        "headers-then-silence": Expect(
            BackendTimeout,
            ("sent its headers, then nothing", f"{TIMEOUT_S:g} s (timeout_s)"),
            limit_s=TIMEOUT_S,
        ),
        "http-500": Expect(BackendError, ("answered 500", "out of memory", "log")),
        "malformed-json": Expect(BackendError, ("malformed JSON",), text=PARTIAL_TEXT),
        "non-utf8": Expect(BackendError, ("not UTF-8",), text=PARTIAL_TEXT),
        "error-in-stream": Expect(
            BackendError,
            ("reported an error mid-answer", "illegal memory access", "log"),
            text=PARTIAL_TEXT,
        ),
        "cut-mid-answer": Expect(
            BackendIncomplete, ("broke off mid-answer", "chunk(s)"), text=PARTIAL_TEXT
        ),
        "html-200": Expect(BackendIncomplete, ("HTML page", "Sign in - Corporate Proxy")),
        "empty-stream": Expect(BackendIncomplete, ("empty stream",)),
        "reasoning-only": Expect(None, reasoning="".join(REASONING)),
        "lone-surrogate": Expect(None, text="a\ud800b"),
        "nul": Expect(None, text="a\x00b"),
        "big-answer": Expect(None, text="x" * BIG_ANSWER_CHARS),
    }


EXPECTED: dict[str, dict[str, Expect]] = {
    "openai": {
        **_common(),
        "refused": Expect(BackendUnavailable, ("Nothing answers at", "Start the server")),
        "http-404": Expect(BackendError, ("HTTP 404", "has no model 'http-404'")),
        "http-401": Expect(BackendError, ("HTTP 401", "refused the API key", f"Set {KEY_ENV}")),
        "http-429": Expect(
            BackendError, ("answered 429", "rate limited or busy", "lower the concurrency")
        ),
        "no-end-marker": Expect(
            BackendIncomplete, ("without its end marker", "[DONE]"), text=PARTIAL_TEXT
        ),
    },
    "ollama": {
        **_common(),
        "refused": Expect(BackendUnavailable, ("Is Ollama running at", "ollama serve")),
        "http-404": Expect(BackendError, ("has no model 'http-404'", "ollama pull http-404")),
        "http-401": Expect(BackendError, ("HTTP 401", "OLLAMA_API_KEY")),
        "http-429": Expect(BackendError, ("answered 429", "is busy", "lower the concurrency")),
        "no-end-marker": Expect(
            BackendIncomplete, ("without its final `done: true` record",), text=PARTIAL_TEXT
        ),
    },
}
FAULTS = tuple(EXPECTED["openai"])  # slow-drip has tests of its own: it never ends by itself


def fault_spec(
    protocol: str,
    fault: str,
    server: FaultServer,
    backlog_full: BacklogFullListener | None = None,
) -> str:
    """The model spec that plays `fault` for `protocol`."""
    if fault == "refused":
        base_url = refused_url()
    elif fault == "dns-failure":
        base_url = f"http://{DNS_FAILURE_HOST}:{free_port()}"
    elif fault == "connect-timeout":
        assert backlog_full is not None
        base_url = backlog_full.url
    else:
        return server.openai_spec(fault) if protocol == "openai" else server.ollama_spec(fault)
    return f"openai:{fault}@{base_url}/v1" if protocol == "openai" else f"ollama:{fault}@{base_url}"


def make_backend(spec: str, **options: Any) -> Any:
    return registry.create_backend(check_spec(spec, "vlm"), {**OPTIONS, **options})
