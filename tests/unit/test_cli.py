"""`python -m lineup` end to end in a subprocess, against the Ollama protocol fixture
(a loopback stand-in for Ollama, which cannot be installed here) and the OCR baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lineup.settings import load_settings
from lineup.store import Store
from tests.conftest import png_bytes
from tests.fixtures.ollama_server import FakeModel, OllamaFixture

ROOT = Path(__file__).resolve().parents[2]


def lineup(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lineup", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def ollama(lineup_home: Path) -> OllamaFixture:
    with OllamaFixture(
        [FakeModel("llava:7b", ["Two", "cats."], eval_duration_ns=100_000_000)]
    ) as f:
        yield f


@pytest.fixture()
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes((120, 80)))
    return path


def test_vlm_json_reports_every_model_and_failures_do_not_fail_the_command(
    ollama: OllamaFixture, image_file: Path
) -> None:
    done = lineup(
        "vlm",
        "--image",
        str(image_file),
        "--question",
        "How many cats?",
        "--model",
        f"ollama:llava:7b@{ollama.base_url}",
        "--model",
        f"ollama:missing:1b@{ollama.base_url}",
        "--temperature",
        "0",
        "--seed",
        "1",
        "--max-tokens",
        "20",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout is exactly one JSON document
    ok, failed = document["results"]
    assert ok["model"] == f"ollama:llava:7b@{ollama.base_url}"
    assert ok["status"] == "ok" and ok["text"] == "Two cats." and ok["error"] is None
    assert ok["output_tokens"] == 2
    assert ok["tokens_per_s"] == pytest.approx(2 / 0.1)
    assert ok["tokens_source"] == "server"
    assert 0 < ok["ttft_s"] <= ok["total_s"]
    assert set(ok) == {
        "generation_id",
        "model",
        "status",
        "text",
        "error",
        "ttft_s",
        "total_s",
        "output_tokens",
        "tokens_per_s",
        "tokens_source",
    }
    assert failed["status"] == "error" and "ollama pull missing:1b" in failed["error"]

    store = Store(load_settings().database_url)
    run = store.get_run(document["run_id"])
    assert run.params["temperature"] == 0 and run.seed == 1 and run.params["max_tokens"] == 20
    assert [g.id for g in run.generations] == [ok["generation_id"], failed["generation_id"]]
    assert run.image_hash and (load_settings().media_dir / run.image_hash[:2]).is_dir()


def test_a_text_file_as_image_exits_2_and_stores_nothing(lineup_home: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    done = lineup("vlm", "--image", str(text), "--question", "q", "--model", "ocr:eng", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "notes.png" in done.stderr
    assert Store(load_settings().database_url).latest_runs("vlm") == []
    assert not (lineup_home / "media").exists() or not any((lineup_home / "media").iterdir())


def test_bad_specs_exit_2(lineup_home: Path, image_file: Path) -> None:
    for spec, hint in [
        ("llava", "neither a spec"),
        ("nope:x", "Unknown backend kind"),
        ("espeak:en-us", "not a VLM"),
    ]:
        done = lineup("vlm", "--image", str(image_file), "--question", "q", "--model", spec)
        assert done.returncode == 2, spec
        assert hint in done.stderr


def test_label_and_leaderboard_json(ollama: OllamaFixture, image_file: Path) -> None:
    spec = f"ollama:llava:7b@{ollama.base_url}"
    ids = []
    for _ in range(3):
        done = lineup(
            "vlm", "--image", str(image_file), "--question", "q", "--model", spec, "--json"
        )
        ids.append(json.loads(done.stdout)["results"][0]["generation_id"])
    assert (
        lineup("label", str(ids[0]), "--relevance", "relevant", "--annotator", "ana").returncode
        == 0
    )
    assert (
        lineup("label", str(ids[1]), "--relevance", "partial", "--annotator", "ana").returncode == 0
    )
    # A later label by the same annotator replaces the earlier one.
    assert (
        lineup("label", str(ids[1]), "--relevance", "relevant", "--annotator", "ana").returncode
        == 0
    )
    assert (
        lineup("label", str(ids[2]), "--relevance", "irrelevant", "--annotator", "bob").returncode
        == 0
    )
    bad = lineup("label", "999999", "--relevance", "relevant")
    assert bad.returncode == 2 and "no generation 999999" in bad.stderr
    assert lineup("label", str(ids[0]), "--relevance", "great").returncode == 2

    board = json.loads(lineup("leaderboard", "--kind", "vlm", "--json").stdout)
    assert board["kind"] == "vlm"
    [row] = board["rows"]
    assert row["model"] == spec
    assert (row["n"], row["relevant"], row["partial"], row["irrelevant"]) == (3, 2, 0, 1)
    assert row["pct_relevant"] == pytest.approx(100 * 2 / 3)
    assert row["median_tokens_per_s"] == pytest.approx(2 / 0.1)
    assert set(row) == {
        "model",
        "n",
        "relevant",
        "partial",
        "irrelevant",
        "pct_relevant",
        "median_ttft_s",
        "median_total_s",
        "median_tokens_per_s",
    }


def test_backends_json_lists_the_ollama_models_and_the_offline_baseline(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ollama.base_url)
    done = lineup("backends", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    [endpoint] = document["endpoints"]
    assert endpoint["ok"] and endpoint["version"] == "0.12.3"
    assert endpoint["models"][0]["spec"] == "ollama:llava:7b" and endpoint["models"][0]["vision"]
    assert "ocr:eng+rus" in [m["spec"] for m in document["local"]]
