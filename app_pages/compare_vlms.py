"""Compare VLMs: one image, one question, several models side by side; label each answer."""

from __future__ import annotations

import hashlib

import streamlit as st
from PIL import Image

from components.context import (
    annotator_sidebar,
    get_lineup,
    page_runs,
    recent_runs_sidebar,
)
from components.layout import whole_pill_labels
from components.models import model_picker
from components.runs import (
    REDRAW_INTERVAL_S,
    STORE_POLL_S,
    ColumnView,
    follow,
    form_shows,
    live_views,
    remember_start,
    results_anchor,
    start_and_stop,
    start_button,
    vlm_results,
)
from components.stats import timing_choice
from lineup.app import (
    INPUT_ERRORS,
    N_,
    MediaError,
    Run,
    _,
    escape_markdown,
    list_samples,
    sample_with_digest,
)

SCROLL_KEY = "scroll-to-results"

SAMPLE, UPLOAD, RUN_IMAGE = "Sample", "Upload", "Run"  # where the image comes from
SOURCE_NAMES = {SAMPLE: N_("Sample"), UPLOAD: N_("Upload"), RUN_IMAGE: N_("The run's image")}
# A sample's kind, as its picker shows it.
SAMPLE_KINDS = {"screenshot": N_("screenshot"), "photo": N_("photo")}


def within(value: float | None, low: float, high: float, default: float) -> float:
    return default if value is None else min(max(value, low), high)


def fill_form(run: Run) -> None:
    """The form as `run` was asked (its image, question, models and parameters)."""
    inputs = app.compare.inputs([run.id])
    if inputs is None:
        return
    state = st.session_state
    sample = sample_with_digest(inputs.image_hash, samples) if inputs.image_hash else None
    state["image_source"] = (
        UPLOAD if inputs.image_hash is None else SAMPLE if sample is not None else RUN_IMAGE
    )
    if sample is not None:
        state["sample"] = sample
    state["question"] = inputs.texts[0]
    state["system"] = inputs.system or ""
    state["temperature"] = within(inputs.temperature, 0.0, 2.0, 0.0)
    state["max_tokens"] = int(within(inputs.max_tokens, 1, 32768, 512))
    state["seed"] = int(within(inputs.seed, 0, 2**31 - 1, 0))
    state["timeout"] = within(inputs.timeout_s, 1.0, 3600.0, app.settings.model_timeout_s)
    state["models-vlm"] = list(inputs.models)
    state["blind"] = inputs.blind
    state["timing"] = inputs.timing


app = get_lineup()
annotator = annotator_sidebar()
# Screenshots first: they are what the offline OCR baseline can answer about.
samples = sorted(list_samples(), key=lambda s: s.kind != "screenshot")
shown = page_runs("run")
run = app.compare.run(shown[0], kind="vlm") if shown else None
running = run is not None and app.compare.in_progress([run.id])
if run is not None:
    shown_run: Run = run
    form_shows("compare", [run.id], lambda: fill_form(shown_run))
blind = st.sidebar.toggle(
    _("Blind mode"),
    key="blind",
    help=_("Hide model names and shuffle the columns until you have labeled them all."),
)
recent_runs_sidebar(app, "vlm", "run")

st.title(_("Compare VLMs"))
# Translated here, in the script run: a format_func may be called outside it.
source_names = {source: _(name) for source, name in SOURCE_NAMES.items()}
sample_names = {
    sample.path: _("{title} ({kind})").format(
        title=sample.title, kind=_(SAMPLE_KINDS.get(sample.kind, sample.kind))
    )
    for sample in samples
}

left, right = st.columns([2, 3], gap="large")
with left:
    sources = [SAMPLE, UPLOAD] + ([RUN_IMAGE] if run is not None and run.image_hash else [])
    if st.session_state.get("image_source") not in sources:
        st.session_state["image_source"] = SAMPLE
    source = st.radio(
        _("Image"),
        sources,
        format_func=lambda name: source_names.get(name, name),
        horizontal=True,
        key="image_source",
    )
    image_bytes: bytes | None = None
    sample_questions: list[str] = []
    if source == RUN_IMAGE and run is not None and run.image_hash:
        stored = app.media_path(run.image_hash)
        if stored is None:
            st.error(
                _("The run's image is missing from the media store: upload it again."),
                icon=":material/broken_image:",
            )
        else:
            image_bytes = stored.read_bytes()
    elif source == UPLOAD:
        upload = st.file_uploader(
            _("Image (PNG, JPEG, WebP, GIF)"),
            type=["png", "jpg", "jpeg", "webp", "gif"],
            key="upload",
        )
        if upload is not None:
            image_bytes = upload.getvalue()
    else:
        if not samples:
            st.info(_("No sample images yet: run `make run` (it writes them) or upload an image."))
        else:
            sample = st.selectbox(
                _("Sample"),
                samples,
                format_func=lambda s: sample_names.get(s.path, s.title),
                key="sample",
            )
            image_bytes = sample.path.read_bytes()
            sample_questions = list(sample.questions)
    image = None
    if image_bytes is not None:
        try:
            image = app.compare.image(image_bytes)
        except MediaError as exc:
            st.error(str(exc), icon=":material/broken_image:")
        else:
            # A tall phone screenshot at full column width would push the answers off screen,
            # so it gets a column as much narrower as it is tall (never taller than the column
            # is wide). "content" keeps an image within its column, a fixed width would not.
            ratio = image.width / image.height
            preview = st.columns([ratio, 1 - ratio])[0] if ratio < 1 else st.container()
            preview.image(
                image.rgb(), caption=f"{image.format} {image.width}×{image.height}", width="content"
            )

with right:
    if sample_questions:
        whole_pill_labels("sample_question")
        picked = st.pills(_("Sample questions"), sample_questions, key="sample_question", wrap=True)
        if picked and st.session_state.get("question_from_pill") != picked:
            st.session_state["question"] = picked
            st.session_state["question_from_pill"] = picked
    question = st.text_area(
        _("Question"),
        key="question",
        placeholder=_("Type a question about the image, e.g. “What does the error say?”"),
    )
    with st.expander(_("System prompt and parameters")):
        system = st.text_area(_("System prompt"), key="system")
        # Two by two: four in a row cut their labels mid-word in a narrow window.
        c1, c2 = st.columns(2)
        c3, c4 = st.columns(2)
        temperature = c1.number_input(_("Temperature"), 0.0, 2.0, 0.0, 0.1, key="temperature")
        max_tokens = c2.number_input(_("Max tokens"), 1, 32768, 512, key="max_tokens")
        seed = c3.number_input(_("Seed"), 0, 2**31 - 1, 0, key="seed")
        timeout_s = c4.number_input(
            _("Timeout (s)"), 1.0, 3600.0, float(app.settings.model_timeout_s), key="timeout"
        )
    models = model_picker(app, "vlm", default=["ocr:eng+rus"])
    timing = timing_choice("timing")
    request = start_and_stop(
        app,
        label=_("Compare"),
        form="compare",
        query_key="run",
        running=running,
        inputs=(
            None if image_bytes is None else hashlib.sha256(image_bytes).hexdigest(),
            question,
            system,
            temperature,
            max_tokens,
            seed,
            timeout_s,
            tuple(models),
            blind,
            timing,
        ),
        wait_help=_("Wait for the run in progress, or stop it."),
        stop_help=_("Stop every model of this run now; the text streamed so far is kept."),
    )

if request is not None:
    if image is None and image_bytes is not None:
        st.warning(_("Fix the image first (see the message beside it)."))
    else:
        try:
            comparison = app.compare.vlm(
                question=question,
                models=models,
                image=image,
                system=system,
                temperature=temperature,
                max_tokens=int(max_tokens),
                seed=int(seed),
                timeout_s=float(timeout_s),
                blind=blind,
                timing=timing,
                request_id=request,
            )
        except INPUT_ERRORS as exc:  # anything else is a bug, and Streamlit shows it as one
            st.error(str(exc))
        else:
            # The new run is the page's run from now on, whatever the address or the recent
            # runs picker said before; the next script run draws it as it streams.
            remember_start("compare", "run", [comparison.run_id])
            st.session_state[SCROLL_KEY] = True
            st.rerun()

# The page's run (also after a page reload: its id is in the URL), as it streams or as stored.
if run is not None:
    results_anchor(scroll=st.session_state.pop(SCROLL_KEY, False))
    st.divider()
    head, image_col = st.columns([4, 1])
    title = head.container(horizontal=True, vertical_alignment="center")
    title.markdown(
        _("**Run {run}** · {question}").format(run=run.id, question=escape_markdown(run.input_text))
    )
    again = start_button(
        _("Run again"),
        "again-vlm",
        running=running,
        where=title,
        icon=":material/replay:",
        primary=False,
        help=_("A new run with this run's image, question, models and parameters."),
    )
    if again is not None:
        try:
            repeated = app.compare.rerun([run.id], request_id=again)
        except INPUT_ERRORS as exc:
            head.error(str(exc))
        else:
            remember_start("again-vlm", "run", repeated.run_ids)
            st.session_state[SCROLL_KEY] = True
            st.rerun()
    if run.image_hash:
        stored = app.media_path(run.image_hash)
        if stored is None:
            image_col.caption(_("image missing from the media store"))
        else:
            with Image.open(stored) as thumb:
                ratio = thumb.width / thumb.height
            image_col.image(str(stored), width=int(min(160, 120 * ratio)))
    if running:
        live_run: Run = run
        views_now = live_views(app, live_run)
        follow(
            lambda: app.compare.in_progress([live_run.id]),
            lambda: vlm_results(app, live_run, views_now(), annotator, live=True),
            REDRAW_INTERVAL_S if app.compare.active(run.id) is not None else STORE_POLL_S,
        )
    else:
        answers = [ColumnView.of_generation(g) for g in run.generations]
        vlm_results(app, run, answers, annotator, live=False)
