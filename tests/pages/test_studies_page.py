"""The Studies page, headless with Streamlit's AppTest: start a study, follow it, pause and
resume it, open it from its address, and read its tables.

Models: Ollama models served by the loopback protocol fixture (testbed/ollama_server.py;
no Ollama server can be installed here). AppTest draws the page once per run, so the tests
wait for the study in the store (as the page's progress fragment does) and run the page again.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from components.study import csv_zip, report_bytes
from lineup.app.facade import Lineup
from lineup.study.running import StudyProgress
from testbed.ollama_server import FakeModel, OllamaFixture
from tests.builders import write_numbered_set
from tests.pages.helpers import shown_texts, studies_page, unescaped

ALPHA, BETA, SLOW = "ollama:alpha:1b", "ollama:beta:1b", "ollama:slow:1b"


@pytest.fixture()
def ollama(lineup_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaFixture]:
    models = [
        FakeModel("alpha:1b", ["A", "digit."], delay_s=0.01),
        FakeModel("beta:1b", ["Some", "number."], delay_s=0.01),
        # About 2 s an answer: still at its first answer when Pause is pressed.
        FakeModel("slow:1b", [f"w{i}" for i in range(20)], delay_s=0.1),
    ]
    with OllamaFixture(models) as fixture:
        monkeypatch.setenv("OLLAMA_HOST", fixture.base_url)
        yield fixture


@pytest.fixture()
def app(ollama: OllamaFixture, tmp_path: Path) -> Lineup:
    app = Lineup.open()
    app.sets.import_path(write_numbered_set(tmp_path / "three"), name="three")
    return app


def shown_study(at: AppTest) -> int:
    value = at.query_params["study"]
    return int(value[0] if isinstance(value, list) else value)


def wait_for(
    app: Lineup, study_id: int, status: str = "done", timeout_s: float = 60
) -> StudyProgress:
    deadline = time.monotonic() + timeout_s
    while (progress := app.studies.progress(study_id)).status != status:
        assert time.monotonic() < deadline, f"study {study_id} is {progress.status}, not {status}"
        time.sleep(0.05)
    return progress


def progress_texts(at: AppTest) -> list[str]:
    return [bar.proto.text for bar in at.get("progress")]


def table(at: AppTest, column: str) -> dict[str, dict]:
    """The rows, by model, of the first table that shows `column`."""
    for frame in at.dataframe:
        if column in frame.proto.column_order:
            return {row["model"]: row for row in frame.value.to_dict("records")}
    raise AssertionError(f"no table shows {column}")


def chart(at: AppTest, key: str) -> dict:
    [found] = [c for c in at.get("plotly_chart") if key in c.proto.id]
    return json.loads(found.proto.spec)


def test_start_a_study_follow_it_and_read_its_tables(app: Lineup, ollama: OllamaFixture) -> None:
    at = studies_page(annotator="ana")
    assert not at.exception
    assert at.selectbox(key="study-set").value.name == "three"
    at.multiselect(key="models-vlm").set_value([ALPHA, BETA])
    at.number_input(key="study-seed").set_value(7)
    at.button(key="study-start").click().run()
    assert not at.exception

    study_id = shown_study(at)
    info = app.studies.get(study_id)
    assert info is not None and info.models == (ALPHA, BETA) and info.seed == 7
    assert wait_for(app, study_id).done == 6
    at.run()
    assert not at.exception
    [overall, *per_model] = progress_texts(at)
    assert "**Done**" in overall and "6 of 6 answers" in overall
    assert sorted(text.split(" · ")[:2] for text in per_model) == [
        ["**alpha:1b**", "3/3"],  # short names (lineup.model_names)
        ["**beta:1b**", "3/3"],
    ]
    assert at.button(key=f"study-pause-{study_id}").disabled
    assert at.button(key=f"study-resume-{study_id}").disabled
    # What ran where: the machine, and a card per model with what its server said.
    cards = [unescaped(e.label) for e in at.expander if e.label.startswith("What ran where")]
    host = ollama.base_url.removeprefix("http://")
    assert cards == [f"What ran where: ollama · {host}"] * 2
    assert any("**Quantization:** Q4_K_M" == unescaped(c.value) for c in at.caption)
    assert any("no GPU" in c.value and "cores" in c.value for c in at.caption)
    [link] = at.get("page_link")
    assert link.proto.page == "label_queue" and "Label" in link.value

    # Label: alpha 2 of 3 relevant (ana), beta 1 partial (ana) and 1 irrelevant (bo).
    rows = {(r["model"], r["item"]): r for r in _answers(app, study_id)}
    items = sorted({item for _, item in rows})
    for item, relevance in zip(items, ["relevant", "relevant", "irrelevant"], strict=True):
        app.labels.add(rows[(ALPHA, item)]["id"], relevance, annotator="ana")
    app.labels.add(rows[(BETA, items[0])]["id"], "partial", annotator="ana")
    app.labels.add(rows[(BETA, items[1])]["id"], "irrelevant", annotator="bo")
    at.run()
    assert not at.exception

    relevance = table(at, "requests")
    alpha, beta = relevance[ALPHA], relevance[BETA]
    assert (alpha["requests"], alpha["relevant"], alpha["irrelevant"]) == (3, 2, 1)
    assert alpha["pct_relevant"] == pytest.approx(200 / 3)
    # Three items: too few for the item bootstrap (5), so no interval rather than Wilson's
    # 21-94% over labels that are not independent.
    assert alpha["ci_text"] is None
    assert (alpha["ok"], alpha["errors"], alpha["labeled_answers"]) == (3, 0, 3)
    assert (beta["requests"], beta["partial"], beta["irrelevant"]) == (2, 1, 1)
    assert beta["pct_relevant"] == 0

    speed = table(at, "tokens_per_time_s")
    # The fixture, like Ollama, reports alpha's load on its first answer: that one is cold and
    # counted apart; tokens over time and the medians are over the two warm answers.
    assert speed[ALPHA]["ok"] == 3 and speed[ALPHA]["output_tokens"] == 4
    assert speed[ALPHA]["cold_answers"] == 1
    assert speed[ALPHA]["median_tokens_per_s"] == pytest.approx(4.0)  # the server's 2 / 0.5 s
    assert speed[ALPHA]["tokens_per_time_s"] > 0

    bars = chart(at, "study-relevance-chart")["data"][0]
    assert bars["y"] == ["alpha:1b", "beta:1b"]
    assert bars["x"] == pytest.approx([200 / 3, 0])
    assert bars["error_x"]["array"] == [None, None]  # no interval: no bar, not a zero one
    points = {t["name"]: (t["x"][0], t["y"][0]) for t in chart(at, "study-speed-chart")["data"]}
    assert points["alpha:1b"] == pytest.approx((speed[ALPHA]["tokens_per_time_s"], 200 / 3))
    assert points["beta:1b"][1] == 0
    heatmap = chart(at, "study-item-heatmap")["data"][0]
    assert heatmap["x"] == ["alpha:1b", "beta:1b"]
    assert heatmap["z"] == [[1.0, 0.5], [1.0, 0.0], [0.0, None]]

    # An item's answers side by side, a choice away.
    item = at.selectbox(key=f"study-item-{study_id}")
    assert item.value == items[0]
    shown = " ".join(shown_texts(at))
    assert "What is shown in picture 0?" in shown and "A digit." in shown
    assert "Some number." in shown and "A number" in shown  # the reference
    assert any(c.value == "Labels: ana partly" for c in at.caption)
    item.set_value(items[2]).run()
    assert "What is shown in picture 2?" in " ".join(shown_texts(at))
    assert any(c.value == "Labels: ana irrelevant" for c in at.caption)

    # Only bo's labels.
    at.selectbox(key="study-annotator-filter").set_value("bo").run()
    assert not at.exception
    relevance = table(at, "requests")
    assert relevance[ALPHA]["requests"] == 0
    assert (relevance[BETA]["requests"], relevance[BETA]["irrelevant"]) == (1, 1)
    assert chart(at, "study-item-heatmap")["data"][0]["z"] == [[None, None], [None, 0.0]] + [
        [None, None]
    ]

    # The downloads are made on a click; here, what they would hold.
    assert [b.proto.label for b in at.get("download_button")] == [
        "CSV (zip)",
        "Report (HTML)",
        "Report (XLSX)",
        "Report (Markdown)",
    ]
    html = report_bytes(app, study_id, "html").decode()
    assert html.startswith("<!DOCTYPE html>") and 'id="items"' in html
    assert f"# Study {study_id}: three" in report_bytes(app, study_id, "md").decode()
    with zipfile.ZipFile(io.BytesIO(csv_zip(app, study_id))) as archive:
        names = sorted(archive.namelist())
        relevance_csv = archive.read(f"study-{study_id}-relevance.csv").decode()
    assert names == sorted(
        f"study-{study_id}-{table}.csv"
        for table in ["relevance", "speed", "per_item", "repeats", "generations", "labels"]
        + ["provenance"]
    )
    assert relevance_csv.splitlines()[1].startswith(f'"{ALPHA}",3,2,0,1,')
    report = openpyxl.load_workbook(io.BytesIO(report_bytes(app, study_id, "xlsx")))
    assert report.sheetnames == [
        "Summary",
        "Metrics",
        "Per item",
        "Pairs",
        "Judge",
        "Labels",
        "Agreement",
        "Provenance",
        "Generations",
    ]


def _answers(app: Lineup, study_id: int) -> list[dict]:
    """The study's answers by (model, item), through the facade (its tables' answer ids)."""
    tables = app.studies.tables(study_id)
    return [
        {"model": model, "item": item_id, "id": ids[0]}
        for (item_id, model), ids in tables.per_item_ids.items()
    ]


def test_pause_then_resume_from_the_page(app: Lineup) -> None:
    started = app.studies.start(set_name="three", models=[SLOW])
    at = studies_page(study=str(started.study_id))
    assert not at.exception
    assert "**Running**" in progress_texts(at)[0]
    at.button(key=f"study-pause-{started.study_id}").click().run()
    assert not at.exception

    paused = wait_for(app, started.study_id, "paused")
    assert 1 <= paused.done < 3
    at.run()
    assert "**Paused**" in progress_texts(at)[0]
    assert not at.button(key=f"study-resume-{started.study_id}").disabled
    assert at.button(key=f"study-pause-{started.study_id}").disabled

    at.button(key=f"study-resume-{started.study_id}").click().run()
    assert not at.exception
    assert wait_for(app, started.study_id).done == 3
    at.run()
    assert "**Done**" in progress_texts(at)[0] and "3 of 3 answers" in progress_texts(at)[0]


def test_cancel_asks_first(app: Lineup) -> None:
    started = app.studies.start(set_name="three", models=[SLOW])
    at = studies_page(study=str(started.study_id))
    # The Cancel button opens a confirmation; the study is cancelled only from inside it.
    assert app.studies.get(started.study_id).status == "running"
    at.button(key=f"study-cancel-{started.study_id}").click().run()
    assert not at.exception
    wait_for(app, started.study_id, "cancelled")
    at.run()
    assert "**Cancelled**" in progress_texts(at)[0]
    assert at.button(key=f"study-resume-{started.study_id}").disabled


def test_the_address_opens_a_study(app: Lineup) -> None:
    first = app.studies.start(set_name="three", models=[ALPHA])
    second = app.studies.start(set_name="three", models=[BETA], repeats=2)
    wait_for(app, first.study_id)
    wait_for(app, second.study_id)

    at = studies_page(study=str(first.study_id))
    assert not at.exception
    assert at.selectbox(key="study-pick").value == first.study_id
    assert [h.value for h in at.subheader][0] == f"Study {first.study_id} · three"
    assert "3 of 3 answers" in progress_texts(at)[0]
    # One repeat: nothing to compare between repeats.
    assert any("nothing to compare between repeats" in c.value for c in at.caption)

    # Picking another study puts it in the address.
    at.selectbox(key="study-pick").set_value(second.study_id).run()
    assert not at.exception
    assert shown_study(at) == second.study_id
    assert [h.value for h in at.subheader][0] == f"Study {second.study_id} · three"
    repeats = table(at, "items_repeated")[BETA]
    assert (repeats["items_repeated"], repeats["identical_repeats"]) == (3, 3)
    # The same words every time: all identical, ROUGE-L 1 between repeats.
    assert (repeats["identical_share"], repeats["mean_repeat_rougeL"]) == (1.0, 1.0)
    shown = next(f for f in at.dataframe if "items_repeated" in f.proto.column_order)
    assert "mean_repeat_rougeL" in shown.proto.column_order

    missing = studies_page(study="999")
    assert not missing.exception
    assert any("There is no study 999" in w.value for w in missing.warning)


def test_a_big_set_s_grid_is_paged_and_its_answers_follow_the_page(
    app: Lineup, tmp_path: Path
) -> None:
    app.sets.import_path(write_numbered_set(tmp_path / "many", items=45), name="many")
    started = app.studies.start(set_name="many", models=[ALPHA])
    wait_for(app, started.study_id)
    tables = app.studies.tables(started.study_id)
    for (_item, _model), ids in tables.per_item_ids.items():
        app.labels.add(ids[0], "relevant", annotator="ana")

    at = studies_page(study=str(started.study_id))
    assert not at.exception
    heatmap = chart(at, "study-item-heatmap")["data"][0]
    assert len(heatmap["y"]) == 40 and heatmap["y"][0].startswith("1. What is shown")
    assert any(c.value == "Items 1–40 of 45" for c in at.caption)
    items = at.selectbox(key=f"study-item-{started.study_id}")
    assert len(items.options) == 40

    at.pagination(key=f"study-grid-page-{started.study_id}").set_value(2).run()
    assert not at.exception
    heatmap = chart(at, "study-item-heatmap")["data"][0]
    assert heatmap["y"] == [f"{n}. What is shown in picture {n - 1}?" for n in range(41, 46)]
    assert heatmap["z"] == [[1.0]] * 5
    assert any(c.value == "Items 41–45 of 45" for c in at.caption)
    items = at.selectbox(key=f"study-item-{started.study_id}")
    assert len(items.options) == 5
    assert "What is shown in picture 40?" in " ".join(shown_texts(at))


def test_bad_input_is_a_message_and_stores_nothing(app: Lineup) -> None:
    at = studies_page()
    at.multiselect(key="models-vlm").set_value([])
    at.button(key="study-start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Choose at least one model."]
    assert app.studies.latest() == []


def test_a_voice_study_from_the_page_shows_its_voices_and_transcripts(
    lineup_home: Path, tmp_path: Path
) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("Hello there.\nThe train leaves at seven.\n", encoding="utf-8")
    app = Lineup.open()
    app.sets.import_path(sentences, name="two sentences")
    at = studies_page()
    assert at.selectbox(key="study-set").value.name == "two sentences"
    assert at.number_input(key="study-repeats").label == "Samples per sentence"
    at.multiselect(key="models-tts").set_value(["espeak:en-us"])
    at.text_input(key="study-stt").set_value("")  # no scoring: no STT model to load
    at.button(key="study-start").click().run()
    assert not at.exception
    study_id = shown_study(at)
    assert app.studies.get(study_id).params["stt"] is None
    wait_for(app, study_id)
    at.run()
    assert not at.exception
    assert "2 of 2 answers" in progress_texts(at)[0]
    voices = table(at, "mean_wer_pct")["espeak:en-us"]
    assert (voices["clips"], voices["ok"], voices["scored"]) == (2, 2, 0)
    transcripts = [f for f in at.dataframe if "espeak:en-us" in f.proto.column_order]
    [frame] = transcripts
    assert list(frame.value["text"]) == ["Hello there.", "The train leaves at seven."]
    assert [h.value for h in at.subheader][-3:] == ["Per item", "Transcripts", "Download"]


def test_with_no_set_yet_the_page_points_to_the_shipped_sets(lineup_home: Path) -> None:
    at = studies_page()
    assert not at.exception
    [info] = [i.value for i in at.info if "No question set yet" in i.value]
    for name in ("photo-study", "support-screenshots", "voice-sentences"):
        assert name in info
    [link] = at.get("page_link")
    assert link.proto.page == "sets"


def test_the_relevance_table_fits_beside_the_sidebar_at_1400_px() -> None:
    """Its columns (with the mean score and both intervals) add up to no more than a table
    beside the sidebar has in a 1400 px window: the last one was cut off when they did not."""
    from components.study.common import TABLE_PX
    from components.study.tables import relevance_columns

    for kind in ("vlm", "tts"):
        widths = [column["width"] for column in relevance_columns(kind).values()]
        assert sum(widths) <= TABLE_PX - 10, (kind, sum(widths))


def test_a_fair_study_from_the_form_is_stored_fair_and_its_answers_ran_alone(
    app: Lineup, ollama: OllamaFixture
) -> None:
    at = studies_page(annotator="ana")
    at.multiselect(key="models-vlm").set_value([ALPHA, BETA])
    assert at.radio(key="study-timing").value == "parallel"
    at.radio(key="study-timing").set_value("fair")
    at.button(key="study-start").click().run()
    assert not at.exception
    study_id = shown_study(at)
    info = app.studies.get(study_id)
    assert info is not None and info.params["timing"] == "fair"
    wait_for(app, study_id)
    at.run()
    assert not at.exception
    speed = table(at, "concurrent_max")
    assert {(m, row["concurrent_max"], row["answers_alone"]) for m, row in speed.items()} == {
        (ALPHA, 0, 3),
        (BETA, 0, 3),
    }
    assert not [w for w in at.warning if "uneven contention" in w.value]
    assert any("fair timing" in c.value for c in at.caption)


def test_the_warm_up_checkbox_gives_each_model_a_warm_up_kept_out_of_the_tables(
    app: Lineup, ollama: OllamaFixture
) -> None:
    at = studies_page(annotator="ana")
    at.multiselect(key="models-vlm").set_value([ALPHA, BETA])
    at.checkbox(key="study-warmup").check()
    at.button(key="study-start").click().run()
    assert not at.exception
    study_id = shown_study(at)
    info = app.studies.get(study_id)
    assert info is not None and info.params["warmup"] is True
    assert wait_for(app, study_id).done == 6
    # Each model's load went into its warm-up (the fixture reports it on a first chat only).
    speed = app.studies.tables(study_id).speed.set_index("model")
    assert list(speed["ok"]) == [3, 3] and list(speed["cold_answers"]) == [0, 0]
