"""Label queue: a study's answers item by item, blind and shuffled, labeled from the keyboard;
or, in Arena mode, two blind answers to one item at a time, voted on from the keyboard."""

from __future__ import annotations

import streamlit as st

from components.arena_queue import (
    ARENA_KEYS_HELP,
    PAIR_KEY,
    answers_side_by_side,
    arena_nav,
    pair_text,
    parse_pair,
    vote_buttons,
)
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
from components.study import stop_labeling_note
from lineup.app import (
    N_,
    STUDY_RUNNING,
    ArenaQueue,
    LabelQueue,
    StudyInfo,
    _,
    code_span,
    escape_markdown,
    hide_credentials,
    ngettext,
    state_word,
)

STUDY_KEY = "queue-study"
MODEL_KEY = "queue-model"
ITEM_STUDY_KEY = "queue-item-study"  # the study whose item ITEM_KEY holds
MODE_KEY = "queue-mode"
DISPUTED_KEY = "queue-disputed"
PAIR_STUDY_KEY = "arena-pair-study"  # the study whose pair PAIR_KEY holds
LABELS, ARENA = "labels", "arena"
MODES = {LABELS: N_("Labels"), ARENA: N_("Arena")}

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
    studies = {study.id: study for study in app.studies.latest()}
    wanted = _query_number("study")
    if wanted is not None and wanted not in studies:
        linked = app.studies.get(wanted)  # older than the list goes back
        if linked is None:
            st.warning(_("There is no study {id}.").format(id=wanted), icon=":material/search_off:")
        else:
            studies[linked.id] = linked
    if not studies:
        return None
    if st.session_state.get(STUDY_KEY) not in studies:
        st.session_state[STUDY_KEY] = wanted if wanted in studies else next(iter(studies))
    chosen = st.sidebar.selectbox(
        _("Study"),
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


def pick_mode() -> str:
    """Labels or Arena: the switch's choice, first taken from the address (`?mode=arena`, so
    a reload keeps the mode)."""
    if st.session_state.get(MODE_KEY) not in MODES:
        st.session_state[MODE_KEY] = ARENA if st.query_params.get("mode") == ARENA else LABELS
    mode = st.segmented_control(
        _("Mode"),
        list(MODES),
        key=MODE_KEY,
        # Translated now: a widget's format_func may run outside this run (AppTest does).
        format_func={mode: _(word) for mode, word in MODES.items()}.__getitem__,
        required=True,
        label_visibility="collapsed",
        help=_("Labels: mark each answer's relevance. Arena: vote on two blind answers at once."),
    )
    if mode == ARENA:
        st.query_params["mode"] = ARENA
    else:
        st.query_params.pop("mode", None)
    return str(mode or LABELS)


def current_pair(queue: ArenaQueue, study_id: int) -> int | None:
    """The position of the pair shown: the session's, first taken from the address (`?pair=`,
    its two answers' ids, so a reload keeps the place); else the first without a vote."""
    if st.session_state.get(PAIR_STUDY_KEY) != study_id:
        st.session_state[PAIR_STUDY_KEY] = study_id
        from_address = _query_number("study") == study_id
        st.session_state[PAIR_KEY] = st.query_params.get("pair") if from_address else None
    key = parse_pair(st.session_state.get(PAIR_KEY))
    position = queue.position_of(key) if key is not None else None
    if position is None:
        position = queue.start()
        shown = queue.pair(position) if position is not None else None
        st.session_state[PAIR_KEY] = pair_text(shown.key) if shown is not None else None
    return position


def arena(study: StudyInfo, show_reference: bool) -> None:
    """Arena mode: the pair shown, its item, its answers as A and B, and the votes."""
    queue = app.labels.arena_queue(study.id, annotator)
    position = current_pair(queue, study.id)
    st.query_params["study"] = str(study.id)
    pair = queue.pair(position) if position is not None else None
    view = app.labels.arena_view(study.id, pair) if pair is not None else None
    if pair is None or view is None:
        st.info(
            _(
                "No pairs to vote on yet: a pair is two models' complete answers to the same "
                "item, and this study has one model."
            )
            if len(study.models) < 2
            else _(
                "No pairs to vote on yet: a pair is two models' complete answers to the same item."
            ),
            icon=":material/hourglass_empty:",
        )
        return
    st.query_params["pair"] = pair_text(pair.key)
    if annotator:
        share = queue.voted / queue.total
        st.progress(
            share,
            text=_("Voted on {done} of {total} pairs").format(done=queue.voted, total=queue.total),
        )
        if queue.voted == queue.total:
            st.success(
                _("Every pair has your vote. A new vote on a pair replaces your last one."),
                icon=":material/done_all:",
            )
    else:
        st.warning(_("Set your name in the sidebar to vote."), icon=":material/person:")
    st.markdown(
        _(
            "**Pair {position} of {total}** · :gray[item #{number} of set {set} · study {study}: "
            "{models} models · {status} · names hidden]"
        ).format(
            position=position,
            total=queue.total,
            number=pair.number,
            set=escape_markdown(study.set_name),
            study=study.id,
            models=len(study.models),
            status=state_word(study.status),
        )
    )
    arena_nav(queue, position or 1)
    item_view(app, view.item, show_reference=show_reference)
    # Above the answers: in view with the item however long the answers are.
    vote_buttons(app, study.id, annotator, pair)
    answers_side_by_side(app, view)


def disputed_toggle() -> bool:
    """Disputed only: the switch's choice, first taken from the address (`?disputed=1`, so the
    Studies page can link here and a reload keeps it)."""
    if DISPUTED_KEY not in st.session_state:
        st.session_state[DISPUTED_KEY] = st.query_params.get("disputed") == "1"
    disputed = st.sidebar.toggle(
        _("Disputed only"),
        key=DISPUTED_KEY,
        help=_(
            "Only the answers the study's latest LLM judge disputes: pairwise verdicts that "
            "change with the order the answers are shown in, and scores two steps from a "
            "person's label (relevant against below 4, irrelevant against 8 or more)."
        ),
    )
    if disputed:
        st.query_params["disputed"] = "1"
    else:
        st.query_params.pop("disputed", None)
    return bool(disputed)


def disputed_caption(study: StudyInfo, queue: LabelQueue) -> None:
    """What the Disputed filter shows: whose disputes, how many."""
    judges = app.scores.judges(study.id)
    if not judges:
        st.info(
            _(
                "No LLM judge has scored this study: nothing is disputed. Score it on the "
                "Studies page, or turn Disputed only off."
            ),
            icon=":material/rule:",
        )
        return
    count = len(queue.answers or ())
    st.caption(
        ngettext(
            "Disputed only: {count} answer that {judge} ({protocol}) flipped or scored two "
            "steps from a person's label.",
            "Disputed only: {count} answers that {judge} ({protocol}) flipped or scored two "
            "steps from a person's label.",
            count,
        ).format(
            count=count,
            judge=code_span(hide_credentials(judges[0].spec)),
            protocol=judges[0].protocol,
        )
    )


def fully_labeled(study: StudyInfo, model: str, disputed: bool = False) -> None:
    """Every answer (the filters show) has this annotator's label: say so, and link to the
    study's results."""
    if disputed:
        done = _("Every disputed answer in study {study} has your label.").format(study=study.id)
    elif model:
        name = code_span(app.catalog.model_label(model).title)
        done = _("Every answer of {model} in study {study} has your label.").format(
            model=name, study=study.id
        )
    else:
        done = _("Study {study} is fully labeled: every answer has your label.").format(
            study=study.id
        )
    if study.status == STUDY_RUNNING:
        done += " " + _("More answers come while it runs.")
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.success(done, icon=":material/done_all:")
        st.page_link(
            "app_pages/studies.py",
            label=_("See the results"),
            icon=":material/analytics:",
            query_params={"study": str(study.id)},
            help=_("The study's tables and charts on the Studies page."),
        )


st.title(_("Label queue"))
study = pick_study()
if study is None:
    st.info(
        _(
            "No studies yet. Run one with `python -m lineup study run --set NAME --model SPEC "
            "...`, then label its answers here."
        ),
        icon=":material/fact_check:",
    )
    st.stop()
mode = pick_mode()

model, unlabeled_only, disputed = "", False, False
if mode == LABELS:  # the arena shows every model's answers, blind
    if st.session_state.get(MODEL_KEY, "") not in ("", *study.models):
        st.session_state[MODEL_KEY] = ""
    all_models = _("All models")  # now: a format_func may run outside this run (AppTest)
    model = st.sidebar.selectbox(
        _("Model"),
        ["", *study.models],
        key=MODEL_KEY,
        format_func=lambda spec: app.catalog.model_label(spec).title if spec else all_models,
        help=_("Label one model's answers only. Its name is then no secret."),
    )
    unlabeled_only = st.sidebar.toggle(
        _("Unlabeled only"),
        key="queue-unlabeled-only",
        help=_("Skip the items whose answers you have all labeled."),
    )
    disputed = disputed_toggle()
show_reference = st.sidebar.toggle(
    _("Show reference answers"),
    value=True,
    key="queue-show-reference",
    help=_("Hide them to judge the answers on their own."),
)
st.sidebar.caption(_(ARENA_KEYS_HELP) if mode == ARENA else _(KEYS_HELP))
if mode == ARENA:
    arena(study, show_reference)
    st.stop()

queue = app.labels.queue(
    study.id, annotator, model=model or None, unlabeled_only=unlabeled_only, disputed=disputed
)
number = current_number(queue, study.id)
st.query_params["study"] = str(study.id)
if disputed:
    disputed_caption(study, queue)
if number is None:
    if disputed:
        st.info(
            _("No answer is disputed for this model. Turn Disputed only off to see every answer.")
            if model
            else _("No answer is disputed. Turn Disputed only off to see every answer."),
            icon=":material/done_all:",
        )
        st.stop()
    st.info(
        _("This study has no complete answers yet.")
        if not model
        else _("This model has no complete answers in this study yet."),
        icon=":material/hourglass_empty:",
    )
    st.stop()
st.query_params["item"] = str(number)

item = app.labels.queue_item(
    study.id, number, annotator, model=model or None, answers=queue.answers
)
if item is None:  # the study's set lost the item: never happens to a stored study
    st.error(_("Study {study} has no item {number}.").format(study=study.id, number=number))
    st.stop()

if annotator:
    share = queue.labeled / queue.total if queue.total else 0.0
    st.progress(
        share,
        text=_("Labeled {done} of {total} answers").format(done=queue.labeled, total=queue.total),
    )
    if queue.total and queue.labeled == queue.total:
        fully_labeled(study, model, disputed)
else:
    st.warning(_("Set your name in the sidebar to label."), icon=":material/person:")
if len(study.models) > 1:  # everyone's labels: whether the study needs more of them
    stop_labeling_note(app.studies.stop_labeling(study.id))

position = queue.position(number)
where = (
    _("**Item {position} of {total}**").format(position=position, total=len(queue.items))
    if position is not None
    else _("**Item {number}** · every answer labeled").format(number=number)
)
st.markdown(
    where
    + " · "
    + _(
        ":gray[#{number} of set {set} · study {study}: {models} models × {repeats} · {status}]"
    ).format(
        number=number,
        set=escape_markdown(study.set_name),
        study=study.id,
        models=len(study.models),
        repeats=study.repeats,
        status=state_word(study.status),
    )
)
focus = focused_answer(item)
queue_nav(queue, number, item)
queue_keys(app, item, annotator, focus)
item_view(app, item, show_reference=show_reference)
answers_grid(app, item, annotator, focus, repeats=study.repeats)
