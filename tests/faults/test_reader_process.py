"""HTTP answers read and timed in the reader process (backends.reader): a TTFT that holds
whatever this process does with its interpreter lock, and every promise of the runner kept
across the process boundary (Stop, the timeout, a reader that dies or talks garbage, keys,
kept-alive connections)."""

from __future__ import annotations

import base64
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backends import keys, reader, registry
from backends.base import VLMRequest
from backends.ollama import OllamaBackend
from backends.openai_chat import OpenAIChatBackend
from lineup.run.vlm import Comparison, start_vlm_comparison
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from testbed.paced_server import paced_server, server_stamps
from tests.builders import by_name, png_bytes, resolved_all
from tests.faults.cases import KEY_VALUE, PROTOCOLS, fault_spec
from tests.faults.fault_server import PARTIAL_TEXT, FaultServer

pytestmark = pytest.mark.timeout(120)

FIRST_TOKEN_S = 0.5
# Wide: the machine is shared and loaded. A stamp taken in this process while its lock is
# held came 0.3 to 2 s late (see bench/ttft.py); the reader process's is a few ms late.
TRUE_TTFT_RANGE_S = (0.45, 1.0)
ENDS_WITHIN_S = 2.0


def factory(spec: str) -> Any:
    return registry.create_backend(registry.check_spec(spec, "vlm"))


def compare(store: Store, specs: list[str], timeout_s: float = 30.0, **request: Any) -> Comparison:
    return start_vlm_comparison(
        store,
        resolved_all(specs),
        VLMRequest("What does the screen say?", **request),
        by_name(factory),
        timeout_s=timeout_s,
        secrets=[KEY_VALUE],
    )


def hold_the_interpreter_lock_until(done: threading.Event) -> None:
    """Busy in C: `sum` over a range never lets the lock go until it returns (about 0.3 s)."""
    while not done.is_set():
        sum(range(10_000_000))


@pytest.fixture()
def own_reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[reader.Reader]:
    """A reader process of the test's own (it may be killed), with the suite's lookups."""
    mine = reader.Reader([sys.executable, "-m", "tests.faults.loopback_reader"])
    mine.warm()
    monkeypatch.setattr(reader, "_shared", mine)
    yield mine
    mine.stop()


@pytest.fixture()
def not_read_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP backends must not stream in this process: the reader process does."""

    def refuse(self: Any, request: Any) -> Any:
        raise AssertionError("an HTTP answer was read in the app's process")

    monkeypatch.setattr(OpenAIChatBackend, "stream", refuse)
    monkeypatch.setattr(OllamaBackend, "stream", refuse)


def wait_for_text(comparison: Comparison, model_index: int = 0) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = comparison.snapshot()[model_index].text
        if text:
            return text
        time.sleep(0.05)
    raise AssertionError("nothing streamed")


def test_first_token_is_timed_truly_while_this_process_holds_the_interpreter_lock(
    store: Store, not_read_here: None
) -> None:
    """The app's process redraws pages and runs OCR while models stream: a first token sent
    at 0.5 s is measured at 0.5 s all the same, image and all."""
    image = _big_image()
    with paced_server(FIRST_TOKEN_S, tokens=5) as first, paced_server(FIRST_TOKEN_S, 5) as second:
        specs = [f"openai:paced@{first}", f"openai:paced@{second}"]
        compare(store, specs).wait()  # connections and backends ready, as in a long-lived app
        done = threading.Event()
        comparison = compare(store, specs, image=image)
        threading.Thread(target=lambda: (comparison.wait(), done.set()), daemon=True).start()
        hold_the_interpreter_lock_until(done)
        results = comparison.wait()
        stamps = [server_stamps(first)[-1], server_stamps(second)[-1]]

    for result in results:
        assert result.status == "ok", result.error
        assert result.timings is not None and result.timings.ttft_s is not None
        low, high = TRUE_TTFT_RANGE_S
        assert low <= result.timings.ttft_s <= high, result.timings.ttft_s
    for job, stamp in zip(comparison.jobs, stamps, strict=True):
        # The clock started before the request reached the server, and stopped after the
        # first token left it: the stamps are of the same clock across processes.
        assert job.clock.started_at is not None and job.clock.first_text_at is not None
        assert job.clock.started_at < stamp["received_at"]
        assert stamp["first_sent_at"] < job.clock.first_text_at


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_mid_stream_reaches_the_reader_process_and_keeps_the_text(
    protocol: str, faults: FaultServer, store: Store, not_read_here: None
) -> None:
    closed = faults.seen.event(faults.seen.client_closed, "slow-drip")
    comparison = compare(store, [fault_spec(protocol, "slow-drip", faults)])
    wait_for_text(comparison)
    stopped_at = time.perf_counter()
    comparison.cancel()
    [result] = comparison.wait()

    assert time.perf_counter() - stopped_at < 1.0
    assert result.status == "cancelled"
    assert result.text.startswith("drip")
    assert store.get_generation(result.generation_id).output_text == result.text
    assert closed.wait(ENDS_WITHIN_S), "the reader process did not close the request"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_hangs_times_out_and_its_request_is_closed(
    protocol: str, faults: FaultServer, store: Store, not_read_here: None
) -> None:
    closed = faults.seen.event(faults.seen.client_closed, "headers-then-silence")
    started = time.perf_counter()
    comparison = compare(store, [fault_spec(protocol, "headers-then-silence", faults)], 2.0)
    [result] = comparison.wait()

    assert result.status == "timeout", result.error
    assert "per-model timeout" in (result.error or "")
    assert time.perf_counter() - started < 2.0 + ENDS_WITHIN_S
    assert closed.wait(ENDS_WITHIN_S), "the timed-out request is still open"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_cuts_off_or_sends_garbage_ends_in_error_with_the_text(
    protocol: str, faults: FaultServer, store: Store, not_read_here: None
) -> None:
    specs = [
        fault_spec(protocol, fault, faults)
        for fault in ("healthy", "cut-mid-answer", "malformed-json", "non-utf8")
    ]
    healthy, cut, malformed, garbled = compare(store, specs).wait()

    assert healthy.status == "ok"
    assert (cut.status, cut.text) == ("error", PARTIAL_TEXT)
    assert "broke off" in (cut.error or "") or "cut off" in (cut.error or ""), cut.error
    assert (malformed.status, malformed.text) == ("error", PARTIAL_TEXT)
    assert "malformed JSON" in (malformed.error or "")
    assert (garbled.status, garbled.text) == ("error", PARTIAL_TEXT)
    assert "not UTF-8" in (garbled.error or "")
    assert healthy.timings is not None and healthy.timings.ttft_s is not None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_killed_reader_process_ends_the_answer_as_error_and_a_new_one_takes_over(
    protocol: str, faults: FaultServer, store: Store, own_reader: reader.Reader
) -> None:
    comparison = compare(store, [fault_spec(protocol, "slow-drip", faults)])
    wait_for_text(comparison)
    first_pid = own_reader.pid
    assert first_pid is not None
    killed_at = time.perf_counter()
    os.kill(first_pid, signal.SIGKILL)
    [result] = comparison.wait()

    assert time.perf_counter() - killed_at < ENDS_WITHIN_S
    assert result.status == "error"
    assert "reader process" in (result.error or "") and "SIGKILL" in (result.error or "")
    assert "text received until then is kept" in (result.error or "")
    assert result.text.startswith("drip")
    assert store.get_generation(result.generation_id).output_text == result.text

    [again] = compare(store, [fault_spec(protocol, "healthy", faults)]).wait()
    assert again.status == "ok", again.error
    assert own_reader.pid not in (None, first_pid)


def test_a_reader_process_that_sends_garbage_is_ended_and_says_so(
    faults: FaultServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbling = reader.Reader([sys.executable, "-m", "tests.faults.garbage_reader"])
    monkeypatch.setattr(reader, "_shared", garbling)
    started = time.perf_counter()
    [result] = compare(store, [fault_spec("openai", "healthy", faults)]).wait()

    assert result.status == "error"
    assert "reader process" in (result.error or "") and "no answer came" in (result.error or "")
    assert time.perf_counter() - started < 10.0
    assert garbling.pid is None  # it was ended, not left running


def test_a_reader_process_that_cannot_start_ends_the_answer_as_error(
    faults: FaultServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = reader.Reader([sys.executable, "-c", "import sys; sys.exit(3)"])
    monkeypatch.setattr(reader, "_shared", broken)
    [result] = compare(store, [fault_spec("ollama", "healthy", faults)]).wait()

    assert result.status == "error"
    assert "exit status 3" in (result.error or ""), result.error


def test_the_key_the_app_finds_reaches_the_reader_process_and_is_never_stored(
    faults: FaultServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key from the app's secrets (a key source of this process) is sent with the request;
    the server echoes it in its 401, and the stored error has it redacted."""
    monkeypatch.delenv("LINEUP_READER_TEST_KEY", raising=False)

    def secrets(name: str) -> str | None:
        return KEY_VALUE if name == "LINEUP_READER_TEST_KEY" else None

    keys.register_source(secrets)
    try:
        backend = registry.create_backend(
            registry.check_spec(fault_spec("openai", "http-401", faults), "vlm"),
            {"api_key_env": "LINEUP_READER_TEST_KEY"},
        )
        comparison = start_vlm_comparison(
            store,
            resolved_all(["k"]),
            VLMRequest("q"),
            by_name(lambda _: backend),
            timeout_s=10,
            secrets=[KEY_VALUE],
        )
        [result] = comparison.wait()
    finally:
        keys.unregister_source(secrets)

    assert faults.seen.authorization[-1] == f"Bearer {KEY_VALUE}"
    assert result.status == "error"
    assert KEY_VALUE not in (store.get_generation(result.generation_id).error or "")


def test_the_reader_process_lives_on_between_requests(
    store: Store, faults: FaultServer, reader_without_dns: reader.Reader
) -> None:
    """One reader process serves every request (its backends and their clients are built
    once there), started before the first clock and not per request."""
    compare(store, [fault_spec("openai", "healthy", faults)]).wait()
    pid = reader_without_dns.pid
    for _ in range(2):
        [result] = compare(store, [fault_spec("ollama", "healthy", faults)]).wait()
        assert result.status == "ok", result.error
    assert pid is not None and reader_without_dns.pid == pid


def test_the_question_and_image_reach_the_server_as_the_backend_sends_them(
    store: Store, not_read_here: None
) -> None:
    """The image is encoded here, before the clock, at the size the backend asks for; the
    reader process sends it as the backend would have (the loopback Ollama protocol fixture
    stands in for Ollama, which cannot be installed here)."""
    image = _big_image()
    with OllamaFixture([FakeModel("llava:7b", ["A", "cat."])]) as ollama:
        [result] = compare(store, [f"ollama:llava:7b@{ollama.base_url}"], image=image).wait()
        [sent] = ollama.chat_requests()

    assert (result.status, result.text) == ("ok", "A cat.")
    message = sent["messages"][-1]
    assert message["content"] == "What does the screen say?"
    assert message["images"] == [base64.b64encode(image.png_bytes(2048)).decode()]


def _big_image() -> Any:
    """A screenshot-sized image whose PNG takes a while to encode (done before the clock)."""
    from lineup.core.images import validate_image

    return validate_image(png_bytes((1600, 1200), "white", "Error code: PAY-4021 " * 20))
