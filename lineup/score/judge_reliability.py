"""The LLM judge's own reliability: how far its pairwise verdicts depend on the order the two
answers are shown in, how far it agrees with the people model by model, and the answers it
disputes (the label queue's "Disputed" filter walks them).

Definitions (one place for each; the verdicts are the judge's latest finished ones on the
study's current complete answers, lineup.score.judge_verdicts):

- An order of a pairwise verdict (lineup.score.judge): position 1 shows the candidate first
  and the reference model's answer second, position 2 the other way round; in each the judge
  scores both answers. Its outcome: "candidate" when the candidate's score is higher,
  "reference" when the reference's is, "tie" when they are equal (`order_outcome`).
- The pairs: the answers whose two orders are both scored (an unparsed or failed order
  leaves its answer out). Each gives two verdicts, one at each position.
- First-position win rate: over the pairs' verdicts that are decided (not a tie), the share in
  which the answer shown first scored higher (position 1: the candidate won; position 2: the
  reference won). Ties are counted apart (`ties`) and left out of the share; None when no
  verdict is decided. Since every answer is asked in both orders, a judge whose verdict does
  not depend on the order gives exactly 0.5 whatever the answers are (a candidate that wins
  both orders wins once shown first and once shown second); a judge that always prefers the
  first answer gives 1.0, one that always prefers the second 0.0.
- Flip: a pair whose outcome changes when the order is swapped (the candidate wins one order
  and the reference the other, or a tie in one order and a win in the other). Flip rate:
  flips / pairs; None with no pair. A judge that gives 8 to "Answer 1" and 6 to "Answer 2"
  whatever they say flips every pair (flip rate 1.0, first-position win rate 1.0), and its
  figure (lineup.score.judge: summed scores over both orders) is 1.0 for every answer.
- Judge-human agreement per model: lineup.score.agreement's judge agreement (Spearman, linear
  kappa, n) over the pairs (the judge's score, a counted label) on that model's answers, one
  pair per (answer, annotator). The judge's score of an answer: protocol `reference` its
  score; `pairwise` the candidate's mean score over the two orders (as the overall agreement).
- Disagreement with a person's label (both protocols): the judge's score of the answer, read
  as a label at lineup.score.agreement's JUDGE_CUTS (below 4 irrelevant, 4 to below 8
  partial, 8 and up relevant, as the judge's kappa reads it), is two steps from the person's
  counted label: the person said relevant and the judge scored below 4, or the person said
  irrelevant and the judge scored 8 or more. A one-step difference (partial against either
  end) is not a disagreement.
- Disputed answer: pairwise, an answer the judge flipped; both protocols, an answer on which
  the judge disagreed with at least one person's label. The label queue's "Disputed" filter
  shows these answers only (of the study's latest judge, the one whose figures the models
  carry), item by item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lineup.score.agreement import JUDGE_CUTS, JudgeAgreement, judge_agreement
from lineup.score.judge_prompt import PROTOCOL_PAIRWISE
from lineup.score.judge_verdicts import StudyJudge, Verdict, latest_verdicts
from lineup.store import JUDGE_SCORED, Generation, Label, Store
from lineup.study import counted_labels

CANDIDATE, REFERENCE, TIE = "candidate", "reference", "tie"


def order_outcome(candidate: float, reference: float) -> str:
    """Who won one order of a pairwise verdict (module docstring)."""
    if candidate > reference:
        return CANDIDATE
    return REFERENCE if reference > candidate else TIE


def flipped(verdict: Verdict) -> bool:
    """Whether a scored pairwise verdict changes its outcome with the order (module
    docstring); False for a verdict without both orders."""
    if verdict.orders is None:
        return False
    first, second = verdict.orders
    return order_outcome(*first) != order_outcome(*second)


@dataclass(frozen=True)
class PositionBias:
    """How a pairwise judge's verdicts depend on the order (module docstring)."""

    pairs: int  # answers scored in both orders
    first_wins: int  # verdicts in which the answer shown first scored higher
    second_wins: int  # ... the answer shown second
    ties: int  # verdicts with equal scores, left out of the win rate
    flips: int  # pairs whose outcome changed with the order

    @property
    def first_position_win_rate(self) -> float | None:
        decided = self.first_wins + self.second_wins
        return self.first_wins / decided if decided else None

    @property
    def flip_rate(self) -> float | None:
        return self.flips / self.pairs if self.pairs else None


def position_bias(verdicts: Iterable[Verdict]) -> PositionBias:
    """First-position wins, ties and flips over the scored pairwise verdicts (module
    docstring)."""
    pairs = first_wins = second_wins = ties = flips = 0
    for verdict in verdicts:
        if verdict.status != JUDGE_SCORED or verdict.orders is None:
            continue
        pairs += 1
        flips += flipped(verdict)
        # Position 1 shows the candidate first, position 2 the reference.
        for outcome, first_shown in zip(
            (order_outcome(*order) for order in verdict.orders),
            (CANDIDATE, REFERENCE),
            strict=True,
        ):
            if outcome == TIE:
                ties += 1
            elif outcome == first_shown:
                first_wins += 1
            else:
                second_wins += 1
    return PositionBias(pairs, first_wins, second_wins, ties, flips)


@dataclass(frozen=True)
class JudgeLabel:
    """A counted label beside the judge's score of the same answer."""

    generation_id: int
    model: str
    annotator: str
    score: float  # 1-10 (pairwise: the candidate's mean over the two orders)
    relevance: str


def judge_labels(store: Store, study_id: int, verdicts: Mapping[int, Verdict]) -> list[JudgeLabel]:
    """Every counted label on the study's complete answers beside the judge's score of the
    same answer (its latest scored verdict), by answer then annotator."""
    with store.session() as session:
        rows = session.execute(
            counted_labels(study_id, Label.generation_id, Label.annotator, Label.relevance)
            .add_columns(Generation.model_spec)
            .order_by(Label.generation_id, Label.annotator)
        ).all()
    found = []
    for gid, annotator, relevance, model in rows:
        verdict = verdicts.get(gid)
        if verdict is None or verdict.status != JUDGE_SCORED or verdict.score is None:
            continue
        found.append(JudgeLabel(gid, model, annotator, float(verdict.score), relevance))
    return found


def disagrees(score: float, relevance: str) -> bool:
    """Whether the judge's score (1-10) and a person's label are two steps apart (module
    docstring)."""
    partial_from, relevant_from = JUDGE_CUTS
    if relevance == "relevant":
        return score < partial_from
    return relevance == "irrelevant" and score >= relevant_from


@dataclass(frozen=True)
class Dispute:
    """An answer the judge disputes (module docstring): why."""

    generation_id: int
    model: str
    flipped: bool  # pairwise: its verdict changed with the order
    disagreed_with: tuple[str, ...]  # the annotators whose label the judge's score contradicts


def disputes(verdicts: Mapping[int, Verdict], labels: Iterable[JudgeLabel]) -> dict[int, Dispute]:
    """The disputed answers (module docstring), by generation id in increasing order."""
    against: dict[int, list[str]] = {}
    for label in labels:
        if disagrees(label.score, label.relevance):
            against.setdefault(label.generation_id, []).append(label.annotator)
    found = {}
    for gid in sorted(verdicts):
        verdict = verdicts[gid]
        flip = verdict.status == JUDGE_SCORED and flipped(verdict)
        if flip or gid in against:
            found[gid] = Dispute(gid, verdict.model, flip, tuple(sorted(against.get(gid, ()))))
    return found


def agreement_by_model(
    models: Sequence[str], labels: Iterable[JudgeLabel]
) -> dict[str, JudgeAgreement]:
    """The judge against the people, per model in `models`' order (then any other model a
    label names): module docstring."""
    scores: dict[str, list[float]] = {model: [] for model in models}
    relevances: dict[str, list[str]] = {model: [] for model in models}
    for label in labels:
        scores.setdefault(label.model, []).append(label.score)
        relevances.setdefault(label.model, []).append(label.relevance)
    return {model: judge_agreement(scores[model], relevances[model]) for model in scores}


@dataclass(frozen=True)
class JudgeReliability:
    """One judge's reliability on a study (module docstring)."""

    judge: StudyJudge
    bias: PositionBias | None  # None for the reference protocol
    disputes: dict[int, Dispute]
    by_model: dict[str, JudgeAgreement]


def reliability_of(
    models: Sequence[str],
    judge: StudyJudge,
    verdicts: Mapping[int, Verdict],
    labels: Sequence[JudgeLabel],
) -> JudgeReliability:
    """The judge's reliability from its latest verdicts and the labels beside them
    (judge_labels)."""
    bias = position_bias(verdicts.values()) if judge.protocol == PROTOCOL_PAIRWISE else None
    return JudgeReliability(
        judge, bias, disputes(verdicts, labels), agreement_by_model(models, labels)
    )


def disputed_answers(store: Store, study_id: int, judge: StudyJudge) -> dict[int, Dispute]:
    """The answers of the study the judge disputes (module docstring), read from the store."""
    verdicts = latest_verdicts(store, study_id, judge.spec, judge.protocol)
    return disputes(verdicts, judge_labels(store, study_id, verdicts))
