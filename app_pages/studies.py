"""Studies: a question set against several models (or voices), K repeats each; its progress,
its tables and charts, and its files."""

from __future__ import annotations

import streamlit as st

from components.context import SHOWN_MARK, annotator_sidebar, get_lineup, page_runs, show_runs
from components.models import model_picker
from components.provenance import study_provenance
from components.runs import remember_start, results_anchor, start_button
from components.stats import timing_choice
from components.study import (
    COMPARE_KEY,
    against_section,
    charts,
    compare_address,
    compare_control,
    comparison_view,
    downloads,
    per_item_section,
    progress_panel,
    ranking_and_agreement,
    relevance_table,
    reliability_section,
    repeats_table,
    scores_section,
    scoring_panel,
    speed_table,
    stop_labeling_block,
    studies_table,
    study_caption,
    study_controls,
    study_details,
    transcripts_table,
    voices_table,
)
from lineup.app import (
    DEFAULT_STT,
    INPUT_ERRORS,
    MAX_REPEATS,
    STUDY_RUNNING,
    Lineup,
    SetSummary,
    StudyInfo,
    _,
    escape_markdown,
    ngettext,
    short_names,
    state_word,
)

QUERY_KEY = "study"  # ?study=ID: the study the page shows
PICK_KEY = "study-pick"
ANNOTATOR_FILTER_KEY = "study-annotator-filter"
SCROLL_KEY = "scroll-to-study"
LAST_START_KEY = "study-start-last"  # (the form's inputs, the study they started)


def _open_picked() -> None:
    chosen = st.session_state.get(PICK_KEY)
    # A label that is no option comes back as the label itself: a stale one (the status of
    # its study changed, or see SHOWN_MARK) is not a pick.
    if chosen is None or isinstance(chosen, int):
        show_runs(QUERY_KEY, [] if chosen is None else [chosen])
        st.query_params.pop(COMPARE_KEY, None)  # the study picked, not a comparison


def running_start(app: Lineup, inputs: tuple[object, ...]) -> int | None:
    """The study this form last started, while it runs and the form still holds its inputs:
    a click then (the second of a double click, which may reach the server once the study is
    the page's) is not a new study."""
    last = st.session_state.get(LAST_START_KEY)
    if not isinstance(last, tuple) or last[0] != inputs:
        return None
    info = app.studies.get(last[1])
    return info.id if info is not None and info.status == STUDY_RUNNING else None


def _no_sets(app: Lineup) -> None:
    """Where the form would be while there is no set: the way to the Sets page."""
    shipped = ", ".join(f"**{s.name}**" for s in app.sets.shipped())
    st.info(
        _(
            "No question set yet. Lineup ships with {sets}: import one with a click on the "
            "Sets page (or your own set there)."
        ).format(sets=shipped)
        if shipped
        else _(
            "No question set yet. Import one with a click on the Sets page (or your own set there)."
        ),
        icon=":material/library_add:",
    )
    st.page_link(
        "app_pages/sets.py", label=_("Sets: import a set"), icon=":material/library_books:"
    )


def _run_parameters(app: Lineup, voices: bool) -> tuple[int, int | None, float, bool]:
    """Repeats, seed, timeout and blind, in a row."""
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    repeats = c1.number_input(
        _("Samples per sentence") if voices else _("Repeats"),
        1,
        MAX_REPEATS,
        1,
        key="study-repeats",
        help=_("How many times each item is asked of each model; repeat k has seed + k."),
    )
    seed = c2.number_input(
        _("Seed"),
        0,
        2**31 - 1 - MAX_REPEATS,
        None,
        key="study-seed",
        placeholder=_("random"),
        help=_("The first repeat's seed; empty: a random one (stored with the study)."),
    )
    timeout_s = c3.number_input(
        _("Timeout (s)"), 1.0, 3600.0, float(app.settings.model_timeout_s), key="study-timeout"
    )
    blind = c4.toggle(
        _("Blind"),
        key="study-blind",
        help=_("Label its answers without seeing the model names."),
    )
    return repeats, seed, timeout_s, blind


def _voice_parameters() -> str | None:
    """The speech-to-text model that scores a voice study's clips; None: no scoring."""
    return (
        st.text_input(
            _("Speech-to-text for WER"),
            DEFAULT_STT,
            key="study-stt",
            help=_("Transcribes each clip to score it; empty: no scoring."),
        ).strip()
        or None
    )


def _vlm_parameters() -> tuple[str, float, int]:
    """A VLM study's system prompt, temperature and max tokens, folded away."""
    with st.expander(_("System prompt, temperature, max tokens")):
        system = st.text_area(_("System prompt"), key="study-system")
        p1, p2 = st.columns(2)
        temperature = p1.number_input(_("Temperature"), 0.0, 2.0, 0.0, 0.1, key="study-temperature")
        max_tokens = int(p2.number_input(_("Max tokens"), 1, 32768, 512, key="study-max-tokens"))
    return system, temperature, max_tokens


def new_study_form(app: Lineup, sets: list[SetSummary]) -> None:
    """Choose a set, then its models (or voices) and parameters; Start stores the study and
    runs it in this server (a reload or a closed tab does not stop it)."""
    if not sets:
        _no_sets(app)
        return
    # Translated here: format_func may be called outside the script run (i18n's docstring).
    set_labels = {
        s.name: (
            ngettext("{name} · voices · {count} item", "{name} · voices · {count} items", s.items)
            if s.kind == "tts"
            else ngettext("{name} · VLM · {count} item", "{name} · VLM · {count} items", s.items)
        ).format(name=s.name, count=s.items)
        for s in sets
    }
    chosen = st.selectbox(
        _("Question set"),
        sets,
        format_func=lambda s: set_labels.get(s.name, s.name),
        key="study-set",
    )
    voices = chosen.kind == "tts"
    if voices:
        models = model_picker(
            app, "tts", default=["piper:en_US-joe-medium", "espeak:en-us"], label=_("Voices")
        )
    else:
        models = model_picker(app, "vlm", default=["ocr:eng+rus"])
    repeats, seed, timeout_s, blind = _run_parameters(app, voices)
    timing = timing_choice("study-timing")
    warmup = st.checkbox(
        _("Warm-up request per model"),
        key="study-warmup",
        help=_(
            "Each model first answers one request that is stored apart and never labeled or "
            "counted, so a model load stays out of the study's figures."
        ),
    )
    system, temperature, max_tokens, stt = None, None, None, None
    if voices:
        stt = _voice_parameters()
    else:
        system, temperature, max_tokens = _vlm_parameters()
    inputs = (chosen.name, tuple(models), repeats, seed, timeout_s, blind, system)
    inputs += (temperature, max_tokens, stt, timing, warmup)
    repeat_of = running_start(app, inputs)
    request = start_button(
        _("Start"),
        "study-start",
        running=repeat_of is not None,
        inputs=inputs,
        help=None
        if repeat_of is None
        else _(
            "Study {id} runs these inputs now: change the set, models or parameters to start "
            "another."
        ).format(id=repeat_of),
    )
    if request is None:
        return
    try:
        started = app.studies.start(
            set_name=chosen.name,
            models=models,
            repeats=int(repeats),
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=None if seed is None else int(seed),
            timeout_s=float(timeout_s),
            stt=stt,
            blind=blind,
            timing=timing,
            warmup=warmup,
            request_id=request,
        )
    except INPUT_ERRORS as exc:  # anything else is a bug, and Streamlit shows it as one
        st.error(str(exc), icon=":material/error:")
    else:
        st.session_state[LAST_START_KEY] = (inputs, started.study_id)
        remember_start("study-start", QUERY_KEY, [started.study_id])
        st.session_state[SCROLL_KEY] = True
        st.rerun()


def pick_study(app: Lineup, studies: list[StudyInfo]) -> StudyInfo | None:
    """The study shown: the address's (`?study=ID`, so a reload or a shared link opens it),
    else the one this session showed last; the picker changes it."""
    known = {study.id: study for study in studies}
    wanted = next(iter(page_runs(QUERY_KEY)), None)
    if wanted is not None and wanted not in known:
        linked = app.studies.get(wanted)  # older than the list goes back
        if linked is None:
            st.warning(_("There is no study {id}.").format(id=wanted), icon=":material/search_off:")
        else:
            known = {linked.id: linked, **known}
    if not known:
        return None
    st.session_state[PICK_KEY] = wanted if wanted in known else None
    labels = {i: _study_label(info, i == wanted) for i, info in known.items()}
    chosen = st.selectbox(
        _("Study"),
        list(known),
        width=640,
        index=None,
        format_func=lambda i: labels.get(i, str(i)),
        key=PICK_KEY,
        on_change=_open_picked,
        placeholder=_("Choose a study"),
    )
    return known.get(chosen) if chosen is not None else None


def _study_label(info: StudyInfo, shown: bool) -> str:
    """A study as the picker names it, in the page's language."""
    count = len(info.models)
    template = (
        ngettext(
            "#{id} · {set} · {count} voice × {repeats} · {status}",
            "#{id} · {set} · {count} voices × {repeats} · {status}",
            count,
        )
        if info.kind == "tts"
        else ngettext(
            "#{id} · {set} · {count} model × {repeats} · {status}",
            "#{id} · {set} · {count} models × {repeats} · {status}",
            count,
        )
    )
    label = template.format(
        id=info.id,
        set=info.set_name,
        count=count,
        repeats=info.repeats,
        status=state_word(info.status),
    )
    return label + (SHOWN_MARK if shown else "")


def annotator_filter(app: Lineup, study: StudyInfo) -> str | None:
    """Whose labels the relevance table and the grid count: everyone's, or one annotator's."""
    names = app.studies.annotators(study.id)
    if st.session_state.get(ANNOTATOR_FILTER_KEY) not in names:
        st.session_state[ANNOTATOR_FILTER_KEY] = None
    return st.selectbox(
        _("Labels of"),
        names,
        index=None,
        key=ANNOTATOR_FILTER_KEY,
        placeholder=_("every annotator"),
        help=_("Count one annotator's labels only (their latest on each answer)."),
        disabled=not names,
    )


def show_comparison(app: Lineup, baseline: int, candidate: int) -> None:
    """Two studies compared (`?compare=BASELINE,CANDIDATE`), with its report to download."""
    st.subheader(
        _("Study {candidate} against baseline study {baseline}").format(
            candidate=candidate, baseline=baseline
        ),
        anchor=False,
    )
    if st.button(_("Close the comparison"), icon=":material/close:", key="compare-close"):
        del st.query_params[COMPARE_KEY]
        st.rerun()
    try:
        document = app.studies.compare(baseline, candidate)
    except INPUT_ERRORS as exc:
        st.error(str(exc), icon=":material/error:")
        return
    comparison_view(document)
    st.subheader(_("Download"), anchor=False)
    html_col, md_col = st.columns(2)
    for column, fmt, mime in ((html_col, "html", "text/html"), (md_col, "md", "text/markdown")):
        column.download_button(
            _("Comparison report ({format})").format(format=fmt.upper()),
            app.studies.comparison_file(document, fmt),
            file_name=f"compare-{baseline}-{candidate}.{fmt}",
            mime=mime,
            key=f"compare-download-{fmt}",
            on_click="ignore",
        )


def show_study(
    app: Lineup, study: StudyInfo, annotator: str, studies: list[StudyInfo] | None = None
) -> None:
    st.subheader(
        _("Study {id} · {set}").format(id=study.id, set=escape_markdown(study.set_name)),
        anchor=False,
    )
    st.caption(study_caption(study))
    if study.reference_for is not None:
        scoring_panel(app, study)  # says whose reference model this study runs
    names = short_names(study.models)
    study_details(study, names, app.studies.specs(study.id))
    study_provenance(app, study.id, study.models, names)
    progress_panel(app, study.id, study.status)
    study_controls(app, study, annotator)
    compare_control(study, studies or [study])

    head, pick = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader(_("Relevance"), anchor=False)
    with pick:
        who = annotator_filter(app, study)
    # One read of the study's results for every section below (lineup.report.result).
    result = app.studies.result(study.id, annotator=who)
    tables = result.tables
    relevance_table(tables, names)
    summary = result.summary
    stop_labeling_block(summary["stop_labeling"], names, study.kind)
    charts(tables, names)
    if study.kind == "tts":
        st.subheader(_("Voices"), anchor=False)
        voices_table(tables, names)
    else:
        st.subheader(_("Speed"), anchor=False)
        speed_table(tables, names)
    if study.kind != "tts":
        st.subheader(_("Scores"), anchor=False)
        if study.reference_for is None:
            with st.expander(
                _("Score this study: a reference model and an LLM judge"),
                icon=":material/grading:",
                expanded=app.scores.judging(study.id) is not None,
            ):
                scoring_panel(app, study)
        scores_section(summary, names)
        reliability_section(summary)
    st.subheader(_("Ranking and agreement"), anchor=False)
    ranking_and_agreement(summary, names)
    st.subheader(_("Per item"), anchor=False)
    per_item_section(app, tables, names)
    if study.kind == "tts":
        st.subheader(_("Transcripts"), anchor=False)
        transcripts_table(tables, names)
    else:
        st.subheader(_("Repeats"), anchor=False)
        if study.repeats > 1:
            repeats_table(tables, names)
        else:
            st.caption(_("One answer per item and model: nothing to compare between repeats."))
        if len(study.models) > 1:
            st.subheader(_("Agreement with a chosen model"), anchor=False)
            against_section(app, study, names)
    st.subheader(_("Download"), anchor=False)
    downloads(app, study.id)


app = get_lineup()
annotator = annotator_sidebar()
app.studies.reap()  # a study whose process died shows as paused, ready to resume
st.title(_("Studies"))
studies = app.studies.latest()
study = pick_study(app, studies)
with st.expander(_("New study"), icon=":material/add:", expanded=not studies):
    new_study_form(app, app.sets.stored())
if studies:
    with st.expander(_("All studies ({count})").format(count=len(studies)), icon=":material/list:"):
        studies_table(studies)
compared = compare_address(st.query_params.get(COMPARE_KEY))
if compared is not None:
    st.divider()
    show_comparison(app, *compared)
elif study is not None:
    # After Start the page scrolls down past the form to the new study.
    results_anchor(scroll=st.session_state.pop(SCROLL_KEY, False))
    st.divider()
    show_study(app, study, annotator, studies)
