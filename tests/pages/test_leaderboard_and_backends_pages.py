"""The Leaderboard and Backends pages, headless with Streamlit's AppTest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from backends import keys
from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import word_counts
from tests.pages.helpers import PAGES, shown_columns, unescaped


def chart_traces(at: AppTest, key: str) -> list[dict]:
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id]
    return json.loads(chart.proto.spec)["data"]


def listed_specs(at: AppTest) -> str:
    """The text under the VLM tables that lists each model's full spec and failures."""
    [listed] = [e for e in at.expander if e.label == "Full specs and failures by state"][:1]
    return str(listed.markdown[0].value)


def test_leaderboard_shows_the_stored_figures(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    for index, relevance in enumerate(["relevant", "relevant", "irrelevant"]):
        run_id = store.create_run("vlm", "q")
        generation = store.add_generation(run_id, "ollama:llava:7b")
        store.finish_generation(generation, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
        store.add_label(generation, relevance, annotator="ana")
        card = {"engine": "ollama", "quantization": f"Q{4 + index}_0", "reasons": {}}
        store.save_provenance("ollama:llava:7b", "ollama:llava:7b", card, run_ids=[run_id])
    clip = store.add_generation(store.create_run("tts", "Hello there."), "espeak:en-us")
    store.finish_generation(
        clip,
        "ok",
        transcript="hello there",
        wer=0.0,
        **word_counts("Hello there.", 0.0),
        cer=0.0,
        rtf=0.02,
        gen_s=0.05,
        audio_s=2.5,
    )

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    vlm, tts = at.dataframe[0].value, at.dataframe[VLM_TABLES].value
    row = vlm.set_index("model").loc["ollama:llava:7b"]
    assert (row["labels"], row["relevant"], row["irrelevant"]) == (3, 2, 1)
    assert row["pct_relevant"] == pytest.approx(200 / 3)
    assert row["median_ttft_s"] == pytest.approx(0.5)
    assert row["ci_text"] == "21–94%"  # Wilson 2 of 3: 20.8–93.9
    assert tts.set_index("voice").loc["espeak:en-us", "mean_wer"] == 0.0
    assert len(at.get("plotly_chart")) == 2
    # Each model's latest card (the third run's); a voice never asked says so.
    cards = [
        unescaped(c.value) for c in at.caption if "Engine" in c.value or "Not known" in c.value
    ]
    assert any(c.startswith("**llava:7b**: Engine: ollama · Quantization: Q6_0") for c in cards)
    assert any(c.startswith("**espeak:en-us**: Not known: the model was not asked") for c in cards)
    assert [b.label for b in at.get("download_button")] == [
        "Download CSV",
        "Download CSV",
        "VLM answers: 3 rows (CSV)",
        "VLM answers: 3 labels (CSV)",
        "Voice clips: 1 rows (CSV)",
        "Voice clips: 0 labels (CSV)",
    ]


def test_leaderboard_headers_are_words_with_units_and_a_definition(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    gid = store.add_generation(store.create_run("vlm", "q"), "ollama:llava:7b")
    store.finish_generation(gid, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
    clip = store.add_generation(store.create_run("tts", "Hello."), "espeak:en-us")
    store.finish_generation(
        clip,
        "ok",
        transcript="hello",
        wer=0.0,
        **word_counts("Hello.", 0.0),
        cer=0.0,
        rtf=0.1,
        gen_s=0.1,
    )

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    tables = [shown_columns(at, index) for index in range(len(at.dataframe))]
    assert len(tables) == VLM_TABLES + 3  # voices: WER, labels, speed
    assert [[c["label"] for c in table.values()] for table in tables[:VLM_TABLES]] == [
        ["Model", "% relevant", "95% CI", "Labels", "Answers", "Failed"],
        ["Model", "TTFT (s)", "Total (s)", "Tokens/s", "In flight"],
    ]
    voices = {c["label"] for table in tables[VLM_TABLES:] for c in table.values()}
    # A count of labels is "Labels", of complete answers (clips for a voice) "Answers".
    assert {"Voice", "Labels", "Answers", "Mean WER"} <= voices
    assert not {"Labeled", "Clips", "n"} & voices
    for column in [c for table in tables for c in table.values()]:
        assert column["help"], column["label"]
        assert "_" not in column["label"]
    assert "first chunk with answer text" in tables[1]["median_ttft_s"]["help"]
    assert "Median" in tables[1]["median_ttft_s"]["help"]
    # Empty cells read as a dash, not "None": no labels yet, so no % relevant and no interval.
    assert at.dataframe[0].proto.placeholder == "–"
    assert at.dataframe[0].value["ci_text"].tolist() == [None]


def test_leaderboard_shortens_long_specs_and_lists_the_full_ones(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    specs = [
        "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1",
        "transformers:/models/SmolVLM-256M-Instruct",
        "ollama:llava:7b@http://gpu-a:11434",
        "ollama:llava:7b@http://gpu-b:11434",
    ]
    for spec in specs:
        gid = store.add_generation(store.create_run("vlm", "q"), spec)
        store.finish_generation(gid, "ok", output_text="x", ttft_s=0.5, total_s=1.0)

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    frame = at.dataframe[0].value.set_index("model")
    assert frame.loc[specs, "name"].tolist() == [
        "Qwen2-VL-7B-Instruct",
        "SmolVLM-256M-Instruct",
        "llava:7b @ gpu-a",
        "llava:7b @ gpu-b",
    ]
    text = listed_specs(at)
    for spec in specs:
        assert f"`{spec}`" in text


# The main area beside the sidebar in a 1000 px window, the narrowest the tables meet (the
# browser test checks in chromium that none scrolls sideways there or at 1400 px).
TABLE_PX_AT_1000 = 540
VLM_TABLES = 2  # relevance, speed; the voices' tables come after them


def test_every_table_of_the_leaderboard_fits_a_1000_px_window(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    gid = store.add_generation(store.create_run("vlm", "q"), "ollama:llava:7b")
    store.finish_generation(gid, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
    clip = store.add_generation(store.create_run("tts", "Hello."), "espeak:en-us")
    store.finish_generation(
        clip,
        "ok",
        transcript="hello",
        wer=0.0,
        **word_counts("Hello.", 0.0),
        cer=0.0,
        rtf=0.1,
        gen_s=0.1,
    )

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.dataframe) == VLM_TABLES + 3
    for index in range(len(at.dataframe)):
        columns = shown_columns(at, index)
        assert sum(c["width"] for c in columns.values()) <= TABLE_PX_AT_1000


def test_a_failed_answer_is_listed_as_failed_and_not_counted(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    failed = store.add_generation(store.create_run("vlm", "q"), "openai:m@http://127.0.0.1:9/v1")
    store.finish_generation(failed, "error", error="HTTP 500", total_s=0.1)
    late = store.add_generation(store.create_run("vlm", "q"), "openai:m@http://127.0.0.1:9/v1")
    store.finish_generation(late, "timeout", error="no answer within 20 s", total_s=20.0)

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    [row] = at.dataframe[0].value.to_dict("records")
    assert row["failed"] == 2
    assert "failed: error: 1, timeout: 1" in listed_specs(at)
    assert (row["answers"], row["labels"]) == (0, 0)
    assert pd.isna(row["median_total_s"])
    # Nothing labeled: a sentence instead of an empty chart.
    assert not at.get("plotly_chart")
    assert any("No chart yet" in c.value for c in at.caption)


def test_models_at_zero_percent_still_get_a_bar(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    for model in ["ocr:eng+rus", "ollama:llava:7b"]:
        for _ in range(3):
            gid = store.add_generation(store.create_run("vlm", "q"), model)
            store.finish_generation(gid, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
            store.add_label(gid, "irrelevant", annotator="ana")

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    bars = [t for t in chart_traces(at, "vlm-chart") if t["type"] == "bar"]
    [interval] = bars
    # Each model's bar spans its 95% interval, 0 to 56% for 0 of 3: visible though the rate is 0.
    assert interval["base"] == [0.0, 0.0]
    assert interval["x"] == pytest.approx([56.15, 56.15], abs=0.01)
    marks = [t for t in chart_traces(at, "vlm-chart") if t.get("mode") == "markers"]
    assert marks[0]["x"] == [0.0, 0.0]


def test_voice_wer_is_in_percent_in_chart_and_table(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    for voice, wers in [("espeak:en-us", [0.25, 0.5]), ("piper:en_US-joe-medium", [0.0, 0.0])]:
        for wer in wers:
            clip = store.add_generation(store.create_run("tts", "a b c d"), voice)
            store.finish_generation(
                clip,
                "ok",
                transcript="a b",
                wer=wer,
                **word_counts("a b c d", wer),
                cer=wer,
                rtf=0.1,
                gen_s=0.1,
            )

    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0]  # the voices' WER: no VLM answers are stored
    columns = shown_columns(at, 0)
    assert columns["mean_wer_pct"]["type_config"]["format"] == "%.1f%%"
    assert columns["corpus_wer_pct"]["type_config"]["format"] == "%.1f%%"
    assert table.value["mean_wer_pct"].tolist() == [0.0, 37.5]
    [bar] = [t for t in chart_traces(at, "tts-chart") if t["type"] == "bar"]
    assert dict(zip(bar["y"], bar["x"], strict=True)) == {
        "piper:en_US-joe-medium": 0.0,
        "espeak:en-us": 37.5,
    }
    texts = [t for t in chart_traces(at, "tts-chart") if t.get("mode") == "text"]
    assert texts[0]["text"] == [" 0% (n=2)", " 38% (n=2)"]


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
    secrets = {"VLLM_API_KEY": "from-secrets", "OPENAI_API_KEY": "from-secrets-too"}
    at.secrets.update(secrets)
    at.run()
    assert not at.exception
    # The page registered its secrets as a key source (AppTest swaps st.secrets only during a
    # run, so the same secrets are put back here); nothing was copied into the environment.
    assert os.environ["VLLM_API_KEY"] == ""
    shown = Secrets()
    shown._secrets = secrets
    monkeypatch.setattr(st, "secrets", shown)
    assert keys.api_key("VLLM_API_KEY") == "from-secrets"
    # The environment wins where it sets a key.
    assert keys.api_key("OPENAI_API_KEY") == "from-the-environment"
    # Keys from secrets are kept out of what is stored and printed like the others.
    app = Lineup.open(load_settings())
    assert set(app.secrets()) >= {"from-secrets", "from-the-environment"}
    # And no key reached the store.
    assert "from-secrets" not in (lineup_home / "lineup.db").read_bytes().decode("latin-1")


def test_backends_page_lists_the_endpoints_past_comparisons_used(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoints typed as `@BASE_URL` in a comparison and not in backends.toml: listed once
    each, probed like the others (the Ollama protocol fixture stands in for an Ollama server,
    which cannot be installed here), a key in an old row's URL never shown nor sent."""
    lineup_home.mkdir(parents=True, exist_ok=True)
    (lineup_home / "backends.toml").write_text(
        '[endpoints.vllm]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    store = Store(load_settings().database_url)
    with OllamaFixture([FakeModel("llava:7b", ["hi"])]) as ollama:
        specs = [
            f"ollama:llava:7b@{ollama.base_url}",  # up: its models are listed
            "openai:Qwen/Qwen2-VL-2B@http://127.0.0.1:7/v1",  # down
            "openai:SmolVLM@http://127.0.0.1:7/v1/",  # the same endpoint: listed once
            "openai:m@http://127.0.0.1:9/v1",  # backends.toml's vllm: listed there only
            # An old row's URL with keys in it (today's parser refuses it): never shown.
            "openai:m@http://ana:sk-pass-123@127.0.0.1:8/v1?api_key=sk-query-456",
            "ocr:eng+rus",  # no server
            # Markdown in a spec is the store's text: drawn as code, never as an image.
            "openai:x`![b](http://127.0.0.1:5/p.png)`@http://127.0.0.1:7/v1",
        ]
        run = store.create_run("vlm", "q")
        for spec in specs:
            store.finish_generation(store.add_generation(run, spec), "ok", output_text="x")
        voice = "openai-tts:kokoro@http://127.0.0.1:6/v1"
        store.finish_generation(store.add_generation(store.create_run("tts", "Hi."), voice), "ok")
        at = AppTest.from_file(str(PAGES / "endpoints.py"), default_timeout=60).run()
    assert not at.exception
    shown = " ".join(
        element.value
        for kind in ("markdown", "caption", "warning", "code", "subheader")
        for element in at.get(kind)
    )
    assert "Used in past comparisons" in shown
    assert "sk-pass-123" not in shown and "sk-query-456" not in shown and "ana:" not in shown
    # An endpoint's box: "icon **name** · `kind` · `url`", or "icon `kind` · `url`" for one
    # that only past comparisons name.
    boxes = [m.value for m in at.markdown if m.value.startswith(":material/")]
    past = {box.split("`")[-2] for box in boxes if box.count(" · ") == 1}
    assert past == {
        ollama.base_url,
        "http://127.0.0.1:7/v1",
        "http://***@127.0.0.1:8/v1?api_key=***",
        "http://127.0.0.1:6/v1",  # a voice server: every endpoint kind
    }
    assert "**vllm**" in shown
    assert sum("http://127.0.0.1:9/v1" in box for box in boxes) == 1  # only as vllm
    # Probed like the others: the fixture's models listed, the dead one warned about, the
    # one with a key in its URL not asked at all.
    tables = [t.value for t in at.dataframe]
    assert any(t["spec"].tolist() == [f"ollama:llava:7b@{ollama.base_url}"] for t in tables)
    warnings = [w.value for w in at.warning]
    assert any("http://127.0.0.1:7/v1" in w for w in warnings)
    assert any(w.startswith("Not asked") and "api_key_env" in w for w in warnings)
    [used_by] = [c.value for c in at.caption if "openai:Qwen/Qwen2-VL-2B@" in c.value]
    assert used_by == (
        "Used by `openai:Qwen/Qwen2-VL-2B@http://127.0.0.1:7/v1`, "
        "`openai:SmolVLM@http://127.0.0.1:7/v1/`, "
        # A spec's own backtick: a longer fence keeps the text whole and drawn as code.
        "``openai:x`![b](http://127.0.0.1:5/p.png)`@http://127.0.0.1:7/v1``"
    )


def test_the_speed_table_says_which_answers_were_cold_and_their_own_median(
    lineup_home: Path,
) -> None:
    store = Store(load_settings().database_url)
    # llava: warm TTFT 0.4 and 0.6, cold 9.0 and 7.0 (median 8.00 by hand); qwen: all warm.
    for spec, ttft, cold in [
        ("ollama:llava:7b", 0.4, False),
        ("ollama:llava:7b", 0.6, None),
        ("ollama:llava:7b", 9.0, True),
        ("ollama:llava:7b", 7.0, True),
        ("ollama:qwen:2b", 0.3, False),
    ]:
        generation = store.add_generation(store.create_run("vlm", "q"), spec)
        store.finish_generation(
            generation, "ok", output_text="x", ttft_s=ttft, total_s=ttft + 1.0, cold=cold
        )
    at = AppTest.from_file(str(PAGES / "leaderboard.py"), default_timeout=60).run()
    assert not at.exception
    [line] = [c.value for c in at.caption if c.value.startswith("Cold answers")]
    assert unescaped(line) == (
        "Cold answers, kept out of the medians above: llava:7b 2, median TTFT 8.00 s."
    )
    speed = at.dataframe[0].value.set_index("model")
    assert speed.loc["ollama:llava:7b", "median_ttft_s"] == pytest.approx(0.5)  # 0.4 and 0.6
