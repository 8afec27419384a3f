"""Timing modes (lineup.run.contention): `fair` runs the models of one host one after another in
an order that rotates per item and repeat, each measured alone (concurrent_max 0, stored);
`parallel` runs them at once and records the overlap. The models are Ollama models served by
testbed/ollama_server.py on this machine (two servers: two endpoints of one host)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.run import THIS_MACHINE
from lineup.store.tables import Generation, Run
from lineup.study import progress
from lineup.study.records import claim, create_study, load_plan
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import write_numbered_set


@pytest.fixture()
def app(lineup_home: Path, tmp_path: Path) -> Lineup:
    app = Lineup.open()
    app.sets.import_path(write_numbered_set(tmp_path / "three"), name="three")
    return app


@pytest.fixture()
def two_servers() -> Iterator[tuple[OllamaFixture, OllamaFixture]]:
    """Two Ollama servers on 127.0.0.1: one host, two endpoints; answers take 0.3 s or more."""
    with (
        OllamaFixture([FakeModel("alpha:1b", ["A", "digit."], first_delay_s=0.3)]) as first,
        OllamaFixture([FakeModel("beta:1b", ["Some", "number."], first_delay_s=0.3)]) as second,
    ):
        yield first, second


def study_rows(app: Lineup, study_id: int) -> list[Generation]:
    with app.store.session() as session:
        query = select(Generation).join(Run).where(Run.study_id == study_id)
        return list(session.scalars(query.order_by(Generation.started_at)))


def test_a_fair_study_rotates_the_order_over_items_and_repeats(app: Lineup) -> None:
    names = ["a:1b", "b:1b", "c:1b"]
    with OllamaFixture([FakeModel(name, ["Fine."], delay_s=0.01) for name in names]) as server:
        models = [f"ollama:{name}@{server.base_url}" for name in names]
        run = app.studies.start(set_name="three", models=models, repeats=2, timing="fair", seed=1)
        run.wait()
        asked = [body["model"] for body in server.chat_requests()]
    # Hand-listed: rounds item by item, then repeat; round (i, r) starts at (i + r) mod 3.
    assert asked == [
        *["a:1b", "b:1b", "c:1b"],  # item 0, repeat 0
        *["b:1b", "c:1b", "a:1b"],  # item 0, repeat 1
        *["b:1b", "c:1b", "a:1b"],  # item 1, repeat 0
        *["c:1b", "a:1b", "b:1b"],  # item 1, repeat 1
        *["c:1b", "a:1b", "b:1b"],  # item 2, repeat 0
        *["a:1b", "b:1b", "c:1b"],  # item 2, repeat 1
    ]
    assert server.most_in_flight == 1
    rows = study_rows(app, run.study_id)
    assert len(rows) == 18 and {g.status for g in rows} == {"ok"}
    assert {(g.concurrent_max, g.concurrent_endpoint_max) for g in rows} == {(0, 0)}
    info = app.studies.get(run.study_id)
    assert info is not None and info.params["timing"] == "fair"


def test_fair_measures_each_alone_and_parallel_records_the_overlap(
    app: Lineup,
    two_servers: tuple[OllamaFixture, OllamaFixture],
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = two_servers
    models = [f"ollama:alpha:1b@{first.base_url}", f"ollama:beta:1b@{second.base_url}"]
    by_mode, shown = {}, {}
    for mode in ("fair", "parallel"):
        run = app.studies.start(set_name="three", models=models, timing=mode)
        run.wait()
        by_mode[mode] = study_rows(app, run.study_id)
        capsys.readouterr()
        assert main(["study", "show", str(run.study_id), "--json"]) == 0
        shown[mode] = json.loads(capsys.readouterr().out)
    fair, parallel = by_mode["fair"], by_mode["parallel"]
    assert {g.status for g in fair + parallel} == {"ok"}
    assert {(g.concurrent_max, g.concurrent_endpoint_max) for g in fair} == {(0, 0)}
    # Fair: no two answers of the host overlapped in time.
    spans = sorted((g.started_at, g.finished_at) for g in fair)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
    # Parallel: the two servers are one host, so each answer had the other beside it (the
    # first answers start together; 0.3 s each leaves no gap between them), never on its
    # own endpoint (one server each, concurrency 1).
    assert max(g.concurrent_max or 0 for g in parallel) == 1
    assert {g.concurrent_endpoint_max for g in parallel} == {0}
    # study show --json: the timing, and per model its fewest and most others in flight and
    # its answers alone, counted by hand from the rows.
    assert shown["fair"]["timing"] == "fair" and shown["parallel"]["timing"] == "parallel"
    for entry in shown["fair"]["models"]:
        assert (entry["concurrent_min"], entry["concurrent_max"], entry["answers_alone"]) == (
            0,
            0,
            3,
        )
    for entry in shown["parallel"]["models"]:
        mine = [g.concurrent_max for g in parallel if g.model_spec == entry["model"]]
        assert entry["concurrent_max"] == max(mine) and entry["concurrent_min"] == min(mine)
        assert entry["answers_alone"] == mine.count(0)


def test_vlm_json_carries_concurrent_max_and_fair_sends_one_after_another(
    app: Lineup,
    two_servers: tuple[OllamaFixture, OllamaFixture],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    first, second = two_servers
    image = tmp_path / "shot.png"
    image.write_bytes((tmp_path / "three" / "shot0.png").read_bytes())
    models = [f"ollama:alpha:1b@{first.base_url}", f"ollama:beta:1b@{second.base_url}"]
    documents = {}
    for mode in ("parallel", "fair"):
        arguments = ["vlm", "--image", str(image), "--question", "What is it?", "--json"]
        code = main([*arguments, "--model", models[0], "--model", models[1], "--timing", mode])
        out, err = capsys.readouterr()
        assert code == 0, err
        documents[mode] = json.loads(out)
    assert documents["fair"]["timing"] == "fair"
    assert [r["concurrent_max"] for r in documents["fair"]["results"]] == [0, 0]
    assert [r["concurrent_max"] for r in documents["parallel"]["results"]] == [1, 1]
    assert [r["concurrent_endpoint_max"] for r in documents["parallel"]["results"]] == [0, 0]
    with app.store.session() as session:
        run = session.get(Run, documents["fair"]["run_id"])
        assert run is not None and run.params["timing"] == "fair"


@pytest.mark.parametrize("command", ["vlm", "tts", "study"])
def test_an_unknown_timing_mode_is_exit_2_with_nothing_stored(
    app: Lineup, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = {
        "vlm": ["vlm", "--question", "Q?", "--model", "ollama:x"],
        "tts": ["tts", "--text", "Hi.", "--voice", "espeak:en"],
        "study": ["study", "run", "--set", "three", "--model", "ollama:x"],
    }[command]
    with pytest.raises(SystemExit) as stopped:
        main([*arguments, "--timing", "together"])
    assert stopped.value.code == 2
    assert "invalid choice: 'together'" in capsys.readouterr().err
    with app.store.session() as session:
        assert session.scalars(select(Generation)).first() is None


@pytest.mark.parametrize(
    ("timing", "expected_s"),
    # Hand-worked: alpha's answer took 2 s, beta's 4 s, each lacks 2 of 3. Parallel: alpha
    # 2 x 2 = 4 s, beta 4 x 2 = 8 s, the study the longest, 8 s. Fair on one host: they take
    # turns, so each waits for the host's 4 + 8 = 12 s.
    [("parallel", ((4.0, 8.0), 8.0)), ("fair", ((12.0, 12.0), 12.0))],
)
def test_time_left_of_a_fair_study_is_its_hosts_turns(
    app: Lineup, timing: str, expected_s: tuple[tuple[float, float], float]
) -> None:
    stored_set = app.sets.get("three")
    assert stored_set is not None
    study_id = create_study(
        app.store, set_id=stored_set.id, models=["a", "b"], repeats=1, params={"timing": timing}
    )
    first = load_plan(app.store, study_id).items[0]
    for position, (model, total_s) in enumerate((("a", 2.0), ("b", 4.0))):
        generation = claim(app.store, study_id, first, model, 0, position=position, seed=None)
        assert generation is not None
        app.store.finish_generation(generation, "ok", output_text="x", total_s=total_s)
    where = progress(app.store, study_id, lambda _model: 1, lambda _model: THIS_MACHINE)
    (alpha_s, beta_s), study_s = expected_s
    assert [m.eta_s for m in where.models] == [pytest.approx(alpha_s), pytest.approx(beta_s)]
    assert where.eta_s == pytest.approx(study_s)
