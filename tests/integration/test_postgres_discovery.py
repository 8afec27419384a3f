"""The specs of stored answers (lineup.discovery.used_specs) on a real PostgreSQL server: the
same distinct specs as on SQLite (tests/unit/test_discovery.py), by the same loose index scan."""

from __future__ import annotations

import pytest

from lineup.catalog.discovery import used_specs
from lineup.store.database import Store
from tests.builders import fresh_database

pytestmark = pytest.mark.integration


def test_the_specs_of_stored_answers_on_postgresql(postgres_url: str) -> None:
    store = Store(fresh_database(postgres_url, "lineup_discovery"))
    vlm = [
        "openai:a@http://127.0.0.1:7/v1",
        "ocr:eng+rus",
        "ollama:llava:7b",
        "openai:B@http://x/v1",
    ]
    for _ in range(3):
        run = store.create_run("vlm", "q")
        for spec in vlm:
            store.add_generation(run, spec)
    store.add_generation(store.create_run("tts", "Hi."), "openai-tts:kokoro@http://h:6/v1")
    assert used_specs(store) == sorted({*vlm, "openai-tts:kokoro@http://h:6/v1"})
