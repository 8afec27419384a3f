"""Each fault run beside a healthy model in one comparison: the healthy model is `ok`, the
faulty one ends in its true state with a message that says what to do (and the text streamed
before the fault), and the comparison returns within its timeout plus one second."""

from __future__ import annotations

import time
from typing import Any

import pytest

from backends.base import VLMRequest
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from tests.builders import by_name, resolved_all
from tests.faults.cases import (
    EXPECTED,
    KEY_ENV,
    KEY_VALUE,
    PROTOCOLS,
    fault_spec,
    make_backend,
)
from tests.faults.fault_server import (
    BIG_ANSWER_CHARS,
    HEALTHY_TEXT,
    PARTIAL_TEXT,
    FaultServer,
)

RUNNER_TIMEOUT_S = 4.0  # the per-model timeout of these comparisons; above the backends' own

pytestmark = pytest.mark.timeout(60)  # a fault that hangs fails its test, not the suite

# The state each fault must end in, and words of its stored error beyond the backend's own.
STATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "refused": ("error", ()),
    "dns-failure": ("error", ()),
    "connect-timeout": ("timeout", ()),
    "silent": ("timeout", ()),
    "headers-then-silence": ("timeout", ()),
    "slow-drip": ("timeout", (f"{RUNNER_TIMEOUT_S:g} s", "per-model timeout")),
    "http-500": ("error", ()),
    "http-404": ("error", ()),
    "http-401": ("error", ()),
    "http-429": ("error", ()),
    "malformed-json": ("error", ()),
    "non-utf8": ("error", ()),
    "error-in-stream": ("error", ()),
    "cut-mid-answer": ("error", ()),
    "no-end-marker": ("error", ()),
    "html-200": ("error", ()),
    "empty-stream": ("error", ()),
    "reasoning-only": ("error", ("reasoned but gave no answer",)),
    "lone-surrogate": ("ok", ()),
    "nul": ("ok", ()),
    "big-answer": ("ok", ()),
}
KEEPS_PARTIAL_TEXT = {
    "malformed-json",
    "non-utf8",
    "error-in-stream",
    "cut-mid-answer",
    "no-end-marker",
}
# Faults that end without waiting for any limit (a refused connection, an HTTP error, ...).
AT_ONCE_S = 2.0


@pytest.mark.parametrize("fault", list(STATES))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fault_beside_a_healthy_model_ends_in_its_true_state(
    protocol: str,
    fault: str,
    faults: FaultServer,
    store: Store,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, runner_words = STATES[fault]
    backlog = request.getfixturevalue("backlog_full") if fault == "connect-timeout" else None
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.setenv("OLLAMA_API_KEY", KEY_VALUE)
    extra: dict[str, Any] = {"api_key_env": KEY_ENV} if protocol == "openai" else {}
    healthy = fault_spec(protocol, "healthy", faults)
    faulty = fault_spec(protocol, fault, faults, backlog)

    started = time.perf_counter()
    comparison = start_vlm_comparison(
        store,
        resolved_all([healthy, faulty]),
        VLMRequest("What does the screen say?"),
        by_name(lambda spec: make_backend(spec, **extra)),
        timeout_s=RUNNER_TIMEOUT_S,
        secrets=[KEY_VALUE],
    )
    results = comparison.wait()
    elapsed_s = time.perf_counter() - started

    good, bad = (store.get_generation(result.generation_id) for result in results)
    assert (good.status, good.output_text) == ("ok", HEALTHY_TEXT)
    assert bad.status == status, bad.error
    assert elapsed_s < RUNNER_TIMEOUT_S + 1.0
    expect = EXPECTED[protocol].get(fault)
    if expect is not None and expect.limit_s == 0 and status == "error":
        assert elapsed_s < AT_ONCE_S
    if status == "ok":
        assert bad.error is None
    else:
        backend_words = expect.words if expect is not None and expect.error else ()
        for word in (*backend_words, *runner_words):
            assert word in (bad.error or ""), bad.error
        assert KEY_VALUE not in (bad.error or "")  # a server echoing the key is redacted
    if fault in KEEPS_PARTIAL_TEXT:
        assert bad.output_text == PARTIAL_TEXT
    if fault == "slow-drip":
        assert (bad.output_text or "").startswith("drip drip")
    if fault == "big-answer":
        assert len(bad.output_text or "") == BIG_ANSWER_CHARS
    if fault in ("lone-surrogate", "nul"):
        text = bad.output_text or ""
        assert text.startswith("a") and text.endswith("b") and len(text) == 3
        assert bad.backend_metadata.get("replaced_unstorable_chars")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_cancels_a_waiting_model_and_closes_its_connection(
    protocol: str, faults: FaultServer, store: Store
) -> None:
    """Stop while one model waits on a silent server: that row is `cancelled` at once, the
    finished one stays `ok`, and the server sees the connection closed (nothing left open)."""
    stalled = faults.seen.event(faults.seen.stalled, "silent")
    closed = faults.seen.event(faults.seen.client_closed, "silent")
    comparison = start_vlm_comparison(
        store,
        resolved_all(
            [fault_spec(protocol, "healthy", faults), fault_spec(protocol, "silent", faults)]
        ),
        VLMRequest("q"),
        by_name(lambda spec: make_backend(spec, timeout_s=30.0)),
        timeout_s=30.0,
    )
    assert stalled.wait(10)
    time.sleep(0.2)
    stopped_at = time.perf_counter()
    comparison.cancel()
    results = comparison.wait()

    assert time.perf_counter() - stopped_at < 1.0
    good, bad = (store.get_generation(result.generation_id) for result in results)
    assert (good.status, bad.status) == ("ok", "cancelled")
    assert closed.wait(1.0), "the stopped request's connection is still open"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_runner_timeout_closes_the_connection_of_a_model_that_drips(
    protocol: str, faults: FaultServer, store: Store
) -> None:
    closed = faults.seen.event(faults.seen.client_closed, "slow-drip")
    comparison = start_vlm_comparison(
        store,
        resolved_all([fault_spec(protocol, "slow-drip", faults)]),
        VLMRequest("q"),
        by_name(lambda spec: make_backend(spec, timeout_s=30.0)),
        timeout_s=1.5,
    )
    [result] = comparison.wait()
    timed_out_at = time.perf_counter()

    assert result.status == "timeout"
    assert result.text.startswith("drip")
    # The drip writes every 0.5 s: its next writes fail once the socket is shut.
    assert closed.wait(2.0), "the timed-out request's connection is still open"
    assert time.perf_counter() - timed_out_at < 2.0
