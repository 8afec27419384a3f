"""A study's report for people who were not there: one self-contained HTML file, or Markdown.

The HTML opens with no network: styles inline, the charts' plotly.js embedded once, images as
small inline thumbnails, for voices one clip per voice and sentence inline. It holds the set,
models and parameters; the study's tables; the automatic scores with their intervals; the
ranking (models whose intervals overlap share a rank); the annotators' agreement; a section
per item with its image or sentence, question, reference and every answer with its labels and
scores; and a methods section that quotes the definitions from the modules that compute each
figure (lineup.study_tables, lineup.study_scores, lineup.ranking, lineup.agreement), so the
report and the code cannot disagree. Model output is escaped (Jinja2 autoescape), never
rendered as HTML.

The Markdown file has the tables in the shapes of the photo and voice studies: relevance and
speed per model, or WER and times per voice.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from lineup.catalog import short_names
from lineup.core import OK, escape_markdown
from lineup.measure import overlap_scores
from lineup.report.tables import study_summary, study_tables
from lineup.score import Verdict, item_references, judge_figures, latest_verdicts, study_judges
from lineup.store import Generation, Label, MediaStore, Store
from lineup.study import load_plan, reference_study

THUMBNAIL_PX = 320  # the longest side of an item's image in the report


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        # Three significant digits, but never in e-notation: 999.99 is "1,000", not "1e+03".
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _markdown_cell(value: Any) -> str:
    """A table cell: a number as `_number` writes it, text (a model's name) escaped."""
    return escape_markdown(value) if isinstance(value, str) else _number(value)


def _markdown_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A GitHub-flavoured Markdown table of `rows`: (key, heading) per column."""
    lines = [
        "| " + " | ".join(heading for _, heading in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [_markdown_cell(row.get(key)) for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


RELEVANCE_MD = [
    ("model", "Model"),
    ("labeled", "Labels"),
    ("relevant", "Relevant"),
    ("partial", "Partly"),
    ("irrelevant", "Irrelevant"),
    ("pct_relevant", "% relevant"),
    ("pct_relevant_ci_low", "95% CI low"),
    ("pct_relevant_ci_high", "95% CI high"),
]
SPEED_MD = [
    ("model", "Model"),
    ("output_tokens", "Tokens"),
    ("time_s", "Time (s)"),
    ("tokens_per_time_s", "Tokens / s"),
    ("median_ttft_s", "Median TTFT (s)"),
    ("median_tokens_per_s", "Median decode tok/s"),
    ("mean_chars", "Mean length (chars)"),
    ("chars_per_s", "Chars / s"),
]
SCORES_MD = [
    ("model", "Model"),
    ("rouge1_f1", "ROUGE-1 F1"),
    ("rougeL_f1", "ROUGE-L F1"),
    ("chrf", "chrF"),
    ("judge_score", "Judge figure"),
    ("wrong_language", "Wrong language"),
    ("latin_share", "Latin share"),
    ("other_script_chars", "Other-script chars"),
    ("refusals", "Refusals"),
    ("empty", "Empty"),
]
VOICES_MD = [
    ("model", "Voice"),
    ("mean_wer", "Mean WER"),
    ("corpus_wer", "Corpus WER"),
    ("cer", "CER"),
    ("gen_s_per_sentence", "Generation s / sentence"),
    ("stt_s_per_sentence", "Transcription s / sentence"),
    ("rtf", "RTF"),
    ("peak_mem_mb", "Peak memory (MB)"),
]
RANKING_MD = [
    ("bt_rank", "Rank"),
    ("model", "Model"),
    ("bt_rating", "Rating"),
    ("bt_ci_low", "95% CI low"),
    ("bt_ci_high", "95% CI high"),
]
ARENA_MD = [
    ("arena_rank", "Rank"),
    ("model", "Model"),
    ("arena_rating", "Rating"),
    ("arena_ci_low", "95% CI low"),
    ("arena_ci_high", "95% CI high"),
    ("arena_votes", "Votes"),
]


def _ranked(models: list[dict[str, Any]], prefix: str = "bt") -> list[dict[str, Any]]:
    """The models with a rank from `prefix` (bt: the labels; arena: the pairwise votes), best
    first; a rank shared by several models is marked as a tie ("2=")."""
    rated = [m for m in models if m.get(f"{prefix}_rank") is not None]
    ranks = [m[f"{prefix}_rank"] for m in rated]
    return [
        {
            **m,
            f"{prefix}_rank": f"{m[f'{prefix}_rank']}="
            if ranks.count(m[f"{prefix}_rank"]) > 1
            else m[f"{prefix}_rank"],
        }
        for m in sorted(rated, key=lambda m: (m[f"{prefix}_rank"], -(m[f"{prefix}_rating"] or 0.0)))
    ]


def _setup_lines(summary: dict[str, Any], name: Callable[[str], str] = str) -> list[str]:
    """The reference model and the judge, as the report's header says them; their specs
    written by `name` (the Markdown report escapes them)."""
    lines = []
    reference = summary.get("reference")
    if reference:
        lines.append(
            f"Reference model (shown apart, never ranked): {name(reference['model'])}, study "
            f"{reference['study_id']} ({reference['status']}), {reference['ok']} answers, "
            f"{reference['errors']} failed. Items taking their reference from it (the set has "
            f"none for them): {reference['items_referenced']}."
        )
    judge = summary.get("judge")
    if judge:
        how = (
            "each answer beside the reference model's, in both orders; figure = candidate / "
            "reference score"
            if judge["protocol"] == "pairwise"
            else "each answer against its item's reference; figure = score / 10"
        )
        lines.append(f"Judge: {name(judge['spec'])}, protocol {judge['protocol']} ({how}).")
    return lines


def markdown_report(store: Store, study_id: int) -> str:
    """The study's tables as Markdown. Every piece of people's or models' text in it (the
    set's name, model names, the judge) is escaped (lineup.markup.escape_markdown): rendered,
    it is the text it is, never a tag, an image or a link."""
    summary = study_summary(store, study_id)
    models = summary["models"]
    parts = [
        f"# Study {summary['study_id']}: {escape_markdown(summary['set'])}",
        "",
        f"{summary['kind'].upper()} study, {summary['status']}, {summary['done']} of "
        f"{summary['total']} answers.",
        "",
        *(line for text in _setup_lines(summary, escape_markdown) for line in (text, "")),
        "## Relevance",
        "",
        _markdown_table(models, RELEVANCE_MD),
        "",
    ]
    if summary["kind"] == "tts":
        parts += ["## Voices", "", _markdown_table(models, VOICES_MD), ""]
    else:
        parts += ["## Speed", "", _markdown_table(models, SPEED_MD), ""]
        parts += ["## Automatic scores", "", _markdown_table(models, SCORES_MD), ""]
    ranked = _ranked(models)
    if ranked:
        parts += [
            "## Ranking (Bradley-Terry from the labels; overlapping intervals share a rank)",
            "",
            _markdown_table(ranked, RANKING_MD),
            "",
        ]
    arena = _ranked(models, "arena")
    if arena:
        parts += [
            "## Ranking from pairwise votes (Bradley-Terry; overlapping intervals share a rank)",
            "",
            _markdown_table(arena, ARENA_MD),
            "",
        ]
    judges = _judge_rows(store, study_id)
    if judges:
        parts += [
            "## LLM judges (figure: score / 10 against the reference answer; pairwise: candidate "
            "/ reference model, both orders averaged)",
            "",
            _markdown_table(judges, JUDGES_MD),
            "",
        ]
    agreement = summary["agreement"]
    parts += [
        "## Agreement",
        "",
        f"Krippendorff's alpha (ordinal): {_number(agreement['alpha'])} over "
        f"{agreement['n_items']} answers labeled by two or more annotators.",
        "",
    ]
    judge = agreement.get("judge")
    if judge:
        parts += [
            f"The judge {escape_markdown(judge['judge'])} against the people ({judge['n']} "
            "labels): Spearman "
            f"{_number(judge['spearman'])}, kappa {_number(judge['kappa'])}.",
            "",
        ]
    return "\n".join(parts)


# HTML ----------------------------------------------------------------------------------------


@dataclass
class _Answer:
    generation_id: int
    model: str
    repeat: int
    status: str
    text: str
    error: str | None
    audio_hash: str | None
    transcript: str | None
    wer: float | None
    labels: dict[str, int] = field(default_factory=dict)


def _answers_by_item(store: Store, study_id: int) -> dict[int, list[_Answer]]:
    """Every answer of the study by item, with the number of counted labels of each kind."""
    with store.session() as session:
        rows = session.execute(
            select(
                Generation.id,
                Generation.item_id,
                Generation.model_spec,
                Generation.repeat,
                Generation.status,
                Generation.output_text,
                Generation.error,
                Generation.audio_hash,
                Generation.transcript,
                Generation.wer,
            )
            .where(Generation.study_id == study_id)
            .order_by(Generation.item_id, Generation.position, Generation.repeat)
        ).all()
        counts = session.execute(
            select(Label.generation_id, Label.relevance, func.count())
            .join(Generation, Label.generation_id == Generation.id)
            .where(Generation.study_id == study_id, Generation.status == OK, Label.counted)
            .group_by(Label.generation_id, Label.relevance)
        ).all()
    labels: dict[int, dict[str, int]] = {}
    for gid, relevance, n in counts:
        labels.setdefault(gid, {})[relevance] = n
    by_item: dict[int, list[_Answer]] = {}
    for gid, item_id, model, repeat, status, text, error, audio, transcript, wer in rows:
        by_item.setdefault(item_id or 0, []).append(
            _Answer(
                gid,
                model,
                repeat or 0,
                status,
                text or "",
                error,
                audio,
                transcript,
                wer,
                labels.get(gid, {}),
            )
        )
    return by_item


def _overlap(answer: _Answer, reference: str | None) -> dict[str, str] | None:
    """An answer's overlap with its item's reference, as shown (lineup.overlap)."""
    if answer.status != OK or answer.audio_hash is not None:  # a clip is scored by its WER
        return None
    scores = overlap_scores(answer.text, reference)
    if scores is None:
        return None
    return {
        "rouge1": _number(scores.rouge1_f1),
        "rouge_l": _number(scores.rouge_l_f1),
        "chrf": _number(scores.chrf),
    }


JUDGES_MD = [
    ("judge", "Judge"),
    ("protocol", "Protocol"),
    ("model", "Model"),
    ("judge_score", "Figure"),
    ("judge_score_ci_low", "95% CI low"),
    ("judge_score_ci_high", "95% CI high"),
    ("judged", "Scored"),
    ("judge_failures", "Failures"),
]


def _judge_rows(store: Store, study_id: int) -> list[dict[str, Any]]:
    """Per judge and protocol that ran on the study (the latest first), each model's figure
    with its interval, the answers scored and the failures (lineup.judge.judge_figures)."""
    return [
        {"judge": judge.spec, "protocol": judge.protocol, "model": model, **figures}
        for judge in study_judges(store, study_id)
        for model, figures in judge_figures(store, study_id, judge.spec, judge.protocol).items()
    ]


def _judge_verdicts(store: Store, study_id: int) -> dict[int, list[str]]:
    """Per answer, the verdict of every judge that ran (the latest first): its score and
    reasons, or why it has none; each named by its protocol when more than one ran."""
    judges = study_judges(store, study_id)
    found: dict[int, list[str]] = {}
    for judge in judges:
        name = f"{judge.protocol}: " if len(judges) > 1 else ""
        for generation_id, verdict in latest_verdicts(
            store, study_id, judge.spec, judge.protocol
        ).items():
            found.setdefault(generation_id, []).append(name + _verdict_text(verdict))
    return found


def _verdict_text(verdict: Verdict) -> str:
    if verdict.score is None:
        return f"no score ({verdict.error})"
    if verdict.reference_score is None:
        return f"{verdict.score:g}/10 — {verdict.reasons}"
    return (
        f"{verdict.score:g}/10 against the reference model's {verdict.reference_score:g}/10 "
        f"(figure {verdict.figure:.2f}) — {verdict.reasons}"
    )


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
    return {
        "type": "data",
        "symmetric": False,
        "array": [row[high] - row[figure] for row in rows],
        "arrayminus": [row[figure] - row[low] for row in rows],
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
                hovertemplate="%{hovertext}: %{x:.0f}% relevant<extra></extra>",
                orientation="h",
                error_x=_interval_bars(models, "pct_relevant"),
            )
        )
        bars.update_layout(
            title="% relevant (error bars: 95% Wilson interval)",
            xaxis={"range": [0, 100], "title": "% relevant"},
            yaxis=names_axis,
            height=120 + 40 * len(models),
            margin={"l": 10, "r": 10, "t": 50, "b": 40},
        )
        figures.append(bars)
    ranked = _ranked(summary["models"])
    if ranked:
        ratings = go.Figure(
            go.Scatter(
                x=[m["bt_rating"] for m in ranked],
                y=[names[m["model"]] for m in ranked],
                hovertext=[m["model"] for m in ranked],
                hovertemplate="%{hovertext}: rating %{x:.0f}<extra></extra>",
                mode="markers",
                error_x=_interval_bars(ranked, "bt_rating", "bt_ci"),
            )
        )
        ratings.update_layout(
            title="Bradley-Terry rating (95% bootstrap interval)",
            height=120 + 40 * len(ranked),
            yaxis=names_axis,
            margin={"l": 10, "r": 10, "t": 50, "b": 40},
        )
        figures.append(ratings)
    return [
        figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            config={"displaylogo": False, "responsive": True},
        )
        for index, figure in enumerate(figures)
    ]


def _methods() -> list[tuple[str, str]]:
    """The definitions of every figure, from the modules that compute them."""
    from lineup.measure import DEFINITIONS as FIGURES
    from lineup.report import tables as study_tables
    from lineup.score import DEFINITIONS as SCORES
    from lineup.study import DEFINITIONS as STUDIES

    return [
        ("Tables", study_tables.__doc__ or ""),
        ("Reference answers", SCORES["Reference answers"]),
        ("Automatic scores", SCORES["Automatic scores"]),
        ("The LLM judge", SCORES["The LLM judge"]),
        ("Ranking", FIGURES["Ranking"]),
        ("Pairwise votes", STUDIES["Pairwise votes"]),
        ("Agreement", SCORES["Agreement"]),
    ]


Cell = tuple[str, str | None]  # a table cell's text and its tooltip


def _frame_rows(frame: pd.DataFrame, names: dict[str, str]) -> tuple[list[Cell], list[list[Cell]]]:
    """A study table's headers and rows as cells; a model's spec, in a cell or as a column's
    heading (the per-item grid has one column per model), shows its short name with the spec
    as the tooltip."""

    def cell(value: Any) -> Cell:
        if isinstance(value, str) and value in names:
            return names[value], value
        return _number(value), None

    return [cell(str(c)) for c in frame.columns], [
        [cell(v) for v in row] for row in frame.itertuples(index=False)
    ]


def html_report(store: Store, media: MediaStore, study_id: int) -> str:
    """The whole report as one HTML document (see the module docstring)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    summary = study_summary(store, study_id)
    tables = study_tables(store, study_id)
    plan = load_plan(store, study_id)
    answers = _answers_by_item(store, study_id)
    verdicts = _judge_verdicts(store, study_id)
    references = item_references(store, study_id, plan.study.set_id)
    reference_study_ = reference_study(store, study_id)
    reference_answers = (
        _answers_by_item(store, reference_study_.id) if reference_study_ is not None else {}
    )
    items = []
    for item in plan.items:
        item_answers = answers.get(item.item_id, [])
        reference = references.get(item.item_id)
        theirs = reference_answers.get(item.item_id, [])
        items.append(
            {
                "number": item.position + 1,
                "text": item.text,
                "reference": reference.text if reference else None,
                "reference_source": reference.source if reference else None,
                "reference_answer": theirs[0] if theirs else None,
                "language": item.language,
                "tags": item.tags,
                "image": _thumbnail(media, item.image_hash),
                "answers": [
                    {
                        "model": a.model,
                        "repeat": a.repeat + 1,
                        "status": a.status,
                        "text": a.text,
                        "error": a.error,
                        "transcript": a.transcript,
                        "wer": _number(a.wer),
                        # One clip per voice and sentence: the first repeat's.
                        "clip": _clip(media, a.audio_hash) if a.repeat == 0 else None,
                        "labels": ", ".join(f"{k} {n}" for k, n in sorted(a.labels.items())),
                        "overlap": _overlap(a, reference.text if reference else None),
                        "judge": verdicts.get(a.generation_id),
                    }
                    for a in item_answers
                ],
            }
        )
    environment = Environment(
        loader=PackageLoader("lineup.report", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    study = tables.study
    judges = _judge_rows(store, study_id)
    names = short_names(
        [
            *study.models,
            *(a.model for group in reference_answers.values() for a in group),
            *(j["judge"] for j in judges),
        ]
    )
    return environment.get_template("study_report.html").render(
        summary=summary,
        study=study,
        params=sorted(study.params.items()),
        tables=[(name, *_frame_rows(frame, names)) for name, frame in tables.tables().items()],
        names=names,
        columns={
            "relevance": RELEVANCE_MD,
            "scores": SCORES_MD if summary["kind"] != "tts" else [],
            "ranking": RANKING_MD,
        },
        ranked=_ranked(summary["models"]),
        arena=_ranked(summary["models"], "arena"),
        judges=judges,
        judges_columns=JUDGES_MD,
        arena_columns=ARENA_MD,
        setup=_setup_lines(summary),
        number=_number,
        charts=_charts(summary, names),
        items=items,
        methods=_methods(),
        made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(
    store: Store, media: MediaStore, study_id: int, fmt: str, path: Path
) -> list[Path]:
    """Write the report as `fmt` (html, md or xlsx) at `path` (written whole, then moved into
    place); the files written."""
    if fmt == "xlsx":
        from lineup.report.workbook import write_workbook

        return [write_workbook(store, study_id, path)]
    text = (
        html_report(store, media, study_id) if fmt == "html" else markdown_report(store, study_id)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return [path]
