"""Which differences between models are real: every pair's paired difference, and the ranks
it gives.

Definitions (one place for each; the resampling, the interval and "decided" are
lineup.measure.item_bootstrap's):

- pair: for a figure with an item bootstrap (an ItemBootstrap: the relevance score, % relevant,
  ROUGE, chrF, the judge's figure, WER), every unordered pair of its models once. `a` is the
  better of the two by the point figure over their shared items (for most figures the higher;
  for a figure in LOWER_IS_BETTER, such as WER, the lower), `b` the other; at an exact tie the
  one listed first in the bootstrap's models is `a`. `diff` is a's figure minus b's over the
  shared items (ItemBootstrap.difference), with its 95% item-bootstrap interval (`ci_low`,
  `ci_high`; none below MIN_ITEMS shared items or at zero width, and `reason` says why),
  `share_a_better` the share of resamples in which a's figure is the better one (ties half),
  `items` the number of shared items, `ci_method` "item-bootstrap".
- shown better: a pair is decided when its interval excludes 0 on a's side (a's figure is
  the better at every point of the interval), or when it has no interval only because every
  one of at least MIN_ITEMS shared items gives the same difference and a is the better in
  every resample (`share_a_better` 1: "unanimous"; the interval of zero width is still not
  shown, and the words say the margin is the same on every item). Then a is shown better
  than b. Otherwise "no difference shown": the resamples cannot tell them apart.
- words: "A is better than B on this set: 97% of resamples" (the share of resamples in which
  A is the better, rounded down below 100% unless it is every one), or "no difference shown"
  with the reason when there is no interval.
- rank (from the pairs of one figure, among the models that share at least MIN_ITEMS items with
  another model; the others have none): 1 + the number of models shown better than this
  model or than a model whose point figure is at least as good as this model's. So a model is
  never ranked below one whose point figure is worse (the second clause: without it, a model
  whose differences are noisier could dodge a "shown better" that its better neighbour did
  not), models with the same point figure share a rank, and where every model is shown better
  than every model below it the ranks are 1, 2, 3, ... . Models none of whose differences is
  decided all share rank 1.
- point figure of a model: its figure over all its items (ItemBootstrap.intervals' value); the
  rank's order follows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

from lineup.measure.item_bootstrap import (
    METHOD,
    MIN_ITEMS,
    TIE_TOLERANCE,
    ItemBootstrap,
    PairedDifference,
)

# Figures where a lower value is the better one.
LOWER_IS_BETTER = frozenset({"wer", "mean_wer", "corpus_wer", "cer"})
NO_DIFFERENCE = "no difference shown"


@dataclass(frozen=True)
class Pair:
    """One pair of models on one figure (module docstring)."""

    a: str
    b: str
    figure: str
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    share_a_better: float | None
    items: int
    ci_method: str = METHOD
    reason: str | None = None

    @property
    def decided(self) -> bool:
        """a is shown better than b (module docstring)."""
        if self.unanimous:
            return True
        if self.ci_low is None or self.ci_high is None:
            return False
        if self.figure in LOWER_IS_BETTER:
            return self.ci_high < 0
        return self.ci_low > 0

    @property
    def unanimous(self) -> bool:
        """No interval only because every shared item (MIN_ITEMS or more) gives the same
        difference, and a is the better in every resample (module docstring)."""
        return (
            self.ci_low is None
            and self.items >= MIN_ITEMS
            and self.diff is not None
            and abs(self.diff) > TIE_TOLERANCE
            and self.share_a_better == 1.0
        )

    def words(self, name_a: str | None = None, name_b: str | None = None) -> str:
        """The pair in plain words: "A is better than B on this set: 97% of resamples" or
        "no difference shown" (with the reason when there is no interval)."""
        a, b = name_a or self.a, name_b or self.b
        if self.decided and self.share_a_better is not None:
            share = share_text(self.share_a_better)
            said = f"{a} is better than {b} on this set: {share} of resamples"
            if self.unanimous:
                said += f" (the same margin on every one of the {self.items} items)"
            return said
        if self.ci_low is None and self.reason:
            return f"{NO_DIFFERENCE} ({self.reason})"
        return NO_DIFFERENCE

    def as_dict(self) -> dict[str, object]:
        return {
            "a": self.a,
            "b": self.b,
            "figure": self.figure,
            "diff": self.diff,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "share_a_better": self.share_a_better,
            "items": self.items,
            "ci_method": self.ci_method,
            "reason": self.reason,
            "decided": self.decided,
            "words": self.words(),
        }


def share_text(share: float) -> str:
    """A share of resamples as a whole percentage, never rounded up to 100% (or down to 0%)
    unless it is every one (none)."""
    percent = 100 * share
    if 0 < share < 1:
        percent = min(max(math.floor(percent), 1), 99)
    return f"{percent:.0f}%"


def _pair(figure: str, difference: PairedDifference) -> Pair:
    share = difference.share_a_better
    if figure in LOWER_IS_BETTER and share is not None:
        share = 1.0 - share  # the share of resamples in which a's figure is the lower
    return Pair(
        difference.a,
        difference.b,
        figure,
        difference.diff,
        difference.ci_low,
        difference.ci_high,
        share,
        difference.items,
        difference.method,
        difference.reason,
    )


def _ahead(figure: str, diff: float | None) -> bool:
    """Whether the first model of a difference is the better one (ties: yes)."""
    if diff is None or abs(diff) <= TIE_TOLERANCE:
        return True
    return diff < 0 if figure in LOWER_IS_BETTER else diff > 0


def figure_pairs(figure: str, bootstrap: ItemBootstrap) -> list[Pair]:
    """Every unordered pair of the bootstrap's models on `figure`, the better first (module
    docstring), in the order of the models."""
    pairs = []
    for x, y in combinations(bootstrap.models, 2):
        difference = bootstrap.difference(x, y)
        if not _ahead(figure, difference.diff):
            difference = bootstrap.difference(y, x)
        pairs.append(_pair(figure, difference))
    return pairs


def pairs_of(bootstraps: Mapping[str, ItemBootstrap]) -> list[Pair]:
    """Every pair of models on every figure (figure -> its ItemBootstrap) that has a value on
    some item, figure by figure in the mapping's order (module docstring). A figure no answer
    has (a ROUGE without references, a judge not run) gives no pair."""
    return [
        pair
        for figure, bootstrap in bootstraps.items()
        if bootstrap.items
        for pair in figure_pairs(figure, bootstrap)
    ]


def ranks_from_pairs(
    points: Mapping[str, float | None], pairs: Iterable[Pair], *, lower_is_better: bool = False
) -> dict[str, int | None]:
    """Each model's rank (module docstring) from its point figure and the pairs of one figure;
    None for a model without a point figure or without MIN_ITEMS items shared with another."""
    pairs = list(pairs)
    ranked = {
        m
        for p in pairs
        if p.items >= MIN_ITEMS
        for m in (p.a, p.b)
        if points.get(p.a) is not None and points.get(p.b) is not None
    }

    def better(x: str, y: str) -> bool:  # x's point figure is strictly the better
        px, py = points[x], points[y]
        assert px is not None and py is not None
        return px < py if lower_is_better else px > py

    # Shown better only where the point order agrees: x above y.
    shown = {(p.a, p.b) for p in pairs if p.decided and p.a in ranked and p.b in ranked}
    shown = {(x, y) for x, y in shown if better(x, y)}
    ranks: dict[str, int | None] = {}
    for model in points:
        if model not in ranked:
            ranks[model] = None
            continue
        floor = {k for k in ranked if not better(model, k)}  # at least as good as model
        above = {x for x, y in shown if y in floor}
        ranks[model] = 1 + len(above)
    return ranks
