"""Item-bootstrap intervals of a study's label figures (lineup.measure.item_bootstrap).

Definitions (one place for each; the resampling is lineup.measure.item_bootstrap's):

- labels: the counted labels (each annotator's latest on an `ok` answer) on the study's
  answers; with `annotator` given, only that annotator's. An observation is one label, with
  its answer's item, model and answer (the generation).
- pct_relevant: 100 x the relevant labels over the labels, pooled (every label weighs the
  same: the relevance table's % relevant), its interval from resampling the items with all
  their answers and labels.
- relevance: the mean over the model's items of its item score (relevant 1, partial 0.5,
  irrelevant 0; the mean over its answers of each answer's mean label: the per-item grid's
  score), with its item-bootstrap interval.

Both come from one seeded draw of the items, so a model's two figures, and two models' same
figure, are over the same resampled items.
"""

from __future__ import annotations

from lineup.core import InputError, _
from lineup.measure import ITEM_RESAMPLES, RELEVANCE_SCORE, ItemBootstrap, bootstrap_by_item
from lineup.store import Generation, Label, Store
from lineup.study import counted_labels, study_info

FIGURES = ("pct_relevant", "relevance")


def study_label_bootstraps(
    store: Store,
    study_id: int,
    *,
    annotator: str | None = None,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
) -> dict[str, ItemBootstrap]:
    """Per figure (FIGURES: module docstring), the item bootstrap of the study's labels for
    its models in the study's order; one query. InputError when there is no such study."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
    with store.session() as session:
        rows = session.execute(
            counted_labels(
                study_id,
                Generation.item_id,
                Generation.model_spec,
                Generation.id,
                Label.relevance,
                annotator=annotator,
            ).order_by(Generation.item_id, Generation.id, Label.annotator)
        ).all()
    models = [*info.models, *sorted({m for _, m, _, _ in rows} - set(info.models))]
    relevant = [(item, model, gid, 100.0 * (r == "relevant")) for item, model, gid, r in rows]
    scores = [(item, model, gid, RELEVANCE_SCORE[r]) for item, model, gid, r in rows]
    return {
        "pct_relevant": bootstrap_by_item(
            relevant, models=models, pooled=True, resamples=resamples, seed=seed
        ),
        "relevance": bootstrap_by_item(scores, models=models, resamples=resamples, seed=seed),
    }
