"""Studies: a set × models × repeats runs each answer exactly once, in its own row; pause,
cancel and resume; a study killed with SIGKILL resumes with exactly what is missing.

The models are Ollama models served by testbed/ollama_server.py, a loopback fixture that
speaks Ollama's documented protocol (no Ollama server can be installed here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.store.database import Store
from lineup.store.tables import Generation, Run, Study
from lineup.study.records import PAUSE, request
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import write_numbered_set

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(lineup_home: Path, tmp_path: Path) -> Lineup:
    app = Lineup.open()
    app.sets.import_path(write_numbered_set(tmp_path / "three"), name="three")
    return app


@pytest.fixture()
def two_models() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel("alpha:1b", ["A", "digit."], delay_s=0.01),
            FakeModel("beta:1b", ["Some", "number."], delay_s=0.01),
        ]
    ) as fixture:
        yield fixture


def specs(fixture: OllamaFixture, *names: str) -> list[str]:
    return [f"ollama:{name}@{fixture.base_url}" for name in names]


def study_rows(store: Store, study_id: int) -> list[Generation]:
    with store.session() as session:
        return list(session.scalars(select(Generation).join(Run).where(Run.study_id == study_id)))


def keys_of(rows: list[Generation]) -> Counter[tuple[int | None, str, int | None]]:
    return Counter((g.item_id, g.model_spec, g.repeat) for g in rows if g.study_id is not None)


def test_two_models_three_items_two_repeats_store_exactly_twelve_answers(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    models = specs(two_models, "alpha:1b", "beta:1b")
    code = main(
        ["study", "run", "--set", "three", "--model", models[0], "--model", models[1]]
        + ["--repeats", "2", "--seed", "40", "--temperature", "0.1", "--system", "Be brief."]
        + ["--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert document == {
        "study_id": document["study_id"],
        "status": "done",
        "done": 12,
        "total": 12,
        "errors": 0,
    }
    rows = study_rows(app.store, document["study_id"])
    assert len(rows) == 12
    keys = keys_of(rows)
    assert len(keys) == 12 and set(keys.values()) == {1}
    assert {(g.status, g.kind) for g in rows} == {("ok", "vlm")}
    # Each repeat k is seeded seed + k; the texts are the models' own.
    assert {(g.repeat, g.seed) for g in rows} == {(0, 40), (1, 41)}
    assert {g.output_text for g in rows if g.model_spec == models[1]} == {"Some number."}
    # One run per item holds that item's four answers, with the set's question and image.
    runs = Counter(g.run_id for g in rows)
    assert sorted(runs.values()) == [4, 4, 4]
    with app.store.session() as session:
        study_runs = list(session.scalars(select(Run).where(Run.study_id == document["study_id"])))
    assert sorted(r.input_text for r in study_runs) == [
        f"What is shown in picture {i}?" for i in range(3)
    ]
    assert all(r.image_hash and r.system_prompt == "Be brief." for r in study_runs)
    # The requests carried the study's parameters.
    chats = two_models.chat_requests()
    assert len(chats) == 12
    assert {c["options"]["temperature"] for c in chats} == {0.1}
    assert {c["options"]["seed"] for c in chats} == {40, 41}
    assert all(c["messages"][0] == {"role": "system", "content": "Be brief."} for c in chats)


def test_models_on_one_endpoint_take_turns_unless_its_concurrency_is_raised(
    app: Lineup, two_models: OllamaFixture, lineup_home: Path
) -> None:
    models = specs(two_models, "alpha:1b", "beta:1b")
    app.studies.start(set_name="three", models=models, repeats=2).wait()
    assert two_models.most_in_flight == 1

    (lineup_home / "backends.toml").write_text(
        f'[endpoints.box]\nkind = "ollama"\nbase_url = "{two_models.base_url}"\nconcurrency = 2\n'
    )
    two_models.most_in_flight = 0
    two_models.models["alpha:1b"].first_delay_s = 0.2
    two_models.models["beta:1b"].first_delay_s = 0.2
    raised = app.refreshed()
    state = raised.studies.start(set_name="three", models=models, repeats=2).wait()
    assert state.status == "done" and state.done == 12
    assert two_models.most_in_flight == 2


def test_a_failing_model_fails_in_its_own_rows_and_the_other_finishes(
    app: Lineup, two_models: OllamaFixture
) -> None:
    two_models.models["beta:1b"].fail_with = "out of memory"
    models = specs(two_models, "alpha:1b", "beta:1b")
    state = app.studies.start(set_name="three", models=models).wait()
    assert (state.status, state.done, state.total, state.errors) == ("done", 6, 6, 3)
    by_model = {m.model: m for m in state.models}
    assert (by_model[models[0]].ok, by_model[models[0]].errors) == (3, 0)
    assert (by_model[models[1]].ok, by_model[models[1]].errors) == (0, 3)
    failed = [g for g in study_rows(app.store, state.study_id) if g.status == "error"]
    assert len(failed) == 3 and all("out of memory" in (g.error or "") for g in failed)


def test_a_pause_asked_from_elsewhere_stops_the_study_and_resume_runs_what_is_missing(
    app: Lineup, two_models: OllamaFixture
) -> None:
    for model in two_models.models.values():
        model.first_delay_s = 0.15
    models = specs(two_models, "alpha:1b", "beta:1b")
    run = app.studies.start(set_name="three", models=models, repeats=2)
    time.sleep(0.4)
    request(app.store, run.study_id, PAUSE)  # as `study pause` in another process does
    paused = run.wait()
    assert paused.status == "paused" and 0 < paused.done < 12
    rows = study_rows(app.store, run.study_id)
    assert {g.status for g in rows} == {"ok"}  # the answers under way finished

    for model in two_models.models.values():
        model.first_delay_s = 0.0
    state = app.studies.resume(run.study_id).wait()
    assert (state.status, state.done) == ("done", 12)
    keys = keys_of(study_rows(app.store, run.study_id))
    assert len(keys) == 12 and set(keys.values()) == {1}
    assert len(two_models.chat_requests()) == 12  # nothing asked twice


def test_a_cancelled_study_stops_its_answers_and_cannot_be_resumed(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in two_models.models.values():
        model.first_delay_s = 5.0
    models = specs(two_models, "alpha:1b", "beta:1b")
    run = app.studies.start(set_name="three", models=models)
    time.sleep(0.5)
    app.studies.cancel(run.study_id)
    state = run.wait()
    assert state.status == "cancelled"
    rows = study_rows(app.store, run.study_id)
    # One answer was under way (the two models share one endpoint, so they take turns).
    assert [g.status for g in rows] == ["cancelled"]
    assert main(["study", "resume", str(run.study_id)]) == 2
    assert "was cancelled" in capsys.readouterr().err


def test_bad_study_input_is_refused_with_nothing_stored(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    model = specs(two_models, "alpha:1b")[0]
    cases = [
        (["--set", "nope", "--model", model], "There is no set named 'nope'"),
        (["--set", "three", "--voice", "espeak:en-us"], "is not a VLM backend"),
        (["--set", "three", "--model", model, "--samples", "2"], "Models take --repeats"),
        (["--set", "three"], "Give the models (--model)"),
        (["--set", "three", "--model", model, "--model", model], "in a study once"),
    ]
    for arguments, message in cases:
        assert main(["study", "run", *arguments]) == 2
        assert message in capsys.readouterr().err
    with app.store.session() as session:
        assert session.scalars(select(Study)).all() == []
        assert session.scalars(select(Run)).all() == []


def lineup_process(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LINEUP_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "lineup", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.integration  # lineup processes, one killed
def test_a_study_killed_with_sigkill_resumes_with_every_answer_exactly_once(
    app: Lineup, two_models: OllamaFixture, lineup_home: Path
) -> None:
    for model in two_models.models.values():
        model.first_delay_s = 0.3
    models = specs(two_models, "alpha:1b", "beta:1b")
    process = lineup_process(
        lineup_home, "study", "run", "--set", "three", "--repeats", "2", "--json",
        "--model", models[0], "--model", models[1],
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with app.store.session() as session:
            finished = session.scalars(
                select(Generation).where(
                    Generation.status == "ok", Generation.study_id.is_not(None)
                )
            ).all()
        if len(finished) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    [study] = app.studies.latest()
    assert study.status == "running"  # as the dead process left it
    before = study_rows(app.store, study.id)
    assert 3 <= len([g for g in before if g.status == "ok"]) < 12

    for model in two_models.models.values():
        model.first_delay_s = 0.0
    resumed = lineup_process(lineup_home, "study", "resume", str(study.id), "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out) == {
        "study_id": study.id,
        "status": "done",
        "done": 12,
        "total": 12,
        "errors": 0,
    }
    after = study_rows(app.store, study.id)
    keys = keys_of(after)
    assert len(keys) == 12 and set(keys.values()) == {1}
    assert all(g.status == "ok" for g in after if g.study_id is not None)
    # The answers the killed process left running are kept as history, outside the study.
    left = [g for g in after if g.study_id is None]
    assert all(g.status == "interrupted" for g in left)
    assert len(left) == len([g for g in before if g.status == "running"])
    # Finished answers were kept, not asked again.
    kept = {g.id for g in before if g.status == "ok"}
    assert kept <= {g.id for g in after if g.study_id is not None}


def test_study_show_and_export_give_the_tables_of_the_stored_rows(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    models = specs(two_models, "alpha:1b", "beta:1b")
    state = app.studies.start(set_name="three", models=models, repeats=2).wait()
    rows = study_rows(app.store, state.study_id)
    for row in rows:  # alpha relevant everywhere; beta irrelevant once, else partial
        relevance = "relevant" if row.model_spec == models[0] else "partial"
        app.labels.add(row.id, relevance, annotator="ana")
    beta_first = min(g.id for g in rows if g.model_spec == models[1])
    app.labels.add(beta_first, "irrelevant", annotator="ana")  # the latest counts

    assert main(["study", "show", str(state.study_id), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["set"], summary["kind"], summary["status"]) == ("three", "vlm", "done")
    by_model = {m["model"]: m for m in summary["models"]}
    alpha, beta = by_model[models[0]], by_model[models[1]]
    assert (alpha["requests"], alpha["labeled"], alpha["relevant"]) == (6, 6, 6)
    assert (beta["relevant"], beta["partial"], beta["irrelevant"]) == (0, 5, 1)
    assert alpha["pct_relevant"] == 100.0 and beta["pct_relevant"] == 0.0
    # Each answer has two words; the fixture reports eval_count = 2 and its own total times.
    # Its first answer of alpha reports the model's load (cold): the speed figures are over
    # the five warm ones, and the cold one is counted apart.
    warm = [g for g in rows if g.model_spec == models[0] and not g.cold]
    assert [g.cold for g in rows if g.model_spec == models[0]].count(True) == 1
    assert alpha["cold_answers"] == 1 and len(warm) == 5
    assert alpha["output_tokens"] == 10
    totals = sum(g.total_s or 0.0 for g in warm)
    assert alpha["tokens_per_time_s"] == pytest.approx(10 / totals)
    assert alpha["identical_repeats"] == 3  # the fixture always says the same
    assert alpha["mean_chars"] == len("A digit.")

    assert main(["study", "show", str(state.study_id)]) == 0
    shown = capsys.readouterr().out
    assert "relevance" in shown and "tokens_per_time_s" in shown
    speed_table = shown.split("speed (complete answers)")[1].split("\n\n")[0]
    assert "pct_relevant_ci" not in speed_table  # the labels' keys stay out of the speed table

    out = tmp_path / "export.xlsx"
    code = main(["study", "export", str(state.study_id), "--format", "xlsx", "--out", str(out)])
    assert code == 0 and capsys.readouterr().out.strip() == str(out)
    from openpyxl import load_workbook

    book = load_workbook(out, read_only=True)
    # The report workbook: relevance and speed in Summary, repeats in Metrics.
    assert {"Summary", "Metrics", "Per item", "Generations", "Labels"} <= set(book.sheetnames)
    code = main(["study", "export", "99", "--format", "csv", "--out", str(tmp_path / "x")])
    assert code == 2 and "There is no study 99" in capsys.readouterr().err
    code = main(
        ["study", "export", str(state.study_id), "--format", "xlsx", "--out", "/proc/nope/x.xlsx"]
    )
    assert code == 2 and "Cannot write the export" in capsys.readouterr().err


def test_each_model_is_asked_about_itself_once_per_study_and_every_output_carries_it(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    models = specs(two_models, "alpha:1b", "beta:1b")
    state = app.studies.start(set_name="three", models=models, repeats=2).wait()
    asked = [body.get("model") for path, body in two_models.requests if path == "/api/show"]
    assert sorted(asked) == ["alpha:1b", "beta:1b"]  # once per model, not per answer (6 each)

    assert main(["study", "show", str(state.study_id), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["machine"]["gpus"] == [] and summary["machine"]["cores"] >= 1
    by_model = {m["model"]: m["provenance"] for m in summary["models"]}
    assert by_model[models[0]]["quantization"] == "Q4_K_M"
    assert by_model[models[0]]["vram_bytes"] == 5_000_000_000  # loaded by its first answer

    folder = tmp_path / "csv"
    assert (
        main(["study", "export", str(state.study_id), "--format", "csv", "--out", str(folder)]) == 0
    )
    capsys.readouterr()
    rows = (folder / f"study-{state.study_id}-provenance.csv").read_text().splitlines()
    assert rows[0] == '"model","field","value","why_empty"'
    assert f'"{models[1]}","quantization","Q4_K_M",""' in rows
    assert any(row.startswith('"(machine)","cpu",') for row in rows)

    report = tmp_path / "report.md"
    assert (
        main(["study", "report", str(state.study_id), "--format", "md", "--out", str(report)]) == 0
    )
    page = tmp_path / "report.html"
    assert (
        main(["study", "report", str(state.study_id), "--format", "html", "--out", str(page)]) == 0
    )
    html = page.read_text()
    assert 'id="provenance-table"' in html and "Quantization: Q4_K_M" in html
    text = report.read_text()
    assert "## What ran where" in text and "Quantization\\: Q4\\_K\\_M" in text and "no GPU" in text


def test_a_warm_up_takes_each_models_load_and_is_stored_apart_never_counted(
    app: Lineup, two_models: OllamaFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture, like Ollama, reports a model's load on its first chat only: with a warm-up
    that chat is the warm-up's, so every answer of the study is warm."""
    models = specs(two_models, "alpha:1b", "beta:1b")
    assert main(["study", "run", "--set", "three", "--warmup", "--json", *_models(models)]) == 0
    study_id = json.loads(capsys.readouterr().out)["study_id"]
    store = app.store
    answers = study_rows(store, study_id)
    assert len(answers) == 3 * 2 and all(g.status == "ok" for g in answers)
    assert all(g.cold is False for g in answers)  # 3 ms of load_duration each
    with store.session() as session:
        warmups = list(session.scalars(select(Generation).join(Run).where(Run.kind == "warmup")))
        runs = {g.id: session.get(Run, g.run_id) for g in warmups}
        params = {g.id: runs[g.id].params for g in warmups if runs[g.id] is not None}
    # One per model, each the model's cold answer, stored and marked, outside the study.
    assert sorted(g.model_spec for g in warmups) == sorted(models)
    assert all(g.kind == "warmup" and g.study_id is None and g.cold is True for g in warmups)
    assert all(p["warmup_for_study"] == study_id for p in params.values())
    # Never labeled, never counted: not in the study's tables, nor the leaderboard.
    with pytest.raises(Exception, match="warm-up request"):
        store.add_label(warmups[0].id, "relevant", annotator="ana")
    [*speed] = app.studies.tables(study_id).speed.to_dict("records")
    assert [(row["ok"], row["cold_answers"]) for row in speed] == [(3, 0), (3, 0)]
    board = {row["model"]: row for row in app.leaderboard.rows("vlm", None)}
    assert {spec: (row["generations"], row["cold_answers"]) for spec, row in board.items()} == {
        spec: (3, 0) for spec in models
    }


def _models(models: list[str]) -> list[str]:
    return [argument for model in models for argument in ("--model", model)]
