"""Item-bootstrap intervals of per-model figures: resample the items, not the labels.

A study's answers are not independent draws: a model's repeats of one item, and every
annotator's labels on one answer, share that item's difficulty. An interval that treats each
label (or each answer) as independent is too narrow (a Wilson interval of % relevant over the
labels of 3 repeats x 2 annotators covered the true value about 72% of the time for a nominal
95%). The item is the unit the question set was drawn from, so the item is what is resampled.

Definitions (one place for each):

- observation: one value with its item, model and answer, `(item, model, answer, value)`; an
  answer is one repeat of one model on one item (a generation), and its value is one label
  (relevant = 1 for % relevant; RELEVANCE_SCORE for the relevance score) or one per-answer
  score (ROUGE, chrF, a judge score, WER). Several observations of one answer are its labels.
- answer value: the mean of an answer's observations.
- item score: for a model on an item, the mean over its answers there of each answer's value,
  so each answer weighs the same however many labels it has. A model with no observation on an
  item has no score there.
- per-item mean (`pooled=False`, the default): a model's figure is the mean of its item scores
  over the items it has a score on; each item weighs the same.
- pooled (`pooled=True`): a model's figure is the sum of its observations over the count of its
  observations, every observation weighing the same (today's % relevant: relevant labels over
  labels); the resampling is still of whole items.
- resample: ITEM_RESAMPLES (1,000) draws, with replacement, of as many items as the study has
  (every item any model has a score on), from one seeded generator (seed 0 unless given); one
  index matrix serves every model, so two models' figures in one resample are over the same
  drawn items and their difference is paired. An item drawn k times counts k times, with all its
  answers, repeats and labels. A model none of whose items is drawn in a resample has no figure
  there; that resample is left out of its percentiles.
- interval: the 95% percentile interval, the 2.5th and 97.5th percentiles (numpy's linear
  interpolation) of the model's resampled figures. The figure itself is the one over all items,
  not a bootstrap mean.
- no interval (None, with the reason): when the model has a score on fewer than MIN_ITEMS (5)
  items, or when the interval has zero width (every item gives the same value, so every
  resample does): a zero width there says the items agree, not that the figure is certain.
- paired difference of models a and b: over the items both have a score on (the shared items),
  a's figure minus b's, each computed on those items only; its interval as above from the same
  resamples (None below MIN_ITEMS shared items or at zero width), and share_a_better = the share
  of resamples (with a shared item drawn) in which the difference is above 0, half of those in
  which it is 0 (within TIE_TOLERANCE, 1e-12: two
  sums of the same scores in another order differ by rounding).
- decided (shown) difference: one with an interval that excludes 0, or one with no interval
  only because every one of at least MIN_ITEMS shared items gives the same non-zero difference
  (so every resample puts the same model ahead: share_a_better 0 or 1, "unanimous"); every
  other difference (too few items, or an interval that holds 0) is undecided: "no difference
  shown".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
import numpy.typing as npt

ITEM_RESAMPLES = 1000
MIN_ITEMS = 5
CONFIDENCE = 0.95
METHOD = "item-bootstrap"
TIE_TOLERANCE = 1e-12

# (item, model, answer, value): one label or one per-answer score (module docstring).
Observation = tuple[Hashable, str, Hashable, float]

FEW_ITEMS = "fewer than {minimum} items ({n}): no interval"
SAME_VALUE = (
    "every one of the {n} items gives the same value (or difference): the resamples cannot "
    "show the spread"
)


@dataclass(frozen=True)
class ItemInterval:
    """A model's figure over all its items, its item-bootstrap interval (None with `reason`
    when there is none) and the number of items it is over."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    items: int
    reason: str | None = None
    method: str = METHOD


@dataclass(frozen=True)
class PairedDifference:
    """a's figure minus b's over their shared items, its interval and the share of resamples
    in which a is better (module docstring)."""

    a: str
    b: str
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    share_a_better: float | None
    items: int
    reason: str | None = None
    method: str = METHOD

    @property
    def decided(self) -> bool:
        """Whether the difference is shown (module docstring): its interval excludes 0 (a is
        better when it is above 0, b when below), or it is unanimous."""
        if self.unanimous:
            return True
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def unanimous(self) -> bool:
        """No interval only because every one of at least MIN_ITEMS shared items gives the same
        non-zero difference: every resample puts the same model ahead."""
        return (
            self.ci_low is None
            and self.items >= MIN_ITEMS
            and self.diff is not None
            and abs(self.diff) > TIE_TOLERANCE
            and self.share_a_better in (0.0, 1.0)
        )


@dataclass(frozen=True)
class ItemBootstrap:
    """The item bootstrap of one figure for several models: per-item sums and counts, the
    drawn counts of every item in every resample, and the resampled figures."""

    models: tuple[str, ...]
    items: tuple[Hashable, ...]
    sums: npt.NDArray[np.float64]  # (items, models): what each item adds to the numerator
    counts: npt.NDArray[np.float64]  # (items, models): ... and to the denominator (0: absent)
    drawn: npt.NDArray[np.float64]  # (resamples, items): how often each item is drawn
    confidence: float = CONFIDENCE

    def _figures(
        self, sums: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per model: the figure over all items and the resampled figures (NaN where none of
        the model's items is drawn)."""
        total = counts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            full = np.where(total > 0, sums.sum(axis=0) / np.where(total > 0, total, 1), np.nan)
            resampled = (self.drawn @ sums) / (self.drawn @ counts)
        return full, resampled

    def resampled(self) -> npt.NDArray[np.float64]:
        """(resamples, models): each model's figure in each resample, NaN where it has none."""
        return self._figures(self.sums, self.counts)[1]

    def _interval(self, column: npt.NDArray[np.float64]) -> tuple[float, float]:
        tail = 100 * (1 - self.confidence) / 2
        present = column[~np.isnan(column)]
        if not present.size:
            return math.nan, math.nan
        low, high = np.percentile(present, [tail, 100 - tail])
        return float(low), float(high)

    def intervals(self) -> dict[str, ItemInterval]:
        """Each model's figure and interval (module docstring), in the order of `models`."""
        full, resampled = self._figures(self.sums, self.counts)
        out = {}
        for j, model in enumerate(self.models):
            n = int(np.count_nonzero(self.counts[:, j]))
            value = None if np.isnan(full[j]) else float(full[j])
            out[model] = _checked(value, n, partial(self._interval, resampled[:, j]))
        return out

    def difference(self, a: str, b: str) -> PairedDifference:
        """a minus b over their shared items (module docstring); KeyError for an unknown model."""
        i, j = self.models.index(a), self.models.index(b)
        shared = (self.counts[:, i] > 0) & (self.counts[:, j] > 0)
        n = int(np.count_nonzero(shared))
        pair = np.stack([i, j])
        sums = np.where(shared[:, None], self.sums[:, pair], 0.0)
        counts = np.where(shared[:, None], self.counts[:, pair], 0.0)
        full, resampled = self._figures(sums, counts)
        diff = None if n == 0 else float(full[0] - full[1])
        deltas = resampled[:, 0] - resampled[:, 1]
        deltas = deltas[~np.isnan(deltas)]
        share = None
        if deltas.size:
            tie = np.abs(deltas) <= TIE_TOLERANCE
            share = float(np.count_nonzero(deltas[~tie] > 0) + 0.5 * np.count_nonzero(tie))
            share /= deltas.size
        interval = _checked(diff, n, lambda: self._interval(deltas))
        return PairedDifference(
            a, b, diff, interval.ci_low, interval.ci_high, share, n, interval.reason
        )


def _checked(
    value: float | None, n: int, interval: Callable[[], tuple[float, float]]
) -> ItemInterval:
    """The interval unless there are too few items or it has zero width (module docstring)."""
    if value is None:
        return ItemInterval(None, None, None, n, "no item")
    if n < MIN_ITEMS:
        return ItemInterval(value, None, None, n, FEW_ITEMS.format(minimum=MIN_ITEMS, n=n))
    low, high = interval()
    if not (math.isfinite(low) and math.isfinite(high)):
        return ItemInterval(value, None, None, n, "no resample drew one of its items")
    if high - low <= 1e-12 * max(1.0, abs(value)):
        return ItemInterval(value, None, None, n, SAME_VALUE.format(n=n))
    return ItemInterval(value, low, high, n)


def interval_fields(
    name: str, interval: ItemInterval | None, missing: str = "no value"
) -> dict[str, Any]:
    """The keys a figure's interval adds to a model's row: `{name}_ci_low`, `{name}_ci_high`,
    `{name}_ci_method` (METHOD) and `{name}_ci_reason` (why there is no interval: the
    interval's reason, or `missing` when the model has no value at all); the value itself is
    the caller's (`interval.value`)."""
    if interval is None or interval.value is None:
        low = high = None
        reason: str | None = missing
    else:
        low, high, reason = interval.ci_low, interval.ci_high, interval.reason
    return {
        f"{name}_ci_low": low,
        f"{name}_ci_high": high,
        f"{name}_ci_method": METHOD,
        f"{name}_ci_reason": reason,
    }


def drawn_counts(
    n_items: int, *, resamples: int = ITEM_RESAMPLES, seed: int = 0
) -> npt.NDArray[np.float64]:
    """(resamples, n_items): how many times each item is drawn in each resample of n_items
    items with replacement, from numpy's default generator seeded with `seed`. The draws depend
    on these three numbers alone, so they are made once per process for each (read-only)."""
    if resamples < 1:
        raise ValueError(f"resamples must be 1 or more, not {resamples}.")
    return _drawn(n_items, resamples, seed)


@lru_cache(maxsize=64)
def _drawn(n_items: int, resamples: int, seed: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n_items, size=(resamples, n_items))
    flat = index + n_items * np.arange(resamples)[:, None]
    drawn = (
        np.bincount(flat.ravel(), minlength=resamples * n_items)
        .reshape(resamples, n_items)
        .astype(np.float64)
    )
    drawn.flags.writeable = False
    return drawn


def bootstrap_by_item(
    observations: Iterable[Observation],
    *,
    models: Sequence[str] | None = None,
    pooled: bool = False,
    resamples: int = ITEM_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> ItemBootstrap:
    """The item bootstrap (module docstring) of the observations, for `models` (every model
    observed, in first-seen order, unless given). ValueError for a NaN value or a confidence
    outside (0, 1)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}.")
    # Per (item, model, answer): sum and count of its observations.
    answers: dict[tuple[Hashable, str, Hashable], list[float]] = {}
    for item, model, answer, value in observations:
        value = float(value)
        if np.isnan(value):
            raise ValueError("A value is NaN: leave out the answers without a score.")
        cell = answers.setdefault((item, model, answer), [0.0, 0.0])
        cell[0] += value
        cell[1] += 1
    order = list(models) if models is not None else list(dict.fromkeys(m for _, m, _ in answers))
    items = list(dict.fromkeys(item for item, model, _ in answers if model in order))
    item_index = {item: i for i, item in enumerate(items)}
    model_index = {model: j for j, model in enumerate(order)}
    sums = np.zeros((len(items), len(order)))
    counts = np.zeros((len(items), len(order)))
    if pooled:
        for (item, model, _), (total, n) in answers.items():
            if model in model_index:
                sums[item_index[item], model_index[model]] += total
                counts[item_index[item], model_index[model]] += n
    else:
        # The item score: the mean over the cell's answers of each answer's mean.
        answer_means = np.zeros((len(items), len(order)))
        n_answers = np.zeros((len(items), len(order)))
        for (item, model, _), (total, n) in answers.items():
            if model in model_index:
                answer_means[item_index[item], model_index[model]] += total / n
                n_answers[item_index[item], model_index[model]] += 1
        present = n_answers > 0
        sums[present] = answer_means[present] / n_answers[present]
        counts[present] = 1.0
    drawn = (
        drawn_counts(len(items), resamples=resamples, seed=seed)
        if items
        else np.zeros((resamples, 0))
    )
    return ItemBootstrap(tuple(order), tuple(items), sums, counts, drawn, confidence)
