"""A study's report for people who were not there: one self-contained HTML file, rendered
from the study's StudyResult (lineup.report.result).

The HTML opens with no network: styles inline, the charts' plotly.js embedded once, images as
small inline thumbnails, for voices one clip per voice and sentence inline. It holds the set,
models and parameters; the study's tables; the automatic scores with their intervals; the
ranks (from the decided pairwise differences, lineup.measure.pairs) with the ratings, and the
matrix of which differences are real; the annotators' agreement; a section
per item with its image or sentence, question, reference and every answer with its labels and
scores; and a methods section that quotes the definitions from the modules that compute each
figure (lineup.report.tables and the DEFINITIONS of lineup.measure, lineup.score and
lineup.study), so the report and the code cannot disagree. Model output is escaped (Jinja2
autoescape), never rendered as HTML.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from lineup.catalog import short_names
from lineup.core import N_, OK, _, current_language, moment, said_stored, state_word
from lineup.report.answers import Answer
from lineup.report.markdown_report import (
    AGAINST_MD,
    ARENA_MD,
    JUDGE_BY_MODEL_MD,
    JUDGES_MD,
    RANKING_MD,
    RELEVANCE_MD,
    RELIABILITY_MD,
    RELIABILITY_WORDS,
    SCORES_MD,
    against_heading,
    judge_rows,
    number,
    percent,
    ranked,
    reliability_rows,
    setup_lines,
)
from lineup.report.methods import methods_section
from lineup.report.pairs_matrix import (
    MATRIX_FIGURES,
    RANK_RULE,
    pair_matrix,
    pair_sentences,
    rank_summary,
    reason_text,
)
from lineup.report.words import column_word, table_name
from lineup.run import card_facts, machine_line
from lineup.score import ALPHA_SCALE, Verdict
from lineup.store import MediaStore

if TYPE_CHECKING:
    from jinja2 import Template

    from lineup.report.result import StudyResult

THUMBNAIL_PX = 320  # the longest side of an item's image in the report
THUMBNAIL_THREADS = min(4, os.cpu_count() or 1)


def _overlap(result: StudyResult, answer: Answer, reference: str | None) -> dict[str, str] | None:
    """An answer's overlap with its item's reference, as shown (lineup.measure.overlap): the figures
    the automatic scores computed already."""
    if answer.status != OK or answer.audio_hash is not None:  # a clip is scored by its WER
        return None
    scores = result.overlap(answer.text, reference)
    if scores is None:
        return None
    return {
        "rouge1": number(scores.rouge1_f1),
        "rouge_l": number(scores.rouge_l_f1),
        "chrf": number(scores.chrf),
    }


def _judge_verdicts(result: StudyResult) -> dict[int, list[str]]:
    """Per answer, the verdict of every judge that ran (the latest first): its score and
    reasons, or why it has none; each named by its protocol when more than one ran."""
    judges = result.judges
    found: dict[int, list[str]] = {}
    for judge in judges:
        name = f"{judge.protocol}: " if len(judges) > 1 else ""
        for generation_id, verdict in result.verdicts(judge).items():
            found.setdefault(generation_id, []).append(name + _verdict_text(verdict))
    return found


def _verdict_text(verdict: Verdict) -> str:
    """A verdict as the report says it; the judge's reasons and error are its own text."""
    if verdict.score is None:
        return _("no score ({error})").format(error=said_stored(verdict.error, verdict.error_said))
    score = _decimal(f"{verdict.score:g}")
    if verdict.reference_score is None:
        return _("{score}/10 — {reasons}").format(score=score, reasons=verdict.reasons)
    return _(
        "{score}/10 against the reference model's {reference}/10 (figure {figure}) — {reasons}"
    ).format(
        score=score,
        reference=_decimal(f"{verdict.reference_score:g}"),
        figure=_decimal(f"{verdict.figure:.2f}"),
        reasons=verdict.reasons,
    )


def _decimal(text: str) -> str:
    """A number written in English (`text`) with the current language's decimal mark."""
    return text if current_language() == "en" else text.replace(".", ",")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _thumbnail(media: MediaStore, digest: str | None) -> str | None:
    """An item's image as a small inline PNG; None when it has none or it is gone."""
    if digest is None:
        return None
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(media.get(digest)))
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=True)
    except (OSError, ValueError):
        return None
    return _data_uri(buffer.getvalue(), "image/png")


def _clip(media: MediaStore, digest: str | None) -> str | None:
    if digest is None:
        return None
    try:
        return _data_uri(media.get(digest), "audio/wav")
    except OSError:
        return None


def _interval_bars(
    rows: list[dict[str, Any]], figure: str, interval: str | None = None
) -> dict[str, Any]:
    """Plotly error bars from each row's `figure` to its `<interval>_low` and `_high`
    (`interval` defaults to `<figure>_ci`)."""
    low, high = f"{interval or figure + '_ci'}_low", f"{interval or figure + '_ci'}_high"
    # A row without an interval (too few items) gets no bar, not a zero-width one.
    return {
        "type": "data",
        "symmetric": False,
        "array": [None if row[high] is None else row[high] - row[figure] for row in rows],
        "arrayminus": [None if row[low] is None else row[figure] - row[low] for row in rows],
    }


def _charts(summary: dict[str, Any], names: dict[str, str]) -> list[str]:
    """The report's charts as HTML fragments; plotly.js is embedded in the first only. Models
    are named by their short names (`names`), beside the plot, never cut by a fixed margin,
    with the full spec on hover; the best first, as in the tables."""
    import plotly.graph_objects as go

    models = [m for m in summary["models"] if m.get("pct_relevant") is not None]
    names_axis = {"autorange": "reversed", "automargin": True, "type": "category"}
    figures = []
    if models:
        bars = go.Figure(
            go.Bar(
                x=[m["pct_relevant"] for m in models],
                y=[names[m["model"]] for m in models],
                hovertext=[m["model"] for m in models],
                hovertemplate=_("%{hovertext}: %{x:.0f}% relevant") + "<extra></extra>",
                orientation="h",
                error_x=_interval_bars(models, "pct_relevant"),
            )
        )
        bars.update_layout(
            title=_("% relevant (error bars: 95% item-bootstrap interval; none below 5 items)"),
            xaxis={"range": [0, 100], "title": _("% relevant")},
            yaxis=names_axis,
            height=120 + 40 * len(models),
            margin={"l": 10, "r": 10, "t": 50, "b": 40},
        )
        figures.append(bars)
    by_labels = [m for m in ranked(summary["models"]) if m.get("bt_rating") is not None]
    if by_labels:
        ratings = go.Figure(
            go.Scatter(
                x=[m["bt_rating"] for m in by_labels],
                y=[names[m["model"]] for m in by_labels],
                hovertext=[m["model"] for m in by_labels],
                hovertemplate=_("%{hovertext}: rating %{x:.0f}") + "<extra></extra>",
                mode="markers",
                error_x=_interval_bars(by_labels, "bt_rating", "bt_ci"),
            )
        )
        ratings.update_layout(
            title=_("Bradley-Terry rating (95% bootstrap interval)"),
            height=120 + 40 * len(by_labels),
            yaxis=names_axis,
            margin={"l": 10, "r": 10, "t": 50, "b": 40},
        )
        figures.append(ratings)
    if current_language() != "en":  # the axes' numbers with a decimal comma, a space grouping
        for figure in figures:
            figure.update_layout(separators=",\xa0")
    return [
        figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            config={"displaylogo": False, "responsive": True},
        )
        for index, figure in enumerate(figures)
    ]


def _matrices(summary: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Per figure of MATRIX_FIGURES with pairs: its heading, the models (specs) and each row's
    cells, and one sentence per pair with the models' short names."""
    matrices = []
    for figure, (heading, _unit) in MATRIX_FIGURES.items():
        models, rows = pair_matrix(summary, figure)
        if rows:
            matrices.append(
                {
                    "heading": _(heading),
                    "rows": list(zip(models, rows, strict=True)),
                    "models": models,
                    "sentences": pair_sentences(summary, figure, lambda m: names.get(m, m)),
                }
            )
    return matrices


def _methods(kind: str) -> list[tuple[str, str]]:
    """The definitions of every figure of a study of `kind`, from the modules that compute
    them: a voice study's WER and CER, a VLM study's overlap with the reference."""
    from lineup.measure import DEFINITIONS as FIGURES
    from lineup.report import tables as study_tables
    from lineup.score import DEFINITIONS as SCORES
    from lineup.study import DEFINITIONS as STUDIES

    figures = (
        [("WER and CER", FIGURES["WER and CER"])]
        if kind == "tts"
        else [("Overlap with the reference (ROUGE, chrF)", FIGURES["Overlap"])]
    )
    return methods_section(
        [
            ("Tables", study_tables.__doc__ or ""),
            *figures,
            ("Reference answers", SCORES["Reference answers"]),
            ("Automatic scores", SCORES["Automatic scores"]),
            ("The LLM judge", SCORES["The LLM judge"]),
            ("The judge's reliability", SCORES["The judge's reliability"]),
            ("Which differences are real; ranks", FIGURES["Pairs"]),
            ("Ranking", FIGURES["Ranking"]),
            ("Pairwise votes", STUDIES["Pairwise votes"]),
            ("Agreement", SCORES["Agreement"]),
        ]
    )


Cell = tuple[str, str | None]  # a table cell's text and its tooltip


def _frame_rows(frame: pd.DataFrame, names: dict[str, str]) -> tuple[list[Cell], list[list[Cell]]]:
    """A study table's headers and rows as cells; a model's spec, in a cell or as a column's
    heading (the per-item grid has one column per model), shows its short name with the spec
    as the tooltip; in another language than English a column's key shows its words
    (COLUMN_WORDS) with the key as the tooltip, and a reason lineup.measure gave is said in
    that language."""

    def cell(value: Any) -> Cell:
        if isinstance(value, str) and value in names:
            return names[value], value
        if isinstance(value, str):
            return reason_text(value), None
        return number(value), None

    def header(key: str) -> Cell:
        word = None if key in names else column_word(key)
        return cell(key) if word is None else (word, key)

    return [header(str(c)) for c in frame.columns], [
        [cell(v) for v in row] for row in frame.itertuples(index=False)
    ]


def _answer(
    result: StudyResult,
    media: MediaStore,
    answer: Answer,
    reference: str | None,
    verdicts: dict[int, list[str]],
) -> dict[str, Any]:
    return {
        "model": answer.model,
        "repeat": answer.repeat + 1,
        "status": answer.status,
        "text": answer.text,
        "error": said_stored(answer.error, answer.error_said),
        "transcript": answer.transcript,
        "wer": number(answer.wer),
        # One clip per voice and sentence: the first repeat's.
        "clip": _clip(media, answer.audio_hash) if answer.repeat == 0 else None,
        "labels": ", ".join(
            f"{_label_word(k)} {n}"
            for k, n in sorted(result.label_counts.get(answer.id, {}).items())
        ),
        "overlap": _overlap(result, answer, reference),
        "judge": verdicts.get(answer.id),
    }


_LABEL_WORDS = {"relevant": N_("relevant"), "partial": N_("partly"), "irrelevant": N_("irrelevant")}


def _label_word(code: str) -> str:
    """A label as the report says it: its code in English (as it always was), else its word."""
    if current_language() == "en" or code not in _LABEL_WORDS:
        return code
    return _(_LABEL_WORDS[code])


def _items(
    result: StudyResult, media: MediaStore, thumbnails: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """A section per item: its image (`thumbnails`, by digest) or sentence, question,
    reference and every answer."""
    verdicts = _judge_verdicts(result)
    answers: dict[int, list[Answer]] = {}
    for answer in result.answers:
        answers.setdefault(answer.item_id, []).append(answer)
    items = []
    for item in result.plan.items:
        reference = result.references.get(item.item_id)
        reference_text = reference.text if reference else None
        theirs = result.reference_answers.get(item.item_id, [])
        items.append(
            {
                "number": item.position + 1,
                "text": item.text,
                "reference": reference_text,
                "reference_source": reference.source if reference else None,
                "reference_answer": theirs[0] if theirs else None,
                "language": item.language,
                "tags": item.tags,
                "image": thumbnails.get(item.image_hash) if item.image_hash else None,
                "answers": [
                    _answer(result, media, a, reference_text, verdicts)
                    for a in answers.get(item.item_id, [])
                ],
            }
        )
    return items


@cache
def _template() -> Template:
    """The report's template, compiled once per process."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("lineup.report", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return environment.get_template("study_report.html")


def _thumbnails_made(
    pool: ThreadPoolExecutor, result: StudyResult, media: MediaStore
) -> dict[str, Future[str | None]]:
    """Each item image's thumbnail, started in `pool`: decoding and re-encoding the images is
    the report's largest single cost, and Pillow releases the GIL while it does it, so the
    thumbnails are made while the figures are computed."""
    digests = dict.fromkeys(item.image_hash for item in result.plan.items if item.image_hash)
    return {digest: pool.submit(_thumbnail, media, digest) for digest in digests}


def render_html(result: StudyResult, media: MediaStore) -> str:
    """The whole report as one HTML document (see the module docstring)."""
    with ThreadPoolExecutor(max_workers=THUMBNAIL_THREADS) as pool:
        started = _thumbnails_made(pool, result, media)
        summary, study = result.summary, result.study
        items = _items(result, media, {digest: made.result() for digest, made in started.items()})
    judges = judge_rows(result)
    names = short_names(
        [
            *study.models,
            *(a.model for group in result.reference_answers.values() for a in group),
            *(j["judge"] for j in judges),
        ]
    )
    return _template().render(
        summary=summary,
        study=study,
        params=sorted(study.params.items()),
        tables=[
            (table_name(name), *_frame_rows(frame, names))
            for name, frame in result.tables.tables().items()
        ],
        names=names,
        columns={
            "relevance": RELEVANCE_MD,
            "scores": SCORES_MD if summary["kind"] != "tts" else [],
            "ranking": RANKING_MD,
        },
        against=result.against_first,
        against_columns=AGAINST_MD,
        against_heading=against_heading,
        ranked=ranked(summary["models"]),
        rank_rule=_(RANK_RULE),
        rank_summary=rank_summary(summary),
        matrices=_matrices(summary, names),
        arena=ranked(summary["models"], "arena"),
        judges=judges,
        judges_columns=JUDGES_MD,
        reliability=reliability_rows(summary),
        reliability_columns=RELIABILITY_MD,
        reliability_words=RELIABILITY_WORDS,
        judge_by_model_columns=JUDGE_BY_MODEL_MD,
        arena_columns=ARENA_MD,
        setup=setup_lines(summary),
        machine=machine_line(summary["machine"]),
        cards=[(m["model"], card_facts(m["provenance"])) for m in summary["models"]],
        number=number,
        percent=percent,
        alpha_scale=ALPHA_SCALE,
        charts=_charts(summary, names),
        items=items,
        methods=_methods(summary["kind"]),
        made_at=f"{moment(datetime.now(UTC))} UTC",  # 2026-12-07 18:50 UTC in English
        lang="ru" if current_language() == "ru" else "en",
        gettext=_,
        state_word=state_word,
        bold=lambda text: Markup("<strong>{}</strong>").format(text),
        code=lambda text: Markup("<code>{}</code>").format(text),
    )
