"""A model is resolved once: the facade turns each spec or backends.toml name into one resolved
model at the edge, and the runner, a study's workers and the judge never resolve it again.
Counted by patching the one resolver's lookup (lineup.catalog.resolver) and the spec parser
every resolution goes through (backends.registry.check_spec)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backends import registry
from lineup.app.facade import Lineup
from lineup.catalog import resolver
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import json_reply, write_judge_set


@pytest.fixture()
def ollama() -> Iterator[OllamaFixture]:
    with OllamaFixture(
        [
            FakeModel("alphavlm:1b", ["Seven", "apples."]),
            FakeModel("betavlm:1b", ["Some", "cats."]),
            FakeModel("gammavlm:1b", ["A", "dog."]),
            FakeModel("judge:7b", json_reply(8)),
        ]
    ) as fixture:
        yield fixture


def spec(fixture: OllamaFixture, name: str) -> str:
    return f"ollama:{name}@{fixture.base_url}"


@pytest.fixture()
def app(lineup_home: Path, ollama: OllamaFixture) -> Lineup:
    lineup_home.mkdir(parents=True, exist_ok=True)
    (lineup_home / "backends.toml").write_text(
        f'[models.alpha]\nspec = "{spec(ollama, "alphavlm:1b")}"\n'
    )
    return Lineup.open()


class Counted:
    """Calls of the resolver's lookup and of the spec parser, from the moment it is made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lookups: list[str] = []
        self.parses: list[str] = []
        monkeypatch.setattr(
            resolver, "resolve_model", self._wrap(resolver.resolve_model, self.lookups)
        )
        monkeypatch.setattr(registry, "check_spec", self._wrap(registry.check_spec, self.parses))

    @staticmethod
    def _wrap(real: Callable[..., Any], calls: list[str]) -> Callable[..., Any]:
        def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(str(text))
            return real(text, *args, **kwargs)

        return counting


def test_a_comparison_of_three_models_resolves_each_once_and_stores_name_and_spec(
    app: Lineup, ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = ["alpha", spec(ollama, "betavlm:1b"), spec(ollama, "gammavlm:1b")]
    counted = Counted(monkeypatch)
    comparison = app.compare.vlm(question="What is it?", models=models)
    results = comparison.wait()
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert sorted(counted.lookups) == sorted(models)
    assert len(counted.parses) == 3
    views = comparison.snapshot()
    assert [(v.model, v.spec) for v in views] == [
        ("alpha", spec(ollama, "alphavlm:1b")),
        (models[1], models[1]),
        (models[2], models[2]),
    ]
    rows = app.compare.run(comparison.run_id).generations  # type: ignore[union-attr]
    assert [(g.model_spec, g.resolved_spec) for g in rows] == [
        ("alpha", spec(ollama, "alphavlm:1b")),
        (models[1], models[1]),
        (models[2], models[2]),
    ]


def test_a_study_and_its_judge_resolve_each_model_once(
    app: Lineup, ollama: OllamaFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    models = ["alpha", spec(ollama, "betavlm:1b")]
    counted = Counted(monkeypatch)
    state = app.studies.start(set_name="fruit", models=models, repeats=2).wait()
    assert (state.status, state.done, state.errors) == ("done", 12, 0)  # 3 items x 2 x 2
    assert sorted(counted.lookups) == sorted(models)
    assert len(counted.parses) == 2

    judge = spec(ollama, "judge:7b")
    run = app.scores.judge(state.study_id, judge)
    assert run.asked == 8  # the two items with a reference, 4 answers each
    assert counted.lookups[2:] == [judge]
    assert len(counted.parses) == 3


def test_a_voice_comparison_resolves_each_voice_once_for_all_its_clips(
    app: Lineup, monkeypatch: pytest.MonkeyPatch
) -> None:
    voices = ["espeak:en-us", "espeak:en-us+f3"]
    counted = Counted(monkeypatch)
    comparison = app.compare.tts(texts=["One.", "Two."], voices=voices, samples=2, stt=None)
    results = comparison.wait()
    assert [r.status for r in results] == ["ok"] * 8  # 2 sentences x 2 voices x 2 samples
    assert sorted(counted.lookups) == sorted(voices)
    assert len(counted.parses) == 2


def test_study_score_on_the_command_line_resolves_its_judge_once(
    app: Lineup,
    ollama: OllamaFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lineup.cli.main import main

    app.sets.import_path(write_judge_set(tmp_path / "fruit"), name="fruit")
    state = app.studies.start(set_name="fruit", models=["alpha"], repeats=1).wait()
    assert state.status == "done"
    judge = spec(ollama, "judge:7b")
    counted = Counted(monkeypatch)
    assert main(["study", "score", str(state.study_id), "--judge", judge, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scored"] == 2
    assert counted.lookups == [judge]  # checked before anything runs, and the run is given it
    # The command's own Lineup.open() reads backends.toml (its name `alpha`) as every command
    # does; the judge's spec is parsed once.
    assert counted.parses.count(judge) == 1
