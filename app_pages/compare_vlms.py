"""Compare VLMs: one image, one question, several models side by side; label each answer."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from backends.spec import SpecError
from components.context import annotator_sidebar, get_lineup, recent_runs_sidebar
from components.label_bar import label_bar
from components.models import model_picker
from components.runs import column_titles, stream_into_columns
from components.stats import render_answer, render_stats
from lineup.media import MediaError
from lineup.samples import list_samples

PREVIEW_HEIGHT_PX = 420

app = get_lineup()
annotator = annotator_sidebar()
blind = st.sidebar.toggle(
    "Blind mode", help="Hide model names and shuffle the columns until you have labeled them all."
)
recent_runs_sidebar(app, "vlm", "run")

st.title("Compare VLMs")

left, right = st.columns([2, 3], gap="large")
with left:
    source = st.radio("Image", ["Sample", "Upload"], horizontal=True, key="image_source")
    image_bytes: bytes | None = None
    sample_questions: list[str] = []
    if source == "Upload":
        upload = st.file_uploader(
            "Image (PNG, JPEG, WebP, GIF)",
            type=["png", "jpg", "jpeg", "webp", "gif"],
            key="upload",
        )
        if upload is not None:
            image_bytes = upload.getvalue()
    else:
        # Screenshots first: they are what the offline OCR baseline can answer about.
        samples = sorted(list_samples(), key=lambda s: s.kind != "screenshot")
        if not samples:
            st.info("No sample images yet: run `make run` (it writes them) or upload an image.")
        else:
            sample = st.selectbox(
                "Sample", samples, format_func=lambda s: f"{s.title} ({s.kind})", key="sample"
            )
            image_bytes = sample.path.read_bytes()
            sample_questions = list(sample.questions)
    image = None
    if image_bytes is not None:
        try:
            image = app.validate_image(image_bytes)
        except MediaError as exc:
            st.error(str(exc), icon=":material/broken_image:")
        else:
            # A tall phone screenshot at full column width would push the answers off screen.
            preview_width = int(min(600, PREVIEW_HEIGHT_PX * image.width / image.height))
            st.image(
                image.rgb(),
                caption=f"{image.format} {image.width}×{image.height}",
                width=preview_width,
            )

with right:
    if sample_questions:
        picked = st.pills("Sample questions", sample_questions, key="sample_question")
        if picked and st.session_state.get("question_from_pill") != picked:
            st.session_state["question"] = picked
            st.session_state["question_from_pill"] = picked
    question = st.text_area("Question", key="question", placeholder="What does the error say?")
    with st.expander("System prompt and parameters"):
        system = st.text_area("System prompt", key="system")
        c1, c2, c3, c4 = st.columns(4)
        temperature = c1.number_input("Temperature", 0.0, 2.0, 0.0, 0.1, key="temperature")
        max_tokens = c2.number_input("Max tokens", 1, 32768, 512, key="max_tokens")
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="seed")
        timeout_s = c4.number_input(
            "Timeout (s)", 1.0, 3600.0, float(app.settings.model_timeout_s), key="timeout"
        )
    models = model_picker(app, "vlm", default=["ocr:eng+rus"])
    go = st.button("Compare", type="primary", icon=":material/play_arrow:", key="compare")

if go:
    problem = None
    if image is None and image_bytes is not None:
        problem = "Fix the image first (see the message beside it)."
    elif not question.strip():
        problem = "Ask a question first."
    if problem:
        st.warning(problem)
    else:
        try:
            comparison = app.start_vlm(
                question=question,
                models=models,
                image=image,
                system=system,
                temperature=temperature,
                max_tokens=int(max_tokens),
                seed=int(seed),
                timeout_s=float(timeout_s),
                blind=blind,
            )
        except (SpecError, ValueError) as exc:
            st.error(str(exc))
        else:
            run = app.store.get_run(comparison.run_id)
            ordered, titles, _ = column_titles(run, list(run.generations), {})
            stream_into_columns(
                comparison,
                {g.id: t for g, t in zip(ordered, titles, strict=True)},
                [g.id for g in ordered],
            )
            st.query_params["run"] = str(comparison.run_id)
            st.rerun()

# The stored run (also after a page reload: its id is in the URL).
run_id = st.query_params.get("run")
run = app.store.get_run(int(run_id)) if run_id and run_id.isdigit() else None
if run is not None and run.kind == "vlm":
    st.divider()
    head, image_col = st.columns([4, 1])
    head.markdown(f"**Run {run.id}** · {run.input_text}")
    if run.image_hash:
        try:
            stored = app.media.path(run.image_hash)
            with Image.open(stored) as thumb:
                ratio = thumb.width / thumb.height
            image_col.image(str(stored), width=int(min(160, 120 * ratio)))
        except FileNotFoundError:
            image_col.caption("image missing from the media store")
    generations = list(run.generations)
    labels = app.store.current_labels([g.id for g in generations], annotator) if annotator else {}
    ordered, titles, hidden = column_titles(run, generations, labels)
    if hidden:
        st.info(
            "Blind mode: names appear once you have labeled every answer.",
            icon=":material/visibility_off:",
        )
    for column, generation, title in zip(st.columns(len(ordered)), ordered, titles, strict=True):
        with column:
            st.subheader(title, divider="gray")
            if generation.reasoning_text:
                with st.expander("Reasoning", icon=":material/psychology:"):
                    st.text(generation.reasoning_text)
            if generation.output_text:
                render_answer(generation.output_text)
            elif generation.status == "ok":
                st.markdown("*(empty answer)*")
            render_stats(generation)
            if generation.status == "ok":
                label_bar(
                    app.store,
                    generation.id,
                    annotator,
                    labels.get(generation.id),
                    stacked=len(ordered) > 3,
                )
