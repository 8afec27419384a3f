"""Pytest fixtures around tests/fixtures/llama_server.py: the servers, built once a session.

A test module loads them with `pytest_plugins = ["tests.integration.llama_fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.fixtures.llama_server import (
    LlamaServer,
    RecordingTransport,
    build_tiny_gemma3,
    convert_to_gguf,
    run_llama_server,
    smollm2_gguf,
)


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with run_llama_server(smollm2_gguf(), tmp_path_factory.mktemp("smollm2")) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_vlm_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny VLM as (model GGUF, mmproj GGUF), built once per test session."""
    work_dir = tmp_path_factory.mktemp("tiny-vlm")
    model_dir = build_tiny_gemma3(work_dir / "hf")
    return convert_to_gguf(model_dir, work_dir)


@pytest.fixture(scope="session")
def tiny_vlm_server(
    tiny_vlm_gguf: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    model, mmproj = tiny_vlm_gguf
    with run_llama_server(
        model, tmp_path_factory.mktemp("tiny-vlm-server"), mmproj=mmproj
    ) as server:
        yield server


@pytest.fixture()
def recording_transport() -> RecordingTransport:
    """What one test sent and received; `http_client` sends through it."""
    return RecordingTransport()


@pytest.fixture()
def http_client(recording_transport: RecordingTransport) -> Iterator[httpx2.Client]:
    with httpx2.Client(transport=recording_transport) as client:
        yield client
