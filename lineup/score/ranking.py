"""A study's Bradley-Terry ranking from its labels."""

from __future__ import annotations

from sqlalchemy import func

from lineup.core import InputError
from lineup.measure import BOOTSTRAP_RESAMPLES, Rating, bootstrap_ratings, item_score
from lineup.store import Generation, Label, Store
from lineup.study import counted_labels, study_info


def study_item_scores(store: Store, study_id: int) -> dict[int, dict[str, float]]:
    """Per item of the study (by set item id), each model's item score; one query over the
    counted labels of the study's `ok` answers. InputError when there is no such study."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(f"There is no study {study_id}: give the id of a stored study.")
    counts: dict[int, dict[str, dict[str, int]]] = {}
    with store.session() as session:
        for item_id, model, relevance, n in session.execute(
            counted_labels(
                study_id, Generation.item_id, Generation.model_spec, Label.relevance, func.count()
            )
            .group_by(Generation.item_id, Generation.model_spec, Label.relevance)
            .order_by(Generation.item_id, Generation.model_spec)
        ):
            assert item_id is not None  # a study's answers always name their item
            counts.setdefault(int(item_id), {}).setdefault(model, {})[relevance] = int(n)
    order = {model: i for i, model in enumerate(info.models)}
    scores: dict[int, dict[str, float]] = {}
    for item_id, by_model in counts.items():
        for model in sorted(by_model, key=lambda m: (order.get(m, len(order)), m)):
            score = item_score(by_model[model])
            if score is not None:
                scores.setdefault(item_id, {})[model] = score
    return scores


def study_ranking(
    store: Store, study_id: int, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[str, Rating]:
    """The study's models ranked from their item scores (bootstrap_ratings), best first;
    models in no battle (no shared labeled item) are absent. InputError when there is no
    such study."""
    return bootstrap_ratings(study_item_scores(store, study_id), resamples=resamples, seed=seed)
