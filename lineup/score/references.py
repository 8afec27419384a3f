"""The reference answers of a study's items: the set's, else the reference model's.

Definitions:

- A study's reference model is any VLM spec named for it (`study score --reference-model`).
  It runs as a study of its own (`Study.reference_for` = the study; same set and parameters,
  one repeat), so it has the progress, pause and resume of every study, and its answers are
  never in the study's tables, labeling queue or rankings: a column shown apart.
- The reference of an item: the set's reference answer when it has one (source "set");
  otherwise the reference model's complete answer to the item (source: its spec); otherwise
  none. The overlap metrics (lineup.score.automatic) and the judge's protocol `reference`
  (lineup.score.judge) score against it. The judge's protocol `pairwise` compares each answer with
  the reference model's answer alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from lineup.core import FINAL_STATUSES, OK, InputError, _
from lineup.store import Generation, SetItemRow, Store
from lineup.study import StudyInfo, reference_study, study_answers, study_info

SOURCE_SET = "set"


@dataclass(frozen=True)
class ModelReference:
    """The reference model's complete answer to one item."""

    generation_id: int
    text: str


@dataclass(frozen=True)
class ItemReference:
    """An item's reference answer and where it comes from ("set" or the reference model's
    spec)."""

    text: str
    source: str


def scored_study(store: Store, study_id: int) -> StudyInfo:
    """The study a judge or a reference model can score: a stored VLM study that is not
    itself a reference model's; InputError otherwise."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(_("There is no study {id}.").format(id=study_id))
    if info.kind != "vlm":
        raise InputError(
            f"Study {study_id} is a voice study; references and judges score model answers."
        )
    if info.reference_for is not None:
        raise InputError(
            f"Study {study_id} runs the reference model of study {info.reference_for}; "
            f"score study {info.reference_for} instead."
        )
    return info


def model_references(store: Store, study_id: int) -> dict[int, ModelReference]:
    """Per item id, the reference model's complete answer (its first repeat), when the study
    has a reference model."""
    return _answers_of(store, reference_study(store, study_id))


def _answers_of(store: Store, reference: StudyInfo | None) -> dict[int, ModelReference]:
    if reference is None:
        return {}
    with store.session() as session:
        rows = session.execute(
            study_answers(
                reference.id,
                Generation.item_id,
                Generation.id,
                Generation.output_text,
                complete=True,
            ).order_by(Generation.repeat.desc())
        ).all()
    # Rows come last repeat first, so each item keeps its first.
    return {
        item_id: ModelReference(gid, text or "")
        for item_id, gid, text in rows
        if item_id is not None
    }


def item_references(store: Store, study_id: int, set_id: int) -> dict[int, ItemReference]:
    """Per item id of the set, its reference answer (see the module's definitions); items
    without one are left out."""
    return references_with(store, set_id, reference_study(store, study_id))


def references_with(
    store: Store, set_id: int, reference: StudyInfo | None
) -> dict[int, ItemReference]:
    """item_references when the study's reference study (or None) is read already."""
    with store.session() as session:
        rows = session.execute(
            select(SetItemRow.id, SetItemRow.reference).where(SetItemRow.set_id == set_id)
        ).all()
    answers = _answers_of(store, reference)
    found: dict[int, ItemReference] = {}
    for item_id, text in rows:
        if text and text.strip():
            found[item_id] = ItemReference(text, SOURCE_SET)
        elif item_id in answers and reference is not None and answers[item_id].text.strip():
            found[item_id] = ItemReference(answers[item_id].text, reference.models[0])
    return found


def reference_summary(
    store: Store, info: StudyInfo, references: Mapping[int, ItemReference] | None = None
) -> dict[str, Any] | None:
    """What `study show --json` says of the study's reference model: its spec, its own study,
    that study's state, its answers by outcome, and how many items take their reference
    from it; None when the study has none. `references`: the study's item_references when
    they are read already."""
    reference = reference_study(store, info.id)
    if reference is None:
        return None
    with store.session() as session:
        states = [
            status for (status,) in session.execute(study_answers(reference.id, Generation.status))
        ]
    used = sum(
        1
        for found in (
            references if references is not None else references_with(store, info.set_id, reference)
        ).values()
        if found.source != SOURCE_SET
    )
    return {
        "model": reference.models[0],
        "study_id": reference.id,
        "status": reference.status,
        "ok": states.count(OK),
        "errors": sum(1 for s in states if s in FINAL_STATUSES and s != OK),
        "items_referenced": used,
    }
