"""The Studies page's scoring panel: a reference model run beside the study
(lineup.score.references) and an LLM judge that scores its answers in the background
(lineup.score.judge, lineup.score.judge_jobs).

The reference model runs as a study of its own, with the progress, pause and resume of every
study. The judge runs in a thread of this server; every verdict is stored as it comes, so a
reload shows the same progress, Stop stops the request in flight, and Score again asks only
what has no verdict yet. The template is the study's own: edits are kept with the study.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from components.models import model_options
from lineup.app import (
    INPUT_ERRORS,
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    MAX_TIMEOUT_S,
    MAX_TOKENS,
    N_,
    SIMPLER_TEMPLATE_HINT,
    STUDY_DONE,
    STUDY_RUNNING,
    JudgeJob,
    JudgeRun,
    Lineup,
    StudyInfo,
    _,
    code_span,
    error_text,
    escape_markdown,
    hide_credentials,
    said_stored,
    state_word,
)

POLL_S = 1.0
MIN_TIMEOUT_S = 1.0
REPLY_BOX_PX, REPLY_BOX_CHARS = 150, 300
PROTOCOLS = {  # marked; the radio is given them said
    "reference": N_("Against the reference answer (score / 10)"),
    "pairwise": N_("Beside the reference model's answer, both orders (candidate / reference)"),
}


def scoring_panel(app: Lineup, study: StudyInfo) -> None:
    """The reference model and the judge of a VLM study; a reference model's own study says
    whose it is."""
    if study.reference_for is not None:
        st.info(
            _(
                "This study runs the reference model of study {id}: its answers are that "
                "study's references, shown apart and never ranked."
            ).format(id=study.reference_for),
            icon=":material/info:",
        )
        return
    if study.kind != "vlm":
        return
    reference = app.scores.reference_of(study.id)
    reference_part(app, study, reference)
    judge_part(app, study, has_reference=reference is not None)


# The reference model -------------------------------------------------------------------------


def reference_part(app: Lineup, study: StudyInfo, reference: StudyInfo | None) -> None:
    st.markdown("**" + _("Reference model") + "**")
    if reference is None:
        st.caption(
            _(
                "A model run once per item beside the study, shown apart and never ranked. "
                "Items without a reference answer in the set take its answer; the pairwise "
                "judge compares every answer with it."
            )
        )
        row = st.columns([4, 1], vertical_alignment="bottom")
        chosen = row[0].selectbox(
            _("Reference model"),
            model_options(app, "vlm"),
            index=None,
            key=f"reference-model-{study.id}",
            accept_new_options=True,
            placeholder=_("Pick, or type a spec such as {spec}").format(
                spec="openai:gpt-4o@https://api.openai.com/v1"
            ),
        )
        row[1].button(
            _("Run it"),
            icon=":material/play_arrow:",
            key=f"reference-run-{study.id}",
            disabled=not chosen,
            on_click=_start_reference,
            args=(app, study.id, chosen),
        )
    else:
        _reference_progress(app, reference)
    error = st.session_state.get(f"reference-error-{study.id}")
    if error:
        st.error(error, icon=":material/error:")


def _start_reference(app: Lineup, study_id: int, model: str | None) -> None:
    if not model:
        return
    try:
        app.scores.start_reference(study_id, model)
    except INPUT_ERRORS as exc:
        st.session_state[f"reference-error-{study_id}"] = error_text(exc)
    else:
        st.session_state.pop(f"reference-error-{study_id}", None)


def _reference_progress(app: Lineup, reference: StudyInfo) -> None:
    """The reference model's study: its state and answers, redrawn while it runs."""
    assert reference.reference_for is not None
    study_id = reference.reference_for

    def draw() -> None:
        progress = app.studies.progress(reference.id)
        text = _(
            "{model} · study {id} · {status} · {done} of {total} answers · {errors} failed"
        ).format(
            model=code_span(reference.models[0]),
            id=reference.id,
            status=state_word(progress.status),
            done=progress.done,
            total=progress.total,
            errors=progress.errors,
        )
        st.progress(progress.done / progress.total if progress.total else 1.0, text=text)
        if progress.status != reference.status:
            st.rerun()

    running = reference.status == STUDY_RUNNING
    st.fragment(draw, run_every=POLL_S if running else None)()
    if reference.status not in (STUDY_RUNNING, STUDY_DONE):
        st.button(
            _("Resume the reference model"),
            icon=":material/play_arrow:",
            key=f"reference-resume-{study_id}",
            on_click=_start_reference,
            args=(app, study_id, reference.models[0]),
        )


# The judge ------------------------------------------------------------------------------------


def judge_part(app: Lineup, study: StudyInfo, *, has_reference: bool) -> None:
    st.markdown("**" + _("LLM judge") + "**")
    # The study's judges come first, the running or else the latest chosen: a reload (a new
    # session) or an endpoint that no longer lists the judge still shows the one at work.
    job = app.scores.judging(study.id)
    running = job is not None and job.progress().running
    used = [job.setting] if job is not None and running else []
    used += app.scores.judges(study.id)
    last = used[0] if used else None
    options = list(
        dict.fromkeys([j.spec for j in used] + model_options(app, "vlm", text_only=True))
    )
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    judge = left.selectbox(
        _("Judge"),
        options,
        index=None if last is None else options.index(last.spec),
        key=f"judge-model-{study.id}",
        format_func=hide_credentials,  # an old row's spec may hold them
        accept_new_options=True,
        placeholder=_("Pick, or type a chat model's spec such as {spec}").format(
            spec="ollama:qwen2.5:14b"
        ),
        help=_(
            "Any chat model. It sees the item's image only if its server says it can see. "
            "Model names never reach it."
        ),
    )
    protocol_words = {key: _(words) for key, words in PROTOCOLS.items()}
    protocol: str = right.radio(
        _("Protocol"),
        list(PROTOCOLS.keys()),
        index=0 if last is None else list(PROTOCOLS).index(last.protocol),
        format_func=lambda p: protocol_words.get(p, p),
        key=f"judge-protocol-{study.id}",
    )
    limits = st.columns([1, 1, 2], vertical_alignment="bottom")
    limits[0].number_input(
        _("Max tokens"),
        min_value=1,
        max_value=MAX_TOKENS,
        value=JUDGE_MAX_TOKENS if last is None else int(last.max_tokens),
        step=64,
        key=f"judge-max-tokens-{study.id}",
        help=_(
            "The judge's output token limit per answer: a judge that repeats itself stops "
            "here. A verdict needs a few sentences; a reasoning model needs more."
        ),
    )
    limits[1].number_input(
        _("Timeout (s)"),
        min_value=MIN_TIMEOUT_S,
        max_value=MAX_TIMEOUT_S,
        # The CLI takes any positive timeout; the panel's field starts at MIN_TIMEOUT_S.
        value=JUDGE_TIMEOUT_S if last is None else float(max(MIN_TIMEOUT_S, last.timeout_s)),
        step=10.0,
        format="%g",
        key=f"judge-timeout-{study.id}",
        help=_(
            "Seconds the judge may take per answer; its request is stopped then, the answer "
            "counted as failed and asked again next time."
        ),
    )
    if protocol == "pairwise" and not has_reference:
        st.caption(_("The pairwise protocol needs a reference model: run one above first."))
    template_editor(app, study.id, protocol)
    st.button(
        _("Score"),
        type="primary",
        icon=":material/grading:",
        key=f"judge-start-{study.id}",
        disabled=not judge or running or (protocol == "pairwise" and not has_reference),
        on_click=_start_judging,
        args=(app, study.id, judge, protocol),
        help=_(
            "Saves the template, then asks the judge about every answer it has not scored "
            "with this template; the verdicts stored so far are kept."
        ),
    )
    error = st.session_state.get(f"judge-error-{study.id}")
    if error:
        st.error(error, icon=":material/error:")
    if job is not None:
        judge_progress(job)


def _template_key(study_id: int, protocol: str) -> str:
    return f"judge-template-{study_id}-{protocol}"


def template_editor(app: Lineup, study_id: int, protocol: str) -> None:
    """The study's template for the protocol, editable; Save keeps it with the study."""
    key = _template_key(study_id, protocol)
    if key not in st.session_state:
        st.session_state[key] = app.scores.template(study_id, protocol)
    with st.expander(_("The judge's prompt"), icon=":material/edit_note:"):
        placeholders = (
            "{question}, {reference}, {answer}"
            if protocol == "reference"
            else "{question}, {answer_1}, {answer_2}"
        )
        st.caption(
            _(
                "Filled in for every answer: {placeholders}. The reply must give {reply}. An "
                "edited template asks every answer again."
            ).format(
                placeholders=placeholders,
                reply='{"score": 1-10, "reasons": "..."}'
                if protocol == "reference"
                else '{"score_1": 1-10, "score_2": 1-10, "reasons": "..."}',
            )
        )
        st.text_area(_("Template"), key=key, height=320, label_visibility="collapsed")
        row = st.container(horizontal=True)
        row.button(
            _("Save template"),
            key=f"{key}-save",
            on_click=_save_clicked,
            args=(app, study_id, protocol),
        )
        row.button(
            _("Back to the default"),
            key=f"{key}-reset",
            on_click=_reset_template,
            args=(app, study_id, protocol),
        )


def _save_template(app: Lineup, study_id: int, protocol: str) -> bool:
    try:
        app.scores.set_template(
            study_id, protocol, st.session_state[_template_key(study_id, protocol)]
        )
    except INPUT_ERRORS as exc:
        st.session_state[f"judge-error-{study_id}"] = error_text(exc)
        return False
    st.session_state.pop(f"judge-error-{study_id}", None)
    return True


def _save_clicked(app: Lineup, study_id: int, protocol: str) -> None:
    _save_template(app, study_id, protocol)


def _reset_template(app: Lineup, study_id: int, protocol: str) -> None:
    app.scores.set_template(study_id, protocol, None)
    st.session_state[_template_key(study_id, protocol)] = app.scores.template(study_id, protocol)


def _start_judging(app: Lineup, study_id: int, judge: str | None, protocol: str) -> None:
    if not judge:
        return
    key = _template_key(study_id, protocol)
    if key in st.session_state and st.session_state[key] != app.scores.template(study_id, protocol):
        if not _save_template(app, study_id, protocol):
            return
    try:
        app.scores.start_judging(
            study_id,
            judge,
            protocol,
            max_tokens=int(st.session_state[f"judge-max-tokens-{study_id}"]),
            timeout_s=float(st.session_state[f"judge-timeout-{study_id}"]),
        )
    except INPUT_ERRORS as exc:
        st.session_state[f"judge-error-{study_id}"] = error_text(exc)
    else:
        st.session_state.pop(f"judge-error-{study_id}", None)


def judge_progress(job: JudgeJob) -> None:
    """The judge's requests done of the total while it runs, with Stop; then how it ended.
    When it ends the whole page is drawn again, so the scores follow."""
    drawn_running = job.progress().running

    def draw() -> None:
        state = job.progress()
        if state.running != drawn_running:
            st.rerun()
        label = _("Judge `{judge}` ({protocol})").format(judge=state.judge, protocol=state.protocol)
        if state.running:
            total = state.total or 0
            st.progress(
                state.done / total if total else 0.0,
                text=_("{judge}: {done} of {total} requests").format(
                    judge=label, done=state.done, total=total or "?"
                ),
            )
            st.button(
                _("Stop the judge"),
                icon=":material/stop:",
                key=f"judge-stop-{state.study_id}",
                on_click=job.stop,
                help=_("The request in flight is stopped; Score again asks it and the rest."),
            )
        elif state.error:
            # The judge's server may be quoted: shown as the text it is.
            message = escape_markdown(
                said_stored(state.error, state.error_said) or "", keep_code=True
            )
            st.error(f"{label}: {message}", icon=":material/error:")
        elif state.run is not None:
            judge_outcome(label, state.run, stopped=state.stopped)

    st.fragment(draw, run_every=POLL_S if drawn_running else None)()


def judge_outcome(label: str, run: JudgeRun, *, stopped: bool) -> None:
    """How the judge's run ended: a failure when most of its verdicts have no score (red, with
    the first replies, as text), some failures in amber, else green."""
    counts = (
        _(
            "{asked} asked, {cached} already judged, {failed} failed, {skipped} answers without "
            "a reference"
        )
        if run.skipped
        else _("{asked} asked, {cached} already judged, {failed} failed")
    ).format(asked=run.asked, cached=run.cached, failed=run.failed, skipped=run.skipped)
    verdicts = run.scored + run.unscored
    if run.mostly_failed:
        st.error(
            _(
                "{judge} failed: {unscored} of {verdicts} verdicts have no score ({counts}). "
                "The first replies:"
            ).format(judge=label, unscored=run.unscored, verdicts=verdicts, counts=counts),
            icon=":material/error:",
        )
        failed_replies(run)
        st.caption(_(SIMPLER_TEMPLATE_HINT))
        return
    text = (
        _("{judge} stopped: {counts}; {scored} of {verdicts} verdicts scored.")
        if stopped
        else _("{judge} done: {counts}; {scored} of {verdicts} verdicts scored.")
    ).format(judge=label, counts=counts, scored=run.scored, verdicts=verdicts)
    if run.unscored:
        st.warning(text, icon=":material/warning:")
        failed_replies(run)
    elif stopped or not verdicts:
        st.info(text, icon=":material/info:")
    else:
        st.success(text, icon=":material/check_circle:")


def failed_replies(run: JudgeRun) -> None:
    """The first replies without a score: why (ours), then the judge's own words as plain
    text (model output is never rendered as Markdown)."""
    for shown in run.failed_replies:
        with st.container(border=True):
            st.caption(
                _("Answer {id} · {status}").format(
                    id=shown.generation_id, status=state_word(shown.status)
                )
            )
            if shown.error:
                st.text(said_stored(shown.error, shown.error_said))
            reply = shown.reply or _("(no reply text)")
            # A judge that repeats itself fills its limit: a few lines, the rest scrolled.
            height: int | Literal["content"] = (
                REPLY_BOX_PX if len(reply) > REPLY_BOX_CHARS else "content"
            )
            st.code(reply, language=None, wrap_lines=True, height=height)
