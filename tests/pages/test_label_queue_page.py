"""The Label queue page, headless with Streamlit's AppTest: a study built straight in the store
(tests.builders.make_study), labeled through the page's buttons."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.study.queue import QueueItem
from tests.builders import MODELS, add_pair_verdicts, make_study
from tests.pages.helpers import page, param, progress_text, shown, titles


@pytest.fixture()
def study(app: Lineup) -> tuple[int, dict[tuple[int, str, int], int]]:
    return make_study(app.store, app.media, models=MODELS, items=3)


def focused(at: AppTest, item: QueueItem) -> list[str]:
    """The letters of the answers whose label buttons carry the keys 1 / 2 / 3."""
    return [
        answer.letter
        for answer in item.answers
        if at.button(key=f"queue-label-{answer.generation_id}-relevant").proto.shortcut == "1"
    ]


def test_label_with_the_buttons_comment_and_move_on(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    at = page(annotator="ana", study=str(study_id))
    assert not at.exception
    assert (param(at, "study"), param(at, "item")) == (str(study_id), "1")
    assert progress_text(at) == "Labeled 0 of 6 answers"
    item = app.labels.queue_item(study_id, 1, "ana")
    assert item is not None
    first, second = item.answers
    # Blind: letters, no model names, until both are labeled.
    assert titles(at) == ["Answer A", "Answer B"]
    assert focused(at, item) == ["A"]

    at.button(key=f"queue-label-{first.generation_id}-relevant").click().run()
    assert not at.exception
    assert app.labels.current([first.generation_id], "ana")[first.generation_id].relevance == (
        "relevant"
    )
    assert progress_text(at) == "Labeled 1 of 6 answers"
    assert at.button(key=f"queue-label-{first.generation_id}-relevant").proto.type == "primary"
    assert focused(at, item) == ["B"]  # on to the next answer to label
    assert titles(at) == ["Answer A", "Answer B"]

    # The comment is saved with the label; a new label keeps it.
    at.text_input(key=f"queue-comment-ana-{first.generation_id}").input("Says it all").run()
    label = app.labels.current([first.generation_id], "ana")[first.generation_id]
    assert (label.relevance, label.comment) == ("relevant", "Says it all")
    at.button(key=f"queue-label-{first.generation_id}-partial").click().run()
    label = app.labels.current([first.generation_id], "ana")[first.generation_id]
    assert (label.relevance, label.comment) == ("partial", "Says it all")

    at.button(key=f"queue-label-{second.generation_id}-irrelevant").click().run()
    assert not at.exception
    assert progress_text(at) == "Labeled 2 of 6 answers"
    # Every answer labeled: the names appear beside the letters, in the same order.
    revealed = app.labels.queue_item(study_id, 1, "ana")
    assert revealed is not None and not revealed.names_hidden
    names = [a.model.split(":", 1)[1] for a in revealed.answers if a.model]
    assert titles(at) == [f"Answer A · {names[0]}", f"Answer B · {names[1]}"]

    at.button(key="queue-next").click().run()
    assert param(at, "item") == "2"
    assert "Question 2?" in shown(at)
    at.button(key="queue-previous").click().run()
    assert param(at, "item") == "1"
    at.button(key="queue-next-unlabeled").click().run()
    assert param(at, "item") == "2"

    # A reload (a new session on the same address) keeps the place and the labels.
    again = page(annotator="ana", study=str(study_id), item="2")
    assert not again.exception
    assert "Question 2?" in shown(again)
    assert progress_text(again) == "Labeled 2 of 6 answers"
    back = page(annotator="ana", study=str(study_id), item="1")
    assert back.text_input(key=f"queue-comment-ana-{first.generation_id}").value == "Says it all"
    assert back.button(key=f"queue-label-{first.generation_id}-partial").proto.type == "primary"
    stored = app.labels.current(ids.values(), "ana")
    assert {gid: label.relevance for gid, label in stored.items()} == {
        first.generation_id: "partial",
        second.generation_id: "irrelevant",
    }


def test_the_keys_label_the_focused_answer_and_move_the_focus(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    """The buttons the keys press (the script that presses them is tested in a browser)."""
    study_id, _ = study
    at = page(annotator="ana", study=str(study_id))
    item = app.labels.queue_item(study_id, 1, "ana")
    assert item is not None
    first, second = (answer.generation_id for answer in item.answers)
    assert focused(at, item) == ["A"]
    at.button(key="queue-next-answer").click().run()
    assert focused(at, item) == ["B"]
    at.button(key="queue-next-answer").click().run()  # round to the first
    assert focused(at, item) == ["A"]
    at.button(key="queue-previous-answer").click().run()
    assert focused(at, item) == ["B"]
    # Only the focused answer's buttons show 1 / 2 / 3.
    shortcuts = [b.proto.shortcut for b in at.button if (b.key or "").startswith("queue-label-")]
    assert sorted(s for s in shortcuts if s) == ["1", "2", "3"]

    # "3" labels the focused answer (B) and moves on to the one still to label (A).
    at.button(key="queue-key-irrelevant").click().run()
    assert not at.exception
    assert {
        g: label.relevance for g, label in app.labels.current([first, second], "ana").items()
    } == {second: "irrelevant"}
    assert focused(at, item) == ["A"]
    at.button(key="queue-key-relevant").click().run()
    labels = app.labels.current([first, second], "ana")
    assert {g: label.relevance for g, label in labels.items()} == {
        first: "relevant",
        second: "irrelevant",
    }
    # Everything labeled: the focus stays where it was.
    assert focused(at, item) == ["A"]
    # The script that takes the keys is on the page, with the buttons it presses.
    [script] = [h for h in at.sidebar.get("html") if "__lineupQueueKeys" in h.proto.body]
    for key in ("queue-key-relevant", "queue-next-answer", "queue-next-unlabeled"):
        assert f'"{key}"' in script.proto.body


def test_annotators_label_the_same_study_without_seeing_each_other(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    ana = page(annotator="ana", study=str(study_id))
    gid = ids[(1, MODELS[0], 0)]
    ana.button(key=f"queue-label-{gid}-relevant").click().run()
    ana.text_input(key=f"queue-comment-ana-{gid}").input("ana's note").run()

    bo = page(annotator="bo", study=str(study_id), item="1")
    assert not bo.exception
    assert progress_text(bo) == "Labeled 0 of 6 answers"
    assert bo.button(key=f"queue-label-{gid}-relevant").proto.type == "secondary"
    assert bo.text_input(key=f"queue-comment-bo-{gid}").value == ""
    assert "ana's note" not in [t.value for t in bo.text_input]
    bo.button(key=f"queue-label-{gid}-irrelevant").click().run()
    assert app.labels.current([gid], "ana")[gid].relevance == "relevant"
    assert app.labels.current([gid], "bo")[gid].relevance == "irrelevant"


def test_without_a_name_the_answers_show_but_cannot_be_labeled(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, _ = study
    at = page(study=str(study_id))
    assert not at.exception
    assert any("Set your name" in w.value for w in at.warning)
    assert not [b for b in at.button if (b.key or "").startswith("queue-label-")]
    assert "Question 1?" in shown(at)


def test_filters_one_model_and_unlabeled_items(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    for model in MODELS:
        app.labels.add(ids[(1, model, 0)], "relevant", annotator="ana")
    at = page(annotator="ana", study=str(study_id), item="1")
    at.sidebar.toggle(key="queue-unlabeled-only").set_value(True).run()
    assert not at.exception
    # Item 1 is done: it stays on screen, outside the filter, and Next goes to item 2.
    assert "**Item 1** · every answer labeled" in shown(at)
    assert at.button(key="queue-previous").disabled
    at.button(key="queue-next").click().run()
    assert param(at, "item") == "2" and "**Item 1 of 2**" in shown(at)

    at.sidebar.selectbox(key="queue-model").set_value(MODELS[1]).run()
    assert not at.exception
    assert progress_text(at) == "Labeled 1 of 3 answers"
    labels = [b.key for b in at.button if (b.key or "").startswith("queue-label-")]
    assert labels == [
        f"queue-label-{ids[(2, MODELS[1], 0)]}-{v}" for v in ("relevant", "partial", "irrelevant")
    ]


def test_disputed_only_walks_the_answers_the_judge_flipped_or_contradicted(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    judge = "ollama:judge:7b"
    steady, flipping = MODELS
    # A pairwise judge: steady on every answer but the second model's answer to item 2,
    # which wins shown first and loses shown second (a flip). The first model's answer to
    # item 3 averages 9 (read: relevant) and bo called it irrelevant (two steps: disputed);
    # item 1's answers average 8 / 3.5 and their labels are one step or none away.
    verdicts = {
        (1, steady): ((8, 6), (8, 6)),
        (1, flipping): ((3, 6), (4, 7)),
        (2, steady): ((7, 7), (7, 7)),
        (2, flipping): ((8, 5), (5, 8)),
        (3, steady): ((9, 5), (9, 4)),
        (3, flipping): ((5, 6), (5, 6)),
    }
    for (number, model), (first, second) in verdicts.items():
        add_pair_verdicts(app.store, study_id, ids[(number, model, 0)], judge, first, second)
    app.labels.add(ids[(1, steady, 0)], "partial", annotator="bo")  # 8 reads relevant: 1 step
    app.labels.add(ids[(1, flipping, 0)], "partial", annotator="bo")  # 3.5 irrelevant: 1 step
    app.labels.add(ids[(3, steady, 0)], "irrelevant", annotator="bo")  # 9: two steps

    at = queue_in_app(annotator="ana", study=str(study_id), disputed="1")
    assert not at.exception
    assert at.sidebar.toggle(key="queue-disputed").value is True
    assert any("Disputed only: 2 answers that" in c.value for c in at.caption)
    assert progress_text(at) == "Labeled 0 of 2 answers"
    # Item 2 first, with its flipped answer alone, keeping its letter among the item's two.
    assert param(at, "item") == "2" and "**Item 1 of 2**" in shown(at)
    labels = [b.key for b in at.button if (b.key or "").startswith("queue-label-")]
    assert labels == [
        f"queue-label-{ids[(2, flipping, 0)]}-{v}" for v in ("relevant", "partial", "irrelevant")
    ]
    whole = app.labels.queue_item(study_id, 2, "ana")
    assert whole is not None
    [letter] = [a.letter for a in whole.answers if a.generation_id == ids[(2, flipping, 0)]]
    assert titles(at) == [f"Answer {letter}"]
    at.button(key="queue-next").click().run()
    assert param(at, "item") == "3" and "**Item 2 of 2**" in shown(at)
    assert len(titles(at)) == 1
    # Labeling both says the disputed answers are done, not the study.
    app.labels.add(ids[(2, flipping, 0)], "partial", annotator="ana")
    at.button(key=f"queue-label-{ids[(3, steady, 0)]}-partial").click().run()
    assert not at.exception
    [done] = [s.value for s in at.success if "has your label" in s.value]
    assert done == f"Every disputed answer in study {study_id} has your label."

    # Off: every item and answer again, and the address forgets the filter.
    at.sidebar.toggle(key="queue-disputed").set_value(False).run()
    assert not at.exception
    assert progress_text(at) == "Labeled 2 of 6 answers"
    assert "disputed" not in at.query_params


def test_disputed_only_without_a_judge_says_nothing_is_disputed(
    study: tuple[int, dict[tuple[int, str, int], int]],
) -> None:
    study_id, _ = study
    at = page(annotator="ana", study=str(study_id), disputed="1")
    assert not at.exception
    assert any("No LLM judge has scored this study" in i.value for i in at.info)
    assert any("No answer is disputed." in i.value for i in at.info)


def test_the_study_in_the_address_is_the_one_shown(app: Lineup) -> None:
    first, _ = make_study(app.store, app.media, models=MODELS, items=1, name="first")
    newest, _ = make_study(app.store, app.media, models=MODELS[:1], items=2, name="newest")
    assert param(page(annotator="ana"), "study") == str(newest)
    at = page(annotator="ana", study=str(first))
    assert not at.exception
    assert at.sidebar.selectbox(key="queue-study").value == first
    assert progress_text(at) == "Labeled 0 of 2 answers"
    missing = page(annotator="ana", study="999")
    assert any("There is no study 999" in w.value for w in missing.warning)


def test_voices_play_their_clips_with_what_was_heard(app: Lineup) -> None:
    study_id, _ = make_study(
        app.store, app.media, models=["espeak:en-us", "espeak:en-gb"], kind="tts", items=1
    )
    at = page(annotator="ana", study=str(study_id))
    assert not at.exception
    assert "Sentence number 1." in shown(at)  # in a quote
    assert len(at.get("audio")) == 2
    assert [c.value for c in at.caption].count("Heard: sentence number 1") == 2
    assert {b.label for b in at.button if (b.key or "").startswith("queue-label-")} == {
        "Correct",
        "Flawed",
        "Wrong",
    }


def test_no_study_yet_says_how_to_run_one(lineup_home: Path) -> None:
    Store(load_settings().database_url)
    MediaStore(load_settings().media_dir)
    at = page(annotator="ana")
    assert not at.exception
    assert any("No studies yet" in i.value for i in at.info)


APP = str(Path(__file__).resolve().parents[2] / "app.py")


def queue_in_app(**query: str) -> AppTest:
    """The Label queue as the app serves it (through app.py's navigation, which its link to
    the Studies page needs)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("app_pages/label_queue.py")
    return at.run()


def test_the_keys_help_says_what_1_2_3_do_after_labeling(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    at = page(annotator="ana", study=str(study[0]))
    help_text = " ".join(c.value for c in at.sidebar.caption)
    assert "**1 / 2 / 3** label the focused answer" in help_text
    # What test_the_keys_label_the_focused_answer_and_move_the_focus shows they do.
    assert "then move the focus on to this item's next answer you have not labeled" in help_text
    assert "**U** opens the next item with one" in help_text
    assert "**F** the image at full size" in help_text


def test_the_last_label_says_the_study_is_fully_labeled_with_a_link_to_its_results(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    *others, last = ids.values()
    for gid in others:
        app.labels.add(gid, "relevant", annotator="ana")
    at = queue_in_app(annotator="ana", study=str(study_id))
    assert not at.exception
    assert progress_text(at) == "Labeled 5 of 6 answers"
    assert not [s for s in at.success if "fully labeled" in s.value]
    assert not at.get("page_link")

    at.button(key=f"queue-label-{last}-partial").click().run()
    assert not at.exception
    assert progress_text(at) == "Labeled 6 of 6 answers"
    [done] = [s.value for s in at.success if "fully labeled" in s.value]
    assert done == f"Study {study_id} is fully labeled: every answer has your label."
    [link] = at.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("studies", f"study={study_id}")
    # Another annotator has labeled nothing: not done for her.
    other = queue_in_app(annotator="bo", study=str(study_id))
    assert not [s for s in other.success if "fully labeled" in s.value]


def test_the_item_s_image_has_a_full_size_button(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    at = page(annotator="ana", study=str(study[0]))
    button = at.button(key="queue-full-size")
    assert button.label == "Full size" and "64 × 48 px" in (button.help or "")
    button.click().run()
    assert not at.exception


def test_one_model_fully_labeled_says_so_for_that_model(
    app: Lineup, study: tuple[int, dict[tuple[int, str, int], int]]
) -> None:
    study_id, ids = study
    for (_, model, _), gid in ids.items():
        if model == MODELS[1]:
            app.labels.add(gid, "irrelevant", annotator="ana")
    at = queue_in_app(annotator="ana", study=str(study_id))
    assert not [s for s in at.success if "label" in s.value]  # the study as a whole is not
    at.sidebar.selectbox(key="queue-model").set_value(MODELS[1]).run()
    assert not at.exception
    [done] = [s.value for s in at.success if "has your label" in s.value]
    assert done == f"Every answer of `moondream:latest` in study {study_id} has your label."
