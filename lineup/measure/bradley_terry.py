"""Rankings of a study's models with intervals: Bradley-Terry over the items they share.

Definitions (one place for each):

- item score: for a model on an item, the mean over its answers there (every repeat) of each
  answer's mean of relevant = 1, partial = 0.5, irrelevant = 0
  (lineup.measure.figures.RELEVANCE_SCORE, the per-item grid's score) over its counted labels
  (each annotator's latest on an `ok` answer); each answer weighs the same however many labels
  it has. A model with no counted label on an item has no score there.
- label draw: a label of a model on an item drawn by picking one of its labeled answers there
  at random, then one of that answer's labels at random (item_shares: the chance of each
  relevance); the item score is its expected value.
- battle: every pair of models that both have a score on the same item is one comparison,
  `(a, b, outcome)`, outcome = P(a's label draw scores higher than b's) + 0.5 * P(equal): 1
  when every label of a beats every label of b, 0 the other way, 0.5 for a tie, a fraction in
  between (counted as that fraction of a win). With one label per cell it is 1, 0.5 or 0 by
  comparing the two labels. Why draws and not the item scores compared: an average of 3
  labels is rarely all-relevant, so comparing averages made a model labeled 3 times per cell
  lose to the same model labeled once (70 points apart); two models whose labels come from the
  same distribution get an expected outcome of 0.5 however many labels each cell has. Item
  scores given as plain numbers (the pairwise votes, tests) are compared as they are.
- rating: the Bradley-Terry strength of a model, P(a beats b) = 1 / (1 + 10 ** ((R_b - R_a)
  / 400)), on the Elo-like scale: R = 1000 + 400 / ln(10) * theta, where theta is the
  natural-log strength. A difference of 400 points is 10:1 odds; the mean rating of the
  models with a rating (below) is 1000. Fitted by maximum likelihood (Newton's method with the exact
  Hessian and a backtracking line search, to a gradient below 1e-10) with ties as half
  wins and a small L2 penalty `L2_PENALTY / 2 * sum(theta ** 2)`: it makes the fit
  identifiable (it alone puts the mean theta at 0) and keeps a model that wins or loses
  every battle finite (its theta grows only like the log of its battles over the penalty,
  instead of to infinity); on ordinary data it moves a rating by far less than a point.
  A model in no battle has theta 0, rating 1000.
- interval: the 95% percentile bootstrap interval, the 2.5th and 97.5th percentiles of the
  model's rating over BOOTSTRAP_RESAMPLES (1,000; at least MIN_RESAMPLES, 200) resamples, with
  replacement, of the items that have a battle, drawn with a fixed seed (0 unless given) so
  that the same labels give the same intervals. Each resample is fitted afresh (all of them
  at once, one Newton's method over a stack of resamples, each stopping on its own) and centred on
  the models it rates (those with a rating, below); a model in no battle of a resample is left
  out of that resample's percentiles. The rating itself is the fit on all the items, not a
  bootstrap mean.
- enough evidence: a model has a rating and an interval only when it has battles on at least
  MIN_ITEMS (5) items (`items`); below, none, and `reason` says so. An interval of zero width
  (every resample gives the same rating) is no interval either: it says the resamples cannot
  move it, not that it is certain.
- won (lost) every comparison: a model whose every battle is a win (a loss) has no rating:
  its maximum-likelihood strength is infinite and the number the fit gives is made by the
  penalty alone (1764 to 2736 as the penalty goes from 1e-2 to 1e-6 on 16 items). It is
  marked `won_every_comparison` (`lost_every_comparison`) instead, with no rating or interval.
  The other models' ratings are centred on the models that have one: their mean is 1000.
- rank (`rank`): lineup.measure.pairs' rank on the ratings: each pair of rated models'
  paired difference of ratings over the same resamples, decided when its 95% interval
  excludes 0; rank = 1 + the number of models shown better than this one or than a model
  rated at least as high. A rank never runs against the ratings' order. (A study's label
  ranking, `bt_rank`, takes its rank from the relevance score's pairs instead:
  lineup.report.summary.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from lineup.measure.figures import RELEVANCE_SCORE, item_shares, relevance_score
from lineup.measure.item_bootstrap import MIN_ITEMS, SAME_VALUE
from lineup.measure.pairs import Pair, ranks_from_pairs

L2_PENALTY = 1e-3
BOOTSTRAP_RESAMPLES = 1000
MIN_RESAMPLES = 200
ELO_SCALE = 400 / math.log(10)  # rating points per unit of natural-log strength
ELO_MEAN = 1000.0
WIN, TIE, LOSS = 1.0, 0.5, 0.0

# A model's item score, or its label draw: each score (RELEVANCE_SCORE) with its chance.
ItemScore = float | Mapping[float, float]
# Per item (any hashable id), each model's item score or label draw.
ItemScores = Mapping[Any, Mapping[str, ItemScore]]
# One comparison: (model a, model b, a's outcome: WIN, TIE or LOSS).
Battle = tuple[str, str, float]


class Rating(NamedTuple):
    """A model's rating, its 95% bootstrap interval and its rank (module docstring); None
    with `reason` where there is not enough evidence or the model won or lost every
    comparison."""

    rating: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    items: int = 0  # the items it has a battle on
    won_every_comparison: bool = False
    lost_every_comparison: bool = False
    reason: str | None = None


FEW_ITEMS = "battles on fewer than {minimum} items ({n}): no rating"
WON_EVERY = "won every comparison ({n} battles): no rating, the fit would make one up"
LOST_EVERY = "lost every comparison ({n} battles): no rating, the fit would make one up"


def item_score(answers: Iterable[Mapping[str, int]]) -> float | None:
    """The item score of a model (module docstring) from, per answer, its number of counted
    labels of each relevance; None for no label."""
    return relevance_score(item_shares(answers))


def label_draw(answers: Iterable[Mapping[str, int]]) -> dict[float, float]:
    """The label draw of a model on an item (module docstring): each RELEVANCE_SCORE with its
    chance, from per answer its number of counted labels of each relevance; empty for none."""
    draw: dict[float, float] = {}
    for relevance, share in item_shares(answers).items():
        value = RELEVANCE_SCORE[relevance]
        draw[value] = draw.get(value, 0.0) + share
    return draw


def _draw(score: ItemScore) -> Mapping[float, float]:
    return {float(score): 1.0} if isinstance(score, int | float) else score


def battle_outcome(a: ItemScore, b: ItemScore) -> float:
    """a's outcome against b on one item (module docstring): P(a's draw > b's) + 0.5 * P(equal)."""
    outcome = 0.0
    for value_a, chance_a in _draw(a).items():
        for value_b, chance_b in _draw(b).items():
            result = WIN if value_a > value_b else LOSS if value_a < value_b else TIE
            outcome += chance_a * chance_b * result
    return outcome


def battles_from_item_scores(item_scores: ItemScores) -> list[Battle]:
    """Every pair of models scored on the same item, item by item, each pair in the order
    the item's scores list them."""
    battles: list[Battle] = []
    for scores in item_scores.values():
        for (a, score_a), (b, score_b) in combinations(scores.items(), 2):
            battles.append((a, b, battle_outcome(score_a, score_b)))
    return battles


class _Battles(NamedTuple):
    """Battles as arrays of model indices and outcomes, the form the fit works on."""

    a: npt.NDArray[np.intp]
    b: npt.NDArray[np.intp]
    outcome: npt.NDArray[np.float64]


def _as_arrays(battles: Iterable[Battle], index: Mapping[str, int]) -> _Battles:
    rows = list(battles)
    unknown = {m for a, b, _ in rows for m in (a, b)} - set(index)
    if unknown:
        raise ValueError(f"Battles name models not in the list: {sorted(unknown)}")
    return _Battles(
        np.array([index[a] for a, _, _ in rows], dtype=np.intp),
        np.array([index[b] for _, b, _ in rows], dtype=np.intp),
        np.array([outcome for _, _, outcome in rows], dtype=np.float64),
    )


GRADIENT_TOLERANCE = 1e-10
MAX_NEWTON_STEPS = 200
NEWTON_DECREMENT = 1e-9  # below it, the full Newton step without a line search


class _Pairs(NamedTuple):
    """The battles summed per ordered pair of models: the fit needs only these."""

    a: npt.NDArray[np.intp]
    b: npt.NDArray[np.intp]
    battles: npt.NDArray[np.float64]  # how many times a met b
    wins: npt.NDArray[np.float64]  # a's outcomes summed (a tie adds 0.5)


def _pairs(battles: _Battles, n_models: int) -> _Pairs:
    key = battles.a * n_models + battles.b
    counts = np.bincount(key, minlength=n_models * n_models).astype(np.float64)
    wins = np.bincount(key, weights=battles.outcome, minlength=n_models * n_models).astype(
        np.float64
    )
    met = np.flatnonzero(counts)
    return _Pairs(met // n_models, met % n_models, counts[met], wins[met])


def _objective(pairs: _Pairs, theta: npt.NDArray[np.float64]) -> float:
    """The penalised negative log-likelihood of the battles."""
    margin = theta[pairs.a] - theta[pairs.b]
    # -log P(a wins) = log(1 + e^-margin), computed without overflow.
    nll = np.sum(
        pairs.wins * np.logaddexp(0.0, -margin)
        + (pairs.battles - pairs.wins) * np.logaddexp(0.0, margin)
    )
    return float(nll + 0.5 * L2_PENALTY * theta @ theta)


def _fit_theta(
    battles: _Battles, n_models: int, start: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """The penalised maximum-likelihood natural-log strengths, centred on 0: Newton's method
    from `start` (zeros by default). The objective is strictly convex (the penalty), so the
    minimum is unique and the start changes only the number of steps."""
    theta = np.zeros(n_models) if start is None else np.array(start, dtype=np.float64)
    if n_models == 0:
        return theta
    pairs = _pairs(battles, n_models)
    a, b = pairs.a, pairs.b
    cells = n_models * n_models
    value = _objective(pairs, theta)
    for _ in range(MAX_NEWTON_STEPS):
        won = expit(theta[a] - theta[b])
        residual = pairs.battles * won - pairs.wins  # d nll / d margin
        gradient = (
            np.bincount(a, weights=residual, minlength=n_models)
            - np.bincount(b, weights=residual, minlength=n_models)
            + L2_PENALTY * theta
        )
        if np.max(np.abs(gradient)) < GRADIENT_TOLERANCE:
            break
        weight = pairs.battles * won * (1.0 - won)  # d^2 nll / d margin^2
        spread = np.bincount(a, weights=weight, minlength=n_models) + np.bincount(
            b, weights=weight, minlength=n_models
        )
        across = np.bincount(a * n_models + b, weights=weight, minlength=cells).reshape(
            n_models, n_models
        )
        hessian = np.diag(spread + L2_PENALTY) - across - across.T
        step = np.linalg.solve(hessian, gradient)
        decrement = float(gradient @ step)
        if decrement < NEWTON_DECREMENT:
            # Next to the minimum, where the objective is quadratic to rounding: the full step
            # lands on it (a line search here would only compare rounding errors).
            theta = theta - step
            continue
        # Backtracking (Armijo) keeps each step downhill where the quadratic model overshoots.
        size = 1.0
        while True:
            candidate = theta - size * step
            candidate_value = _objective(pairs, candidate)
            if candidate_value <= value - 1e-4 * size * decrement or size < 1e-12:
                break
            size /= 2
        theta, value = candidate, candidate_value
    return theta - theta.mean()


def _objectives(
    counts: npt.NDArray[np.float64], wins: npt.NDArray[np.float64], theta: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """_objective for many resamples at once: counts and wins (resamples, models, models), a's
    battles against b and a's outcomes summed; theta (resamples, models)."""
    margin = theta[:, :, None] - theta[:, None, :]
    nll = wins * np.logaddexp(0.0, -margin) + (counts - wins) * np.logaddexp(0.0, margin)
    return nll.sum(axis=(1, 2)) + 0.5 * L2_PENALTY * np.einsum("rm,rm->r", theta, theta)


def _fit_thetas(
    counts: npt.NDArray[np.float64], wins: npt.NDArray[np.float64], start: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """_fit_theta for many resamples at once (the same Newton steps, line search and stopping
    rule, each resample on its own), not centred."""
    theta = np.array(start, dtype=np.float64)
    n_models = theta.shape[1]
    if n_models == 0:
        return theta
    value = _objectives(counts, wins, theta)
    active = np.ones(theta.shape[0], dtype=bool)
    eye = np.eye(n_models)
    for _ in range(MAX_NEWTON_STEPS):
        t, c, w = theta[active], counts[active], wins[active]
        won = expit(t[:, :, None] - t[:, None, :])
        residual = c * won - w  # d nll / d margin, per ordered pair
        gradient = residual.sum(axis=2) - residual.sum(axis=1) + L2_PENALTY * t
        done = np.max(np.abs(gradient), axis=1) < GRADIENT_TOLERANCE
        weight = c * won * (1.0 - won)
        spread = weight.sum(axis=2) + weight.sum(axis=1) + L2_PENALTY
        hessian = spread[:, :, None] * eye - weight - weight.transpose(0, 2, 1)
        step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        decrement = np.einsum("rm,rm->r", gradient, step)
        step[done] = 0.0
        # Next to the minimum the full step; elsewhere backtracking (Armijo), as _fit_theta.
        size = np.ones(len(t))
        searching = ~done & (decrement >= NEWTON_DECREMENT)
        current = value[active]
        candidate = t - step
        candidate_value = current.copy()
        if searching.any():
            candidate_value[searching] = _objectives(
                c[searching], w[searching], candidate[searching]
            )
        while True:
            failed = searching & (candidate_value > current - 1e-4 * size * decrement)
            failed &= size >= 1e-12
            if not failed.any():
                break
            size[failed] /= 2
            candidate[failed] = t[failed] - size[failed, None] * step[failed]
            candidate_value[failed] = _objectives(c[failed], w[failed], candidate[failed])
        rows = np.flatnonzero(active)
        theta[rows] = candidate
        value[rows[searching]] = candidate_value[searching]
        value[rows[~searching & ~done]] = _objectives(
            c[~searching & ~done], w[~searching & ~done], candidate[~searching & ~done]
        )
        active[rows[done]] = False
        if not active.any():
            break
    return theta


def _to_rating(theta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return ELO_MEAN + ELO_SCALE * theta


def fit_bradley_terry(battles: Iterable[Battle], models: Sequence[str]) -> dict[str, float]:
    """Each of `models`' rating (module docstring) from the battles, in the order of `models`;
    ValueError when a battle names a model not in the list."""
    index = {model: i for i, model in enumerate(models)}
    ratings = _to_rating(_fit_theta(_as_arrays(battles, index), len(models)))
    return {model: float(ratings[i]) for model, i in index.items()}


def bootstrap_ratings(
    item_scores: ItemScores,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, Rating]:
    """Each model in at least one battle: its rating, 95% interval and rank (module
    docstring), best rating first (a model that won every comparison before them, one without
    a rating after them); empty when there is no battle. ValueError for fewer than
    MIN_RESAMPLES resamples."""
    return bootstrap_battles(
        {item: battles_from_item_scores({item: scores}) for item, scores in item_scores.items()},
        resamples=resamples,
        seed=seed,
    )


def bootstrap_battles(
    item_battles: Mapping[Any, Sequence[Battle]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, Rating]:
    """bootstrap_ratings for battles already made, grouped by item (the unit the bootstrap
    resamples; an item without battles is not one): each model in at least one battle with
    its rating, 95% interval and rank, best rating first. The pairwise votes
    (lineup.study.arena) are fitted through it."""
    if resamples < MIN_RESAMPLES:
        raise ValueError(f"Give at least {MIN_RESAMPLES} resamples, not {resamples}.")
    per_item = [list(battles) for battles in item_battles.values() if battles]
    models = list(dict.fromkeys(m for pairs in per_item for a, b, _ in pairs for m in (a, b)))
    if not models:
        return {}
    index = {model: i for i, model in enumerate(models)}
    item_arrays = [_as_arrays(pairs, index) for pairs in per_item]
    everything = _as_arrays((battle for pairs in per_item for battle in pairs), index)
    # Per item, which models have a battle there; per model, its wins and losses.
    plays = np.zeros((len(item_arrays), len(models)), dtype=bool)
    for row, arrays in enumerate(item_arrays):
        plays[row, arrays.a] = True
        plays[row, arrays.b] = True
    n_items = plays.sum(axis=0)
    n_battles = np.bincount(everything.a, minlength=len(models)) + np.bincount(
        everything.b, minlength=len(models)
    )
    # A's outcome is a's share of the battle, 1 - it b's: a model's outcomes summed.
    won = np.bincount(everything.a, weights=everything.outcome, minlength=len(models))
    won += np.bincount(everything.b, weights=1.0 - everything.outcome, minlength=len(models))
    won_every = won >= n_battles - 1e-12
    lost_every = won <= 1e-12
    rated = (n_items >= MIN_ITEMS) & ~won_every & ~lost_every
    # Centred on the models with a rating (every model when none has one).
    centre = rated if rated.any() else np.ones(len(models), dtype=bool)

    full_theta = _fit_theta(everything, len(models))
    ratings = _to_rating(full_theta - full_theta[centre].mean())

    n_models = len(models)
    # Per item, its battles summed per ordered pair (a * n_models + b): count and a's outcomes.
    cells = n_models * n_models
    per_pair = np.zeros((2, len(item_arrays), cells))
    for row, arrays in enumerate(item_arrays):
        key = arrays.a * n_models + arrays.b
        per_pair[0, row] = np.bincount(key, minlength=cells)
        per_pair[1, row] = np.bincount(key, weights=arrays.outcome, minlength=cells)
    # Each resample's items: how often each is drawn (the same draws, row by row, as drawing
    # the items of one resample after another).
    picks = np.random.default_rng(seed).integers(
        0, len(item_arrays), size=(resamples, len(item_arrays))
    )
    drawn = np.zeros((resamples, len(item_arrays)))
    np.add.at(drawn, (np.arange(resamples)[:, None], picks), 1.0)
    counts = (drawn @ per_pair[0]).reshape(resamples, n_models, n_models)
    wins = (drawn @ per_pair[1]).reshape(resamples, n_models, n_models)
    # Started from the fit on every item: the same minimum, found in fewer steps.
    theta = _fit_thetas(counts, wins, np.tile(full_theta, (resamples, 1)))
    present = (drawn @ plays) > 0  # every drawn item has a battle
    # Centre on the models each resample can rate: one absent sits at 0 by the penalty.
    anchor = present & centre
    anchor = np.where(anchor.any(axis=1, keepdims=True), anchor, present)
    theta -= (theta * anchor).sum(axis=1, keepdims=True) / anchor.sum(axis=1, keepdims=True)
    samples = np.where(present, _to_rating(theta), np.nan)

    out: dict[str, Rating] = {}
    intervals: dict[int, tuple[float | None, float | None, str | None]] = {}
    for i in range(len(models)):
        n = int(n_items[i])
        if won_every[i]:
            intervals[i] = (None, None, WON_EVERY.format(n=int(n_battles[i])))
        elif lost_every[i]:
            intervals[i] = (None, None, LOST_EVERY.format(n=int(n_battles[i])))
        elif n < MIN_ITEMS:
            intervals[i] = (None, None, FEW_ITEMS.format(minimum=MIN_ITEMS, n=n))
        else:
            low, high = _percentiles(samples[:, i])
            if low is None or high is None or high - low <= 1e-9:
                intervals[i] = (None, None, SAME_VALUE.format(n=n))
            else:
                intervals[i] = (low, high, None)
    ranks = _rating_ranks(models, ratings, samples, plays, rated)
    order = sorted(
        range(len(models)),
        # The winner of every comparison first, the loser of every one last.
        key=lambda i: (
            0 if won_every[i] else 1 if rated[i] else 3 if lost_every[i] else 2,
            -ratings[i],
            models[i],
        ),
    )
    for i in order:
        low, high, reason = intervals[i]
        out[models[i]] = Rating(
            float(ratings[i]) if rated[i] else None,
            low,
            high,
            ranks[models[i]],
            int(n_items[i]),
            bool(won_every[i]),
            bool(lost_every[i]),
            reason,
        )
    return out


def _percentiles(column: npt.NDArray[np.float64]) -> tuple[float | None, float | None]:
    present = column[~np.isnan(column)]
    if not present.size:
        return None, None
    low, high = np.percentile(present, [2.5, 97.5])
    return float(low), float(high)


def _rating_ranks(
    models: Sequence[str],
    ratings: npt.NDArray[np.float64],
    samples: npt.NDArray[np.float64],
    plays: npt.NDArray[np.bool_],
    rated: npt.NDArray[np.bool_],
) -> dict[str, int | None]:
    """The ranks (module docstring) of the rated models from their paired rating differences
    over the same resamples; None for the others."""
    pairs = []
    for i, j in combinations([int(k) for k in np.flatnonzero(rated)], 2):
        if ratings[i] < ratings[j]:
            i, j = j, i
        deltas = samples[:, i] - samples[:, j]
        deltas = deltas[~np.isnan(deltas)]
        low, high = _percentiles(deltas)
        if low is not None and high is not None and high - low <= 1e-9:
            low = high = None
        share = None
        if deltas.size:
            share = float(np.mean(deltas > 0) + 0.5 * np.mean(deltas == 0))
        shared = int(np.count_nonzero(plays[:, i] & plays[:, j]))
        pairs.append(
            Pair(
                models[i],
                models[j],
                "bt_rating",
                float(ratings[i] - ratings[j]),
                low,
                high,
                share,
                shared,
                "bootstrap",
            )
        )
    points = {m: float(ratings[i]) if rated[i] else None for i, m in enumerate(models)}
    return ranks_from_pairs(points, pairs)
