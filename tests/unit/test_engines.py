"""describe() answers are asked once per model and kept for a few minutes."""

from __future__ import annotations

from typing import Any

from backends.base import Chunk, Usage, VLMBackend, VLMRequest
from lineup.catalog.descriptions import DescribeCache
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from tests.builders import by_name, resolved_all


class Described(VLMBackend):
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.asked = 0

    def describe(self) -> dict[str, Any]:
        self.asked += 1
        return dict(self.answer)

    def stream(self, request: VLMRequest):  # noqa: ANN201 - an iterator of chunks
        yield Chunk(text="hi")
        yield Chunk(usage=Usage(output_tokens=1, output_tokens_source="server"))


def test_a_model_is_described_once_across_runs_and_the_answer_is_stored(store: Store) -> None:
    backend = Described({"digest": "sha256:ab"})
    cache = DescribeCache()
    for _ in range(3):
        comparison = start_vlm_comparison(
            store,
            resolved_all(["fake:m"]),
            VLMRequest("q"),
            by_name(lambda _m: backend),
            describe=cache,
        )
        (result,) = comparison.wait()
        assert result.metadata["digest"] == "sha256:ab"
        row = store.get_run(comparison.run_id).generations[0]
        assert row.backend_metadata["digest"] == "sha256:ab"
    assert backend.asked == 1


def test_answers_expire_and_can_be_forgotten_and_empty_ones_are_kept_too() -> None:
    now = [1000.0]
    cache = DescribeCache(ttl_s=300, clock=lambda: now[0])
    backend = Described({"server_version": "0.12"})
    cache("m", backend)
    now[0] += 299
    cache("m", backend)
    assert backend.asked == 1
    now[0] += 2
    cache("m", backend)
    assert backend.asked == 2
    cache.forget()
    cache("m", backend)
    assert backend.asked == 3

    silent = Described({})
    cache("n", silent)
    cache("n", silent)
    assert silent.asked == 1  # a server with nothing to tell is not asked on every request
