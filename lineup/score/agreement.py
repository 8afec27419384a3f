"""How far annotators (and, later, an LLM judge) agree on the relevance of the same answers.

Definitions (one place for each):

- ordinal value of a relevance: irrelevant = 0, partial = 1, relevant = 2 (ORDINAL).
- unit: one thing labeled; in study_agreement, one `ok` answer (a generation) of the study,
  and its labels are the counted ones (each annotator's latest on it). One label per
  (annotator, unit).
- n_items: the units labeled by two or more annotators; only they carry information about
  agreement.
- alpha: Krippendorff's alpha, ordinal level (the `krippendorff` package, value domain
  0, 1, 2), over the (annotator x unit) table of ordinal values; units with one label add
  nothing. 1 is perfect agreement, 0 what chance would give. None when no unit has two
  labels, or when every label is the same value (no disagreement is possible, alpha is
  undefined).
- raw agreement: over the units labeled by two or more annotators, the share of the pairs of
  labels on one unit (every two annotators who both labeled it) that are the same relevance;
  per pair of annotators (raw on a KappaPair), the share of the units both labeled on which
  they gave the same relevance. None when there is no such unit. It is the base alpha and
  kappa correct for chance: when nearly every label is the same value, chance agreement is
  nearly certain, and alpha and kappa can be 0 or below while the raw agreement is high (8
  identical labels of 9, one annotator "relevant" throughout: kappa = alpha = 0, raw 8/9).
  Read them together.
- reading of alpha (Krippendorff, Content Analysis, 2004): >= 0.8 reliable (RELIABLE),
  0.667 to 0.8 tentative (conclusions drawn only tentatively, TENTATIVE), below 0.667 not
  reliable (alpha_reading).
- kappa: for each pair of annotators (alphabetical, every pair), Cohen's kappa with linear
  weights (scikit-learn `cohen_kappa_score(weights="linear")`: a disagreement of
  relevant against irrelevant weighs twice one against partial) over the units both
  labeled; n_shared = that number of units. None when they share no unit or kappa is
  undefined (both gave one and the same value throughout).
- judge agreement, between a judge's scores from 1 to 10 and labels of the same answers:
  spearman = Spearman's rank correlation (scipy) of the scores with the labels' ordinal
  values; kappa = linear-weighted Cohen's kappa between the labels and the scores mapped
  to labels at JUDGE_CUTS: score < 4 irrelevant, 4 <= score < 8 partial, score >= 8
  relevant (integers 1-3, 4-7, 8-10). Each None when undefined (a constant side).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import krippendorff
import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from lineup.core import N_, InputError, _
from lineup.store import Label, Store
from lineup.study import counted_labels, study_info

ORDINAL = {"irrelevant": 0, "partial": 1, "relevant": 2}
# The lowest judge score of partial and of relevant; scores run from 1 to 10.
JUDGE_CUTS = (4.0, 8.0)
JUDGE_MIN, JUDGE_MAX = 1.0, 10.0


# Krippendorff's reading of alpha (module docstring).
RELIABLE = 0.8
TENTATIVE = 0.667
ALPHA_SCALE = N_(
    "Krippendorff's reading of alpha: 0.8 and above reliable, 0.667 to 0.8 tentative, below "
    "0.667 not reliable; read it beside the raw agreement (when nearly every label is the "
    "same, alpha and kappa can be 0 while nearly every pair of labels agrees)."
)


@dataclass(frozen=True)
class KappaPair:
    """Two annotators' linear-weighted Cohen's kappa over the units both labeled, and their
    raw agreement there."""

    a: str
    b: str
    kappa: float | None
    n_shared: int
    raw: float | None = None


@dataclass(frozen=True)
class Agreement:
    alpha: float | None
    kappa_pairs: list[KappaPair]
    n_items: int
    raw: float | None = None


# The readings, as `study show --json` gives them, marked for the catalog (the report says
# them in its language).
READINGS = (N_("reliable"), N_("tentative"), N_("not reliable"))


def alpha_reading(alpha: float | None) -> str | None:
    """Krippendorff's reading of alpha (module docstring): "reliable", "tentative" or "not
    reliable"; None for no alpha."""
    if alpha is None:
        return None
    if alpha >= RELIABLE:
        return "reliable"
    return "tentative" if alpha >= TENTATIVE else "not reliable"


@dataclass(frozen=True)
class JudgeAgreement:
    spearman: float | None
    kappa: float | None
    n: int


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _ordinal(relevance: str) -> int:
    try:
        return ORDINAL[relevance]
    except KeyError:
        raise ValueError(f"Unknown relevance {relevance!r}: one of {sorted(ORDINAL)}") from None


def _kappa(first: Sequence[int], second: Sequence[int]) -> float | None:
    # With one value on both sides chance agreement is certain: kappa is 0 / 0.
    if len({*first, *second}) < 2:
        return None
    return float(
        cohen_kappa_score(first, second, labels=sorted(ORDINAL.values()), weights="linear")
    )


def alpha_and_kappas(labels: Iterable[tuple[str, Hashable, str]]) -> Agreement:
    """Alpha, the kappa and raw agreement of every pair of annotators, the raw agreement of
    all and n_items (module docstring) from
    `(annotator, unit_id, relevance)` labels; ValueError for two labels of one annotator on
    one unit or an unknown relevance."""
    by_annotator: dict[str, dict[Hashable, int]] = {}
    for annotator, unit, relevance in labels:
        mine = by_annotator.setdefault(annotator, {})
        if unit in mine:
            raise ValueError(f"{annotator!r} has two labels on unit {unit!r}: give one.")
        mine[unit] = _ordinal(relevance)
    annotators = sorted(by_annotator)
    units = list(dict.fromkeys(u for a in annotators for u in by_annotator[a]))
    shared = [u for u in units if sum(u in by_annotator[a] for a in annotators) >= 2]

    alpha: float | None = None
    values = {by_annotator[a][u] for a in annotators for u in shared if u in by_annotator[a]}
    if len(values) >= 2:
        table = np.array(
            [[by_annotator[a].get(u, np.nan) for u in shared] for a in annotators], dtype=float
        )
        alpha = _defined(
            float(
                krippendorff.alpha(
                    reliability_data=table,
                    value_domain=sorted(ORDINAL.values()),
                    level_of_measurement="ordinal",
                )
            )
        )

    pairs = []
    same = together = 0  # pairs of labels on one unit: identical, and all
    for a, b in combinations(annotators, 2):
        both = [u for u in units if u in by_annotator[a] and u in by_annotator[b]]
        first, second = [by_annotator[a][u] for u in both], [by_annotator[b][u] for u in both]
        identical = sum(x == y for x, y in zip(first, second, strict=True))
        same, together = same + identical, together + len(both)
        raw = identical / len(both) if both else None
        pairs.append(KappaPair(a, b, _kappa(first, second), len(both), raw))
    return Agreement(
        alpha=alpha,
        kappa_pairs=pairs,
        n_items=len(shared),
        raw=same / together if together else None,
    )


def study_agreement(store: Store, study_id: int) -> Agreement:
    """alpha_and_kappas over the counted labels on the study's `ok` answers (a unit is an
    answer); InputError when there is no such study."""
    if study_info(store, study_id) is None:
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
    with store.session() as session:
        rows = session.execute(
            counted_labels(
                study_id, Label.annotator, Label.generation_id, Label.relevance
            ).order_by(Label.generation_id, Label.annotator)
        ).all()
    return alpha_and_kappas((annotator, gid, relevance) for annotator, gid, relevance in rows)


def label_for_score(score: float) -> str:
    """The relevance a judge's score from 1 to 10 stands for (JUDGE_CUTS); ValueError
    outside 1-10."""
    if not JUDGE_MIN <= score <= JUDGE_MAX:
        raise ValueError(f"A judge score runs from 1 to 10, not {score}.")
    partial_from, relevant_from = JUDGE_CUTS
    if score >= relevant_from:
        return "relevant"
    return "partial" if score >= partial_from else "irrelevant"


def judge_agreement(scores_1_to_10: Sequence[float], labels: Sequence[str]) -> JudgeAgreement:
    """Spearman and kappa (module docstring) between a judge's scores and the labels of the
    same answers, in the same order; ValueError for lists of different lengths, a score
    outside 1-10 or an unknown relevance."""
    if len(scores_1_to_10) != len(labels):
        raise ValueError(
            f"Give one label per score: {len(scores_1_to_10)} scores, {len(labels)} labels."
        )
    judged = [_ordinal(label_for_score(score)) for score in scores_1_to_10]
    truth = [_ordinal(label) for label in labels]
    spearman: float | None = None
    if len(set(scores_1_to_10)) >= 2 and len(set(truth)) >= 2:
        spearman = _defined(float(spearmanr(scores_1_to_10, truth).statistic))
    return JudgeAgreement(spearman=spearman, kappa=_kappa(judged, truth), n=len(truth))
