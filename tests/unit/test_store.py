import hashlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from lineup.store import StoreError
from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.store.tables import Base


def test_migrations_create_exactly_the_models_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []
        assert (
            connection.execute(text("select version_num from alembic_version")).scalar() == "0016"
        )


def test_migrated_partial_indexes_have_the_models_predicates(store: Store) -> None:
    """compare_metadata does not read an index's WHERE: compare the SQL SQLite keeps for each
    index of generations with that of a schema made from the models (0013 made the speed
    medians' indexes warm-only)."""
    fresh = create_engine("sqlite://")
    Base.metadata.create_all(fresh)

    def indexes(engine: Engine) -> dict[str, str]:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "select name, sql from sqlite_master where type = 'index' "
                    "and tbl_name = 'generations' and sql is not null"
                )
            )
            return {name: " ".join(sql.replace('"', "").split()) for name, sql in rows}

    migrated, made = indexes(store.engine), indexes(fresh)
    assert migrated == made
    assert "cold IS NOT TRUE" in made["ix_generations_ok_ttft_total"]
    assert "cold IS TRUE" in made["ix_generations_vlm_without_ttft_s_total_s"]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(store: Store) -> None:
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10_000


def test_run_generation_label_round_trip(store: Store) -> None:
    run_id = store.create_run(
        "vlm",
        "What is shown?",
        image_hash="ab" * 32,
        system_prompt="Be brief.",
        params={"temperature": 0.2, "max_tokens": 64},
        seed=7,
    )
    gen_id = store.add_generation(run_id, "ocr:eng", position=0, seed=7)
    store.finish_generation(
        gen_id,
        "ok",
        output_text="Payment failed",
        ttft_s=0.5,
        total_s=1.5,
        output_tokens=12,
        output_tokens_source="server",
        tokens_per_s=12.0,
        tokens_per_s_source="server",
        backend_metadata={"digest": "sha256:00"},
    )
    first = store.add_label(gen_id, "partial", annotator="ana", comment="misses the code")
    second = store.add_label(gen_id, "relevant", annotator="ana")
    store.add_label(gen_id, "irrelevant", annotator="bob")

    run = store.get_run(run_id)
    assert run is not None
    assert (run.kind, run.input_text, run.system_prompt, run.seed) == (
        "vlm",
        "What is shown?",
        "Be brief.",
        7,
    )
    assert run.params == {"temperature": 0.2, "max_tokens": 64}
    [generation] = run.generations
    assert generation.status == "ok"
    assert generation.output_text == "Payment failed"
    assert generation.backend_metadata == {"digest": "sha256:00"}
    assert generation.finished_at is not None
    assert [label.relevance for label in generation.labels] == ["partial", "relevant", "irrelevant"]
    current = store.current_labels([gen_id], "ana")
    assert current[gen_id].id == second != first
    assert current[gen_id].relevance == "relevant"


def test_labels_refuse_unknown_relevance_generation_and_empty_annotator(store: Store) -> None:
    run_id = store.create_run("vlm", "q")
    gen_id = store.add_generation(run_id, "ocr:eng")
    with pytest.raises(StoreError, match="relevant, partial, irrelevant"):
        store.add_label(gen_id, "great", annotator="ana")
    with pytest.raises(StoreError, match="no generation 999"):
        store.add_label(999, "relevant", annotator="ana")
    with pytest.raises(StoreError, match="annotator"):
        store.add_label(gen_id, "relevant", annotator="  ")


def test_a_second_store_on_the_same_file_sees_the_data(store: Store) -> None:
    run_id = store.create_run("vlm", "persisted?")
    again = Store(store.url)
    assert again.get_run(run_id).input_text == "persisted?"
    assert set(inspect(again.engine).get_table_names()) >= {"runs", "generations", "labels"}


def test_media_is_stored_once_by_sha256(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    digest = media.put(b"same bytes", ".png")
    assert media.put(b"same bytes", ".png") == digest
    assert digest == hashlib.sha256(b"same bytes").hexdigest()
    assert media.get(digest) == b"same bytes"
    [stored] = list((tmp_path / "media").rglob("*.png"))
    assert stored.stat().st_mode & 0o777 == 0o644
