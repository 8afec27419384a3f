"""Can I stop labeling? The leader's chance of being the best, the pairs still undecided, and
how many more labeled items would decide them, from one item bootstrap (ItemBootstrap of
lineup.measure.item_bootstrap: its resamples, differences and "decided" rule).

Definitions (one place for each):

- leader: the model with the best (highest) figure over all its items, among the models
  that have one; on equal figures, the first in the bootstrap's model order (the study's).
- p_leader_best: the share of resamples in which the leader's figure is the best of the
  models' figures in that resample (each model's figure over the drawn items it has a score
  on, as ItemBootstrap.resampled gives it). Ties: when k models share the best figure (within
  TIE_TOLERANCE, 1e-12), the leader, if one of them, counts 1/k. A model none of whose items
  is drawn in a resample has no figure there and does not compete in it; a resample in which
  the leader has no figure is left out of the share. None (with the reason) when fewer than
  two models have a figure, or the leader has a score on fewer than MIN_ITEMS (5) items.
- pairs of interest: the leader against each other model (leader = a, the other = b), in the
  bootstrap's model order. They decide the question a study answers ("which model is best, and
  are we sure?"); how the others order among themselves does not change it.
- undecided pair: a pair of interest whose PairedDifference is not `decided` (no interval, or
  an interval that holds 0).
- items_needed of an undecided pair: how many more items labeled for both models would
  decide it at the current effect size, with POWER (80%) chance. The interval's half-width on
  the side of 0 (the distance from the difference to the interval's end nearest 0), h, gives
  the difference's standard error over its n shared items, se = h / z, where z = 1.96 (the
  normal quantile of the interval's confidence, 97.5%); a standard error shrinks as
  1/sqrt(n). An effect of the current size d is shown (the interval excludes 0) with chance
  POWER when d = (z + z_power) x se(N), z_power = 0.84 (the normal quantile of POWER), so
  N = n x ((z + z_power) x se / |d|)^2 = n x (h / |d|)^2 x ((z + z_power) / z)^2 items in
  all, and items_needed = ceil(N) - n, at least 1. At 50% power (z_power = 0) this is the
  plain n x (h / |d|)^2 - n: the number at which the interval would just reach 0 if the
  difference stayed where it is; the future difference moves about as often towards 0 as
  away, so half of such studies would still be undecided. None, with the reason, when there is
  no interval yet (fewer than MIN_ITEMS shared items, or every item gives a difference of 0:
  the same non-zero margin on every item is decided already) or the difference is 0 (no number
  of items decides an effect of 0).
- items_needed (of the study): the largest items_needed of the undecided pairs that have one
  (the items that decide every pair that can be estimated); None when none has one.
  items_needed_reason names the undecided pairs without an estimate.
- state: "decided" when every pair of interest is decided ("you can stop"), "undecided" when
  one is not, "one model" when the study has fewer than two models, "no labels" when no model
  has a figure. can_stop is state == "decided".
- items_left of an undecided pair (given the study's item count): the study's items minus its
  shared items, those that could still be labeled for both; beyond_set when its items_needed
  is more than that (of the study: when that holds for any undecided pair): the set is too
  small to decide the pair at this effect size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from lineup.measure.item_bootstrap import (
    MIN_ITEMS,
    TIE_TOLERANCE,
    ItemBootstrap,
    ItemInterval,
    PairedDifference,
)

POWER = 0.8
DECIDED, UNDECIDED, ONE_MODEL, NO_LABELS = "decided", "undecided", "one model", "no labels"


@dataclass(frozen=True)
class UndecidedPair:
    """A pair of interest (a = the leader) whose difference is not decided, and the items that
    would decide it (None with `reason` when there is no estimate)."""

    a: str
    b: str
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    share_a_better: float | None
    items: int
    items_needed: int | None
    reason: str | None = None
    items_left: int | None = None

    @property
    def beyond_set(self) -> bool:
        """items_needed is more than the items left to label for both (module docstring)."""
        return (
            self.items_needed is not None
            and self.items_left is not None
            and self.items_needed > self.items_left
        )


@dataclass(frozen=True)
class StopLabeling:
    """Can I stop labeling (module docstring)."""

    state: str
    leader: str | None
    leader_value: float | None
    p_leader_best: float | None
    p_leader_best_reason: str | None
    undecided_pairs: tuple[UndecidedPair, ...]
    decided_pairs: int
    items_needed: int | None
    items_needed_reason: str | None
    power: float = POWER
    confidence: float = 0.95

    @property
    def method(self) -> str:
        """How items_needed is estimated, in one line (module docstring)."""
        z = NormalDist().inv_cdf(1 - (1 - self.confidence) / 2)
        z_power = NormalDist().inv_cdf(self.power)
        return (
            f"the items at which a difference of the current size is shown with "
            f"{self.power:.0%} chance, the interval's half-width h (on the side of 0) scaling "
            f"as 1/sqrt(items): n x (h / |diff|)^2 x (({z:.2f} + {z_power:.2f}) / {z:.2f})^2 "
            "- n more, the largest over the undecided pairs"
        )

    @property
    def can_stop(self) -> bool:
        return self.state == DECIDED

    @property
    def beyond_set(self) -> bool:
        """Some undecided pair needs more items than the set has left for it."""
        return any(pair.beyond_set for pair in self.undecided_pairs)


def leader_of(boot: ItemBootstrap, figures: Mapping[str, ItemInterval] | None = None) -> str | None:
    """The model with the best figure over all its items (module docstring; `figures`: the
    bootstrap's intervals when already computed); None when no model has one."""
    best: tuple[float, str] | None = None
    for model, interval in (figures or boot.intervals()).items():
        if interval.value is not None and (best is None or interval.value > best[0]):
            best = (interval.value, model)
    return None if best is None else best[1]


def p_best(boot: ItemBootstrap, model: str) -> float | None:
    """The share of resamples in which `model` has the best figure, ties shared (module
    docstring); None when no resample gives it a figure."""
    figures = boot.resampled()
    j = boot.models.index(model)
    rows = figures[~np.isnan(figures[:, j])]
    if not rows.size:
        return None
    best = np.nanmax(rows, axis=1)
    at_best = np.abs(rows - best[:, None]) <= TIE_TOLERANCE  # NaN compares False
    credit = np.where(at_best[:, j], 1.0 / at_best.sum(axis=1), 0.0)
    return float(credit.mean())


def items_to_decide(
    difference: PairedDifference, *, confidence: float = 0.95, power: float = POWER
) -> tuple[int | None, str | None]:
    """How many more shared items would decide the difference (module docstring), or None
    with the reason. A decided difference needs 0."""
    if difference.decided:
        return 0, None
    diff, n = difference.diff, difference.items
    if diff is None or n == 0:
        return None, "no item is labeled for both yet"
    if difference.ci_low is None or difference.ci_high is None:
        if n < MIN_ITEMS:
            return None, f"{n} items labeled for both: an estimate needs {MIN_ITEMS}"
        return None, f"every one of the {n} items gives the same difference: no spread to go on"
    if abs(diff) <= TIE_TOLERANCE:
        return None, "no difference so far (0): no number of items decides an effect of 0"
    near = diff - difference.ci_low if diff > 0 else difference.ci_high - diff
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    z_power = NormalDist().inv_cdf(power)
    total = n * (near / abs(diff)) ** 2 * ((z + z_power) / z) ** 2
    return max(1, math.ceil(total - 1e-9) - n), None


def stop_labeling(
    boot: ItemBootstrap, *, items_total: int | None = None, power: float = POWER
) -> StopLabeling:
    """Can I stop labeling (module docstring), from the bootstrap of one figure; `items_total`:
    the study's items, for each undecided pair's items_left."""
    figures = boot.intervals()
    leader = leader_of(boot, figures)
    if leader is None:
        return StopLabeling(NO_LABELS, None, None, None, "no label yet", (), 0, None, None)
    value = figures[leader].value
    with_figure = [m for m, f in figures.items() if f.value is not None]
    p, p_reason = None, None
    if len(with_figure) < 2:
        p_reason = "only one model has labeled items"
    elif figures[leader].items < MIN_ITEMS:
        p_reason = f"the leader has {figures[leader].items} labeled items: fewer than {MIN_ITEMS}"
    else:
        p = p_best(boot, leader)
    if len(boot.models) < 2:
        return StopLabeling(ONE_MODEL, leader, value, None, "one model", (), 0, None, None)
    undecided, decided = [], 0
    for other in boot.models:
        if other == leader:
            continue
        d = boot.difference(leader, other)
        if d.decided:
            decided += 1
            continue
        needed, reason = items_to_decide(d, confidence=boot.confidence, power=power)
        left = None if items_total is None else max(0, items_total - d.items)
        undecided.append(
            UndecidedPair(
                leader,
                other,
                d.diff,
                d.ci_low,
                d.ci_high,
                d.share_a_better,
                d.items,
                items_needed=needed,
                reason=reason,
                items_left=left,
            )
        )
    estimates = [u.items_needed for u in undecided if u.items_needed is not None]
    missing = [u for u in undecided if u.items_needed is None]
    needed_reason = "; ".join(f"{u.b}: {u.reason}" for u in missing) or None
    return StopLabeling(
        UNDECIDED if undecided else DECIDED,
        leader,
        value,
        p,
        p_reason,
        tuple(undecided),
        decided,
        max(estimates) if estimates else None,
        needed_reason,
        power,
        boot.confidence,
    )
