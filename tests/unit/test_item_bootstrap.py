"""The item bootstrap (lineup.measure.item_bootstrap): figures worked by hand, resamples
recomputed by a plain loop over the drawn items, and a simulation of clustered studies showing
its intervals cover the true value where today's label- and answer-level intervals do not."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit
from scipy.stats import binomtest, norm

from lineup.measure import bootstrap_mean_ci
from lineup.measure.figures import wilson_interval
from lineup.measure.item_bootstrap import (
    ITEM_RESAMPLES,
    MIN_ITEMS,
    bootstrap_by_item,
    drawn_counts,
)

# Item 1: model a has answer x with labels 1, 0 (answer value 0.5) and answer y with label 1
# (1.0): item score (0.5 + 1) / 2 = 0.75; pooled 2 of 3. Model b: one answer, labels 0, 0, 1.
HAND = [
    (1, "a", "x", 1.0),
    (1, "a", "x", 0.0),
    (1, "a", "y", 1.0),
    (1, "b", "z", 0.0),
    (1, "b", "z", 0.0),
    (1, "b", "z", 1.0),
    (2, "a", "x2", 0.0),
    (2, "b", "z2", 1.0),
    (2, "b", "w2", 1.0),
]


def test_item_scores_weigh_each_answer_the_same_and_pooled_weighs_each_label() -> None:
    per_item = bootstrap_by_item(HAND, resamples=10)
    assert per_item.models == ("a", "b")
    # a: items 0.75 and 0 -> 0.375; b: items 1/3 and 1 -> 2/3.
    figures = per_item.intervals()
    assert figures["a"].value == pytest.approx(0.375)
    assert figures["b"].value == pytest.approx(2 / 3)
    pooled = bootstrap_by_item(HAND, pooled=True, resamples=10).intervals()
    assert pooled["a"].value == pytest.approx(2 / 4)  # 1, 0, 1, 0
    assert pooled["b"].value == pytest.approx(3 / 5)  # 0, 0, 1, 1, 1


def test_two_items_give_no_interval_and_say_why() -> None:
    figures = bootstrap_by_item(HAND).intervals()
    assert figures["a"].ci_low is None and figures["a"].ci_high is None
    assert figures["a"].items == 2 < MIN_ITEMS
    assert "fewer than 5 items" in (figures["a"].reason or "")


def test_items_that_all_agree_give_no_zero_width_interval() -> None:
    every_item_relevant = [(i, "a", i, 1.0) for i in range(20)]
    figure = bootstrap_by_item(every_item_relevant).intervals()["a"]
    assert figure.value == 1.0 and figure.items == 20
    assert figure.ci_low is None and figure.ci_high is None
    assert "same value" in (figure.reason or "")


def test_drawn_counts_are_numpys_draws_counted() -> None:
    drawn = drawn_counts(7, resamples=50, seed=3)
    index = np.random.default_rng(3).integers(0, 7, size=(50, 7))
    for r in range(50):
        assert list(drawn[r]) == [int(np.sum(index[r] == i)) for i in range(7)]
    assert drawn.sum() == 50 * 7
    assert ITEM_RESAMPLES == 1000


def _by_loop(values: dict[int, float], items: list[int], index: np.ndarray) -> np.ndarray:
    """Each resample's mean item score, drawn item by drawn item."""
    out = []
    for row in index:
        scores = [values[items[i]] for i in row if items[i] in values]
        out.append(sum(scores) / len(scores) if scores else np.nan)
    return np.array(out)


def test_resamples_intervals_and_paired_differences_match_a_plain_loop() -> None:
    rng = np.random.default_rng(11)
    observations = []
    for item in range(12):
        for model in ("a", "b"):
            if model == "b" and item == 4:
                continue  # b has no answer on item 4: the pair shares 11 items
            for repeat in range(3):
                for _ in range(2):
                    observations.append((item, model, (item, repeat), float(rng.random() < 0.6)))
    boot = bootstrap_by_item(observations, resamples=400, seed=5)
    index = np.random.default_rng(5).integers(0, 12, size=(400, 12))
    items = list(boot.items)
    score: dict[str, dict[int, float]] = {"a": {}, "b": {}}
    for model in score:
        for item in items:
            answers = {}
            for i, m, answer, value in observations:
                if i == item and m == model:
                    answers.setdefault(answer, []).append(value)
            if answers:
                score[model][item] = float(np.mean([np.mean(v) for v in answers.values()]))
    a_loop = _by_loop(score["a"], items, index)
    assert boot.resampled()[:, 0] == pytest.approx(a_loop)
    figure = boot.intervals()["a"]
    assert figure.value == pytest.approx(np.mean(list(score["a"].values())))
    low, high = np.percentile(a_loop, [2.5, 97.5])
    assert (figure.ci_low, figure.ci_high) == pytest.approx((low, high))

    shared = [i for i in items if i in score["b"]]
    a_shared = _by_loop({i: score["a"][i] for i in shared}, items, index)
    b_shared = _by_loop(score["b"], items, index)
    deltas = a_shared - b_shared
    pair = boot.difference("a", "b")
    assert pair.items == 11
    assert pair.diff == pytest.approx(
        np.mean([score["a"][i] for i in shared]) - np.mean([score["b"][i] for i in shared])
    )
    assert (pair.ci_low, pair.ci_high) == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])))
    assert pair.share_a_better == pytest.approx(
        (np.sum(deltas > 1e-12) + 0.5 * np.sum(np.abs(deltas) <= 1e-12)) / deltas.size
    )


def test_identical_models_are_half_better_with_no_interval() -> None:
    rows = [(i, m, i, float(i % 2)) for i in range(10) for m in ("a", "b")]
    pair = bootstrap_by_item(rows).difference("a", "b")
    assert pair.diff == 0.0 and pair.share_a_better == 0.5
    assert pair.ci_low is None and pair.reason is not None
    assert not pair.decided


def test_a_difference_is_decided_only_when_its_interval_excludes_zero() -> None:
    # a is 1 on every item and b 0 on all but one: every resample that draws the odd item
    # less than all the time has a above b; the interval is above 0.
    rows = [(i, "a", f"a{i}", 1.0) for i in range(12)]
    rows += [(i, "b", f"b{i}", float(i == 0)) for i in range(12)]
    rows += [(i, "c", f"c{i}", float(i % 2)) for i in range(12)]
    rows += [(i, "d", f"d{i}", float(i % 2 == 0)) for i in range(12)]
    boot = bootstrap_by_item(rows)
    a_b, b_a, c_d = boot.difference("a", "b"), boot.difference("b", "a"), boot.difference("c", "d")
    assert a_b.ci_low is not None and a_b.ci_low > 0 and a_b.decided
    assert b_a.ci_high is not None and b_a.ci_high < 0 and b_a.decided
    assert c_d.ci_low is not None and c_d.ci_high is not None and c_d.ci_low < 0 < c_d.ci_high
    assert not c_d.decided


# The simulation: a generator of its own, with item difficulty shared by an item's repeats and
# labels. Latent z = MU + item + answer + label noise (normal, SDs below); a label is relevant
# above CUT_RELEVANT, partial above CUT_PARTIAL, else irrelevant; a ROUGE-like per-answer score
# is expit(MU + item + answer). True values from the normal distribution (and Gauss-Hermite
# quadrature for the ROUGE-like score), not from any of Lineup's code.
MU, SD_ITEM, SD_ANSWER, SD_LABEL = 0.3, 1.0, 0.5, 0.5
CUT_RELEVANT, CUT_PARTIAL = 0.5, -0.5
ITEMS, REPEATS, ANNOTATORS = 30, 3, 2
# 400 studies: a coverage near 0.93 is then known to about +-1.3 points (one binomial standard
# error, sqrt(0.93 * 0.07 / 400)), near 0.72 to +-2.2; the thresholds below are several standard
# errors from what is measured. The full 1,000 resamples are used: they are cheap (a (1000 x 30)
# count matrix per figure).
STUDIES = 400


def _truths() -> tuple[float, float, float]:
    spread = np.sqrt(SD_ITEM**2 + SD_ANSWER**2 + SD_LABEL**2)
    relevant = float(norm.sf((CUT_RELEVANT - MU) / spread))
    partial = float(norm.sf((CUT_PARTIAL - MU) / spread)) - relevant
    nodes, weights = hermegauss(80)
    answer_spread = np.sqrt(SD_ITEM**2 + SD_ANSWER**2)
    rouge = float(np.sum(weights * expit(MU + answer_spread * nodes)) / np.sum(weights))
    return relevant, relevant + 0.5 * partial, rouge


def _covered(low: float | None, high: float | None, truth: float) -> bool:
    assert low is not None and high is not None
    return low <= truth <= high


def test_item_bootstrap_covers_clustered_truths_where_label_intervals_do_not() -> None:
    true_relevant, true_mean, true_rouge = _truths()
    rng = np.random.default_rng(2026)
    hits = dict.fromkeys(
        (
            "wilson",
            "item relevant",
            "labels mean",
            "item mean",
            "answers rouge",
            "item rouge",
            "pooled rouge",
        ),
        0,
    )
    for study in range(STUDIES):
        item = rng.normal(0, SD_ITEM, ITEMS)
        answer = rng.normal(0, SD_ANSWER, (ITEMS, REPEATS))
        z = MU + item[:, None, None] + answer[:, :, None]
        z = z + rng.normal(0, SD_LABEL, (ITEMS, REPEATS, ANNOTATORS))
        relevant = (z > CUT_RELEVANT).astype(float)
        score = np.where(z > CUT_RELEVANT, 1.0, np.where(z > CUT_PARTIAL, 0.5, 0.0))
        rouge = expit(MU + item[:, None] + answer)

        # Today: Wilson over labels (% relevant), a bootstrap of labels or answers otherwise.
        low, high = wilson_interval(int(relevant.sum()), relevant.size)
        hits["wilson"] += _covered(low / 100, high / 100, true_relevant)  # type: ignore[operator]
        _, low, high = bootstrap_mean_ci(score.ravel(), seed=study)  # type: ignore[misc]
        hits["labels mean"] += _covered(low, high, true_mean)
        _, low, high = bootstrap_mean_ci(rouge.ravel(), seed=study)  # type: ignore[misc]
        hits["answers rouge"] += _covered(low, high, true_rouge)

        cells = [(i, r, a) for i in range(ITEMS) for r in range(REPEATS) for a in range(ANNOTATORS)]
        for name, values, truth in (
            ("item relevant", relevant, true_relevant),
            ("item mean", score, true_mean),
        ):
            rows = [(i, "m", r, values[i, r, a]) for i, r, a in cells]
            figure = bootstrap_by_item(rows, seed=study).intervals()["m"]
            hits[name] += _covered(figure.ci_low, figure.ci_high, truth)
        rows = [(i, "m", r, rouge[i, r]) for i in range(ITEMS) for r in range(REPEATS)]
        figure = bootstrap_by_item(rows, seed=study).intervals()["m"]
        hits["item rouge"] += _covered(figure.ci_low, figure.ci_high, true_rouge)
        # As a study's ROUGE, chrF, judge and WER intervals are made: pooled (each answer weighs
        # the same) over the answers left when about one in five failed (items then hold 0 to
        # 3 answers, so pooled is not the mean of item means).
        # (A generator of its own: the other figures' draws stay as they were.)
        kept = np.random.default_rng((7, study)).random((ITEMS, REPEATS)) >= 0.2
        rows = [
            (i, "m", r, rouge[i, r]) for i in range(ITEMS) for r in range(REPEATS) if kept[i, r]
        ]
        figure = bootstrap_by_item(rows, pooled=True, seed=study).intervals()["m"]
        hits["pooled rouge"] += _covered(figure.ci_low, figure.ci_high, true_rouge)

    coverage = {name: n / STUDIES for name, n in hits.items()}
    # Measured with these seeds: Wilson 0.68, the labels' bootstrap of the mean relevance 0.66,
    # the answers' bootstrap of ROUGE 0.76; the item bootstrap 0.935, 0.9375, 0.9325, and pooled
    # over the answers left after failures 0.9375.
    assert 0.62 <= coverage["wilson"] <= 0.80, coverage
    assert coverage["labels mean"] <= 0.80, coverage
    assert coverage["answers rouge"] <= 0.85, coverage
    for name in ("item relevant", "item mean", "item rouge", "pooled rouge"):
        assert coverage[name] >= 0.90, coverage
        # And not above what a nominal 95% can give (it is not wide for its own sake).
        assert binomtest(hits[name], STUDIES, 0.95).pvalue > 0.001, coverage


def test_the_same_margin_on_every_item_is_decided_from_five_items_on() -> None:
    # a scores 0.5 above b on every item: every resample has a ahead by 0.5, the interval has
    # zero width (not shown), and the difference is decided, unanimously, from 5 items on.
    for n_items, decided in ((6, True), (5, True), (4, False)):
        rows = [(i, "a", f"a{i}", 1.0) for i in range(n_items)]
        rows += [(i, "b", f"b{i}", 0.5) for i in range(n_items)]
        boot = bootstrap_by_item(rows)
        a_b, b_a = boot.difference("a", "b"), boot.difference("b", "a")
        assert (a_b.ci_low, a_b.ci_high) == (None, None)
        assert (a_b.share_a_better, b_a.share_a_better) == (1.0, 0.0)
        assert a_b.decided is decided and b_a.decided is decided, n_items
