"""The label bar (components/label_bar.py) writes a label only when a person labels: never
because the browser reported a comment box again, and never with a relevance older than the
one stored (another tab's)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lineup.store.database import Store
from lineup.store.tables import Label


def draw_label_bar() -> None:
    """A page with one answer's label bar, or (with ?hide=1) another page without it."""
    import streamlit as st

    from components.label_bar import label_bar
    from lineup.app.facade import Lineup
    from lineup.core.settings import load_settings

    app = Lineup.open(load_settings())
    generation_id = int(st.query_params["answer"])
    if st.query_params.get("hide") == "1":
        st.write("Another run is shown.")
    else:
        current = app.labels.current([generation_id], "ana").get(generation_id)
        label_bar(app, generation_id, "ana", current)


def labeled_answer(store: Store, relevance: str = "relevant", comment: str | None = None) -> int:
    run_id = store.create_run("vlm", "Which error code?")
    generation_id = store.add_generation(run_id, "ocr:eng")
    store.finish_generation(generation_id, "ok", output_text="PAY-4021", total_s=0.2)
    store.add_label(generation_id, relevance, annotator="ana", comment=comment)
    return generation_id


def label_rows(store: Store, generation_id: int) -> list[tuple[str, str | None]]:
    with store.session() as session:
        rows = session.query(Label).filter_by(generation_id=generation_id).order_by(Label.id)
        return [(row.relevance, row.comment) for row in rows]


def page(generation_id: int) -> AppTest:
    at = AppTest.from_function(draw_label_bar, default_timeout=30)
    at.query_params["answer"] = str(generation_id)
    return at


def test_a_comment_box_reported_again_after_its_run_left_the_page_writes_nothing(
    store: Store,
) -> None:
    """What Compare did: the page stops drawing the old run (its comment boxes' state is
    dropped), and the browser, which still holds the boxes, reports them with its next
    message: Streamlit takes that for a change and calls the box's on_change."""
    generation_id = labeled_answer(store, comment="reads the code")
    at = page(generation_id).run()
    assert not at.exception
    box = at.text_input(key=f"comment-{generation_id}")
    assert box.value == "reads the code"
    box.set_value("reads the code")  # the browser keeps the value it shows, untouched

    at.query_params["hide"] = "1"
    at.run()  # the old run's bar is gone from the page
    assert not at.exception
    box.run()  # the browser's message still carries the box, as the page drew it before
    assert not at.exception

    assert label_rows(store, generation_id) == [("relevant", "reads the code")]


def test_a_comment_keeps_the_relevance_another_tab_gave_since(store: Store) -> None:
    generation_id = labeled_answer(store, comment="reads the code")
    at = page(generation_id).run()
    # Another tab relabels the answer after this page drew its bar.
    store.add_label(generation_id, "irrelevant", annotator="ana", comment="reads the code")

    at.text_input(key=f"comment-{generation_id}").input("the code is cut off").run()
    assert not at.exception

    latest = store.current_labels([generation_id], "ana")[generation_id]
    assert (latest.relevance, latest.comment) == ("irrelevant", "the code is cut off")
    assert len(label_rows(store, generation_id)) == 3


def test_the_box_shows_the_comment_another_tab_stored(store: Store) -> None:
    generation_id = labeled_answer(store, comment="reads the code")
    at = page(generation_id).run()
    store.add_label(generation_id, "partial", annotator="ana", comment="half of it")
    at.run()
    assert at.text_input(key=f"comment-{generation_id}").value == "half of it"
    assert at.button(key=f"label-{generation_id}-partial").proto.type == "primary"
    assert len(label_rows(store, generation_id)) == 2


def test_a_new_comment_is_written_once_with_the_stored_relevance(store: Store) -> None:
    generation_id = labeled_answer(store, relevance="partial")
    at = page(generation_id).run()
    at.text_input(key=f"comment-{generation_id}").input("blurry photo").run()
    at.run()
    at.run()
    assert label_rows(store, generation_id) == [("partial", None), ("partial", "blurry photo")]
