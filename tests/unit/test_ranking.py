"""Bradley-Terry ratings, their bootstrap intervals and ranks, against independent fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lineup.core.limits import InputError
from lineup.measure.bradley_terry import (
    BOOTSTRAP_RESAMPLES,
    ELO_MEAN,
    ELO_SCALE,
    L2_PENALTY,
    MIN_RESAMPLES,
    Battle,
    battle_outcome,
    battles_from_item_scores,
    bootstrap_ratings,
    fit_bradley_terry,
    item_score,
    label_draw,
)
from lineup.score.ranking import study_item_scores, study_ranking
from lineup.store.database import Store
from tests.builders import STUDY_MODELS, build_labeled_study
from tests.expected import counted_labels, logistic_regression_ratings

SCORE = {"relevant": 1.0, "partial": 0.5, "irrelevant": 0.0}

# Four models, every pair meeting several times with wins both ways and ties: no model is
# separable from the others, so the unpenalised fit exists too.
BATTLES: list[Battle] = [
    *[("a", "b", 1.0)] * 5,
    *[("a", "b", 0.0)] * 2,
    *[("a", "b", 0.5)] * 2,
    *[("b", "c", 1.0)] * 4,
    *[("b", "c", 0.0)] * 3,
    ("c", "b", 0.5),
    *[("a", "c", 1.0)] * 6,
    ("a", "c", 0.0),
    *[("d", "a", 1.0)] * 2,
    *[("d", "a", 0.0)] * 3,
    ("d", "c", 0.5),
    ("c", "d", 1.0),
    ("b", "d", 0.0),
    ("b", "d", 1.0),
]
MODELS = ["a", "b", "c", "d"]


def test_battles_pair_every_two_models_on_an_item_and_ties_are_half() -> None:
    scores = {
        "q1": {"a": 1.0, "b": 0.5, "c": 0.5},
        "q2": {"b": 0.0, "a": 0.25},
        "q3": {"c": 1.0},  # alone on its item: no battle
    }
    assert battles_from_item_scores(scores) == [
        ("a", "b", 1.0),
        ("a", "c", 1.0),
        ("b", "c", 0.5),
        ("b", "a", 0.0),
    ]


def test_bradley_terry_equals_a_logistic_regression_of_the_same_battles() -> None:
    ratings = fit_bradley_terry(BATTLES, MODELS)
    expected = logistic_regression_ratings(BATTLES, MODELS)
    assert list(ratings) == MODELS
    for model in MODELS:
        assert ratings[model] == pytest.approx(expected[model], abs=1e-3), model
    assert sum(ratings.values()) / len(ratings) == pytest.approx(ELO_MEAN, abs=1e-9)


def test_bradley_terry_probabilities_follow_the_elo_scale() -> None:
    # One pair, 3 wins of 4: the maximum-likelihood odds are 3:1, so the gap is
    # 400 * log10(3) points (the penalty moves it by a small fraction of a point).
    ratings = fit_bradley_terry([("a", "b", 1.0)] * 3 + [("a", "b", 0.0)], ["a", "b"])
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(3), abs=0.5)
    assert ratings["a"] + ratings["b"] == pytest.approx(2 * ELO_MEAN)


def test_a_battle_naming_an_unlisted_model_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the list"):
        fit_bradley_terry([("a", "z", 1.0)], ["a", "b"])


def clear_case() -> dict[int, dict[str, float]]:
    """40 items where best beats mid and mid beats worst on most items, with some upsets."""
    return {
        item: {
            "worst": 1.0 if item % 15 == 0 else 0.0,
            "best": 1.0 if item % 6 else 0.5,
            "mid": 0.0 if item % 11 == 0 else 0.5,
        }
        for item in range(40)
    }


def test_ratings_order_the_models_in_a_clear_case() -> None:
    ratings = bootstrap_ratings(clear_case())
    assert list(ratings) == ["best", "mid", "worst"]
    assert [r.rank for r in ratings.values()] == [1, 2, 3]
    for rating in ratings.values():
        assert rating.ci_low <= rating.rating <= rating.ci_high
    assert sum(r.rating for r in ratings.values()) / 3 == pytest.approx(ELO_MEAN, abs=1e-6)


def overlapping_case() -> dict[int, dict[str, float]]:
    """x and y close on 10 items, z clearly below both."""
    return {
        item: {"x": 1.0, "y": 0.5 if item % 3 else 1.0, "z": 0.0 if item % 2 else 0.5}
        for item in range(10)
    }


def test_overlapping_intervals_no_longer_share_a_rank_when_the_paired_difference_is_shown() -> None:
    """The rule before (1 + the models whose interval lies wholly above) gave x and y rank 1
    here; their intervals overlap, but x beats or ties y on every item, and in the resamples
    (refitted here by a plain loop over the same draws) x's rating minus y's never reaches 0:
    the paired difference is shown, so the ranks are 1, 2, 3."""
    ratings = bootstrap_ratings(overlapping_case())
    assert list(ratings) == ["x", "y", "z"]
    x, y, z = ratings.values()
    assert x.ci_low is not None and x.ci_high is not None
    assert y.ci_low is not None and y.ci_high is not None
    assert z.ci_low is not None and z.ci_high is not None
    assert x.ci_low < y.ci_high  # overlapping: the rule before shared rank 1
    assert z.ci_high < min(x.ci_low, y.ci_low)
    # The paired differences, resample by resample, from the same seeded draws of the items.
    scores = overlapping_case()
    items = list(scores)
    rng = np.random.default_rng(0)
    gaps: dict[tuple[str, str], list[float]] = {("x", "y"): [], ("y", "z"): [], ("x", "z"): []}
    alone: dict[str, list[float]] = {}
    for _ in range(1000):
        drawn = [items[i] for i in rng.integers(0, len(items), len(items))]
        battles = [b for item in drawn for b in battles_from_item_scores({item: scores[item]})]
        fitted = fit_bradley_terry(battles, ["x", "y", "z"])
        for a, b in gaps:
            gaps[(a, b)].append(fitted[a] - fitted[b])
        for model in fitted:
            alone.setdefault(model, []).append(fitted[model])
    for pair, values in gaps.items():
        assert np.percentile(values, 2.5) > 0, pair
    # The resamples are fitted together (one batched Newton); each one's fit alone agrees.
    for model, rated in ratings.items():
        assert rated.ci_low == pytest.approx(np.percentile(alone[model], 2.5), abs=1e-6)
        assert rated.ci_high == pytest.approx(np.percentile(alone[model], 97.5), abs=1e-6)
    assert [r.rank for r in ratings.values()] == [1, 2, 3]


def test_the_same_seed_gives_the_same_intervals() -> None:
    first = bootstrap_ratings(overlapping_case(), seed=7)
    assert bootstrap_ratings(overlapping_case(), seed=7) == first
    other = bootstrap_ratings(overlapping_case(), seed=8, resamples=300)
    assert {m: r.rating for m, r in other.items()} == {m: r.rating for m, r in first.items()}
    assert [r.ci_low for r in other.values()] != [r.ci_low for r in first.values()]


def test_a_model_that_wins_every_battle_is_marked_and_gets_no_rating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its fitted rating would be the penalty's (the issue: 1764 to 2736 as the penalty goes
    from 1e-2 to 1e-6): it is marked instead, and the others' ratings, centred on the models
    with a rating, do not move with the penalty."""
    scores = {item: {"champion": 1.0, "b": 0.5 * (item % 2), "c": 0.0} for item in range(12)}
    ratings = bootstrap_ratings(scores, resamples=200)
    champion = ratings["champion"]
    assert list(ratings)[0] == "champion"
    assert champion.won_every_comparison and not champion.lost_every_comparison
    assert (champion.rating, champion.ci_low, champion.ci_high, champion.rank) == (None,) * 4
    assert "won every comparison (24 battles)" in (champion.reason or "")
    b, c = ratings["b"], ratings["c"]
    assert b.rating is not None and c.rating is not None
    assert (b.rating + c.rating) / 2 == pytest.approx(ELO_MEAN)
    # b beats c on 6 items and ties on 6: 9 of 12, odds 3:1, 400 log10(3) points apart.
    assert b.rating - c.rating == pytest.approx(400 * math.log10(3), abs=0.5)
    import lineup.measure.bradley_terry as bt

    monkeypatch.setattr(bt, "L2_PENALTY", 1e-6)
    again = bootstrap_ratings(scores, resamples=200)
    assert again["b"].rating == pytest.approx(b.rating, abs=1.0)
    assert again["champion"].rating is None


def test_a_model_that_loses_every_battle_is_marked_too() -> None:
    scores = {item: {"a": 0.5 + 0.5 * (item % 2), "b": 0.5, "last": 0.0} for item in range(8)}
    last = bootstrap_ratings(scores, resamples=200)["last"]
    assert last.lost_every_comparison and last.rating is None and last.rank is None
    assert list(bootstrap_ratings(scores, resamples=200))[-1] == "last"


def test_one_shared_item_gives_no_rating_interval_or_rank() -> None:
    """The issue: one shared item gave 1507 against 493 with zero-width intervals and ranks
    1 and 2. Below MIN_ITEMS (5) items there is none, and the reason says so."""
    for n_items in (1, 4):
        scores = {i: {"a": 1.0 if i else 0.5, "b": 0.5 if i else 1.0} for i in range(n_items)}
        for rated in bootstrap_ratings(scores, resamples=200).values():
            if rated.won_every_comparison or rated.lost_every_comparison:
                continue
            assert (rated.rating, rated.ci_low, rated.ci_high, rated.rank) == (None,) * 4
            assert f"fewer than 5 items ({n_items})" in (rated.reason or "")


def test_the_fit_is_the_penalised_likelihoods_stationary_point_even_under_separation() -> None:
    """Independent of the solver: at the fitted strengths every central finite difference of
    the penalised negative log-likelihood (written here from its definition) is ~0, for data
    where one model wins every battle and for ordinary data."""
    rng = np.random.default_rng(5)
    models = ["w", "x", "y", "z"]
    battles: list[tuple[str, str, float]] = [("w", m, 1.0) for m in "xyz" for _ in range(6)]
    for _ in range(60):
        a, b = rng.choice(["x", "y", "z"], 2, replace=False)
        battles.append((str(a), str(b), float(rng.choice([0.0, 0.5, 1.0]))))
    for case in (battles, battles[18:]):
        ratings = fit_bradley_terry(case, models)
        theta = np.array([(ratings[m] - ELO_MEAN) / ELO_SCALE for m in models])

        def loss(t: np.ndarray, case: list[tuple[str, str, float]] = case) -> float:
            total = 0.5 * L2_PENALTY * float(t @ t)
            for a, b, outcome in case:
                p = 1 / (1 + math.exp(-(t[models.index(a)] - t[models.index(b)])))
                total -= outcome * math.log(p) + (1 - outcome) * math.log(1 - p)
            return total

        for i in range(len(models)):
            step = np.zeros(len(models))
            step[i] = 1e-5
            assert abs((loss(theta + step) - loss(theta - step)) / 2e-5) < 1e-5


def test_fewer_than_200_resamples_are_refused_and_no_battle_is_no_ranking() -> None:
    assert BOOTSTRAP_RESAMPLES == 1000 and MIN_RESAMPLES == 200
    with pytest.raises(ValueError, match="at least 200"):
        bootstrap_ratings(overlapping_case(), resamples=199)
    assert bootstrap_ratings({1: {"a": 1.0}, 2: {"b": 0.0}}) == {}


def test_study_item_scores_and_ranking_use_the_counted_labels_of_ok_answers(
    store: Store,
) -> None:
    built = build_labeled_study(store)
    answer_of = {a["id"]: a for a in built.answers}
    # Per cell, per answer, its counted labels' scores: the item score weighs each answer the
    # same (the mean of the answers' means), the label draw gives each label of an answer
    # 1 / (labels of the answer x labeled answers of the cell).
    by_cell: dict[tuple[int, str], dict[int, list[float]]] = {}
    for _, gid, relevance in counted_labels(built):
        answer = answer_of[gid]
        cell = by_cell.setdefault((answer["item_id"], answer["model"]), {})
        cell.setdefault(gid, []).append(SCORE[relevance])
    expected: dict[int, dict[str, float]] = {}
    draws: dict[int, dict[str, dict[float, float]]] = {}
    for (item_id, model), answers in sorted(
        by_cell.items(), key=lambda cell: (cell[0][0], STUDY_MODELS.index(cell[0][1]))
    ):
        means = [sum(labels) / len(labels) for labels in answers.values()]
        expected.setdefault(item_id, {})[model] = sum(means) / len(means)
        draw = draws.setdefault(item_id, {}).setdefault(model, {})
        for labels in answers.values():
            for value in labels:
                draw[value] = draw.get(value, 0.0) + 1 / (len(labels) * len(answers))
    # The labels give some cells answers with one and with two labels: the mean of the means
    # is not the mean of the labels there.
    assert any(
        len({len(labels) for labels in answers.values()}) > 1 for answers in by_cell.values()
    )

    scores = study_item_scores(store, built.study_id)
    assert list(scores) == list(expected)
    for item_id, wanted in expected.items():
        assert list(scores[item_id]) == list(wanted)  # in the study's model order
        assert scores[item_id] == pytest.approx(wanted)
    assert "m:c" not in scores[built.answers[-1]["item_id"]]  # it failed on the last item

    ranking = study_ranking(store, built.study_id)
    by_draws = bootstrap_ratings(draws)
    assert list(ranking) == list(by_draws) == ["m:a", "m:b", "m:c"]
    for model, rating in ranking.items():
        assert rating.rating == pytest.approx(by_draws[model].rating, abs=1e-6)
        assert rating.rank == by_draws[model].rank


def test_ranking_an_unknown_study_says_which_id(store: Store) -> None:
    with pytest.raises(InputError, match="no study 42"):
        study_ranking(store, 42)


def test_a_model_missing_from_a_resample_is_rated_only_where_it_plays() -> None:
    scores: dict[int, dict[str, float]] = {
        item: {"a": 1.0 if item % 3 else 0.5, "b": 0.5} for item in range(20)
    }
    scores[20] = {"a": 0.0, "rare": 1.0}  # rare plays on one item of 21
    scores[21] = {"rare": 0.5}  # alone: not an item of the bootstrap
    ratings = bootstrap_ratings(scores)
    assert set(ratings) == {"a", "b", "rare"}
    rare = ratings["rare"]
    # One item: no rating, interval or rank (MIN_ITEMS), and it won its only battle.
    assert rare.items == 1 and rare.rating is None and rare.rank is None
    a = ratings["a"]
    assert a.rating is not None and a.ci_low is not None and a.ci_high is not None
    assert a.ci_low <= a.rating <= a.ci_high and a.items == 21


# Blocks of three items: the model labeled once per cell gets the block's three labels one
# per item; the model labeled three times per cell gets all three labels on every item. Both
# draw their labels from the same distribution; "steady" is a different model, partial always.
BLOCKS = [
    ("relevant", "relevant", "irrelevant"),
    ("relevant", "partial", "irrelevant"),
    ("partial", "partial", "relevant"),
    ("irrelevant", "irrelevant", "relevant"),
    ("relevant", "relevant", "partial"),
]


def _once_and_thrice() -> dict[str, dict[int, list[dict[str, int]]]]:
    """Per model, per item, per answer its counted labels of each relevance."""
    cells: dict[str, dict[int, list[dict[str, int]]]] = {"once": {}, "thrice": {}, "steady": {}}
    for b, block in enumerate(BLOCKS):
        everything: dict[str, int] = {}
        for relevance in block:
            everything[relevance] = everything.get(relevance, 0) + 1
        for k, relevance in enumerate(block):
            item = 3 * b + k
            cells["once"][item] = [{relevance: 1}]
            cells["thrice"][item] = [dict(everything)]
            cells["steady"][item] = [{"partial": 1}]
    return cells


def test_the_number_of_labels_per_cell_does_not_move_the_rating() -> None:
    cells = _once_and_thrice()
    items = sorted(cells["once"])
    draws = {i: {m: label_draw(cells[m][i]) for m in cells} for i in items}
    ratings = bootstrap_ratings(draws)
    assert abs(ratings["once"].rating - ratings["thrice"].rating) < 1.0
    # By hand: on block 1, once against thrice: relevant vs {R, R, I} = (0.5 + 0.5 + 1) / 3
    # twice, irrelevant vs it = 0.5 / 3; together 1.5 of 3, even.
    assert battle_outcome(label_draw([{"relevant": 1}]), draws[0]["thrice"]) == pytest.approx(2 / 3)
    assert battle_outcome(label_draw([{"irrelevant": 1}]), draws[0]["thrice"]) == pytest.approx(
        1 / 6
    )
    # Comparing the cells' mean labels instead (the rule before) moves them 24 points apart:
    # a mean of three labels sits between the extremes a single label takes.
    means = {i: {m: item_score(cells[m][i]) for m in cells} for i in items}
    before = bootstrap_ratings(means)  # type: ignore[arg-type]
    assert abs(before["once"].rating - before["thrice"].rating) > 20


def test_item_score_weighs_each_answer_the_same() -> None:
    # Answer 1: relevant, irrelevant (mean 0.5); answer 2: partial (0.5); answer 3: relevant.
    answers = [{"relevant": 1, "irrelevant": 1}, {"partial": 1}, {"relevant": 1}]
    assert item_score(answers) == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert label_draw(answers) == pytest.approx({1.0: 0.5, 0.0: 1 / 6, 0.5: 1 / 3})
    assert item_score([]) is None and label_draw([{}]) == {}
