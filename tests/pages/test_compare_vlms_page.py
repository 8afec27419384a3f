"""The Compare VLMs page, headless with Streamlit's AppTest.

Models: the Ollama protocol fixture (tests/fixtures/ollama_server.py, a loopback stand-in for
an Ollama server, which cannot be installed here) and the real Tesseract OCR baseline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lineup.samples import ensure_samples
from lineup.settings import load_settings
from lineup.store import Store
from tests.fixtures.ollama_server import FakeModel, OllamaFixture

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare_vlms.py")


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> OllamaFixture:
    models = [
        FakeModel("llava:7b", ["A", "payment", "error."]),
        FakeModel("moondream:latest", ["Card", "declined."]),
    ]
    with OllamaFixture(models) as fixture:
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


def page(**query: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def test_compare_label_and_reload_keeps_the_label(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page(annotator="ana").run()
    assert not at.exception
    at.radio(key="image_source").set_value("Sample").run()
    at.text_area(key="question").set_value("What went wrong?")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b", "ollama:moondream:latest"])
    at.button(key="compare").click().run()
    assert not at.exception

    run_id = int(
        at.query_params["run"][0]
        if isinstance(at.query_params["run"], list)
        else at.query_params["run"]
    )
    store = Store(load_settings().database_url)
    run = store.get_run(run_id)
    assert [g.model_spec for g in run.generations] == ["ollama:llava:7b", "ollama:moondream:latest"]
    assert [g.status for g in run.generations] == ["ok", "ok"]
    shown = " ".join(m.value for m in at.markdown)
    assert "A payment error." in shown and "Card declined." in shown
    assert any("TTFT" in c.value and "tok/s" in c.value for c in at.caption)
    # The question, the sample image and the parameters went with the request.
    [first, _] = ollama.chat_requests()
    assert first["messages"][-1]["content"] == "What went wrong?"
    assert first["messages"][-1]["images"]
    assert first["options"]["temperature"] == 0.0

    llava = run.generations[0]
    at.button(key=f"label-{llava.id}-relevant").click().run()
    assert not at.exception
    assert store.current_labels([llava.id], "ana")[llava.id].relevance == "relevant"

    # A new session (a page reload) on the same URL shows the label as chosen.
    again = page(annotator="ana", run=str(run_id)).run()
    assert not again.exception
    assert again.button(key=f"label-{llava.id}-relevant").proto.type == "primary"
    assert again.button(key=f"label-{llava.id}-partial").proto.type == "secondary"

    # Changing one's mind writes a new label; the latest counts.
    again.button(key=f"label-{llava.id}-partial").click().run()
    assert store.current_labels([llava.id], "ana")[llava.id].relevance == "partial"


def test_blind_mode_hides_names_until_everything_is_labeled(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page(annotator="bo").run()
    at.sidebar.toggle[0].set_value(True)
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("Describe it.")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b", "ollama:moondream:latest"])
    at.button(key="compare").click().run()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert "Model A" in headers and "Model B" in headers
    assert not any("llava" in h for h in headers)

    run = Store(load_settings().database_url).latest_runs("vlm", 1)[0]
    assert run.blind
    for generation in run.generations:
        at.button(key=f"label-{generation.id}-irrelevant").click().run()
    headers = [h.value for h in at.subheader]
    assert any("ollama:llava:7b" in h for h in headers)


def test_a_failing_model_shows_its_error_beside_a_working_one(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page(annotator="ana").run()
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What is shown?")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b", "ollama:not-pulled:1b"])
    at.button(key="compare").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("ollama pull not-pulled:1b" in e for e in errors)
    assert any("A payment error." in m.value for m in at.markdown)


def test_a_bad_spec_is_refused_before_anything_runs(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page().run()
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What is shown?")
    at.multiselect(key="models-vlm").set_value(["llava"])
    at.button(key="compare").click().run()
    assert any("neither a spec" in e.value for e in at.error)
    assert Store(load_settings().database_url).latest_runs("vlm") == []


def test_a_recent_run_can_be_reopened_for_labeling(ollama: OllamaFixture) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "Which error code?")
    generation = store.add_generation(run_id, "ollama:llava:7b")
    store.finish_generation(generation, "ok", output_text="PAY-4021", ttft_s=0.1, total_s=0.2)

    at = page(annotator="cy").run()
    at.sidebar.selectbox(key="recent-vlm").set_value(str(run_id)).run()
    assert not at.exception
    assert at.query_params["run"] in (str(run_id), [str(run_id)])
    assert any("PAY-4021" in m.value for m in at.markdown)
    at.button(key=f"label-{generation}-relevant").click().run()
    assert store.current_labels([generation], "cy")[generation].relevance == "relevant"
