"""The store's guards: labels on complete answers only, the same string limits on every
database, rows of dead processes marked interrupted, old rows migrated to their true state."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text, update

from lineup.store import LABEL_EXPORT_COLUMNS, StoreError, StoreUnavailable
from lineup.store.database import Store
from lineup.store.engine import alembic_config
from lineup.store.tables import Generation, utcnow
from testbed.processes import open_store_at_once
from tests.builders import fill_at_0003, fill_at_0010, fill_at_0011
from tests.expected import check_after_0004, check_after_0011, check_after_0012


def _generation(store: Store, status: str, spec: str = "fake:m") -> int:
    run_id = store.create_run("vlm", "q")
    generation_id = store.add_generation(run_id, spec)
    if status != "running":
        store.finish_generation(generation_id, status, output_text="text", error="why")
    return generation_id


@pytest.mark.parametrize("status", ["error", "timeout", "cancelled", "interrupted", "running"])
def test_only_complete_answers_can_be_labeled(store: Store, status: str) -> None:
    generation_id = _generation(store, status)
    with pytest.raises(StoreError, match="only complete"):
        store.add_label(generation_id, "relevant", annotator="ana")


def test_labels_of_failed_answers_never_reach_the_labels_export(store: Store) -> None:
    good = _generation(store, "ok")
    bad = _generation(store, "ok")
    store.add_label(good, "relevant", annotator="ana")
    store.add_label(bad, "relevant", annotator="ana")
    # A label given before the row turned out not to be an answer (e.g. an old store).
    with store.session() as session:
        session.execute(update(Generation).where(Generation.id == bad).values(status="error"))
    column = LABEL_EXPORT_COLUMNS.index("generation_id")
    assert [row[column] for row in store.export_rows("vlm", "labels")] == [good]
    assert store.export_count("vlm", "labels") == 1


def test_string_limits_hold_on_sqlite_as_on_postgresql(store: Store) -> None:
    run_id = store.create_run("vlm", "q")
    with pytest.raises(StoreError, match="model_spec is 513 characters long; the limit is 512"):
        store.add_generation(run_id, "x" * 513)
    generation_id = _generation(store, "ok")
    with pytest.raises(StoreError, match="annotator is 129 characters long; the limit is 128"):
        store.add_label(generation_id, "relevant", annotator="a" * 129)
    assert store.get_run(run_id).generations == []  # nothing half-stored


def test_a_finished_row_is_never_finished_twice(store: Store) -> None:
    generation_id = _generation(store, "cancelled")
    assert store.finish_generation(generation_id, "ok", output_text="late") is False
    assert store.get_generation(generation_id).status == "cancelled"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_rows_of_a_dead_process_on_this_host_are_interrupted_at_once(store: Store) -> None:
    mine = _generation(store, "running")
    orphan = _generation(store, "running")
    with store.session() as session:
        session.execute(
            update(Generation)
            .where(Generation.id == orphan)
            .values(owner_pid=_dead_pid(), output_text="streamed so far")
        )
    assert store.reap_orphans() == [orphan]
    row = store.get_generation(orphan)
    assert (row.status, row.output_text) == ("interrupted", "streamed so far")
    assert "gone" in row.error
    assert store.get_generation(mine).status == "running"  # this process is alive


def test_rows_owned_elsewhere_are_interrupted_only_when_their_heartbeat_is_stale(
    store: Store,
) -> None:
    fresh = _generation(store, "running")
    stale = _generation(store, "running")
    with store.session() as session:
        for gid, age_s in ((fresh, 5), (stale, 31)):
            session.execute(
                update(Generation)
                .where(Generation.id == gid)
                .values(
                    owner_host="another-" + socket.gethostname(),
                    heartbeat_at=utcnow() - timedelta(seconds=age_s),
                )
            )
    assert store.reap_orphans() == [stale]
    assert store.get_generation(fresh).status == "running"
    assert store.get_generation(stale).status == "interrupted"


def test_migration_moves_old_rows_to_their_true_states(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(
            text(
                "INSERT INTO runs (id, kind, input_text, params, blind, created_at) VALUES "
                "(1, 'vlm', 'q', '{}', 0, '2026-11-01'), (2, 'tts', 's', '{}', 0, '2026-11-01')"
            )
        )
        rows = [
            (1, 1, "ok", "an answer", None),
            (2, 1, "ok", "", None),
            (3, 1, "error", None, "Timed out after 20 s. Raise the per-model timeout"),
            (4, 1, "running", None, None),
            (5, 2, "ok", None, None),  # a voice clip has no text and is complete
            (6, 1, "error", None, "HTTP 500"),
        ]
        for gid, run_id, status, output, error in rows:
            connection.execute(
                text(
                    "INSERT INTO generations (id, run_id, position, model_spec, sample_index, "
                    "status, output_text, error, started_at, backend_metadata) VALUES "
                    "(:gid, :run_id, 0, 'm', 0, :status, :output, :error, '2026-11-01', '{}')"
                ),
                {"gid": gid, "run_id": run_id, "status": status, "output": output, "error": error},
            )
    store = Store(url)
    statuses = {g: store.get_generation(g).status for g in range(1, 7)}
    assert statuses == {
        1: "ok",
        2: "error",
        3: "timeout",
        4: "interrupted",
        5: "ok",
        6: "error",
    }


def test_a_bad_database_url_is_a_message_without_the_password() -> None:
    with pytest.raises(StoreUnavailable, match="not a database URL"):
        Store("not a url at all")
    with pytest.raises(StoreUnavailable, match="No database driver"):
        Store("nosuchdb://u@127.0.0.1/x")
    with pytest.raises(StoreUnavailable) as caught:
        Store("postgresql+psycopg://lineup:s3cret-pass@127.0.0.1:9/lineup?connect_timeout=2")
    assert "Cannot open the database" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)


def test_a_database_folder_that_is_a_file_is_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="is a file, not a folder"):
        Store(f"sqlite:///{blocker / 'lineup.db'}")


@pytest.mark.integration  # eight interpreters at once
def test_eight_processes_open_one_new_sqlite_store_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    outcomes = open_store_at_once(url)
    assert [code for code, _ in outcomes] == [0] * 8, [err for _, err in outcomes if err]
    with create_engine(url).connect() as connection:
        assert connection.execute(text("select count(*) from runs")).scalar() == 8
        version = connection.execute(text("select version_num from alembic_version")).scalar()
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    assert version == head


def test_a_run_and_its_rows_are_written_together_or_not_at_all(store: Store) -> None:
    run_id, generation_ids = store.create_run_with_generations(
        "vlm", "q", ["fake:a", "fake:b"], seed=7
    )
    run = store.get_run(run_id)
    assert [(g.id, g.model_spec, g.position, g.seed, g.status) for g in run.generations] == [
        (generation_ids[0], "fake:a", 0, 7, "running"),
        (generation_ids[1], "fake:b", 1, 7, "running"),
    ]
    with pytest.raises(StoreError, match="limit is 512"):
        store.create_run_with_generations("vlm", "q2", ["fake:ok", "x" * 600])
    assert [r.input_text for r in store.latest_runs("vlm")] == ["q"]  # no run left without rows


def test_migration_0004_copies_kinds_and_word_counts_and_marks_the_labels_that_count(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    fill_at_0003(url)
    Store(url)
    check_after_0004(url)


def test_migration_0011_gives_old_rows_the_spec_they_hold_without_credentials(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    fill_at_0010(url)
    store = Store(url)
    check_after_0011(url)
    # A row written now keeps both: the name as typed and the full spec it stood for.
    gid = store.add_generation(1, "qwen", resolved_spec="openai:Qwen2-VL@http://gpu:8000/v1")
    row = store.get_generation(gid)
    assert (row.model_spec, row.resolved_spec) == ("qwen", "openai:Qwen2-VL@http://gpu:8000/v1")


def test_migration_0012_scores_every_stored_wer_again_in_its_sentences_language(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    fill_at_0011(url)
    Store(url)
    check_after_0012(url)


def test_no_migration_imports_live_code() -> None:
    """An old migration must do what it did when it was written, whatever the code becomes."""
    import ast

    versions = Path(__file__).resolve().parents[2] / "lineup" / "store" / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"lineup", "backends"}, (path.name, name)


def test_only_the_latest_label_of_an_annotator_counts_and_a_deleted_one_hands_it_back(
    store: Store,
) -> None:
    from lineup.store.tables import Label

    answer = _generation(store, "ok")
    first = store.add_label(answer, "relevant", annotator="ana")
    second = store.add_label(answer, "partial", annotator="ana")
    other = store.add_label(answer, "irrelevant", annotator="bob")

    def counted() -> dict[int, bool]:
        with store.session() as session:
            return {lab.id: lab.counted for lab in session.query(Label).order_by(Label.id)}

    assert counted() == {first: False, second: True, other: True}
    with store.session() as session:
        session.delete(session.get(Label, second))
    assert counted() == {first: True, other: True}
    with store.session() as session:
        label = session.get(Label, first)
        assert (label.kind, label.model_spec) == ("vlm", "fake:m")


def test_two_counted_labels_for_one_annotator_are_refused_by_the_database(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    answer = _generation(store, "ok")
    store.add_label(answer, "relevant", annotator="ana")
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO labels (generation_id, kind, model_spec, annotator, relevance, "
                "counted, created_at) VALUES (:g, 'vlm', 'fake:m', 'ana', 'partial', 1, "
                "'2026-11-02')"
            ),
            {"g": answer},
        )
