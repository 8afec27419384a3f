"""Discovery (lineup.discovery): the endpoints that only stored answers' specs name are read
from the store by the database, one index seek per distinct spec."""

from __future__ import annotations

from lineup.catalog.discovery import used_specs
from lineup.store.database import Store
from tests.builders import counted_statements


def test_the_specs_of_stored_answers_are_read_once_each_from_the_index(store: Store) -> None:
    vlm = ["openai:a@http://127.0.0.1:7/v1", "ocr:eng+rus", "ollama:llava:7b"]
    for _ in range(3):
        run = store.create_run("vlm", "q")
        for spec in vlm:
            store.add_generation(run, spec)
    store.add_generation(store.create_run("tts", "Hi."), "openai-tts:kokoro@http://h:6/v1")
    store.add_generation(store.create_run("tts", "Hi."), "ocr:eng+rus")  # both kinds: once

    with counted_statements(store) as statements:
        found = used_specs(store)
    assert found == sorted({*vlm, "openai-tts:kokoro@http://h:6/v1"})
    plans = []
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(row[3] for row in rows))
    assert len(plans) == 2  # one statement per kind
    for plan in plans:
        # From each spec, a seek to the next in the covering index of (kind, model_spec,
        # status): never a read of every row (nor every row of a kind) and no sort.
        seek = "USING COVERING INDEX ix_generations_kind_spec_status (kind=? AND model_spec>?)"
        assert seek in plan, plan
        assert "SCAN generations" not in plan and "TEMP B-TREE" not in plan, plan
