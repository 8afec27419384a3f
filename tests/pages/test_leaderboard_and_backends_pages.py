"""The Leaderboard and Backends pages, headless with Streamlit's AppTest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lineup.settings import load_settings
from lineup.store import Store
from tests.fixtures.ollama_server import FakeModel, OllamaFixture

PAGES = Path(__file__).resolve().parents[2] / "app_pages"


def test_leaderboard_shows_the_stored_figures(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    for relevance in ["relevant", "relevant", "irrelevant"]:
        generation = store.add_generation(store.create_run("vlm", "q"), "ollama:llava:7b")
        store.finish_generation(generation, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
        store.add_label(generation, relevance, annotator="ana")
    clip = store.add_generation(store.create_run("tts", "Hello there."), "espeak:en-us")
    store.finish_generation(
        clip, "ok", transcript="hello there", wer=0.0, cer=0.0, rtf=0.02, gen_s=0.05, audio_s=2.5
    )

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    vlm, tts = at.dataframe[0].value, at.dataframe[1].value
    row = vlm.set_index("model").loc["ollama:llava:7b"]
    assert (row["n"], row["relevant"], row["irrelevant"]) == (3, 2, 1)
    assert row["pct_relevant"] == pytest.approx(200 / 3)
    assert row["median_ttft_s"] == pytest.approx(0.5)
    assert tts.set_index("voice").loc["espeak:en-us", "mean_wer"] == 0.0
    assert len(at.get("plotly_chart")) == 2
    assert [b.label for b in at.get("download_button")] == [
        "Download CSV",
        "Download CSV",
        "VLM answers: 3 rows (CSV)",
        "VLM answers: 3 labels (CSV)",
        "Voice clips: 1 rows (CSV)",
        "Voice clips: 0 labels (CSV)",
    ]


def test_leaderboard_is_empty_but_helpful_on_a_new_store(lineup_home: Path) -> None:
    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        "Nothing yet: run a comparison on the Compare VLMs page.",
        "Nothing yet: run a comparison on the Compare voices page.",
    ]


def test_backends_page_lists_an_up_and_a_down_endpoint(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lineup_home.mkdir(parents=True, exist_ok=True)
    with OllamaFixture([FakeModel("llava:7b", ["hi"])]) as ollama:
        (lineup_home / "backends.toml").write_text(
            f'[endpoints.gpu]\nkind = "ollama"\nbase_url = "{ollama.base_url}"\n\n'
            '[endpoints.vllm]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n\n'
            '[models.llava]\nspec = "ollama:llava:7b"\n'
        )
        at = AppTest.from_file(str(PAGES / "endpoints.py"), default_timeout=60).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**gpu**" in text and "**vllm**" in text
    assert any("Nothing answers at http://127.0.0.1:9/v1" in w.value for w in at.warning)
    models = at.dataframe[0].value
    assert models["spec"].tolist() == [f"ollama:llava:7b@{ollama.base_url}"]
    assert models["vision"].tolist() == ["yes"]
    assert any("ocr:eng+rus" in c.value for c in at.code)


def test_a_broken_backends_file_is_a_message_not_a_crash(lineup_home: Path) -> None:
    lineup_home.mkdir(parents=True, exist_ok=True)
    (lineup_home / "backends.toml").write_text("[endpoints.x\n")
    at = AppTest.from_file(str(PAGES / "compare_vlms.py"), default_timeout=60).run()
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("Lineup cannot start:") and "not valid TOML" in error.value


def test_api_keys_may_come_from_streamlit_secrets(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lineup_home.mkdir(parents=True, exist_ok=True)
    (lineup_home / "backends.toml").write_text(
        '[endpoints.vllm]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "VLLM_API_KEY"\n'
    )
    monkeypatch.setenv("VLLM_API_KEY", "")  # unset for the page; removed again after the test
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60)
    at.secrets["VLLM_API_KEY"] = "from-secrets"
    at.secrets["OPENAI_API_KEY"] = "from-secrets-too"
    at.run()
    assert not at.exception
    assert os.environ["VLLM_API_KEY"] == "from-secrets"
    # The environment wins where it sets a key.
    assert os.environ["OPENAI_API_KEY"] == "from-the-environment"
    # And no key reached the store.
    assert "from-secrets" not in (lineup_home / "lineup.db").read_bytes().decode("latin-1")
