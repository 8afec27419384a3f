"""Can I stop labeling? for a study, from its labels: lineup.measure.stopping (the
definitions) on the item bootstrap of the study's relevance score (lineup.score.item_intervals'
"relevance": the mean over a model's items of its item score, relevant 1, partial 0.5,
irrelevant 0), over everyone's counted labels, with the study's item count for items_left."""

from __future__ import annotations

from sqlalchemy import func, select

from lineup.measure import ITEM_RESAMPLES, StopLabeling, stop_labeling
from lineup.score.item_intervals import study_label_bootstraps
from lineup.store import Run, Store

STOP_FIGURE = "relevance"


def study_stop_labeling(
    store: Store,
    study_id: int,
    *,
    items_total: int | None = None,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
) -> StopLabeling:
    """The study's StopLabeling on STOP_FIGURE (module docstring); `items_total`: its items,
    counted when not given. InputError when there is no such study (study_label_bootstraps')."""
    boot = study_label_bootstraps(store, study_id, resamples=resamples, seed=seed)[STOP_FIGURE]
    if items_total is None:
        with store.session() as session:
            items_total = session.scalar(
                select(func.count(func.distinct(Run.item_id))).where(Run.study_id == study_id)
            )
    return stop_labeling(boot, items_total=items_total)
