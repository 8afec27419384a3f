"""Label queue: a study's answers item by item, blind and shuffled, labeled from the keyboard."""

from __future__ import annotations

import streamlit as st

from components.context import annotator_sidebar, get_lineup
from components.label_queue import (
    FOCUS_KEY,
    ITEM_KEY,
    KEYS_HELP,
    answers_grid,
    focused_answer,
    item_view,
    queue_keys,
    queue_nav,
)
from components.models import display_name
from lineup.label_queue import LabelQueue
from lineup.study_store import StudyInfo

STUDY_KEY = "queue-study"
MODEL_KEY = "queue-model"
ITEM_STUDY_KEY = "queue-item-study"  # the study whose item ITEM_KEY holds

app = get_lineup()
annotator = annotator_sidebar()


def _query_number(name: str) -> int | None:
    value = st.query_params.get(name, "")
    return int(value) if value.isdigit() else None


def _study_changed() -> None:
    st.session_state.pop(MODEL_KEY, None)
    st.session_state.pop(FOCUS_KEY, None)


def pick_study() -> StudyInfo | None:
    """The study to label: the sidebar's choice, first taken from the address (`?study=ID`,
    so a study's page can link here), else the newest."""
    studies = {study.id: study for study in app.study_list()}
    wanted = _query_number("study")
    if wanted is not None and wanted not in studies:
        linked = app.study(wanted)  # older than the list goes back
        if linked is None:
            st.warning(f"There is no study {wanted}.", icon=":material/search_off:")
        else:
            studies[linked.id] = linked
    if not studies:
        return None
    if st.session_state.get(STUDY_KEY) not in studies:
        st.session_state[STUDY_KEY] = wanted if wanted in studies else next(iter(studies))
    chosen = st.sidebar.selectbox(
        "Study",
        list(studies),
        key=STUDY_KEY,
        # Short: the box cuts what does not fit. The line above the item says the rest.
        format_func=lambda study_id: f"#{study_id} · {studies[study_id].set_name}",
        on_change=_study_changed,
    )
    return studies[chosen]


def current_number(queue: LabelQueue, study_id: int) -> int | None:
    """The item shown: the session's, first taken from the address (`?item=N`, so a reload
    keeps the place); one the filters leave without answers gives way to the next."""
    if st.session_state.get(ITEM_STUDY_KEY) != study_id:
        st.session_state[ITEM_STUDY_KEY] = study_id
        from_address = _query_number("study") == study_id
        st.session_state[ITEM_KEY] = _query_number("item") if from_address else None
        st.session_state.pop(FOCUS_KEY, None)
    number = st.session_state.get(ITEM_KEY)
    if number is None or queue.entry(number) is None:
        number = (queue.next(number) if number is not None else None) or queue.start()
        st.session_state[ITEM_KEY] = number
        st.session_state.pop(FOCUS_KEY, None)
    return number


st.title("Label queue")
study = pick_study()
if study is None:
    st.info(
        "No studies yet. Run one with `python -m lineup study run --set NAME --model SPEC ...`, "
        "then label its answers here.",
        icon=":material/fact_check:",
    )
    st.stop()

if st.session_state.get(MODEL_KEY, "") not in ("", *study.models):
    st.session_state[MODEL_KEY] = ""
model = st.sidebar.selectbox(
    "Model",
    ["", *study.models],
    key=MODEL_KEY,
    format_func=lambda spec: display_name(spec, app.config)[0] if spec else "All models",
    help="Label one model's answers only. Its name is then no secret.",
)
unlabeled_only = st.sidebar.toggle(
    "Unlabeled only",
    key="queue-unlabeled-only",
    help="Skip the items whose answers you have all labeled.",
)
show_reference = st.sidebar.toggle(
    "Show reference answers",
    value=True,
    key="queue-show-reference",
    help="Hide them to judge the answers on their own.",
)
st.sidebar.caption(KEYS_HELP)

queue = app.label_queue(study.id, annotator, model=model or None, unlabeled_only=unlabeled_only)
number = current_number(queue, study.id)
st.query_params["study"] = str(study.id)
if number is None:
    st.info(
        "This study has no complete answers yet."
        if not model
        else "This model has no complete answers in this study yet.",
        icon=":material/hourglass_empty:",
    )
    st.stop()
st.query_params["item"] = str(number)

item = app.queue_item(study.id, number, annotator, model=model or None)
if item is None:  # the study's set lost the item: never happens to a stored study
    st.error(f"Study {study.id} has no item {number}.")
    st.stop()

if annotator:
    share = queue.labeled / queue.total if queue.total else 0.0
    st.progress(share, text=f"Labeled {queue.labeled} of {queue.total} answers")
else:
    st.warning("Set your name in the sidebar to label.", icon=":material/person:")

position = queue.position(number)
where = (
    f"**Item {position} of {len(queue.items)}**"
    if position is not None
    else f"**Item {number}** · every answer labeled"
)
st.markdown(
    f"{where} · :gray[#{number} of set {study.set_name} · study {study.id}: "
    f"{len(study.models)} models × {study.repeats} · {study.status}]"
)
focus = focused_answer(item)
queue_nav(queue, number, item)
queue_keys(app, item, annotator, focus)
item_view(app, item, show_reference=show_reference)
answers_grid(app, item, annotator, focus, repeats=study.repeats)
