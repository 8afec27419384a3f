"""The integration tests' servers, each started once a session: PostgreSQL
(testbed/postgres.py) and llama.cpp's llama-server with SmolLM2 or a tiny VLM
(testbed/llama_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from testbed.llama_server import (
    LlamaServer,
    RecordingTransport,
    build_tiny_gemma3,
    convert_to_gguf,
    run_llama_server,
    smollm2_gguf,
)
from testbed.postgres import Postgres, PostgresMissing


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a database on a PostgreSQL server started on 127.0.0.1 for the session; a
    test that needs an empty database makes its own (tests.builders.fresh_database)."""
    try:
        server = Postgres()
    except PostgresMissing as missing:
        pytest.fail(str(missing))
    with server:
        yield server.database("lineup")


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
