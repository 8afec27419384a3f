"""The tables of one study: relevance, speed, answers per item, repeats, voices and transcripts.

Definitions (one place for each; the figures shared with the leaderboards are computed by
lineup.measure.figures and lineup.measure.voices):

- answers (`requests` in study_summary): the study's generations of the model, in any state.
  ok: those with status `ok`; errors: those in every final state but `ok`
  (lineup.measure.figures.failure_counts, `failed`). Only `ok` answers count for any figure below.
- Labels: the counted labels (Label.counted: each annotator's latest on an `ok` answer) on
  the study's answers; with `annotator` given, only that annotator's.
- relevance table: requests = the counted labels on the model's answers (`labeled` in
  study_summary); relevant, partial, irrelevant, pct_relevant (lineup.measure.figures.label_figures)
  and its 95% item-bootstrap interval (pct_relevant_ci_method "item-bootstrap":
  lineup.score.item_intervals, the items resampled with all their answers and labels, since
  labels of one item are not independent; no interval below 5 labeled items or at zero width,
  pct_relevant_ci_reason saying why); relevance = the mean relevance score (the mean over the
  model's labeled items of its item score, the per-item grid's cell: relevant 1, partial 0.5,
  irrelevant 0) with its item-bootstrap interval (relevance_ci_low, relevance_ci_high,
  relevance_ci_method, relevance_ci_reason, as for pct_relevant); labeled_answers = the `ok`
  answers with at least one.
  Rows best first as the leaderboard ranks them (lineup.measure.figures.relevance_order: the lower
  end of the 95% interval of pct_relevant, then pct_relevant; models without an interval
  after those with one, by pct_relevant; unlabeled models last); ties keep the study's model
  order.
- speed table, over the model's `ok` answers; every speed figure over the warm ones only (not
  known to be cold: lineup.measure.timing.cold_start), the cold ones apart:
  - output_tokens, time_s: the sums of output tokens and of total_s over the warm answers
    that have both (an answer whose server reported no token count would add time without
    tokens); tokens_per_time_s = output_tokens / time_s, the study's own speed: total tokens
    over total time, so long answers weigh more than in a median. None without tokens or time.
  - median_ttft_s, median_total_s: medians over the warm answers that have both figures, as
    in the leaderboard (lineup.measure.figures.TIMED: over the same rows the two cannot
    cross); median_tokens_per_s: the median of the decode rates the warm answers have.
  - mean_chars: the mean length of the answers in characters (not bytes; an answer with no
    text has 0); chars_per_s: the characters of the warm answers that have a total_s over the
    sum of their total_s.
  - cold_answers and cold_median_ttft_s, cold_median_total_s, cold_median_tokens_per_s: the
    cold answers apart (lineup.measure.figures.cold_figures).
  - median_energy_j: the median energy of the warm answers that have one, the whole device's
    over each answer's time (lineup.measure.energy), with energy_source; gpu_mem_mb: the
    largest GPU memory in use at an answer (in-process engines with an NVIDIA GPU). None: n/a.
- per-item grid: one row per item (item_id, position, text, reference), one column per model
  holding the score of its counted labels on that item over every repeat: the mean of
  relevant = 1, partial = 0.5, irrelevant = 0 (the share of relevant, a partial counting
  half); None when none of its answers there is labeled. Beside it, per (item, model), the
  ids of its generations in repeat order, so a page can show the answers behind a cell.
- repeats table, per model: items_repeated = items with two or more `ok` answers;
  identical_repeats = those of them whose answers all have exactly the same text;
  mean_length_spread = the mean over items_repeated of the sample standard deviation
  (ddof=1) of the answers' lengths in characters; mean_time_spread = the same for total_s
  over the items with two or more `ok` answers that have one; identical_share =
  identical_repeats / items_repeated; mean_repeat_rougeL = the mean over items_repeated of
  the mean ROUGE-L F1 between each two of the item's answers (lineup.measure.overlap's
  repeat_stability, mean_pair_rouge_l). None over no item.
- voices table (kind `tts`), per voice: clips = answers; ok; scored, mean_wer, wer_std,
  corpus_wer and cer (the mean per-clip CER) as the TTS leaderboard defines them
  (lineup.measure.voices.wer_figures, from sums the database makes over the study's clips);
  mean_wer and cer each with its 95% item-bootstrap interval (`pooled`: each clip weighs the
  same, the sentences resampled with all their clips; mean_wer_ci_method "item-bootstrap",
  mean_wer_ci_reason when there is none; the same keys for cer);
  gen_s_per_sentence = the mean gen_s over warm `ok` clips that have one; stt_s_per_sentence =
  the mean transcription seconds over `ok` clips that have them; rtf = the median real-time
  factor over warm `ok` clips that have one (warm: not known to be cold; cold_answers counts
  the others); peak_mem_mb = the largest per-clip peak; median_energy_j, energy_source and
  gpu_mem_mb as in the speed table.
- transcripts: one row per (sentence, repeat), one column per voice holding the transcript of
  its `ok` clip (None for a clip in another state or not made).
- items (study_summary): the study's items; items_with_reference (VLM studies; None for
  voices): those of them with a reference answer now (lineup.score.references: the set's, else the
  reference model's), whether or not any answer to them is complete yet.

The database aggregates (GROUP BY model over the study's rows, reading only the columns a
figure needs); the grid, the repeats and the medians are computed here from one row per
answer, which they need anyway.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from lineup.core import OK
from lineup.measure import (
    COLD_FIGURES,
    RATED,
    TIMED,
    ItemBootstrap,
    ScoredClips,
    cold_figures,
    contention_note,
    failure_counts,
    interval_fields,
    item_score,
    label_figures,
    median_or_none,
    relevance_order,
    repeat_stability,
    wer_figures,
)
from lineup.report.answers import Answer
from lineup.store import Generation, Label, Store, wer_sums
from lineup.study import StudyInfo, StudyItem, counted_labels, study_answers

if TYPE_CHECKING:
    from lineup.report.result import StudyResult


def _with_interval(name: str) -> tuple[str, ...]:
    """A figure's key and its interval's (lineup.measure.interval_fields)."""
    return (name, *(f"{name}_ci_{part}" for part in ("low", "high", "method", "reason")))


# The figures of lineup.measure.figures.label_figures that the tables show under their own names,
# the interval of pct_relevant replaced by its item bootstrap (with its method, and the reason
# when there is none), then the mean relevance score with its item-bootstrap interval.
LABEL_FIGURES = (
    "relevant",
    "partial",
    "irrelevant",
    *_with_interval("pct_relevant"),
    *_with_interval("relevance"),
)
RELEVANCE_COLUMNS = [
    "model",
    "requests",
    *LABEL_FIGURES,
    "answers",
    "ok",
    "errors",
    "labeled_answers",
]
# lineup.measure.contention: the most other requests in flight on the host over the model's
# `ok` answers, and how many of them ran alone (NULL figures, from before they were counted,
# are in neither).
CONTENTION_COLUMNS = ["concurrent_min", "concurrent_max", "answers_alone"]
SPEED_COLUMNS = [
    "model",
    "ok",
    "output_tokens",
    "time_s",
    "tokens_per_time_s",
    "median_ttft_s",
    "median_total_s",
    "median_tokens_per_s",
    "mean_chars",
    "chars_per_s",
    *CONTENTION_COLUMNS,
    "cold_answers",
    "cold_median_ttft_s",
    "cold_median_total_s",
    "cold_median_tokens_per_s",
    "median_energy_j",
    "energy_source",
    "gpu_mem_mb",
]
ITEM_COLUMNS = ["item_id", "position", "text", "reference"]
REPEAT_COLUMNS = [
    "model",
    "items_repeated",
    "identical_repeats",
    "identical_share",
    "mean_repeat_rougeL",
    "mean_length_spread",
    "mean_time_spread",
]
VOICE_COLUMNS = [
    "model",
    "clips",
    "ok",
    "scored",
    *_with_interval("mean_wer"),
    "wer_std",
    "corpus_wer",
    *_with_interval("cer"),
    "gen_s_per_sentence",
    "stt_s_per_sentence",
    "rtf",
    "peak_mem_mb",
    *CONTENTION_COLUMNS,
    "cold_answers",
    "median_energy_j",
    "energy_source",
    "gpu_mem_mb",
]
TRANSCRIPT_COLUMNS = ["item_id", "position", "text", "repeat"]


@dataclass(frozen=True)
class StudyTables:
    """Every table of one study (see the module docstring). The tables of the other kind are
    empty frames with their columns: speed and repeats for voices, voices and transcripts for
    VLM studies."""

    study: StudyInfo
    annotator: str | None  # whose labels count; None for every annotator's
    relevance: pd.DataFrame
    speed: pd.DataFrame
    per_item: pd.DataFrame
    # Per (item_id, model): the ids of its answers (generations) in repeat order.
    per_item_ids: dict[tuple[int, str], tuple[int, ...]]
    repeats: pd.DataFrame
    voices: pd.DataFrame
    transcripts: pd.DataFrame

    def contention_note(self, names: Mapping[str, str] | None = None) -> str | None:
        """The speed table's badge (lineup.measure.contention), each model by its name in
        `names` when given: None when its models' figures were measured under the same
        contention."""
        frame = self.voices if self.study.kind == "tts" else self.speed
        names = names or {}
        return contention_note(
            [
                (
                    names.get(str(row["model"]), str(row["model"])),
                    _count(row["concurrent_min"]),
                    _count(row["concurrent_max"]),
                )
                for _, row in frame.iterrows()
            ]
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the study's kind, by name, in the order an export writes them."""
        if self.study.kind == "tts":
            return {
                "relevance": self.relevance,
                "voices": self.voices,
                "per_item": self.per_item,
                "transcripts": self.transcripts,
            }
        return {
            "relevance": self.relevance,
            "speed": self.speed,
            "per_item": self.per_item,
            "repeats": self.repeats,
        }


def _models(info: StudyInfo, found: Iterable[str]) -> list[str]:
    """The study's models in its order, then any other spec its rows hold (none normally)."""
    return [*info.models, *sorted(set(found) - set(info.models))]


def _chars() -> ColumnElement[int]:
    """An answer's length in characters (SQLite's and PostgreSQL's length() count characters
    of text); an answer with no text has 0."""
    return func.length(func.coalesce(Generation.output_text, ""))


def relevance_rows(
    store: Store,
    info: StudyInfo,
    annotator: str | None,
    states: Mapping[str, Mapping[str, int]],
    bootstraps: Mapping[str, ItemBootstrap],
) -> list[dict[str, Any]]:
    """The relevance table's rows; `bootstraps`: the item bootstraps of the same labels
    (lineup.score's study_label_bootstraps with the same annotator)."""
    counts: dict[str, dict[str, int]] = {}
    labeled: dict[str, int] = {}
    with store.session() as session:
        for model, relevance, n in session.execute(
            counted_labels(
                info.id, Generation.model_spec, Label.relevance, func.count(), annotator=annotator
            ).group_by(Generation.model_spec, Label.relevance)
        ):
            counts.setdefault(model, {})[relevance] = int(n)
        for model, n in session.execute(
            counted_labels(
                info.id,
                Generation.model_spec,
                func.count(func.distinct(Label.generation_id)),
                annotator=annotator,
            ).group_by(Generation.model_spec)
        ):
            labeled[model] = int(n)
    intervals = bootstraps["pct_relevant"].intervals()
    scores = bootstraps["relevance"].intervals()
    rows = []
    for model in _models(info, [*states, *counts]):
        figures = label_figures(counts.get(model, {}))
        score = scores.get(model)
        figures |= interval_fields("pct_relevant", intervals.get(model), "no label")
        figures |= {
            "relevance": None if score is None else score.value,
            **interval_fields("relevance", score, "no label"),
        }
        model_states = states.get(model, {})
        rows.append(
            {
                "model": model,
                "requests": figures["labels"],
                **{key: figures[key] for key in LABEL_FIGURES},
                "answers": sum(model_states.values()),
                "ok": model_states.get(OK, 0),
                "errors": failure_counts(model_states)["failed"],
                "labeled_answers": labeled.get(model, 0),
            }
        )
    # A stable sort: equal figures (and unlabeled models, last) keep the study's order.
    rows.sort(key=lambda row: (row["pct_relevant"] is None, *relevance_order(row)))
    return rows


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _hardware(answers: Sequence[Answer]) -> dict[str, Any]:
    """median_energy_j over the warm answers that have one, its source(s), the largest
    gpu_mem_mb: None where the machine had no counter."""
    warm = [a for a in answers if a.cold is not True]
    sources = sorted({a.energy_source for a in answers if a.energy_source})
    memory = [a.gpu_mem_mb for a in answers if a.gpu_mem_mb is not None]
    return {
        "median_energy_j": median_or_none(a.energy_j for a in warm),
        "energy_source": ", ".join(sources) or None,
        "gpu_mem_mb": max(memory) if memory else None,
    }


def speed_rows(store: Store, info: StudyInfo, answers: Sequence[Answer]) -> list[dict[str, Any]]:
    not_cold = Generation.cold.is_not(True)
    both = and_(Generation.output_tokens.is_not(None), Generation.total_s.is_not(None), not_cold)
    timed = and_(Generation.total_s.is_not(None), not_cold)
    sums: dict[str, tuple[Any, ...]] = {}
    with store.session() as session:
        for model, *values in session.execute(
            study_answers(
                info.id,
                Generation.model_spec,
                func.count(),
                func.sum(case((both, Generation.output_tokens))),
                func.sum(case((both, Generation.total_s))),
                func.sum(_chars()),
                func.sum(case((timed, _chars()))),
                func.sum(case((timed, Generation.total_s))),
                *_contention(),
                complete=True,
            ).group_by(Generation.model_spec)
        ):
            sums[model] = tuple(values)
    ok_answers: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.status == OK:
            ok_answers.setdefault(answer.model, []).append(answer)
    rows = []
    for model in _models(info, sums):
        n, tokens, tokens_time_s, chars, timed_chars, timed_s, *contention = sums.get(
            model, (0, None, None, None, None, None, None, None, None)
        )
        mine = ok_answers.get(model, [])
        warm = [a for a in mine if a.cold is not True]
        timed_rows = [a for a in warm if all(getattr(a, c) is not None for c in TIMED)]
        rated_rows = [a for a in warm if all(getattr(a, c) is not None for c in RATED)]
        cold_rows = [
            tuple(getattr(a, c) for c in COLD_FIGURES["vlm"]) for a in mine if a.cold is True
        ]
        rows.append(
            {
                "model": model,
                "ok": int(n),
                "output_tokens": None if tokens is None else int(tokens),
                "time_s": None if tokens_time_s is None else float(tokens_time_s),
                "tokens_per_time_s": _ratio(tokens, tokens_time_s),
                "median_ttft_s": median_or_none(a.ttft_s for a in timed_rows),
                "median_total_s": median_or_none(a.total_s for a in timed_rows),
                "median_tokens_per_s": median_or_none(a.tokens_per_s for a in rated_rows),
                "mean_chars": _ratio(chars, n),
                "chars_per_s": _ratio(timed_chars, timed_s),
                **_contention_fields(*contention),
                **cold_figures("vlm", cold_rows),
                **_hardware(mine),
            }
        )
    return rows


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _contention() -> tuple[ColumnElement[Any], ...]:
    """The aggregates of CONTENTION_COLUMNS, over the rows of a GROUP BY."""
    return (
        func.min(Generation.concurrent_max),
        func.max(Generation.concurrent_max),
        func.sum(case((Generation.concurrent_max == 0, 1), else_=0)),
    )


def _contention_fields(fewest: Any, most: Any, alone: Any) -> dict[str, int | None]:
    return {
        "concurrent_min": None if fewest is None else int(fewest),
        "concurrent_max": None if most is None else int(most),
        "answers_alone": int(alone or 0),
    }


def _mean_spread(groups: Iterable[Sequence[float]]) -> float | None:
    """The mean over groups of two or more values of their sample standard deviation."""
    spreads = [statistics.stdev(values) for values in groups if len(values) >= 2]
    return statistics.fmean(spreads) if spreads else None


def repeat_rows(store: Store, info: StudyInfo, answers: Sequence[Answer]) -> list[dict[str, Any]]:
    identical: dict[str, int] = {}
    texts_of: dict[str, dict[int, list[tuple[str, float | None]]]] = {}
    for answer in sorted((a for a in answers if a.status == OK), key=lambda a: a.id):
        texts_of.setdefault(answer.model, {}).setdefault(answer.item_id, []).append(
            (answer.text, None)
        )
    with store.session() as session:
        for model, n, texts in session.execute(
            study_answers(
                info.id,
                Generation.model_spec,
                func.count(),
                func.count(func.distinct(func.coalesce(Generation.output_text, ""))),
                complete=True,
            ).group_by(Generation.model_spec, Generation.item_id)
        ):
            identical[model] = identical.get(model, 0) + (n >= 2 and texts == 1)
    lengths: dict[str, dict[int, list[float]]] = {}
    times: dict[str, dict[int, list[float]]] = {}
    for answer in answers:
        if answer.status != OK:
            continue
        lengths.setdefault(answer.model, {}).setdefault(answer.item_id, []).append(answer.chars)
        if answer.total_s is not None:
            times.setdefault(answer.model, {}).setdefault(answer.item_id, []).append(answer.total_s)
    stability = {model: repeat_stability(by_item.values()) for model, by_item in texts_of.items()}
    return [
        {
            "model": model,
            "items_repeated": sum(len(values) >= 2 for values in lengths.get(model, {}).values()),
            "identical_repeats": identical.get(model, 0),
            "identical_share": stability[model].identical_share if model in stability else None,
            "mean_repeat_rougeL": (
                stability[model].mean_pair_rouge_l if model in stability else None
            ),
            "mean_length_spread": _mean_spread(lengths.get(model, {}).values()),
            "mean_time_spread": _mean_spread(times.get(model, {}).values()),
        }
        for model in _models(info, lengths)
    ]


def _per_item(
    store: Store,
    info: StudyInfo,
    items: Sequence[StudyItem],
    answers: Sequence[Answer],
    annotator: str | None,
) -> tuple[pd.DataFrame, dict[tuple[int, str], tuple[int, ...]]]:
    # Per cell, per labeled answer, its counted labels of each relevance.
    counts: dict[tuple[int, str], dict[int, dict[str, int]]] = {}
    with store.session() as session:
        for item_id, model, gid, relevance, n in session.execute(
            counted_labels(
                info.id,
                Generation.item_id,
                Generation.model_spec,
                Generation.id,
                Label.relevance,
                func.count(),
                annotator=annotator,
            ).group_by(Generation.item_id, Generation.model_spec, Generation.id, Label.relevance)
        ):
            cell = counts.setdefault((int(item_id or 0), model), {})
            cell.setdefault(int(gid), {})[relevance] = int(n)
    ids: dict[tuple[int, str], tuple[int, ...]] = {}
    for answer in answers:  # in repeat order
        key = (answer.item_id, answer.model)
        ids[key] = (*ids.get(key, ()), answer.id)
    models = _models(info, [model for _, model in ids])
    rows = []
    for item in items:
        cells: list[float | None] = []
        for model in models:
            cells.append(item_score(counts.get((item.item_id, model), {}).values()))
        rows.append([item.item_id, item.position, item.text, item.reference, *cells])
    return pd.DataFrame(rows, columns=[*ITEM_COLUMNS, *models]), ids


def _scored_sums(store: Store, study_id: int) -> dict[str, ScoredClips]:
    """Per voice, the sums over the study's scored clips (`ok`, with a WER and a transcript)
    that lineup.measure.voices.wer_figures turns into figures."""
    sums: dict[str, ScoredClips] = {}
    with store.session() as session:
        for model, *values in session.execute(
            select(Generation.model_spec, *wer_sums())
            .where(
                Generation.study_id == study_id,
                Generation.status == OK,
                Generation.wer.is_not(None),
                Generation.transcript.is_not(None),
            )
            .group_by(Generation.model_spec)
        ):
            sums[model] = ScoredClips.from_sums(*values)
    return sums


def voice_rows(
    store: Store,
    info: StudyInfo,
    answers: Sequence[Answer],
    states: Mapping[str, Mapping[str, int]],
    bootstraps: Mapping[str, ItemBootstrap],
) -> list[dict[str, Any]]:
    """The voices table's rows; `bootstraps`: the item bootstraps of mean_wer and cer over
    the same clips (StudyResult.voice_bootstraps)."""
    wer_intervals = bootstraps["mean_wer"].intervals()
    cer_intervals = bootstraps["cer"].intervals()
    clips: dict[str, tuple[Any, ...]] = {}
    with store.session() as session:
        for model, *values in session.execute(
            study_answers(
                info.id,
                Generation.model_spec,
                func.avg(case((Generation.cold.is_not(True), Generation.gen_s))),
                func.avg(Generation.stt_s),
                func.max(Generation.peak_mem_mb),
                *_contention(),
                complete=True,
            ).group_by(Generation.model_spec)
        ):
            clips[model] = tuple(values)
    scored = _scored_sums(store, info.id)
    empty = ScoredClips.from_sums(0, None, None, 0, None, None, None)
    ok_clips: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.status == OK:
            ok_clips.setdefault(answer.model, []).append(answer)
    rows = []
    for model in _models(info, states):
        gen_s, stt_s, peak_mem_mb, *contention = clips.get(model, (None,) * 6)
        figures = wer_figures(scored.get(model, empty))
        model_states = states.get(model, {})
        rows.append(
            {
                "model": model,
                "clips": sum(model_states.values()),
                "ok": model_states.get(OK, 0),
                "scored": figures["scored"],
                "mean_wer": figures["mean_wer"],
                **interval_fields("mean_wer", wer_intervals.get(model), "no scored clip"),
                "wer_std": figures["wer_std"],
                "corpus_wer": figures["corpus_wer"],
                "cer": figures["mean_cer"],
                **interval_fields("cer", cer_intervals.get(model), "no clip with a CER"),
                "gen_s_per_sentence": None if gen_s is None else float(gen_s),
                "stt_s_per_sentence": None if stt_s is None else float(stt_s),
                "rtf": median_or_none(a.rtf for a in ok_clips.get(model, []) if a.cold is not True),
                "peak_mem_mb": None if peak_mem_mb is None else float(peak_mem_mb),
                **_contention_fields(*contention),
                "cold_answers": sum(a.cold is True for a in ok_clips.get(model, [])),
                **_hardware(ok_clips.get(model, [])),
            }
        )
    return rows


def transcripts(
    info: StudyInfo, items: Sequence[StudyItem], answers: Sequence[Answer]
) -> pd.DataFrame:
    said = {(a.item_id, a.repeat, a.model): a.transcript for a in answers if a.status == OK}
    models = _models(info, [a.model for a in answers])
    rows = [
        [
            item.item_id,
            item.position,
            item.text,
            repeat,
            *(said.get((item.item_id, repeat, model)) for model in models),
        ]
        for item in items
        for repeat in range(info.repeats)
    ]
    return pd.DataFrame(rows, columns=[*TRANSCRIPT_COLUMNS, *models])


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def build_tables(result: StudyResult, annotator: str | None) -> StudyTables:
    """Every table of the study from its result, counting only `annotator`'s labels when one
    is given."""
    info, items = result.study, result.plan.items
    per_item, ids = _per_item(result.store, info, items, result.answers, annotator)
    vlm = info.kind != "tts"
    return StudyTables(
        study=info,
        annotator=annotator,
        relevance=_frame(result.relevance_rows(annotator), RELEVANCE_COLUMNS),
        speed=_frame(result.speed_rows, SPEED_COLUMNS),
        per_item=per_item,
        per_item_ids=ids,
        repeats=_frame(result.repeat_rows, REPEAT_COLUMNS),
        voices=_frame(result.voice_rows, VOICE_COLUMNS),
        transcripts=transcripts(info, items, result.answers)
        if not vlm
        else _frame([], TRANSCRIPT_COLUMNS),
    )
