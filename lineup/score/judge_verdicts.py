"""What the LLM judge's verdicts say: the study's judges, the latest verdict on each answer,
each model's figure with its interval (definitions: lineup.score.judge; the judge's scores
beside people's labels: lineup.score.judge_reliability's judge_labels)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select

from lineup.core import OK, InputError, _
from lineup.measure import (
    ITEM_RESAMPLES,
    ItemBootstrap,
    Observation,
    bootstrap_by_item,
    interval_fields,
)
from lineup.score.judge_prompt import (
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    PROTOCOL_REFERENCE,
    SCORE_MAX,
)
from lineup.store import JUDGE_ASKING, JUDGE_SCORED, Generation, JudgeScore, Store
from lineup.study import study_info

# Figures --------------------------------------------------------------------------------------

FIGURE_KEYS = (
    "judge_score",
    "judge_score_ci_low",
    "judge_score_ci_high",
    "judge_score_ci_method",
    "judge_score_ci_reason",
    "judged",
    "judge_failures",
)


class StudyJudge(NamedTuple):
    spec: str
    protocol: str


def latest_judge(store: Store, study_id: int) -> StudyJudge | None:
    """The judge and protocol of the study's most recent finished verdict (the ones `study
    show` reports), or None when no judge ran."""
    with store.session() as session:
        row = session.execute(
            select(JudgeScore.judge_spec, JudgeScore.protocol)
            .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
            .order_by(JudgeScore.id.desc())
            .limit(1)
        ).first()
    return None if row is None else StudyJudge(row[0], row[1])


def study_judges(store: Store, study_id: int) -> list[StudyJudge]:
    """Every judge and protocol with a finished verdict on the study, the latest first."""
    with store.session() as session:
        rows = session.execute(
            select(JudgeScore.judge_spec, JudgeScore.protocol, func.max(JudgeScore.id))
            .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
            .group_by(JudgeScore.judge_spec, JudgeScore.protocol)
            .order_by(func.max(JudgeScore.id).desc())
        ).all()
    return [StudyJudge(spec, protocol) for spec, protocol, _ in rows]


@dataclass(frozen=True)
class JudgeSetting:
    """A judge that scored the study, as its latest finished verdict asked it (the limits of
    verdicts from before they were kept: the defaults)."""

    spec: str
    protocol: str
    max_tokens: int
    timeout_s: float


def judge_settings(store: Store, study_id: int) -> list[JudgeSetting]:
    """Every judge and protocol with a finished verdict on the study, the latest first, with
    the token limit and timeout of its latest verdict."""
    latest = (
        select(func.max(JudgeScore.id))
        .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
        .group_by(JudgeScore.judge_spec, JudgeScore.protocol)
    )
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.judge_spec,
                JudgeScore.protocol,
                JudgeScore.max_tokens,
                JudgeScore.timeout_s,
            )
            .where(JudgeScore.id.in_(latest))
            .order_by(JudgeScore.id.desc())
        ).all()
    return [
        JudgeSetting(
            spec,
            protocol,
            JUDGE_MAX_TOKENS if max_tokens is None else max_tokens,
            JUDGE_TIMEOUT_S if timeout_s is None else timeout_s,
        )
        for spec, protocol, max_tokens, timeout_s in rows
    ]


@dataclass(frozen=True)
class Verdict:
    """The judge's latest finished verdict on one answer (for `pairwise`, both orders)."""

    model: str
    status: str  # scored, unparsed or failed
    score: float | None  # 1-10; pairwise: the candidate's mean over the two orders
    reasons: str | None
    error: str | None
    figure: float | None = None  # see the module's definitions
    reference_score: float | None = None  # pairwise: the reference's mean over the two orders
    item: int | None = None  # the answer's item (the item bootstrap resamples items)
    # Pairwise, scored: (candidate's score, reference's score) with the candidate shown first
    # (position 1), then with the reference shown first (position 2).
    orders: tuple[tuple[float, float], tuple[float, float]] | None = None
    # The error's template and values (judge_scores.error_said): said in a page's or a
    # report's language; None for an old row.
    error_said: dict[str, Any] | None = None


def latest_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[int, Verdict]:
    """Per current complete answer of the study (by generation id), the judge's latest
    finished verdict under `protocol` (greatest id: after a template edit, the new one). A
    pairwise verdict needs both orders finished; until then the answer has none."""
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.generation_id,
                JudgeScore.position,
                Generation.model_spec,
                Generation.item_id,
                JudgeScore.status,
                JudgeScore.score,
                JudgeScore.reference_score,
                JudgeScore.reasons,
                JudgeScore.error,
                JudgeScore.error_said,
            )
            .join(Generation, JudgeScore.generation_id == Generation.id)
            .where(
                Generation.study_id == study_id,
                Generation.status == OK,
                JudgeScore.judge_spec == judge_spec,
                JudgeScore.protocol == protocol,
                JudgeScore.status != JUDGE_ASKING,
            )
            .order_by(JudgeScore.id)
        ).all()
    # Rows come oldest first, so each (answer, position) keeps its latest verdict.
    latest = {(row.generation_id, row.position): row for row in rows}
    if protocol == PROTOCOL_REFERENCE:
        return {
            gid: Verdict(
                row.model_spec,
                row.status,
                row.score,
                row.reasons,
                row.error,
                figure=None if row.score is None else row.score / SCORE_MAX,
                item=row.item_id,
                error_said=row.error_said,
            )
            for (gid, _), row in latest.items()
        }
    verdicts: dict[int, Verdict] = {}
    for gid in {gid for gid, _round in latest}:
        first, second = latest.get((gid, 1)), latest.get((gid, 2))
        if first is None or second is None:
            continue
        failed = next((r for r in (first, second) if r.status != JUDGE_SCORED), None)
        if failed is not None:
            verdicts[gid] = Verdict(
                failed.model_spec,
                failed.status,
                None,
                None,
                failed.error,
                item=failed.item_id,
                error_said=failed.error_said,
            )
            continue
        mine = [float(first.score), float(second.score)]
        theirs = [float(first.reference_score), float(second.reference_score)]
        verdicts[gid] = Verdict(
            first.model_spec,
            JUDGE_SCORED,
            sum(mine) / 2,
            f"Shown first: {first.reasons or '-'}\nShown second: {second.reasons or '-'}",
            None,
            figure=pairwise_figure(mine, theirs),
            reference_score=sum(theirs) / 2,
            item=first.item_id,
            orders=((mine[0], theirs[0]), (mine[1], theirs[1])),
        )
    return verdicts


def pairwise_figure(mine: Sequence[float], theirs: Sequence[float]) -> float:
    """An answer's pairwise figure (lineup.score.judge's definitions): the candidate's scores
    summed over both orders over the reference's summed over both orders."""
    return sum(mine) / sum(theirs)


def judge_figures(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[str, dict[str, Any]]:
    """Per model of the study, in its order: the mean figure of the judge's latest finished
    verdicts on its current complete answers, the 95% bootstrap interval, how many were
    scored and how many failed (see the module's definitions). None figures for a model with
    no scored answer."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(_("There is no study {id}.").format(id=study_id))
    return verdict_figures(info.models, latest_verdicts(store, study_id, judge_spec, protocol))


def verdict_bootstrap(
    models: Sequence[str],
    latest: Mapping[int, Verdict],
    *,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
) -> ItemBootstrap:
    """The pooled item bootstrap (lineup.measure.item_bootstrap) of the scored verdicts'
    figures, per model in `models`' order (then any other model a verdict names): each
    model's figure is the mean over its scored answers, the items resampled."""
    observations: list[Observation] = [
        (verdict.item, verdict.model, gid, verdict.figure)
        for gid, verdict in sorted(latest.items())
        if verdict.status == JUDGE_SCORED and verdict.figure is not None
    ]
    named = [*models, *sorted({v.model for v in latest.values()} - set(models))]
    return bootstrap_by_item(
        observations, models=named, pooled=True, resamples=resamples, seed=seed
    )


def verdict_figures(
    models: Sequence[str],
    latest: Mapping[int, Verdict],
    bootstrap: ItemBootstrap | None = None,
) -> dict[str, dict[str, Any]]:
    """judge_figures from verdicts already read (latest_verdicts), per model in `models`' order
    (then any other model a verdict names); `bootstrap`: their verdict_bootstrap, made here
    when not given."""
    if bootstrap is None:
        bootstrap = verdict_bootstrap(models, latest)
    judged: dict[str, int] = {model: 0 for model in bootstrap.models}
    failures: dict[str, int] = {model: 0 for model in bootstrap.models}
    for verdict in latest.values():
        if verdict.status == JUDGE_SCORED and verdict.figure is not None:
            judged[verdict.model] += 1
        else:
            failures[verdict.model] += 1
    intervals = bootstrap.intervals()
    return {
        model: {
            "judge_score": interval.value,
            **interval_fields("judge_score", interval, "no scored answer"),
            "judged": judged[model],
            "judge_failures": failures[model],
        }
        for model, interval in intervals.items()
    }
