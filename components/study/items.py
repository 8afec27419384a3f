"""A study's per-item section: the model × item grid of label scores, then one item's answers
side by side."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from components.charts import chart
from components.runs import ColumnView, draw_column
from components.stats import render_answer, show_text
from components.study.common import words
from components.study.figures import item_heatmap, item_label
from lineup.app import (
    OK,
    Generation,
    Lineup,
    Run,
    StudyInfo,
    StudyTables,
    _,
    code_span,
    escape_markdown,
    percent,
    said_stored,
)

HEATMAP_ITEMS = 40  # items per page of the per-item grid
MAX_PER_ROW = 3  # answers side by side: three fit beside the sidebar in a 1400 px window


@st.fragment  # choosing a page or an item redraws this section alone
def per_item_section(app: Lineup, tables: StudyTables, names: dict[str, str]) -> None:
    """The model × item grid of label scores, a page of HEATMAP_ITEMS items at a time, then
    the answers to one of those items side by side, chosen below it."""
    per_item = tables.per_item
    models = [c for c in per_item.columns if c not in ("item_id", "position", "text", "reference")]
    if per_item.empty or not models:
        st.caption(_("The set has no items."))
        return
    pages = -(-len(per_item) // HEATMAP_ITEMS)
    grid_area = st.container()  # above the page numbers, which choose what it shows
    page = st.pagination(pages, key=f"study-grid-page-{tables.study.id}") if pages > 1 else 1
    shown = per_item.iloc[(page - 1) * HEATMAP_ITEMS : page * HEATMAP_ITEMS]
    with grid_area:
        if pages > 1:
            first = (page - 1) * HEATMAP_ITEMS
            st.caption(
                _("Items {first}–{last} of {count}").format(
                    first=first + 1, last=first + len(shown), count=len(per_item)
                )
            )
        if shown[models].notna().to_numpy().any():
            chart(item_heatmap(shown, models, names), key="study-item-heatmap")
        else:
            st.caption(
                _(
                    "No grid yet: none of these items has a labeled answer. Each cell will be "
                    "the score of a model's answers to an item: relevant 1, partial ½, "
                    "irrelevant 0."
                )
            )
    item_answers(app, tables, shown, names, models)


def item_answers(
    app: Lineup,
    tables: StudyTables,
    shown: pd.DataFrame,
    names: dict[str, str],
    models: Sequence[str],
) -> None:
    """One item of those the grid shows (its image, question, reference) and every model's
    answers to it."""
    items = {
        int(row.item_id): (int(row.position), str(row.text), row.reference)
        for row in shown.itertuples(index=False)
    }
    key = f"study-item-{tables.study.id}"
    if st.session_state.get(key) not in items:
        st.session_state.pop(key, None)
    item_id = st.selectbox(
        _("Answers to item"),
        list(items),
        format_func=lambda i: item_label(items[i][0], items[i][1]),
        key=key,
        help=_("Every model's answers to this item, side by side, with their labels."),
    )
    if item_id is None:
        return
    ids = [tables.per_item_ids.get((item_id, model), ()) for model in models]
    first = next((g for group in ids for g in group), None)
    run = app.compare.run_of(first) if first is not None else None
    _position, text, reference = items[item_id]
    _item_head(app, run, text, reference, tables.study.kind)
    _reference_answer(app, tables.study, item_id)
    if tables.study.blind:
        st.caption(
            ":material/visibility: "
            + _(
                "A blind study: the label queue hides the names while you label; this page "
                "shows them."
            )
        )
    if run is None:
        st.caption(_("No answer to this item yet."))
        return
    by_id = {g.id: g for g in run.generations}
    with_answers = [(m, group) for m, group in zip(models, ids, strict=True) if group]
    for start in range(0, len(with_answers), MAX_PER_ROW):
        row = with_answers[start : start + MAX_PER_ROW]
        for column, (model, group) in zip(
            st.columns(min(len(with_answers), MAX_PER_ROW), gap="small"), row, strict=False
        ):
            with column, st.container(border=True):
                st.markdown(f"**{escape_markdown(names[model])}**")
                for generation_id in group:
                    generation = by_id.get(generation_id)
                    if generation is not None:
                        _answer(app, generation, tables.study)


def _reference_answer(app: Lineup, study: StudyInfo, item_id: int) -> None:
    """The reference model's answer to the item, apart from the models' (never ranked)."""
    if study.kind != "vlm":
        return
    answer = app.scores.reference_answers(study.id).get(item_id)
    reference = app.scores.reference_of(study.id) if answer is not None else None
    if answer is None or reference is None:
        return
    with st.container(border=True):
        st.caption(
            ":material/star: "
            + _(
                "Reference model {model}: shown apart, never ranked; the item's reference where "
                "the set has none."
            ).format(model=code_span(reference.models[0]))
        )
        render_answer(answer)


def _item_head(app: Lineup, run: Run | None, text: str, reference: str | None, kind: str) -> None:
    image = app.media_path(run.image_hash) if run is not None and run.image_hash else None
    if image is not None:
        left, right = st.columns([1, 3], gap="medium")
        left.image(str(image), width="stretch")
    else:
        right = st.container()
    with right:
        st.caption(_("Sentence") if kind == "tts" else _("Question"))
        show_text(text)
        if reference:
            st.caption(_("Reference answer"))
            show_text(reference)


def _answer(app: Lineup, generation: Generation, study: StudyInfo) -> None:
    if study.repeats > 1:
        number = (generation.repeat or 0) + 1
        st.caption(
            _("Sample {number}").format(number=number)
            if study.kind == "tts"
            else _("Repeat {number}").format(number=number)
        )
    if study.kind == "tts":
        clip = app.media_path(generation.audio_hash) if generation.audio_hash else None
        if clip is not None:
            st.audio(str(clip))
        if generation.status != OK:
            error = said_stored(generation.error, generation.error_said)
            st.caption(escape_markdown(error or generation.status, keep_code=True))
        elif generation.transcript is not None:
            heard = escape_markdown(generation.transcript)
            st.caption(
                _("Heard (WER {wer}): {text}").format(wer=percent(generation.wer), text=heard)
                if generation.wer is not None
                else _("Heard: {text}").format(text=heard)
            )
    else:
        draw_column(ColumnView.of_generation(generation))
    said = words(study.kind)
    labels = sorted(
        (label for label in generation.labels if label.counted), key=lambda label: label.annotator
    )
    if labels:
        st.caption(
            _("Labels: {labels}").format(
                labels=", ".join(
                    f"{escape_markdown(lab.annotator)} {said[lab.relevance].lower()}"
                    for lab in labels
                )
            )
        )
