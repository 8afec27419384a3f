"""The Compare VLMs page, headless with Streamlit's AppTest.

Models: the Ollama protocol fixture (testbed/ollama_server.py, a loopback stand-in for
an Ollama server, which cannot be installed here) and the real Tesseract OCR baseline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.core.states import RELEVANCE
from lineup.sets.samples import ensure_samples
from lineup.store.database import Store
from lineup.store.tables import ANNOTATOR_MAX_CHARS
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import png_bytes
from tests.pages.helpers import FakeClock, shown_texts, unescaped

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare_vlms.py")


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> OllamaFixture:
    models = [
        FakeModel("llava:7b", ["A", "payment", "error."]),
        FakeModel("moondream:latest", ["Card", "declined."]),
        # Streams a word every 0.3 s for a minute: a run that is still going when it is
        # looked at, reloaded or stopped.
        FakeModel("slow:latest", [f"word{i}" for i in range(200)], delay_s=0.3),
        # Still going when a new session opens its run (under load that takes over a second).
        FakeModel("brief:latest", ["Slow", "but", "whole."], delay_s=1.0),
    ]
    with OllamaFixture(models) as fixture:
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


def run_param(at: AppTest) -> str:
    value = at.query_params["run"]
    return value[0] if isinstance(value, list) else value


def settle(at: AppTest, timeout_s: float = 30) -> AppTest:
    """The page once its run is over. In a browser the page redraws itself while a run goes
    on and reruns when it ends; AppTest draws once per run, so: wait, then run the page."""
    app = Lineup.open(load_settings())
    run_id = int(run_param(at))
    deadline = time.monotonic() + timeout_s
    while app.compare.in_progress([run_id]):
        assert time.monotonic() < deadline, f"run {run_id} still going after {timeout_s} s"
        time.sleep(0.05)
    return at.run()


def label_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("label-")]


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
    settle(at.button(key="compare").click().run())
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
    shown = " ".join(shown_texts(at))
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
    at.multiselect(key="models-vlm").set_value(["ollama:slow:latest", "ollama:moondream:latest"])
    at.button(key="compare").click().run()
    assert not at.exception
    # While the answers stream: letters from the first chunk on, no names anywhere.
    assert [h.value for h in at.subheader] == ["Model A", "Model B"]
    assert not any("slow" in h.proto.help or "moondream" in h.proto.help for h in at.subheader)
    assert any("streaming…" in c.value or "waiting" in c.value for c in at.caption)
    run = Store(load_settings().database_url).latest_runs("vlm", 1)[0]
    app = Lineup.open(load_settings())
    comparison = app.compare.active(run.id)
    assert comparison.jobs[1].finished.wait(20)  # moondream's short answer
    app.compare.cancel(run.id)
    settle(at)
    assert [h.value for h in at.subheader] == ["Model A", "Model B"]

    # Names appear once every complete answer is labeled (the stopped one cannot be).
    run = Store(load_settings().database_url).get_run(run.id)
    assert run.blind
    assert [g.status for g in run.generations] == ["cancelled", "ok"]
    at.button(key=f"label-{run.generations[1].id}-irrelevant").click().run()
    headers = [unescaped(h.value) for h in at.subheader]
    assert any(h.endswith("· moondream:latest") for h in headers)


def test_a_failing_model_shows_its_error_beside_a_working_one(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page(annotator="ana").run()
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What is shown?")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b", "ollama:not-pulled:1b"])
    settle(at.button(key="compare").click().run())
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    assert any("ollama pull not-pulled:1b" in e for e in errors)
    assert any("A payment error." in text for text in shown_texts(at))


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
    assert any("PAY-4021" in text for text in shown_texts(at))
    at.button(key=f"label-{generation}-relevant").click().run()
    assert store.current_labels([generation], "cy")[generation].relevance == "relevant"


def stored_ok_run(store: Store, question: str, answer: str) -> tuple[int, int]:
    run_id = store.create_run("vlm", question)
    generation = store.add_generation(run_id, "ollama:llava:7b")
    store.finish_generation(generation, "ok", output_text=answer, ttft_s=0.1, total_s=0.2)
    return run_id, generation


def test_a_new_comparison_after_an_old_address_is_the_run_shown_and_labeled(
    ollama: OllamaFixture,
) -> None:
    ensure_samples()
    store = Store(load_settings().database_url)
    old_run, old_generation = stored_ok_run(store, "Which error code?", "OLD-ANSWER-77")

    # Opened from an old address, and picked again under "Open a recent run".
    at = page(annotator="ana", run=str(old_run)).run()
    at.sidebar.selectbox(key="recent-vlm").set_value(str(old_run)).run()
    assert any("OLD-ANSWER-77" in text for text in shown_texts(at))

    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What went wrong?")
    at.multiselect(key="models-vlm").set_value(["ocr:eng+rus", "ollama:moondream:latest"])
    settle(at.button(key="compare").click().run())
    assert not at.exception

    new_run = store.latest_runs("vlm", 1)[0]
    assert new_run.id != old_run
    assert run_param(at) == str(new_run.id)
    assert [g.status for g in new_run.generations] == ["ok", "ok"]
    shown = " ".join(shown_texts(at))
    assert "Card declined." in shown and "OLD-ANSWER-77" not in shown
    assert at.sidebar.selectbox(key="recent-vlm").value == str(new_run.id)

    # Another script run (any click) stays on the new run.
    at.run()
    assert run_param(at) == str(new_run.id)
    moondream = new_run.generations[1]
    at.button(key=f"label-{moondream.id}-relevant").click().run()
    assert not at.exception
    assert run_param(at) == str(new_run.id)
    assert store.current_labels([moondream.id], "ana")[moondream.id].relevance == "relevant"
    assert store.current_labels([old_generation], "ana") == {}

    # Picking the old run again is what brings it back.
    at.sidebar.selectbox(key="recent-vlm").set_value(str(old_run)).run()
    assert run_param(at) == str(old_run)
    assert any("OLD-ANSWER-77" in text for text in shown_texts(at))


def test_headers_show_the_model_name_with_the_full_spec_in_a_tooltip(
    ollama: OllamaFixture,
) -> None:
    ensure_samples()
    at = page(annotator="ana").run()
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("What is shown?")
    spec = f"ollama:llava:7b@{ollama.base_url}"
    at.multiselect(key="models-vlm").set_value([spec, "ocr:eng+rus"])
    settle(at.button(key="compare").click().run())
    assert not at.exception
    [llava, ocr] = at.subheader
    assert (unescaped(llava.value), unescaped(ocr.value)) == ("llava:7b", "ocr:eng+rus")
    assert spec in llava.proto.help and ollama.base_url in llava.proto.help
    # Each answer's figures come with their legend.
    figures = [c for c in at.caption if c.value.startswith("TTFT")]
    assert len(figures) == 2
    assert all("(server)" in c.proto.help and "chars/s" in c.proto.help for c in figures)


def wait_for_text(app: Lineup, run_id: int, words: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        first = app.compare.active(run_id).snapshot()[0]
        if len(first.text.split()) >= words:
            return
        time.sleep(0.05)
    raise AssertionError(f"the model streamed no {words} words in 20 s")


def test_stop_cancels_the_run_in_progress_and_keeps_its_text(ollama: OllamaFixture) -> None:
    ensure_samples()
    at = page(annotator="ana").run()
    assert at.button(key="stop").disabled
    at.radio(key="image_source").set_value("Sample")
    at.text_area(key="question").set_value("Count.")
    at.multiselect(key="models-vlm").set_value(["ollama:slow:latest", "ollama:moondream:latest"])
    at.button(key="compare").click().run()
    assert not at.exception
    # In progress: Compare is disabled, Stop is not, each column and the run say so.
    assert at.button(key="compare").disabled and not at.button(key="stop").disabled
    assert any("Running:" in m.value and "of 2 models finished" in m.value for m in at.markdown)
    run_id = int(run_param(at))
    app = Lineup.open(load_settings())
    wait_for_text(app, run_id, 3)

    started = time.monotonic()
    at.button(key="stop").click().run()
    assert not at.exception
    assert time.monotonic() - started < 5
    slow, moondream = app.store.get_run(run_id).generations
    assert (slow.status, moondream.status) == ("cancelled", "ok")
    assert slow.output_text.startswith("word0 word1 word2")
    assert any("Stopped" in i.value for i in at.info)
    assert any("Partial answer" in c.value for c in at.caption)
    assert any(text.startswith("word0 word1 word2") for text in shown_texts(at))
    # A stopped answer cannot be labeled, a complete one can; Compare is back, Stop is not.
    assert label_buttons(at) == [f"label-{moondream.id}-{v}" for v in RELEVANCE]
    assert not at.button(key="compare").disabled and at.button(key="stop").disabled


def test_a_reloaded_page_follows_the_run_in_progress_to_its_end(ollama: OllamaFixture) -> None:
    app = Lineup.open(load_settings())
    comparison = app.compare.vlm(question="Say it.", models=["ollama:brief:latest"], timeout_s=60)

    # A new session (a reload, another tab) on the run's address finds the run going on.
    at = page(annotator="ana", run=str(comparison.run_id)).run()
    assert not at.exception
    assert at.button(key="compare").disabled and not at.button(key="stop").disabled
    assert any("Running:" in m.value for m in at.markdown)
    settle(at)
    assert comparison.done
    assert any("Slow but whole." in text for text in shown_texts(at))
    [generation] = app.store.get_run(comparison.run_id).generations
    assert f"label-{generation.id}-relevant" in label_buttons(at)
    assert not at.button(key="compare").disabled


def test_a_run_without_its_comparison_here_is_followed_in_the_store(lineup_home: Path) -> None:
    # As another process (the CLI, another server) would leave it: a running row whose text
    # so far is saved, then its final state a moment later.
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "Which error code?")
    generation = store.add_generation(run_id, "ollama:llava:7b")
    store.save_progress([(generation, "Error code", None)])

    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    assert any(text.startswith("Error code ▌") for text in shown_texts(at))  # the saved text
    assert at.button(key="compare").disabled
    # The other process finishes the answer while the page is shown (after its first drawing,
    # however long that took on a loaded machine).
    store.finish_generation(
        generation, "ok", output_text="Error code PAY-4021", ttft_s=0.1, total_s=1.5
    )
    settle(at)
    assert any("Error code PAY-4021" in text for text in shown_texts(at))
    assert f"label-{generation}-relevant" in label_buttons(at)
    assert not at.button(key="compare").disabled


def test_an_interrupted_answer_shows_its_partial_text_and_no_label_bar(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "Which error code?")
    generation = store.add_generation(run_id, "ollama:llava:7b")
    store.finish_generation(
        generation,
        "interrupted",
        output_text="Error code PAY",
        error="Interrupted: the Lineup process that ran it (pid 1) is gone before it finished.",
    )
    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    assert any("Error code PAY" in text for text in shown_texts(at))
    assert any("Partial answer" in c.value for c in at.caption)
    assert any("Interrupted" in w.value for w in at.warning)
    assert not label_buttons(at)


def test_a_name_too_long_for_labels_is_said_not_raised(ollama: OllamaFixture) -> None:
    store = Store(load_settings().database_url)
    run_id, generation = stored_ok_run(store, "Which error code?", "PAY-4021")
    at = page(annotator="a" * (ANNOTATOR_MAX_CHARS + 1), run=str(run_id)).run()
    assert not at.exception
    assert any(f"at most {ANNOTATOR_MAX_CHARS}" in e.value for e in at.sidebar.error)
    assert not label_buttons(at)


# One click, one run ---------------------------------------------------------------------------


def ready_to_compare() -> AppTest:
    at = page(annotator="ana").run()
    at.radio(key="image_source").set_value("Upload")
    at.text_area(key="question").set_value("Say it.")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b"])
    return at.run()


def test_a_click_cut_short_between_the_start_and_the_page_remembering_it_is_one_run(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second click of a double click can reach the server while the first click's
    script run has started the run but not yet remembered it: Streamlit stops that script
    run at its next st.* call (here, in show_runs) and runs the page again for the second
    click."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import components.context
    import components.runs

    remember = components.context.show_runs
    cut: list[bool] = []

    def cut_short_once(query_key: str, run_ids: list[int]) -> None:
        if not cut:
            cut.append(True)
            raise StopException()
        remember(query_key, run_ids)

    monkeypatch.setattr(components.context, "show_runs", cut_short_once)
    monkeypatch.setattr(components.runs, "show_runs", cut_short_once, raising=False)
    at = ready_to_compare()
    first_click = at.button(key="compare")
    first_click.click().run()
    assert cut and not at.exception
    store = Store(load_settings().database_url)
    assert len(store.latest_runs("vlm")) == 1  # started, not remembered
    first_click.click().run()  # the second click, on the form as the person saw it
    assert not at.exception
    settle(at)
    assert [run.id for run in store.latest_runs("vlm")] == [int(run_param(at))]


def test_a_click_on_the_form_as_it_was_starts_nothing_once_the_run_is_shown(
    ollama: OllamaFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second click can reach the server after the first click's script run remembered
    the run (and the page's form got its next token) but before that run drew the page again;
    the run may even be over already (a fast or failing model): the click was made on the
    form as it was, and starts nothing new."""
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import components.context
    import components.runs

    show = components.context.show_runs

    def shown_then_cut_short(query_key: str, run_ids: list[int]) -> None:
        show(query_key, run_ids)
        if "cut" not in st.session_state:
            st.session_state["cut"] = True
            raise StopException()

    remember = getattr(components.runs, "remember_start", None)

    def remembered_then_cut_short(form: str, query_key: str, run_ids: list[int]) -> None:
        assert remember is not None
        remember(form, query_key, run_ids)
        if "cut" not in st.session_state:
            st.session_state["cut"] = True
            raise StopException()

    if remember is None:  # the page before one click, one run: it called show_runs itself
        monkeypatch.setattr(components.context, "show_runs", shown_then_cut_short)
    else:
        monkeypatch.setattr(components.runs, "remember_start", remembered_then_cut_short)
    clock = FakeClock()
    monkeypatch.setattr(components.runs, "time", clock)
    at = ready_to_compare()
    at.button(key="compare").click().run()
    assert not at.exception
    store = Store(load_settings().database_url)
    [run] = store.latest_runs("vlm")
    app = Lineup.open(load_settings())
    deadline = time.monotonic() + 30
    while app.compare.in_progress([run.id]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    at.button(key="compare").click().run()  # the second click
    assert not at.exception
    assert [r.id for r in store.latest_runs("vlm")] == [run.id]
    assert int(run_param(at)) == run.id
    # A click on the form as it is now, after the double-click time, is a new run.
    clock.now += components.runs.DOUBLE_CLICK_S
    settle(at.button(key="compare").click().run())
    assert len(store.latest_runs("vlm")) == 2


def browser_sends_its_label(picker: Any, run_id: int) -> None:
    """Make a selectbox of a page as drawn send what the browser sends: the label of the
    option it showed, run `run_id`'s (AppTest would format the value with today's labels)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    [label] = [option for option in picker.options if option.startswith(f"#{run_id} ·")]
    state = WidgetState(id=picker.id, string_value=label)
    as_drawn = {"_widget_state": property(lambda _: state)}
    picker.__class__ = type("AsDrawn", (type(picker),), as_drawn)


def test_a_second_click_from_the_page_as_it_was_keeps_the_new_run_shown(
    ollama: OllamaFixture,
) -> None:
    """The second click of a double click comes with the page as the browser showed it: the
    recent-runs picker on the old run. Streamlit takes that for a pick of the old run."""
    store = Store(load_settings().database_url)
    old_run, _ = stored_ok_run(store, "Which error code?", "OLD-ANSWER-77")
    at = page(run=str(old_run)).run()  # no annotator: no label bars, whose boxes come back too
    at.radio(key="image_source").set_value("Upload")
    at.text_area(key="question").set_value("Say it.")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b"]).run()
    picker, compare = at.sidebar.selectbox(key="recent-vlm"), at.button(key="compare")
    browser_sends_its_label(picker, old_run)  # until the browser draws the new run
    compare.click().run()
    [new_run] = [run for run in store.latest_runs("vlm") if run.id != old_run]
    assert run_param(at) == str(new_run.id)

    compare.run()  # the second click, sent with the page as it was
    assert not at.exception
    assert [run.id for run in store.latest_runs("vlm")] == [new_run.id, old_run]
    assert run_param(at) == str(new_run.id)
    settle(at)
    assert run_param(at) == str(new_run.id)
    assert not any("OLD-ANSWER-77" in m.value for m in at.markdown)


def test_the_recent_runs_picker_as_the_browser_had_it_does_not_bring_back_the_old_run(
    ollama: OllamaFixture,
) -> None:
    """Any message the browser sends before it has drawn the new run (a redraw's, another
    widget's) carries the picker on the old run, and Streamlit calls that a pick."""
    store = Store(load_settings().database_url)
    old_run, _ = stored_ok_run(store, "Which error code?", "OLD-ANSWER-77")
    at = page(run=str(old_run)).run()
    at.radio(key="image_source").set_value("Upload")
    at.text_area(key="question").set_value("Say it.")
    at.multiselect(key="models-vlm").set_value(["ollama:llava:7b"]).run()
    picker, compare = at.sidebar.selectbox(key="recent-vlm"), at.button(key="compare")
    browser_sends_its_label(picker, old_run)
    compare.click().run()
    [new_run] = [run for run in store.latest_runs("vlm") if run.id != old_run]

    compare.set_value(False)  # no click this time
    picker.run()
    assert not at.exception
    assert run_param(at) == str(new_run.id)
    settle(at)
    assert run_param(at) == str(new_run.id)
    assert not any("OLD-ANSWER-77" in m.value for m in at.markdown)


# The form shows the run shown; Run again ------------------------------------------------------


def test_an_opened_run_fills_the_form_which_then_keeps_the_person_s_edits(
    ollama: OllamaFixture,
) -> None:
    store = Store(load_settings().database_url)
    app = Lineup.open(load_settings())
    upload = app.compare.image(png_bytes(text="PAY-4021"))
    image_hash = app.media.put(upload.data, upload.suffix)
    run_id, generation_ids = store.create_run_with_generations(
        "vlm",
        "Which error code?",
        ["ollama:llava:7b", "ollama:typed-only:1b"],  # the second is offered by nothing now
        image_hash=image_hash,
        system_prompt="Answer in one line.",
        params={"temperature": 0.3, "max_tokens": 64, "timeout_s": 7200.0},
        seed=7,
        blind=True,
    )
    for generation_id in generation_ids:
        store.finish_generation(generation_id, "ok", output_text="PAY-4021", total_s=0.2)

    at = page(run=str(run_id)).run()
    assert not at.exception
    assert at.radio(key="image_source").value == "Run"  # an upload: the run's stored image
    assert not at.error  # the stored image was found and read
    assert at.text_area(key="question").value == "Which error code?"
    assert at.text_area(key="system").value == "Answer in one line."
    assert at.multiselect(key="models-vlm").value == ["ollama:llava:7b", "ollama:typed-only:1b"]
    assert at.number_input(key="temperature").value == 0.3
    assert at.number_input(key="max_tokens").value == 64
    assert at.number_input(key="seed").value == 7
    assert at.number_input(key="timeout").value == 3600.0  # the field's largest
    assert at.sidebar.toggle(key="blind").value is True

    at.text_area(key="question").set_value("What is the order number?").run()
    at.run()
    assert at.text_area(key="question").value == "What is the order number?"


def test_run_again_starts_the_shown_run_s_inputs_as_a_new_run(ollama: OllamaFixture) -> None:
    app = Lineup.open(load_settings())
    first = app.compare.vlm(
        question="Say it.",
        models=["ollama:llava:7b", "ollama:moondream:latest"],
        system="Be brief.",
        temperature=0.2,
        max_tokens=32,
        seed=3,
    )
    first.wait()
    at = page(annotator="ana", run=str(first.run_id)).run()
    at.text_area(key="question").set_value("Something else?").run()  # the form, edited
    settle(at.button(key="again-vlm").click().run())
    assert not at.exception
    store = Store(load_settings().database_url)
    new_run, old_run = store.latest_runs("vlm", 2)
    assert int(run_param(at)) == new_run.id != old_run.id
    assert [g.model_spec for g in new_run.generations] == [
        "ollama:llava:7b",
        "ollama:moondream:latest",
    ]
    for field in ("input_text", "system_prompt", "params", "seed", "blind"):
        assert getattr(new_run, field) == getattr(old_run, field), field
    # The form shows the run shown: the new one's inputs.
    assert at.text_area(key="question").value == "Say it."


def test_each_column_has_its_card_and_the_page_says_when_columns_differ(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    machine = {"cpu": "Test CPU 9000", "cores": 2, "memory_gb": 7.8, "os": "Linux", "gpus": []}
    run_id, [q4, q8] = store.create_run_with_generations(
        "vlm", "What is shown?", ["ollama:llava:q4", "ollama:llava:q8"], machine=machine
    )
    for generation in (q4, q8):
        store.finish_generation(generation, "ok", output_text="A cat.", ttft_s=0.1, total_s=0.2)
    cards = {
        "ollama:llava:q4": {"host": "gpu1:11434", "quantization": "Q4_K_M", "vram_bytes": None},
        "ollama:llava:q8": {"host": "gpu2:11434", "quantization": "Q8_0", "vram_bytes": 8e9},
    }
    for model, card in cards.items():
        reasons = (
            {"vram_bytes": "/api/ps: no answer within 2.0 s"} if card["vram_bytes"] is None else {}
        )
        details = {"engine": "ollama", "family": "llama", **card, "reasons": reasons}
        details["model_path"] = "<script>alert(1)</script> **bold**"  # a server's hostile words
        store.save_provenance(model, model, details, run_ids=[run_id])

    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    expanders = [unescaped(e.label) for e in at.expander if "What ran where" in e.label]
    assert expanders == [
        "What ran where: ollama · gpu1:11434",
        "What ran where: ollama · gpu2:11434",
    ]
    captions = [unescaped(c.value) for c in at.caption]
    assert "**Quantization:** Q4_K_M" in captions and "**Quantization:** Q8_0" in captions
    assert "**In VRAM:** 8.00 GB" in captions
    assert any("vram_bytes: /api/ps: no answer within 2.0 s" in c for c in captions)
    assert any("Test CPU 9000, 2 cores, 7.8 GiB" in c and "no GPU" in c for c in captions)
    # The hostile path is shown as the text it is (escaped Markdown, never HTML).
    paths = [c.value for c in at.caption if "Model file" in c.value]
    assert len(paths) == 2
    assert all("\\*\\*bold\\*\\*" in p and "<script>" in unescaped(p) for p in paths)
    warnings = [unescaped(w.value) for w in at.warning]
    assert any("different hosts" in w for w in warnings)
    assert any("different quantizations" in w and "Q4_K_M" in w for w in warnings)


def test_a_blind_run_shows_no_card_while_names_are_hidden(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id, [generation] = store.create_run_with_generations(
        "vlm", "What is shown?", ["ollama:llava:q4"], blind=True
    )
    store.finish_generation(generation, "ok", output_text="A cat.", ttft_s=0.1, total_s=0.2)
    card = {"engine": "ollama", "host": "gpu1:11434", "reasons": {}}
    store.save_provenance("ollama:llava:q4", "ollama:llava:q4", card, run_ids=[run_id])
    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    assert not [e for e in at.expander if "What ran where" in e.label]
    at.button(key=f"label-{generation}-relevant").click().run()
    assert [unescaped(e.label) for e in at.expander if "What ran where" in e.label] == [
        "What ran where: ollama · gpu1:11434"
    ]


def test_columns_measured_under_different_contention_carry_the_badge(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "Which error code?", params={"timing": "fair"})
    for spec, others in (("ollama:llava:7b", 0), ("ollama:qwen:2b", 2)):
        generation = store.add_generation(run_id, spec)
        store.finish_generation(
            generation, "ok", output_text="PAY-4021", ttft_s=0.1, total_s=0.5, concurrent_max=others
        )
    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    [badge] = [w.value for w in at.warning if "uneven contention" in w.value]
    assert "llava:7b alone" in unescaped(badge)
    assert "qwen:2b with 2 other requests in flight" in unescaped(badge)
    # The form shows the run's timing, ready to run it again the same way.
    assert at.radio(key="timing").value == "fair"


def test_columns_measured_alike_carry_no_badge(lineup_home: Path) -> None:
    store = Store(load_settings().database_url)
    run_id = store.create_run("vlm", "Which error code?")
    for spec in ("ollama:llava:7b", "ollama:qwen:2b"):
        generation = store.add_generation(run_id, spec)
        store.finish_generation(
            generation, "ok", output_text="PAY-4021", ttft_s=0.1, total_s=0.5, concurrent_max=1
        )
    at = page(annotator="ana", run=str(run_id)).run()
    assert not at.exception
    assert not [w for w in at.warning if "uneven contention" in w.value]
    assert at.radio(key="timing").value == "parallel"
