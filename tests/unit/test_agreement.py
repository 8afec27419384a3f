"""Annotator and judge agreement against hand computations and a textbook implementation."""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from itertools import combinations

import pytest

from lineup.core.limits import InputError
from lineup.score.agreement import (
    ORDINAL,
    KappaPair,
    alpha_and_kappas,
    alpha_reading,
    judge_agreement,
    label_for_score,
    study_agreement,
)
from lineup.store.database import Store
from tests.builders import build_labeled_study
from tests.expected import counted_labels

NAMES = {value: name for name, value in ORDINAL.items()}


def textbook_ordinal_alpha(labels: list[tuple[str, Hashable, str]]) -> float:
    """Krippendorff's ordinal alpha as his 2011 paper computes it: the coincidence matrix
    o[c][k] (each unit adds its ordered pairs of values over m_u - 1), n_c its column sums,
    delta^2(c, k) = (sum of n_g for g from c to k - (n_c + n_k) / 2)^2, and
    alpha = 1 - (n - 1) * sum(o * delta^2) / sum(n_c * n_k * delta^2)."""
    units: dict[Hashable, list[int]] = {}
    for _, unit, relevance in labels:
        units.setdefault(unit, []).append(ORDINAL[relevance])
    values = sorted(ORDINAL.values())
    o = {(c, k): 0.0 for c in values for k in values}
    for unit_values in units.values():
        m = len(unit_values)
        if m < 2:
            continue
        for i, j in ((i, j) for i in range(m) for j in range(m) if i != j):
            o[(unit_values[i], unit_values[j])] += 1 / (m - 1)
    n_c = {c: sum(o[(c, k)] for k in values) for c in values}
    n = sum(n_c.values())

    def delta2(c: int, k: int) -> float:
        low, high = min(c, k), max(c, k)
        return (sum(n_c[g] for g in range(low, high + 1)) - (n_c[c] + n_c[k]) / 2) ** 2

    observed = sum(o[(c, k)] * delta2(c, k) for c in values for k in values)
    expected = sum(n_c[c] * n_c[k] * delta2(c, k) for c in values for k in values)
    return 1 - (n - 1) * observed / expected


def linear_kappa_by_hand(first: Sequence[int], second: Sequence[int]) -> float:
    """1 - mean |a - b| over the pairs / the mean |a - b| the two marginals give by chance."""
    n = len(first)
    observed = sum(abs(a - b) for a, b in zip(first, second, strict=True)) / n
    expected = sum(abs(a - b) for a in first for b in second) / (n * n)
    return 1 - observed / expected


# Three annotators over six answers, some answers labeled by one only.
LABELS = [
    ("ana", 1, "relevant"),
    ("bob", 1, "relevant"),
    ("cy", 1, "partial"),
    ("ana", 2, "partial"),
    ("bob", 2, "irrelevant"),
    ("ana", 3, "irrelevant"),
    ("bob", 3, "irrelevant"),
    ("cy", 3, "irrelevant"),
    ("ana", 4, "relevant"),
    ("cy", 4, "relevant"),
    ("bob", 5, "partial"),
    ("cy", 5, "relevant"),
    ("ana", 6, "partial"),  # alone: no information on agreement
]


def test_alpha_equals_the_textbook_ordinal_computation() -> None:
    agreement = alpha_and_kappas(LABELS)
    assert agreement.n_items == 5
    assert agreement.alpha == pytest.approx(textbook_ordinal_alpha(LABELS), abs=1e-12)
    assert 0 < agreement.alpha < 1


def test_kappa_is_linear_weighted_over_the_answers_two_annotators_share() -> None:
    # ana and bob share answers 1, 2, 3: (2, 2), (1, 0), (0, 0).
    pairs = {(p.a, p.b): p for p in alpha_and_kappas(LABELS).kappa_pairs}
    assert list(pairs) == [("ana", "bob"), ("ana", "cy"), ("bob", "cy")]
    assert pairs[("ana", "bob")].n_shared == 3
    assert pairs[("ana", "bob")].kappa == pytest.approx(linear_kappa_by_hand([2, 1, 0], [2, 0, 0]))
    assert pairs[("ana", "cy")].n_shared == 3
    assert pairs[("bob", "cy")].n_shared == 3


def test_kappa_on_a_hand_worked_example_is_six_elevenths() -> None:
    # a = 2 2 1 0 1, b = 2 1 1 0 0: mean |a - b| = 0.4; by chance (marginals .2 .4 .4 and
    # .4 .4 .2) 0.88; kappa = 1 - 0.4 / 0.88 = 6/11. Unweighted it would be 0.28 / 0.68.
    a, b = [2, 2, 1, 0, 1], [2, 1, 1, 0, 0]
    labels = [("a", u, NAMES[v]) for u, v in enumerate(a)]
    labels += [("b", u, NAMES[v]) for u, v in enumerate(b)]
    [pair] = alpha_and_kappas(labels).kappa_pairs
    assert pair == KappaPair("a", "b", pytest.approx(6 / 11), 5, pytest.approx(3 / 5))
    assert pair.kappa != pytest.approx(0.28 / 0.68)


def test_agreement_is_undefined_without_two_labels_or_without_disagreement_possible() -> None:
    lonely = alpha_and_kappas([("ana", 1, "relevant"), ("bob", 2, "partial")])
    assert (lonely.alpha, lonely.n_items) == (None, 0)
    assert lonely.kappa_pairs == [KappaPair("ana", "bob", None, 0)]
    same = alpha_and_kappas([(who, u, "partial") for who in ("ana", "bob") for u in (1, 2)])
    assert (same.alpha, same.n_items) == (None, 2)
    assert same.kappa_pairs == [KappaPair("ana", "bob", None, 2, 1.0)]
    assert same.raw == 1.0 and lonely.raw is None
    assert alpha_and_kappas([]).kappa_pairs == []


def test_two_labels_of_one_annotator_on_one_answer_are_refused() -> None:
    with pytest.raises(ValueError, match="two labels on unit 1"):
        alpha_and_kappas([("ana", 1, "relevant"), ("ana", 1, "partial")])
    with pytest.raises(ValueError, match="Unknown relevance"):
        alpha_and_kappas([("ana", 1, "great")])


def test_judge_scores_map_to_labels_at_the_documented_cut_points() -> None:
    assert [label_for_score(s) for s in range(1, 11)] == (
        ["irrelevant"] * 3 + ["partial"] * 4 + ["relevant"] * 3
    )
    assert label_for_score(3.5) == "irrelevant" and label_for_score(7.9) == "partial"
    for outside in (0, 10.5):
        with pytest.raises(ValueError, match="from 1 to 10"):
            label_for_score(outside)


def average_ranks(values: Sequence[float]) -> list[float]:
    ordered = sorted(values)
    return [
        statistics.mean(i + 1 for i, other in enumerate(ordered) if other == value)
        for value in values
    ]


def test_judge_agreement_gives_spearman_and_kappa_of_the_mapped_scores() -> None:
    scores = [1, 3, 4, 7, 8, 10, 5, 9, 2, 6]
    labels = [
        "irrelevant",
        "partial",
        "partial",
        "relevant",
        "relevant",
        "relevant",
        "irrelevant",
        "partial",
        "irrelevant",
        "partial",
    ]
    result = judge_agreement(scores, labels)
    truth = [ORDINAL[label] for label in labels]
    assert result.n == 10
    spearman = statistics.correlation(average_ranks(scores), average_ranks(truth))
    assert result.spearman == pytest.approx(spearman)
    mapped = [ORDINAL[label_for_score(s)] for s in scores]  # 0 0 1 1 2 2 1 2 0 1
    assert mapped == [0, 0, 1, 1, 2, 2, 1, 2, 0, 1]
    assert result.kappa == pytest.approx(linear_kappa_by_hand(mapped, truth))
    with pytest.raises(ValueError, match="one label per score"):
        judge_agreement([1, 2], ["partial"])
    constant = judge_agreement([5, 5], ["partial", "relevant"])
    assert constant.spearman is None and constant.kappa is not None


def test_study_agreement_reads_each_annotators_counted_label_on_the_ok_answers(
    store: Store,
) -> None:
    built = build_labeled_study(store)
    labels = counted_labels(built)
    first = built.answers[0]["id"]
    assert ("ana", first, "irrelevant") in labels  # the relabel, not the first label

    agreement = study_agreement(store, built.study_id)
    assert agreement == alpha_and_kappas(labels)
    assert agreement.alpha == pytest.approx(textbook_ordinal_alpha(labels), abs=1e-12)
    ana = {gid: r for who, gid, r in labels if who == "ana"}
    bob = {gid: r for who, gid, r in labels if who == "bob"}
    shared = sorted(set(ana) & set(bob))
    [pair] = agreement.kappa_pairs
    assert (pair.a, pair.b, pair.n_shared) == ("ana", "bob", len(shared))
    assert agreement.n_items == len(shared)
    assert pair.kappa == pytest.approx(
        linear_kappa_by_hand([ORDINAL[ana[g]] for g in shared], [ORDINAL[bob[g]] for g in shared])
    )
    same = sum(ana[g] == bob[g] for g in shared)
    assert pair.raw == pytest.approx(same / len(shared))
    assert agreement.raw == pytest.approx(same / len(shared))  # two annotators: the same


def test_agreement_of_an_unknown_study_says_which_id(store: Store) -> None:
    with pytest.raises(InputError, match="no study 42"):
        study_agreement(store, 42)


def test_every_pair_of_annotators_is_reported_once_in_alphabetical_order() -> None:
    annotators = ["zoe", "ana", "max"]
    labels = [(who, u, "relevant" if u % 2 else "partial") for who in annotators for u in (1, 2)]
    pairs = [(p.a, p.b) for p in alpha_and_kappas(labels).kappa_pairs]
    assert pairs == list(combinations(sorted(annotators), 2))


def test_eight_identical_labels_of_nine_give_kappa_and_alpha_zero_and_raw_eight_ninths() -> None:
    # ana says relevant on all 9 answers; bob on 8, partial on one. By hand: kappa's observed
    # disagreement (linear weight 1/2 on the one partial) is 0.5 / 9, and by chance, with
    # ana relevant throughout, P(bob partial) x 1/2 = 1/9 x 1/2: the same, kappa = 0. Alpha:
    # 17 relevant and 1 partial in 9 pairable units; the one mixed unit adds o(r, p) =
    # o(p, r) = 1, so D_o = 2 d / 18 and D_e = 2 x 17 x 1 x d / (18 x 17) = 2 d / 18: alpha = 0.
    # Raw agreement: 8 of the 9 units have the same label twice.
    labels = [("ana", u, "relevant") for u in range(9)]
    labels += [("bob", u, "partial" if u == 4 else "relevant") for u in range(9)]
    agreement = alpha_and_kappas(labels)
    assert agreement.alpha == pytest.approx(0.0, abs=1e-12)
    [pair] = agreement.kappa_pairs
    assert pair.kappa == pytest.approx(0.0, abs=1e-12)
    assert pair.raw == pytest.approx(8 / 9) and agreement.raw == pytest.approx(8 / 9)
    assert agreement.n_items == pair.n_shared == 9


def test_raw_agreement_counts_every_pair_of_labels_on_an_answer() -> None:
    # Unit 1: ana, bob, cy all relevant (3 identical pairs of 3); unit 2: ana relevant, bob
    # partial, cy relevant (1 of 3: ana-cy); unit 3: ana alone (no pair). 4 of 6.
    labels = [
        ("ana", 1, "relevant"),
        ("bob", 1, "relevant"),
        ("cy", 1, "relevant"),
        ("ana", 2, "relevant"),
        ("bob", 2, "partial"),
        ("cy", 2, "relevant"),
        ("ana", 3, "irrelevant"),
    ]
    agreement = alpha_and_kappas(labels)
    assert agreement.raw == pytest.approx(4 / 6)
    assert [(p.a, p.b, p.raw) for p in agreement.kappa_pairs] == [
        ("ana", "bob", 0.5),
        ("ana", "cy", 1.0),
        ("bob", "cy", 0.5),
    ]


@pytest.mark.parametrize(
    ("alpha", "reading"),
    [
        (None, None),
        (0.95, "reliable"),
        (0.8, "reliable"),
        (0.79, "tentative"),
        (0.667, "tentative"),
        (0.66, "not reliable"),
        (-0.1, "not reliable"),
    ],
)
def test_alpha_is_read_at_krippendorffs_thresholds(
    alpha: float | None, reading: str | None
) -> None:
    assert alpha_reading(alpha) == reading
