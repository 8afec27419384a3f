"""A study's Bradley-Terry ranking from its labels."""

from __future__ import annotations

from sqlalchemy import func

from lineup.core import InputError, _
from lineup.measure import (
    BOOTSTRAP_RESAMPLES,
    Rating,
    bootstrap_ratings,
    item_score,
    label_draw,
)
from lineup.store import Generation, Label, Store
from lineup.study import counted_labels, study_info


def _study_cells(store: Store, study_id: int) -> dict[int, dict[str, list[dict[str, int]]]]:
    """Per item of the study (by set item id), per model in the study's order, per labeled
    answer its number of counted labels of each relevance; one query over the counted labels
    of the study's `ok` answers. InputError when there is no such study."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
    counts: dict[int, dict[str, dict[int, dict[str, int]]]] = {}
    with store.session() as session:
        for item_id, model, gid, relevance, n in session.execute(
            counted_labels(
                study_id,
                Generation.item_id,
                Generation.model_spec,
                Generation.id,
                Label.relevance,
                func.count(),
            )
            .group_by(Generation.item_id, Generation.model_spec, Generation.id, Label.relevance)
            .order_by(Generation.item_id, Generation.model_spec, Generation.id)
        ):
            assert item_id is not None  # a study's answers always name their item
            by_answer = counts.setdefault(int(item_id), {}).setdefault(model, {})
            by_answer.setdefault(int(gid), {})[relevance] = int(n)
    order = {model: i for i, model in enumerate(info.models)}
    return {
        item_id: {
            model: list(by_model[model].values())
            for model in sorted(by_model, key=lambda m: (order.get(m, len(order)), m))
        }
        for item_id, by_model in counts.items()
    }


def study_item_scores(store: Store, study_id: int) -> dict[int, dict[str, float]]:
    """Per item of the study (by set item id), each model's item score (the mean over its
    answers of each answer's mean label); InputError when there is no such study."""
    scores: dict[int, dict[str, float]] = {}
    for item_id, by_model in _study_cells(store, study_id).items():
        for model, answers in by_model.items():
            score = item_score(answers)
            if score is not None:
                scores.setdefault(item_id, {})[model] = score
    return scores


def study_label_draws(store: Store, study_id: int) -> dict[int, dict[str, dict[float, float]]]:
    """Per item of the study, each model's label draw (lineup.measure.bradley_terry), what
    its battles compare; InputError when there is no such study."""
    draws: dict[int, dict[str, dict[float, float]]] = {}
    for item_id, by_model in _study_cells(store, study_id).items():
        for model, answers in by_model.items():
            draw = label_draw(answers)
            if draw:
                draws.setdefault(item_id, {})[model] = draw
    return draws


def study_ranking(
    store: Store, study_id: int, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[str, Rating]:
    """The study's models ranked from their label draws (bootstrap_ratings), best first;
    models in no battle (no shared labeled item) are absent. InputError when there is no
    such study."""
    return bootstrap_ratings(study_label_draws(store, study_id), resamples=resamples, seed=seed)
