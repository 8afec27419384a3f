"""Each fault against each protocol's backend: the right exception with a message that says
what to do, in time; a complete answer only when the protocol's end marker came; and a
cancel from another thread that stops a stalled request at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from backends import registry
from backends.base import BackendError, BackendTimeout, CancelToken, Chunk, Usage, VLMRequest
from backends.registry import check_spec
from tests.faults.cases import (
    EXPECTED,
    FAULTS,
    KEY_ENV,
    KEY_VALUE,
    PROTOCOLS,
    fault_spec,
    make_backend,
)
from tests.faults.fault_server import BacklogFullListener, FaultServer

# Ending a stalled request from another thread: the brief asks for about half a second; the
# margin is for a loaded test machine.
CANCEL_ENDS_WITHIN_S = 1.0

pytestmark = pytest.mark.timeout(60)  # a fault that hangs fails its test, not the suite


@dataclass
class Outcome:
    chunks: list[Chunk] = field(default_factory=list)
    error: BaseException | None = None
    seconds: float = 0.0
    ended_at: float = 0.0

    @property
    def text(self) -> str:
        return "".join(chunk.text for chunk in self.chunks)

    @property
    def reasoning(self) -> str:
        return "".join(chunk.reasoning for chunk in self.chunks)

    @property
    def usages(self) -> list[Usage]:
        return [chunk.usage for chunk in self.chunks if chunk.usage is not None]


def consume(backend: Any, request: VLMRequest, on_chunk: Any = None) -> Outcome:
    outcome = Outcome()
    started = time.perf_counter()
    try:
        for chunk in backend.stream(request):
            outcome.chunks.append(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    except Exception as exc:  # noqa: BLE001 - the test asserts on what came out
        outcome.error = exc
    outcome.ended_at = time.perf_counter()
    outcome.seconds = outcome.ended_at - started
    return outcome


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fault_ends_in_the_right_exception_with_advice_in_time(
    protocol: str,
    fault: str,
    faults: FaultServer,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect = EXPECTED[protocol][fault]
    backlog = request.getfixturevalue("backlog_full") if fault == "connect-timeout" else None
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    extra = {"api_key_env": KEY_ENV} if protocol == "openai" else {}
    backend = make_backend(fault_spec(protocol, fault, faults, backlog), **extra)

    outcome = consume(backend, VLMRequest("What does the screen say?"))

    assert outcome.seconds < expect.limit_s + 1.0, outcome
    assert outcome.text == expect.text
    assert outcome.reasoning == expect.reasoning
    if expect.error is None:
        assert outcome.error is None, outcome.error
        assert len(outcome.usages) == 1 and outcome.chunks[-1].usage is not None
        return
    assert type(outcome.error) is expect.error, repr(outcome.error)
    message = str(outcome.error)
    for word in expect.words:
        assert word in message, message
    assert len(message) < 600, message  # a page or a long body is cut short
    assert outcome.usages == []  # never the backend's word that the answer is whole


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_html_page_is_cut_short_in_the_message(protocol: str, faults: FaultServer) -> None:
    backend = make_backend(fault_spec(protocol, "html-200", faults))
    outcome = consume(backend, VLMRequest("q"))
    assert "Please sign in" not in str(outcome.error)  # the title, not 200 paragraphs


@pytest.mark.parametrize("fault", ["silent", "headers-then-silence"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_from_another_thread_stops_a_request_waiting_for_the_server(
    protocol: str, fault: str, faults: FaultServer
) -> None:
    """The worker is blocked reading (before or after the headers): a cancel wakes it at once
    and the server sees the connection closed."""
    backend = make_backend(fault_spec(protocol, fault, faults), timeout_s=30.0)
    stalled = faults.seen.event(faults.seen.stalled, fault)
    closed = faults.seen.event(faults.seen.client_closed, fault)
    token = CancelToken()
    cancelled_at: list[float] = []

    def cancel_once_stalled() -> None:
        stalled.wait(10)
        time.sleep(0.2)  # let the worker block in its read
        cancelled_at.append(time.perf_counter())
        token.cancel()

    canceller = threading.Thread(target=cancel_once_stalled)
    canceller.start()
    outcome = consume(backend, VLMRequest("q", cancel=token))
    canceller.join()

    assert isinstance(outcome.error, BackendError), outcome.error
    assert "stopped" in str(outcome.error)
    assert outcome.ended_at - cancelled_at[0] < CANCEL_ENDS_WITHIN_S
    assert closed.wait(2.0), "the server did not see the connection closed"
    assert outcome.usages == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_stops_a_slow_drip_and_the_drip_does_not_spin(
    protocol: str, faults: FaultServer
) -> None:
    """A token every 0.5 s never trips the read limit: the runner's timer cancels it. Until
    then the backend waits in its reads rather than burning the CPU."""
    backend = make_backend(fault_spec(protocol, "slow-drip", faults), timeout_s=30.0)
    closed = faults.seen.event(faults.seen.client_closed, "slow-drip")
    token = CancelToken()
    timer = threading.Timer(2.2, token.cancel)
    cpu_before = time.process_time()
    timer.start()
    outcome = consume(backend, VLMRequest("q", cancel=token))
    cpu_s = time.process_time() - cpu_before
    timer.join()

    assert outcome.seconds < 2.2 + CANCEL_ENDS_WITHIN_S
    assert outcome.text.startswith("drip drip")  # it streamed until the cancel
    assert "stopped" in str(outcome.error)
    assert outcome.usages == []
    assert cpu_s < 1.0, f"{cpu_s:.2f} s of CPU in 2.2 s of drip"
    assert closed.wait(3.0), "the server did not see the connection closed"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancelling_one_request_leaves_the_other_request_of_the_backend_alone(
    protocol: str, faults: FaultServer
) -> None:
    """Two requests of one backend share its connection pool; a cancel stops only its own."""
    backend = make_backend(fault_spec(protocol, "slow-drip", faults), timeout_s=30.0)
    first, second = CancelToken(), CancelToken()
    outcomes: dict[str, Outcome] = {}
    threads = [
        threading.Thread(
            target=lambda name=name, token=token: outcomes.__setitem__(
                name, consume(backend, VLMRequest("q", cancel=token))
            )
        )
        for name, token in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.2)
    first.cancel()
    threads[0].join(CANCEL_ENDS_WITHIN_S)
    assert not threads[0].is_alive()
    requests_in_flight = len(faults.seen.requests)
    time.sleep(1.2)
    assert threads[1].is_alive()  # still streaming
    second.cancel()
    threads[1].join(CANCEL_ENDS_WITHIN_S)
    assert not threads[1].is_alive()

    assert requests_in_flight == 2  # both requests were in flight
    assert "stopped" in str(outcomes["first"].error)
    assert outcomes["second"].ended_at - outcomes["first"].ended_at > 1.0
    assert len(outcomes["second"].text) > len(outcomes["first"].text)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_before_the_request_sends_nothing(protocol: str, faults: FaultServer) -> None:
    backend = make_backend(fault_spec(protocol, "healthy", faults))
    token = CancelToken()
    token.cancel()
    outcome = consume(backend, VLMRequest("q", cancel=token))
    assert "stopped" in str(outcome.error)
    assert [path for path, _ in faults.seen.requests if path.endswith("chat")] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_after_the_answer_leaves_the_pooled_connection_working(
    protocol: str, faults: FaultServer
) -> None:
    """The runner may cancel a token late (Stop after the end): the connection the finished
    request used is back in the pool by then, serving someone else, and must not be shut."""
    backend = make_backend(fault_spec(protocol, "healthy", faults))
    token = CancelToken()
    first = consume(backend, VLMRequest("q", cancel=token))
    token.cancel()
    second = consume(backend, VLMRequest("q"))
    assert first.error is None and second.error is None
    assert second.text == first.text != ""


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancel_while_connecting_ends_by_the_connect_limit(
    protocol: str, faults: FaultServer, backlog_full: BacklogFullListener
) -> None:
    """A connect in progress cannot be woken (the socket is not the backend's yet), but it is
    bounded by connect_timeout_s, and the request never goes out after the cancel."""
    backend = make_backend(
        fault_spec(protocol, "connect-timeout", faults, backlog_full), connect_timeout_s=1.5
    )
    token = CancelToken()
    threading.Timer(0.2, token.cancel).start()
    outcome = consume(backend, VLMRequest("q", cancel=token))
    assert isinstance(outcome.error, BackendError)
    assert outcome.seconds < 1.5 + 1.0


def test_speech_server_connect_timeout_names_the_connect_limit(
    backlog_full: BacklogFullListener,
) -> None:
    """The openai-tts backend reports the limit in force, not its 120 s read limit."""
    spec = check_spec(f"openai-tts:kokoro@{backlog_full.url}/v1", "tts")
    backend = registry.create_backend(spec, {"connect_timeout_s": 1.0})
    started = time.perf_counter()
    with pytest.raises(BackendTimeout, match=r"within 1 s \(connect_timeout_s\)"):
        backend.synthesize("Hello.")
    assert time.perf_counter() - started < 1.0 + 1.0
