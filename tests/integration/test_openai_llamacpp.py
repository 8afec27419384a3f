"""The `openai` backend against a real llama-server: what Lineup stores is what the server said.

Each answer goes through the runner into a SQLite store, while a recording HTTP transport
keeps the raw server-sent events of the same request. The stored output tokens and decode
tokens/s must be the server's own `usage.completion_tokens` and
`timings.predicted_per_second`, read here straight from the stream's final chunk.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx2
import pytest

from backends import registry
from backends.base import VLMRequest
from lineup.core.images import ValidatedImage, validate_image
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from lineup.store.tables import Generation
from testbed.llama_server import (
    TINY_VLM_IMAGE_TOKENS,
    LlamaServer,
    RecordingTransport,
    free_port,
    sse_events,
)
from tests.builders import by_name, png_bytes, resolved_all

# The servers and the recording transport are fixtures of conftest.py.

# The first test to use the tiny VLM builds it, converts it to GGUF and starts its server
# (session fixtures): 84 s under a load of 5 on 2 cores, and the fixtures' own limits allow
# 300 s for the conversion and 120 s for the start.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SEED = 1234
MAX_TOKENS = 24
RUN_TIMEOUT_S = 120.0
QUESTION = "What is in this picture?"


def answer(store: Store, spec: str, request: VLMRequest, http_client: httpx2.Client) -> Generation:
    """Run one model through the runner, as the app does, and return its stored row."""
    comparison = start_vlm_comparison(
        store,
        resolved_all([spec]),
        request,
        by_name(lambda model: registry.create_backend(model, http_client=http_client)),
        timeout_s=RUN_TIMEOUT_S,
    )
    [result] = comparison.wait()
    row = store.get_generation(result.generation_id)
    assert row is not None
    return row


def final_usage_and_timings(body: bytes | bytearray) -> tuple[dict[str, Any], dict[str, Any]]:
    """The server's own figures: llama.cpp puts `usage` and `timings` on the last chunk."""
    events = sse_events(body)
    assert events, f"no server-sent events in {bytes(body)[:300]!r}"
    final = events[-1]
    assert "usage" in final and "timings" in final, f"final chunk: {final}"
    return final["usage"], final["timings"]


def sent_json(transport: RecordingTransport, index: int = 0) -> dict[str, Any]:
    """The JSON body of the transport's `index`-th request."""
    return json.loads(transport.requests[index].content)


def report(name: str, row: Generation, timings: dict[str, Any]) -> None:
    stream_window_s = row.total_s - row.ttft_s
    print(
        f"\n{name}: Lineup stored {row.tokens_per_s:.2f} tokens/s "
        f"(source {row.tokens_per_s_source}); llama-server reported "
        f"predicted_per_second={timings['predicted_per_second']:.2f} for the same request "
        f"({timings['predicted_n']} tokens in {timings['predicted_ms']:.1f} ms). "
        f"Client-side, (output tokens - 1) / (total - TTFT) would be "
        f"{(row.output_tokens - 1) / stream_window_s:.2f} tokens/s; TTFT {row.ttft_s:.3f} s, "
        f"total {row.total_s:.3f} s."
    )


@pytest.fixture()
def image() -> ValidatedImage:
    return validate_image(png_bytes((96, 64), "navy", text="Save"))


def test_smollm2_row_carries_the_servers_token_count_and_decode_speed(
    smollm2_server: LlamaServer,
    store: Store,
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
) -> None:
    request = VLMRequest(
        question="Name three colours of the rainbow.",
        temperature=0.0,
        max_tokens=MAX_TOKENS,
        seed=SEED,
    )
    row = answer(store, smollm2_server.spec("smollm2"), request, http_client)

    assert row.status == "ok", row.error
    assert len(recording_transport.requests) == 1
    sent = sent_json(recording_transport)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0.0, MAX_TOKENS, SEED)

    usage, timings = final_usage_and_timings(recording_transport.bodies[0])
    assert row.output_tokens == usage["completion_tokens"] == timings["predicted_n"]
    assert 0 < row.output_tokens <= MAX_TOKENS
    assert row.input_tokens == usage["prompt_tokens"]
    assert row.output_tokens_source == "server"
    assert row.tokens_per_s == pytest.approx(timings["predicted_per_second"], rel=1e-9)
    assert row.tokens_per_s_source == "server"
    # llama.cpp's figure counts decode steps: every token but the first, which the prompt
    # batch yields.
    decode_steps = timings["predicted_n"] - 1
    assert row.tokens_per_s == pytest.approx(decode_steps / (timings["predicted_ms"] / 1000))
    assert row.prompt_eval_s == pytest.approx(timings["prompt_ms"] / 1000, rel=1e-9)
    assert row.backend_metadata["timings"] == timings
    # llama-server says nothing about a model load (it loads before it listens; its timings
    # are prompt and decode figures only): the answer is neither cold nor warm, but unknown.
    assert not any("load" in key for key in timings)
    assert row.cold is None
    assert row.output_text.strip()
    assert 0 < row.ttft_s < row.total_s
    report("SmolLM2-135M-Instruct Q4_1", row, timings)


def test_tiny_vlm_counts_the_image_tokens_and_reports_the_servers_speed(
    tiny_vlm_server: LlamaServer,
    store: Store,
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
    image: ValidatedImage,
) -> None:
    spec = tiny_vlm_server.spec("tiny-gemma3")
    request = VLMRequest(
        question=QUESTION, image=image, temperature=0.0, max_tokens=MAX_TOKENS, seed=SEED
    )
    with_image = answer(store, spec, request, http_client)
    without_image = answer(store, spec, dataclasses.replace(request, image=None), http_client)

    assert with_image.status == "ok", with_image.error
    assert without_image.status == "ok", without_image.error
    [image_part] = [
        part
        for part in sent_json(recording_transport)["messages"][-1]["content"]
        if part["type"] == "image_url"
    ]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")

    for row, body in zip((with_image, without_image), recording_transport.bodies, strict=True):
        usage, timings = final_usage_and_timings(body)
        assert row.input_tokens == usage["prompt_tokens"]
        assert row.output_tokens == usage["completion_tokens"] == timings["predicted_n"]
        assert row.output_tokens_source == "server"
        assert row.tokens_per_s == pytest.approx(timings["predicted_per_second"], rel=1e-9)
        assert row.tokens_per_s_source == "server"
    # The same question, so the extra prompt tokens are the image's (16 soft tokens plus the
    # begin/end markers).
    assert with_image.input_tokens >= without_image.input_tokens + TINY_VLM_IMAGE_TOKENS
    _, timings = final_usage_and_timings(recording_transport.bodies[0])
    report("tiny random Gemma3 VLM (image request)", with_image, timings)


def test_server_down_is_an_error_row_after_one_attempt(
    store: Store, http_client: httpx2.Client, recording_transport: RecordingTransport
) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    row = answer(store, f"openai:smollm2@{base_url}", VLMRequest(question="Hi"), http_client)

    assert row.status == "error"
    assert f"Nothing answers at {base_url}" in row.error
    assert "llama-server -m MODEL.gguf" in row.error
    assert len(recording_transport.requests) == 1  # no retry hidden inside the latency
    assert row.total_s is not None and row.output_tokens is None


def test_server_error_is_an_error_row_with_its_message_after_one_attempt(
    smollm2_server: LlamaServer,
    store: Store,
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
    image: ValidatedImage,
) -> None:
    # SmolLM2 is served without --mmproj, so llama-server answers an image with a 500.
    row = answer(
        store,
        smollm2_server.spec("smollm2"),
        VLMRequest(question=QUESTION, image=image, max_tokens=MAX_TOKENS),
        http_client,
    )

    assert row.status == "error"
    assert row.error.startswith(f"{smollm2_server.base_url} answered 500: ")
    assert "image input is not supported" in row.error and "mmproj" in row.error
    assert len(recording_transport.requests) == 1  # the openai client would retry a 500 twice


def test_llama_server_answers_any_model_name_and_the_row_names_the_model_it_ran(
    smollm2_server: LlamaServer,
    store: Store,
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
) -> None:
    # One model per llama-server: it does not check the request's model name, so a wrong
    # name is not an error. The row's metadata records the model that really answered.
    row = answer(
        store,
        smollm2_server.spec("no-such-model"),
        VLMRequest(question="Hi", temperature=0.0, max_tokens=4, seed=SEED),
        http_client,
    )

    assert row.status == "ok", row.error
    assert row.model_spec == smollm2_server.spec("no-such-model")
    assert row.backend_metadata["model"] == str(smollm2_server.model_path)
    assert len(recording_transport.requests) == 1


def test_one_token_answer_is_not_stored_as_zero_tokens_per_second(
    smollm2_server: LlamaServer,
    store: Store,
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
) -> None:
    # llama.cpp times decoding from the second token on (the first comes out of the prompt
    # batch) and reports predicted_per_second 0.0, "not known", when there is no second token.
    row = answer(
        store,
        smollm2_server.spec("smollm2"),
        VLMRequest(question="Name one colour.", temperature=0.0, max_tokens=1, seed=SEED),
        http_client,
    )

    assert row.status == "ok", row.error
    _, timings = final_usage_and_timings(recording_transport.bodies[0])
    assert row.output_tokens == timings["predicted_n"] == 1
    assert timings["predicted_per_second"] == 0.0
    # Nor is there a client-side rate: the answer came in one text chunk (lineup/timing.py).
    assert (row.tokens_per_s, row.tokens_per_s_source) == (None, None)


def test_discovery_marks_which_server_takes_images(
    smollm2_server: LlamaServer, tiny_vlm_server: LlamaServer
) -> None:
    from backends.openai_chat import OpenAIChatBackend

    [text_model] = OpenAIChatBackend.discover(smollm2_server.base_url)
    [vision_model] = OpenAIChatBackend.discover(tiny_vlm_server.base_url)
    assert text_model.vision is False
    assert vision_model.vision is True
    assert vision_model.spec == f"openai:{vision_model.name}@{tiny_vlm_server.base_url}"
