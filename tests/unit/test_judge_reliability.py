"""The judge's own reliability (lineup.score.judge_reliability) and the position-neutral
pairwise figure, against verdict sets worked by hand: every expected number below is counted
or divided on paper from the scores written in the test, never by the code's formula."""

from __future__ import annotations

import pytest

from lineup.score.agreement import JudgeAgreement
from lineup.score.judge_reliability import (
    JudgeLabel,
    agreement_by_model,
    disagrees,
    disputes,
    flipped,
    position_bias,
    reliability_of,
)
from lineup.score.judge_verdicts import StudyJudge, Verdict, pairwise_figure
from lineup.store import JUDGE_FAILED, JUDGE_SCORED


def pair(model: str, first: tuple[float, float], second: tuple[float, float]) -> Verdict:
    """A scored pairwise verdict: (candidate, reference) with the candidate shown first, then
    with the reference shown first."""
    mine, theirs = [first[0], second[0]], [first[1], second[1]]
    return Verdict(
        model,
        JUDGE_SCORED,
        sum(mine) / 2,
        None,
        None,
        figure=pairwise_figure(mine, theirs),
        reference_score=sum(theirs) / 2,
        orders=(first, second),
    )


# Four answers judged in both orders, and one whose second order failed.
#   A (9,5) (8,4): candidate both times. Shown first: the candidate won (first), then the
#                  reference lost (second). No flip.
#   B (7,7) (6,8): a tie, then the reference (shown first) won: one tie, one first. Flip.
#   C (8,6) (6,8): the answer shown first won both times: two firsts. Flip.
#   D (3,9) (2,9): the reference both times: the candidate shown first lost (second), the
#                  reference shown first won (first). No flip.
# Decided verdicts: 7 (8 less B's tie); firsts A1 + B1 + C2 + D1 = 5, seconds A1 + D1 = 2.
VERDICTS = {
    11: pair("m:x", (9, 5), (8, 4)),
    12: pair("m:x", (7, 7), (6, 8)),
    13: pair("m:y", (8, 6), (6, 8)),
    14: pair("m:y", (3, 9), (2, 9)),
    15: Verdict("m:y", JUDGE_FAILED, None, None, "no score"),
}


def test_first_position_wins_ties_and_flips_counted_by_hand() -> None:
    bias = position_bias(VERDICTS.values())
    assert (bias.pairs, bias.first_wins, bias.second_wins, bias.ties, bias.flips) == (4, 5, 2, 1, 2)
    assert bias.first_position_win_rate == pytest.approx(5 / 7)
    assert bias.flip_rate == pytest.approx(2 / 4)
    assert [flipped(VERDICTS[gid]) for gid in (11, 12, 13, 14, 15)] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_no_pair_no_rates_and_a_judge_that_ties_everything_has_no_win_rate() -> None:
    empty = position_bias([])
    assert (empty.first_position_win_rate, empty.flip_rate) == (None, None)
    ties = position_bias([pair("m:x", (5, 5), (7, 7))])
    assert (ties.ties, ties.flips, ties.first_position_win_rate, ties.flip_rate) == (
        2,
        0,
        None,
        0.0,
    )


@pytest.mark.parametrize(("first", "second"), [(8, 6), (10, 1), (6, 8), (2, 9)])
def test_a_fixed_position_bias_gives_exactly_one_and_is_reported(first: int, second: int) -> None:
    # Whatever the answers say, the judge gives `first` to Answer 1 and `second` to Answer 2:
    # the candidate gets first, then second; the reference second, then first.
    verdict = pair("m:x", (first, second), (second, first))
    assert verdict.figure == 1.0  # (first + second) / (second + first)
    bias = position_bias([verdict] * 3)
    assert bias.flip_rate == 1.0
    assert bias.first_position_win_rate == (1.0 if first > second else 0.0)


def test_the_figure_is_the_ratio_of_summed_scores() -> None:
    # A: (9 + 8) / (5 + 4) = 17/9; C: (8 + 6) / (6 + 8) = 1; D: (3 + 2) / (9 + 9) = 5/18.
    assert VERDICTS[11].figure == pytest.approx(17 / 9)
    assert VERDICTS[13].figure == 1.0
    assert VERDICTS[14].figure == pytest.approx(5 / 18)


@pytest.mark.parametrize(
    ("score", "relevance", "expected"),
    [
        (3.5, "relevant", True),
        (4.0, "relevant", False),  # 4 reads partial: one step
        (1.0, "partial", False),
        (10.0, "partial", False),
        (8.0, "irrelevant", True),
        (7.5, "irrelevant", False),
        (9.0, "relevant", False),
        (1.0, "irrelevant", False),
    ],
)
def test_disagreement_is_two_steps_apart(score: float, relevance: str, expected: bool) -> None:
    assert disagrees(score, relevance) is expected


def test_disputed_answers_are_the_flipped_and_the_contradicted() -> None:
    # The judge's score is the candidate's mean: A 8.5, B 6.5, C 7, D 2.5.
    labels = [
        JudgeLabel(11, "m:x", "ana", 8.5, "irrelevant"),  # 8.5 reads relevant: two steps
        JudgeLabel(11, "m:x", "bo", 8.5, "relevant"),
        JudgeLabel(12, "m:x", "ana", 6.5, "irrelevant"),  # partial: one step only
        JudgeLabel(14, "m:y", "bo", 2.5, "relevant"),  # 2.5 reads irrelevant: two steps
        JudgeLabel(14, "m:y", "ana", 2.5, "relevant"),
        JudgeLabel(14, "m:y", "cy", 2.5, "partial"),
    ]
    found = disputes(VERDICTS, labels)
    assert list(found) == [11, 12, 13, 14]
    assert [(d.flipped, d.disagreed_with) for d in found.values()] == [
        (False, ("ana",)),
        (True, ()),
        (True, ()),
        (False, ("ana", "bo")),
    ]
    # The reference protocol has no orders: only labels make a dispute.
    reference = {21: Verdict("m:x", JUDGE_SCORED, 9.0, None, None, figure=0.9)}
    assert disputes(reference, []) == {}
    assert list(disputes(reference, [JudgeLabel(21, "m:x", "ana", 9.0, "irrelevant")])) == [21]


def test_agreement_per_model_worked_by_hand() -> None:
    labels = [
        # m:x, scores 2, 5, 9 against irrelevant, partial, relevant: the same order
        # (Spearman 1) and, read at the cuts (2 irrelevant, 5 partial, 9 relevant), the same
        # labels (kappa 1).
        JudgeLabel(1, "m:x", "ana", 2.0, "irrelevant"),
        JudgeLabel(2, "m:x", "ana", 5.0, "partial"),
        JudgeLabel(3, "m:x", "ana", 9.0, "relevant"),
        # m:y, scores 9 and 2 against irrelevant and relevant: reversed (Spearman -1). Read
        # as labels: (relevant, irrelevant) against (irrelevant, relevant); observed linear
        # disagreement 1 per pair, chance (margins 1/2, 1/2 each side) 1/2: kappa 1 - 1/0.5.
        JudgeLabel(4, "m:y", "ana", 9.0, "irrelevant"),
        JudgeLabel(5, "m:y", "bo", 2.0, "relevant"),
    ]
    by_model = agreement_by_model(["m:x", "m:y", "m:z"], labels)
    assert list(by_model) == ["m:x", "m:y", "m:z"]
    assert by_model["m:x"] == JudgeAgreement(spearman=pytest.approx(1.0), kappa=1.0, n=3)
    assert by_model["m:y"].spearman == pytest.approx(-1.0)
    assert by_model["m:y"].kappa == pytest.approx(-1.0)
    assert by_model["m:y"].n == 2
    assert by_model["m:z"] == JudgeAgreement(spearman=None, kappa=None, n=0)


def test_reliability_has_no_position_figures_for_the_reference_protocol() -> None:
    reference = {21: Verdict("m:x", JUDGE_SCORED, 9.0, None, None, figure=0.9)}
    found = reliability_of(["m:x"], StudyJudge("j", "reference"), reference, [])
    assert found.bias is None and found.disputes == {}
    pairwise = reliability_of(["m:x", "m:y"], StudyJudge("j", "pairwise"), VERDICTS, [])
    assert pairwise.bias is not None and pairwise.bias.flips == 2
    assert list(pairwise.disputes) == [12, 13]
