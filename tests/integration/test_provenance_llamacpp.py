"""The provenance card of a model on a real llama-server: its model file, context and build,
as the server's own /props says them (read here straight from the server)."""

from __future__ import annotations

import httpx
import pytest

from backends import registry
from backends.base import VLMRequest
from backends.probe import without_home
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from testbed.llama_server import LlamaServer
from tests.builders import by_name, resolved_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_card_of_a_llama_server_model_names_its_file_context_and_build(
    smollm2_server: LlamaServer, store: Store
) -> None:
    spec = smollm2_server.spec("smollm2")
    comparison = start_vlm_comparison(
        store,
        resolved_all([spec]),
        VLMRequest("Say hi.", temperature=0, max_tokens=4, seed=1),
        by_name(registry.create_backend),
        timeout_s=120,
    )
    [result] = comparison.wait()
    assert result.status == "ok", result.error
    assert comparison.settle(10)
    card = store.provenance_of(run_id=comparison.run_id)[spec]

    props = httpx.get(f"{smollm2_server.base_url.removesuffix('/v1')}/props", timeout=10).json()
    assert card["server"] == "llama.cpp" and card["engine"] == "openai"
    assert card["model_path"] == without_home(props["model_path"])
    assert card["model_path"].endswith(smollm2_server.model_path.name)
    assert card["context"] == props["default_generation_settings"]["n_ctx"] == 2048
    assert card["build"] == props["build_info"] and card["build"]
    assert card["parameters"] and card["parameters"] > 100_000_000  # SmolLM2-135M
    assert card["host"] == f"127.0.0.1:{smollm2_server.port}"
    # llama.cpp has no /version: said, not guessed.
    assert card["server_version"] is None and card["reasons"]["server_version"]
