"""`study compare` end to end: two studies of the shipped `support-screenshots` set, run against
the loopback Ollama fixture (testbed/ollama_server.py: a stand-in for Ollama, which cannot be
installed here) by `python -m lineup`, labeled, then compared in a subprocess: the baseline's
model answers every question with the set's reference, the candidate's gets two questions
wrong. The figures are worked by hand in the asserts."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.sets.samples import SAMPLE_DIR
from testbed.ollama_server import FakeModel, OllamaFixture

ROOT = Path(__file__).resolve().parents[2]
SET_DIR = SAMPLE_DIR / "sets" / "support-screenshots"
WRONG = "I cannot read this screen."

pytestmark = pytest.mark.integration


def references() -> dict[str, str]:
    with (SET_DIR / "questions.csv").open(encoding="utf-8") as f:
        return {row["question"]: row["reference"] for row in csv.DictReader(f)}


@pytest.fixture()
def served(lineup_home: Path) -> Iterator[tuple[OllamaFixture, FakeModel, set[str]]]:
    """The model answers each question with its reference, but those in `wrong`."""
    answers = references()
    wrong: set[str] = set()

    def reply(body: dict[str, Any]) -> list[str]:
        question = next(q for q in answers if q in json.dumps(body, ensure_ascii=False))
        return (WRONG if question in wrong else answers[question]).split()

    model = FakeModel("qwen2-vl:7b", [], reply=reply)
    with OllamaFixture([model]) as fixture:
        yield fixture, model, wrong


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return dict(json.loads(out))


def lineup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lineup", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_studies_of_the_shipped_set_list_the_regressions_with_intervals(
    served: tuple[OllamaFixture, FakeModel, set[str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fixture, _, wrong = served
    spec = f"ollama:qwen2-vl:7b@{fixture.base_url}"
    app = Lineup.open()
    app.sets.import_shipped("support-screenshots")
    questions = list(references())
    n = len(questions)
    study = ["study", "run", "--set", "support-screenshots", "--model", spec, "--seed", "1"]
    baseline = run(capsys, *study)["study_id"]
    wrong.update({questions[0], questions[3]})
    candidate = run(capsys, *study)["study_id"]
    # One person labels every answer: relevant when it is the reference, else irrelevant.
    for study_id in (baseline, candidate):
        for answer in app.studies.result(study_id).answers:
            relevance = "irrelevant" if answer.text == WRONG else "relevant"
            app.labels.add(answer.id, relevance, annotator="ann")

    done = lineup("study", "compare", str(baseline), str(candidate), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["items"] == {
        "shared": n,
        "baseline_only": 0,
        "candidate_only": 0,
        "matched_by": "item id (the same set)",
    }
    differences = {row["figure"]: row for row in document["differences"]}
    assert set(differences) == {"relevance", "rouge1_f1", "rougeL_f1", "chrf"}  # no judge ran
    relevance = differences["relevance"]
    # Baseline: every item relevant (1); candidate: 2 of n items irrelevant (0).
    assert relevance["baseline"] == 1.0
    assert relevance["candidate"] == pytest.approx((n - 2) / n)
    assert relevance["diff"] == pytest.approx(-2 / n)
    assert relevance["items"] == n and relevance["method"] == "item-bootstrap"
    # An interval from resampled items: at most 0 (no resample can do better than the
    # baseline), and its share of resamples where the candidate is better is below a half.
    assert relevance["ci_low"] < relevance["diff"] and relevance["ci_high"] <= 0
    assert relevance["share_candidate_better"] < 0.5
    rouge = differences["rouge1_f1"]
    assert rouge["baseline"] == 1.0 and rouge["candidate"] < 1.0

    regressions = document["regressions"]
    ids = {item.text: item.item_id for item in app.studies.result(candidate).plan.items}
    assert {(r["item"], r["figure"]) for r in regressions if r["figure"] == "relevance"} == {
        (ids[questions[0]], "relevance"),
        (ids[questions[3]], "relevance"),
    }
    assert {r["item"] for r in regressions} == {ids[questions[0]], ids[questions[3]]}
    for row in regressions:
        assert set(row) == {
            "model",
            "item",
            "baseline_item",
            "question",
            "figure",
            "baseline",
            "candidate",
            "change",
        }
        assert row["model"] == spec and row["baseline"] > row["candidate"]
    # Worst first: the relevance drops (1 -> 0) come before any overlap drop smaller than 1.
    changes = [r["change"] for r in regressions]
    assert changes == sorted(changes)
    assert document["improvements"] == []

    # The human table and the report say the same.
    text = lineup("study", "compare", str(baseline), str(candidate))
    assert text.returncode == 0, text.stderr
    assert "regressions: " in text.stdout and "relevance" in text.stdout
    report = tmp_path / "compare.html"
    written = lineup(
        "study", "compare", str(baseline), str(candidate), "--format", "html", "--out", str(report)
    )
    assert written.returncode == 0, written.stderr
    page = report.read_text(encoding="utf-8")
    assert "Paired differences" in page and "Regressions (" in page
    assert "<script" not in page and "src=" not in page and "<link" not in page

    # Refused, with exit 2 and a reason: the same study twice, an unknown id.
    same = lineup("study", "compare", str(baseline), str(baseline))
    assert same.returncode == 2 and "itself" in same.stderr and "Traceback" not in same.stderr
    unknown = lineup("study", "compare", str(baseline), "9999")
    assert unknown.returncode == 2 and "There is no study 9999" in unknown.stderr
