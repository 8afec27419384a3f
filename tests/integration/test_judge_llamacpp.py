"""The LLM judge against a real llama-server with SmolLM2-135M (a judge that can repeat a line
until its timeout): the request carries the judge's token limit, the server stops there, and
every verdict keeps its limits.

The study's answers come from Ollama models served by the loopback protocol fixture
(testbed/ollama_server.py; no Ollama server can be installed here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from lineup.app.facade import Lineup
from lineup.score.judge import judge_study
from lineup.store.tables import JUDGE_UNPARSED, JudgeScore
from testbed.llama_server import LlamaServer, RecordingTransport, sse_events
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import write_judge_set

pytestmark = pytest.mark.integration

# SmolLM2's replies to the default template run 7 to 21 tokens: every one is cut here.
MAX_TOKENS = 4
TIMEOUT_S = 120.0


@pytest.fixture()
def study(lineup_home: Path, tmp_path: Path) -> Iterator[tuple[Lineup, int]]:
    """A finished study: 3 items (two with a reference) x 2 models."""
    with OllamaFixture(
        [FakeModel("alphavlm:1b", ["Seven", "apples."]), FakeModel("betavlm:1b", ["Two", "cats."])]
    ) as candidates:
        app = Lineup.open()
        app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
        models = [f"ollama:{name}@{candidates.base_url}" for name in ("alphavlm:1b", "betavlm:1b")]
        state = app.studies.start(set_name="fruit", models=models).wait()
        assert state.status == "done" and state.errors == 0
        yield app, state.study_id


def test_smollm2_as_judge_stops_at_its_token_limit_and_each_verdict_keeps_its_limits(
    smollm2_server: LlamaServer,
    study: tuple[Lineup, int],
    http_client: httpx2.Client,
    recording_transport: RecordingTransport,
) -> None:
    app, study_id = study
    judge = app.catalog.resolve(smollm2_server.spec("smollm2"), "vlm")
    started = time.perf_counter()
    run = judge_study(
        app.store,
        study_id,
        judge,
        judge.backend(http_client=http_client),
        sees_images=False,
        max_tokens=MAX_TOKENS,
        timeout_s=TIMEOUT_S,
    )
    elapsed_s = time.perf_counter() - started
    assert (run.asked, run.skipped) == (4, 2)

    chats = [
        (json.loads(request.content), body)
        for request, body in zip(
            recording_transport.requests, recording_transport.bodies, strict=True
        )
        if request.url.path.endswith("/chat/completions")
    ]
    assert len(chats) == 4
    finish_reasons = []
    for sent, body in chats:
        assert sent["max_tokens"] == MAX_TOKENS  # what llama-server received
        final = sse_events(body)[-1]
        assert final["usage"]["completion_tokens"] <= MAX_TOKENS  # and it stopped there
        finish_reasons.append(
            next(
                e["choices"][0]["finish_reason"]
                for e in sse_events(body)
                if e["choices"] and e["choices"][0].get("finish_reason")
            )
        )

    with app.store.session() as session:
        rows = list(session.scalars(select(JudgeScore).order_by(JudgeScore.id)))
    assert len(rows) == 4
    # llama-server ended every reply at the limit, and each verdict says so.
    assert finish_reasons == ["length"] * 4
    for row in rows:
        assert (row.max_tokens, row.timeout_s, row.request["max_tokens"]) == (
            MAX_TOKENS,
            TIMEOUT_S,
            MAX_TOKENS,
        )
        assert row.status == JUDGE_UNPARSED, row.error  # a reply without a score, not a timeout
        assert (row.error or "").startswith(
            f"The judge's reply was cut at its limit of {MAX_TOKENS} tokens"
        ), row.error
    assert run.mostly_failed and len(run.failed_replies) == 3
    print(
        f"\nSmolLM2-135M as judge, max_tokens {MAX_TOKENS}: 4 verdicts in {elapsed_s:.1f} s "
        f"({[row.status for row in rows]}, finish_reason {finish_reasons}); "
        f"mostly_failed={run.mostly_failed}"
    )
