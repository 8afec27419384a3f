"""The arena mode of the labeling queue (lineup.arena): which pairs an annotator sees, in what
order and on which sides, which votes are refused, which count, and the ranking they give,
checked against a logistic regression of the same battles (as tests/unit/test_ranking.py does
for the labels)."""

from __future__ import annotations

import math
from dataclasses import fields
from itertools import combinations

import pytest
from sqlalchemy import func, select

from lineup.core.limits import InputError
from lineup.measure.bradley_terry import Battle, bootstrap_battles
from lineup.report import ARENA_KEYS, study_summary
from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.store.tables import ANNOTATOR_MAX_CHARS, VOTES, PairwiseVote
from lineup.study.arena import (
    ArenaPair,
    ArenaView,
    arena_queue,
    arena_ranking,
    arena_view,
    pair_hash,
    vote,
)
from tests.builders import make_study
from tests.expected import logistic_regression_ratings

MODELS = ["m:x", "m:y", "m:z"]
Ids = dict[tuple[int, str, int], int]


def model_of(ids: Ids) -> dict[int, str]:
    return {gid: model for (_, model, _), gid in ids.items()}


def stored_votes(store: Store) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count(PairwiseVote.id))).scalar_one())


def test_pairs_are_every_two_models_of_an_item_with_their_first_complete_answers(
    store: Store, media: MediaStore
) -> None:
    # Item 2: m:z's first repeat failed, its second stands in. Item 3: m:y has no complete
    # answer, so its two pairs are left out.
    failed = frozenset({(2, "m:z", 0), (3, "m:y", 0), (3, "m:y", 1)})
    study_id, ids = make_study(store, media, models=MODELS, items=4, repeats=2, failed=failed)
    queue = arena_queue(store, study_id, "ana")
    assert queue.total == 4 * math.comb(3, 2) - 2 == 10
    first = {
        (number, model): next(
            ids[(number, model, r)] for r in (0, 1) if (number, model, r) not in failed
        )
        for number in range(1, 5)
        for model in MODELS
        if any((number, model, r) not in failed for r in (0, 1))
    }
    expected = {
        (number, frozenset((first[(number, a)], first[(number, b)])))
        for number in range(1, 5)
        for a, b in combinations(MODELS, 2)
        if (number, a) in first and (number, b) in first
    }
    assert {
        (p.number, frozenset((p.generation_a, p.generation_b))) for p in queue.pairs
    } == expected
    assert ids[(2, "m:z", 1)] in {p.generation_a for p in queue.pairs} | {
        p.generation_b for p in queue.pairs
    }
    assert queue.voted == 0 and all(p.vote is None for p in queue.pairs)


def test_the_order_and_sides_are_stable_per_annotator_and_differ_between_annotators(
    store: Store, media: MediaStore
) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=4)
    models = model_of(ids)
    ana = arena_queue(store, study_id, "ana")
    assert arena_queue(store, study_id, " ana ") == ana  # a reload: the same pairs, sides
    bob = arena_queue(store, study_id, "bob")
    assert {p.key for p in bob.pairs} == {p.key for p in ana.pairs}
    assert [p.key for p in bob.pairs] != [p.key for p in ana.pairs]
    assert [(p.generation_a, p.generation_b) for p in bob.pairs] != [
        (p.generation_a, p.generation_b) for p in ana.pairs
    ]
    # The order is the hash's, across the study's items (not item by item).
    ranks = [
        pair_hash(study_id, "ana", p.item_id, models[p.generation_a], models[p.generation_b])
        for p in ana.pairs
    ]
    assert ranks == sorted(ranks)
    assert [p.number for p in ana.pairs] != sorted(p.number for p in ana.pairs)
    # Both sides occur: the model first in name order is A on some pairs and B on others.
    a_first = [models[p.generation_a] < models[p.generation_b] for p in ana.pairs]
    assert any(a_first) and not all(a_first)


def test_the_queue_is_blind_and_shows_the_pair_as_a_and_b(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=2)
    assert not any("model" in f.name for f in fields(ArenaPair))
    assert not any("model" in f.name for f in fields(ArenaView))
    pair = arena_queue(store, study_id, "ana").pairs[0]
    view = arena_view(store, study_id, pair)
    assert view is not None
    models = model_of(ids)
    number = pair.number
    assert (view.item.number, view.item.text, view.item.kind) == (
        number,
        f"Question {number}?",
        "vlm",
    )
    assert view.item.image_hash is not None
    assert (view.a.title, view.b.title) == ("Answer A", "Answer B")
    assert view.a.generation_id == pair.generation_a and view.b.generation_id == pair.generation_b
    assert view.a.output_text == f"{models[pair.generation_a]} answers {number}/0"
    assert view.b.output_text == f"{models[pair.generation_b]} answers {number}/0"


def test_voices_are_paired_as_clips_with_what_was_heard(store: Store, media: MediaStore) -> None:
    study_id, _ = make_study(store, media, models=["v:a", "v:b"], items=2, kind="tts")
    queue = arena_queue(store, study_id, "ana")
    assert queue.total == 2
    view = arena_view(store, study_id, queue.pairs[0])
    assert view is not None and view.item.kind == "tts"
    assert view.a.audio_hash is not None and media.path(view.a.audio_hash).exists()
    assert view.a.transcript == f"sentence number {view.item.number}"


def test_moving_through_the_pairs_and_on_to_the_next_without_a_vote(
    store: Store, media: MediaStore
) -> None:
    study_id, _ = make_study(store, media, models=MODELS, items=2)  # 6 pairs
    queue = arena_queue(store, study_id, "ana")
    assert (queue.start(), queue.next(1), queue.previous(1), queue.next(6)) == (1, 2, None, None)
    assert queue.previous(6) == 5
    for position in (1, 2, 5):
        pair = queue.pair(position)
        assert pair is not None
        vote(store, study_id, "ana", pair.generation_a, pair.generation_b, "tie")
    queue = arena_queue(store, study_id, "ana")
    assert (queue.voted, queue.total) == (3, 6)
    assert queue.start() == 3
    assert [queue.next_unvoted(n) for n in (None, 3, 4, 6)] == [3, 4, 6, 3]
    pair = queue.pair(4)
    assert pair is not None and queue.position_of(pair.key) == 4
    assert pair.key == tuple(sorted((pair.generation_a, pair.generation_b)))
    assert queue.position_of((0, 1)) is None and queue.pair(7) is None and queue.pair(0) is None
    for position in (3, 4, 6):
        pair = queue.pair(position)
        assert pair is not None
        vote(store, study_id, "ana", pair.generation_a, pair.generation_b, "b")
    done = arena_queue(store, study_id, "ana")
    assert done.next_unvoted(2) is None and done.start() == 1
    assert arena_queue(store, study_id, "bob").voted == 0  # another annotator's own queue


def test_the_latest_vote_on_a_pair_counts_whichever_side_each_answer_was_on(
    store: Store, media: MediaStore
) -> None:
    study_id, ids = make_study(store, media, models=MODELS[:2], items=1)
    models = model_of(ids)
    [pair] = arena_queue(store, study_id, "ana").pairs
    a, b = pair.generation_a, pair.generation_b
    vote(store, study_id, "ana", a, b, "a")
    assert arena_queue(store, study_id, "ana").pairs[0].vote == "a"
    ranking = arena_ranking(store, study_id)
    assert list(ranking) == [models[a], models[b]]
    # The same pair voted again with the sides swapped: B's answer (now shown as A) is better.
    vote(store, study_id, "ana", b, a, "a")
    [again] = arena_queue(store, study_id, "ana").pairs
    assert again.vote == "b"  # read in the sides the queue shows
    ranking = arena_ranking(store, study_id)
    assert list(ranking) == [models[b], models[a]]
    assert [r.battles for r in ranking.values()] == [1, 1]  # the first vote no longer counts
    assert stored_votes(store) == 2  # every vote is kept
    vote(store, study_id, "bob", a, b, "both_bad")
    assert arena_queue(store, study_id, "ana").pairs[0].vote == "b"  # never another's
    assert arena_queue(store, study_id, "bob").pairs[0].vote == "both_bad"
    assert [r.battles for r in arena_ranking(store, study_id).values()] == [2, 2]


@pytest.fixture()
def three_models(store: Store, media: MediaStore) -> tuple[int, Ids]:
    # Item 1's m:y answers failed; m:z has a second repeat; another study beside.
    failed = frozenset({(1, "m:y", 0), (1, "m:y", 1)})
    study = make_study(store, media, models=MODELS, items=3, repeats=2, failed=failed)
    make_study(store, media, models=MODELS, items=1, name="other set")
    return study


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown study", "no study 999"),
        ("bad verdict", "one of a, b, tie, both_bad"),
        ("empty verdict", "one of a, b, tie, both_bad"),
        ("no name", "annotator name is empty"),
        ("blank name", "annotator name is empty"),
        ("long name", f"over the limit of {ANNOTATOR_MAX_CHARS}"),
        ("same answer", "two different answers"),
        ("no such answer", "no generation 123456"),
        ("another study", "not an answer of study"),
        ("failed answer", "not a complete answer"),
        ("different items", "different items"),
        ("same model", "same model"),
    ],
)
def test_every_bad_vote_is_refused_and_nothing_is_stored(
    store: Store, three_models: tuple[int, Ids], case: str, message: str
) -> None:
    study_id, ids = three_models
    other_study = study_id + 1
    x, y = ids[(2, "m:x", 0)], ids[(2, "m:y", 0)]
    good = {"study_id": study_id, "annotator": "ana", "generation_a": x, "generation_b": y}
    bad = {
        "unknown study": {"study_id": 999},
        "bad verdict": {"verdict": "A"},
        "empty verdict": {"verdict": ""},
        "no name": {"annotator": ""},
        "blank name": {"annotator": "   "},
        "long name": {"annotator": "n" * (ANNOTATOR_MAX_CHARS + 1)},
        "same answer": {"generation_b": x},
        "no such answer": {"generation_b": 123456},
        "another study": {"study_id": other_study},
        "failed answer": {"generation_b": ids[(1, "m:y", 0)]},
        "different items": {"generation_b": ids[(3, "m:y", 0)]},
        "same model": {"generation_b": ids[(2, "m:x", 1)]},
    }[case]
    arguments = {**good, "verdict": "a", **bad}
    with pytest.raises(InputError, match=message):
        vote(store, **arguments)  # type: ignore[arg-type]
    assert stored_votes(store) == 0
    assert vote(store, verdict="tie", **good) > 0  # the good vote is taken
    assert stored_votes(store) == 1


def test_every_verdict_is_stored_with_its_sides(
    store: Store, three_models: tuple[int, Ids]
) -> None:
    study_id, ids = three_models
    x, z = ids[(3, "m:x", 0)], ids[(3, "m:z", 1)]  # any complete answer, a later repeat too
    for verdict in VOTES:
        vote(store, study_id, " ana ", z, x, verdict)
    [item_id] = {p.item_id for p in arena_queue(store, study_id, "ana").pairs if p.number == 3}
    with store.session() as session:
        rows = session.execute(
            select(
                PairwiseVote.study_id,
                PairwiseVote.item_id,
                PairwiseVote.annotator,
                PairwiseVote.generation_a,
                PairwiseVote.generation_b,
                PairwiseVote.verdict,
            ).order_by(PairwiseVote.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (study_id, item_id, "ana", z, x, verdict) for verdict in VOTES
    ]


# The votes of the ranking test: (annotator, item, model shown as A, model shown as B,
# verdict), in the order cast. Four models on 6 items; every pair meets several times with
# wins both ways and ties, so the unpenalised fit exists too; some votes are replaced later.
FOUR = ["m:a", "m:b", "m:c", "m:d"]
CAST = [
    ("ana", 1, "m:a", "m:b", "a"),
    ("ana", 1, "m:a", "m:c", "a"),
    ("ana", 1, "m:b", "m:c", "b"),
    ("ana", 1, "m:d", "m:a", "b"),
    ("ana", 1, "m:c", "m:d", "tie"),
    ("ana", 1, "m:b", "m:d", "a"),
    ("bob", 1, "m:b", "m:a", "a"),
    ("bob", 1, "m:c", "m:a", "both_bad"),
    ("ana", 2, "m:a", "m:b", "tie"),
    ("ana", 2, "m:c", "m:a", "b"),
    ("ana", 2, "m:b", "m:c", "a"),
    ("ana", 2, "m:d", "m:b", "a"),
    ("bob", 2, "m:a", "m:d", "a"),
    ("bob", 2, "m:c", "m:d", "b"),
    ("ana", 3, "m:a", "m:b", "a"),
    ("ana", 3, "m:a", "m:c", "both_bad"),
    ("ana", 3, "m:c", "m:b", "a"),
    ("ana", 3, "m:a", "m:d", "b"),
    ("bob", 3, "m:b", "m:d", "tie"),
    ("ana", 4, "m:b", "m:a", "b"),
    ("ana", 4, "m:a", "m:c", "a"),
    ("ana", 4, "m:b", "m:c", "b"),
    ("ana", 4, "m:d", "m:c", "a"),
    ("bob", 4, "m:a", "m:b", "b"),
    ("ana", 5, "m:a", "m:c", "b"),
    ("ana", 5, "m:b", "m:c", "a"),
    ("ana", 5, "m:d", "m:a", "tie"),
    ("bob", 5, "m:b", "m:d", "b"),
    ("ana", 6, "m:a", "m:b", "a"),
    ("ana", 6, "m:c", "m:d", "a"),
    ("ana", 6, "m:d", "m:b", "b"),
    # Replaced: ana on item 1's (a, b), now seen from the other side; bob on item 4's (a, b).
    ("ana", 1, "m:b", "m:a", "a"),
    ("bob", 4, "m:b", "m:a", "tie"),
]


def expected_battles(cast: list[tuple[str, int, str, str, str]]) -> dict[int, list[Battle]]:
    """Each annotator's last vote on each (item, two models), as battles grouped by item."""
    last: dict[tuple[str, int, frozenset[str]], tuple[str, str, str]] = {}
    for who, number, a, b, verdict in cast:
        last[(who, number, frozenset((a, b)))] = (a, b, verdict)
    outcome = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    battles: dict[int, list[Battle]] = {}
    for (_, number, _), (a, b, verdict) in last.items():
        battles.setdefault(number, []).append((a, b, outcome[verdict]))
    return battles


def cast_votes(
    store: Store, study_id: int, ids: Ids, cast: list[tuple[str, int, str, str, str]]
) -> None:
    for who, number, a, b, verdict in cast:
        vote(store, study_id, who, ids[(number, a, 0)], ids[(number, b, 0)], verdict)


def test_arena_ranking_is_the_logistic_regression_of_the_counted_votes(
    store: Store, media: MediaStore
) -> None:
    study_id, ids = make_study(store, media, models=FOUR, items=6)
    cast_votes(store, study_id, ids, CAST)
    ranking = arena_ranking(store, study_id)
    battles = expected_battles(CAST)
    everything = [battle for item in battles.values() for battle in item]
    expected = logistic_regression_ratings(everything, FOUR)
    assert set(ranking) == set(FOUR)
    for model in FOUR:
        assert ranking[model].rating == pytest.approx(expected[model], abs=1e-3), model
    assert list(ranking) == sorted(FOUR, key=lambda m: -expected[m])  # best first
    # The intervals resample the items (all of an item's votes together) with seed 0.
    by_item = bootstrap_battles(dict(sorted(battles.items())))
    for model, rated in ranking.items():
        wanted = by_item[model]
        assert (rated.ci_low, rated.ci_high, rated.rank) == pytest.approx(
            (wanted.ci_low, wanted.ci_high, wanted.rank)
        )
        assert rated.ci_low is not None and rated.ci_high is not None and rated.rating is not None
        assert rated.ci_low <= rated.rating <= rated.ci_high
        assert rated.battles == sum(model in (a, b) for a, b, _ in everything)
    assert sum(r.battles for r in ranking.values()) == 2 * len(everything) == 2 * 31
    assert arena_ranking(store, study_id) == ranking  # the seed is fixed


def test_models_without_a_shown_difference_share_a_rank(store: Store, media: MediaStore) -> None:
    # x and y close (wins both ways, ties), z clearly below both, on 10 items.
    study_id, ids = make_study(store, media, models=MODELS, items=10)
    cast = []
    for number in range(1, 11):
        cast.append(("ana", number, "m:x", "m:y", ["b", "a", "tie"][number % 3]))
        cast.append(("ana", number, "m:z", "m:x", "a" if number == 4 else "b"))
        cast.append(("ana", number, "m:y", "m:z", "both_bad" if number == 7 else "a"))
    cast_votes(store, study_id, ids, cast)
    ranking = arena_ranking(store, study_id)
    assert list(ranking) == MODELS
    x, y, z = ranking.values()
    assert x.ci_low is not None and y.ci_high is not None and z.ci_high is not None
    assert y.ci_low is not None and x.ci_high is not None
    assert x.ci_low < y.ci_high  # overlapping: neither is surely above the other
    assert z.ci_high < min(x.ci_low, y.ci_low)
    # x and y: no difference shown (wins both ways); z is shown below both.
    assert [r.rank for r in ranking.values()] == [1, 1, 3]


def test_a_model_without_votes_has_no_arena_figures(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=2)
    assert arena_ranking(store, study_id) == {
        model: (None, None, None, None, 0) for model in MODELS
    }
    vote(store, study_id, "ana", ids[(1, "m:y", 0)], ids[(1, "m:x", 0)], "a")
    ranking = arena_ranking(store, study_id)
    assert list(ranking) == ["m:y", "m:x", "m:z"]
    assert ranking["m:z"] == (None, None, None, None, 0)
    # One vote: a rating from one item is no rating (MIN_ITEMS), nor a rank.
    assert ranking["m:y"].rank is None and ranking["m:y"].rating is None
    assert ranking["m:y"].battles == 1
    with pytest.raises(InputError, match="no study 77"):
        arena_ranking(store, 77)


def test_study_summary_carries_the_arena_figures(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=FOUR, items=6)
    cast_votes(store, study_id, ids, [vote for vote in CAST if "m:d" not in vote[2:4]])
    ranking = arena_ranking(store, study_id)
    summary = study_summary(store, study_id)
    by_model = {entry["model"]: entry for entry in summary["models"]}
    assert set(by_model) == set(FOUR)
    for model in ("m:a", "m:b", "m:c"):
        assert [by_model[model][key] for key in ARENA_KEYS] == pytest.approx(list(ranking[model]))
        assert by_model[model]["arena_votes"] > 0
    assert [by_model["m:d"][key] for key in ARENA_KEYS] == [None] * 5  # no vote: no figures
