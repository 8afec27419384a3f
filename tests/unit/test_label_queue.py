"""The labeling queue (lineup.label_queue): which items and answers an annotator sees, in what
order, what stays hidden, and how the queue moves; studies are built straight in the store."""

from __future__ import annotations

from typing import Any

from lineup.store.database import Store
from lineup.store.media import MediaStore
from lineup.study.queue import QueueItem, label_queue, letter, queue_item
from tests.builders import MODELS, counted_statements, make_study, png_bytes, wav_bytes


def item_of(store: Store, study_id: int, number: int, annotator: str, **filters: Any) -> QueueItem:
    item = queue_item(store, study_id, number, annotator, **filters)
    assert item is not None
    return item


def order(item: QueueItem) -> list[int]:
    return [answer.generation_id for answer in item.answers]


def label_all(store: Store, item: QueueItem, annotator: str, relevance: str = "relevant") -> None:
    for answer in item.answers:
        store.add_label(answer.generation_id, relevance, annotator=annotator)


def test_items_come_in_set_order_with_their_ok_answers_only(
    store: Store, media: MediaStore
) -> None:
    failed = frozenset({(1, MODELS[1], 0), (2, MODELS[0], 0), (2, MODELS[1], 0)})
    study_id, ids = make_study(store, media, models=MODELS, items=3, failed=failed)

    queue = label_queue(store, study_id, "ana")
    # Item 2 has no complete answer: it is not in the queue at all.
    assert [(e.number, e.answers, e.labeled) for e in queue.items] == [(1, 1, 0), (3, 2, 0)]
    assert queue.total == 3
    first = item_of(store, study_id, 1, "ana")
    assert order(first) == [ids[(1, MODELS[0], 0)]]  # the failed answer is left out
    assert (first.text, first.reference, first.language, first.tags) == (
        "Question 1?",
        "Reference 1",
        "en",
        ("screenshot",),
    )
    assert first.image_hash is not None and media.get(first.image_hash) == png_bytes(text="1")
    assert item_of(store, study_id, 2, "ana").answers == ()
    assert queue_item(store, study_id, 4, "ana") is None


def test_the_shuffle_is_stable_per_annotator_and_differs_between_annotators(
    store: Store, media: MediaStore
) -> None:
    models = [f"ollama:model{n}" for n in range(4)]
    study_id, ids = make_study(store, media, models=models, items=6)
    model_of = {gid: model for (_, model, _), gid in ids.items()}

    ana = [order(item_of(store, study_id, n, "ana")) for n in range(1, 7)]
    assert ana == [order(item_of(store, study_id, n, "ana")) for n in range(1, 7)]  # a reload
    bo = [order(item_of(store, study_id, n, "bo")) for n in range(1, 7)]
    assert ana != bo
    assert [sorted(o) for o in ana] == [sorted(o) for o in bo]  # the same answers
    # Shuffled (not the models' order), and each item in its own order.
    sequences = {tuple(model_of[gid] for gid in o) for o in ana}
    assert len(sequences) > 1
    item = item_of(store, study_id, 1, "ana")
    assert [a.letter for a in item.answers] == ["A", "B", "C", "D"]
    assert [a.title for a in item.answers][:2] == ["Answer A", "Answer B"]


def test_names_are_hidden_until_this_annotator_has_labeled_every_answer(
    store: Store, media: MediaStore
) -> None:
    # Not a blind study: the queue hides the names all the same.
    study_id, ids = make_study(store, media, models=MODELS, items=1, repeats=2, blind=False)
    item = item_of(store, study_id, 1, "ana")
    assert item.names_hidden
    assert {a.model for a in item.answers} == {None} and {a.repeat for a in item.answers} == {None}

    for answer in item.answers[:-1]:
        store.add_label(answer.generation_id, "partial", annotator="ana")
    assert item_of(store, study_id, 1, "ana").names_hidden

    store.add_label(item.answers[-1].generation_id, "irrelevant", annotator="ana")
    shown = item_of(store, study_id, 1, "ana")
    assert not shown.names_hidden
    assert order(shown) == order(item)  # nothing moves when the names appear
    assert {(a.model, a.repeat) for a in shown.answers} == {
        (model, repeat) for model in MODELS for repeat in range(2)
    }
    by_answer = {(a.model, a.repeat): a.generation_id for a in shown.answers}
    assert by_answer == {(m, r): ids[(1, m, r)] for m in MODELS for r in range(2)}
    # Another annotator still sees them blind.
    assert item_of(store, study_id, 1, "bo").names_hidden


def test_annotators_never_see_each_others_labels_or_comments(
    store: Store, media: MediaStore
) -> None:
    study_id, _ = make_study(store, media, models=MODELS, items=2)
    first = item_of(store, study_id, 1, "ana")
    store.add_label(first.answers[0].generation_id, "relevant", annotator="ana", comment="Spot on")
    store.add_label(first.answers[1].generation_id, "partial", annotator="bo", comment="bo's")

    ana = item_of(store, study_id, 1, "ana")
    by_id = {a.generation_id: (a.relevance, a.comment) for a in ana.answers}
    assert by_id == {
        first.answers[0].generation_id: ("relevant", "Spot on"),
        first.answers[1].generation_id: (None, None),
    }
    bo = item_of(store, study_id, 1, "bo")
    assert {a.generation_id: (a.relevance, a.comment) for a in bo.answers} == {
        first.answers[0].generation_id: (None, None),
        first.answers[1].generation_id: ("partial", "bo's"),
    }
    assert (
        label_queue(store, study_id, "ana").labeled,
        label_queue(store, study_id, "bo").labeled,
    ) == (
        1,
        1,
    )
    assert label_queue(store, study_id, "cy").labeled == 0


def test_the_latest_label_and_its_comment_are_shown(store: Store, media: MediaStore) -> None:
    study_id, _ = make_study(store, media, models=MODELS, items=1)
    gid = item_of(store, study_id, 1, "ana").answers[0].generation_id
    store.add_label(gid, "partial", annotator="ana", comment="First thought")
    store.add_label(gid, "relevant", annotator="ana", comment="On reflection")
    [answer] = [a for a in item_of(store, study_id, 1, "ana").answers if a.generation_id == gid]
    assert (answer.relevance, answer.comment) == ("relevant", "On reflection")
    # Labeling again counts once in the progress.
    assert label_queue(store, study_id, "ana").labeled == 1


def test_progress_counts_this_annotators_labels_within_the_model_filter(
    store: Store, media: MediaStore
) -> None:
    study_id, ids = make_study(
        store, media, models=MODELS, items=3, failed=frozenset({(3, MODELS[1], 0)})
    )
    store.add_label(ids[(1, MODELS[0], 0)], "relevant", annotator="ana")
    store.add_label(ids[(2, MODELS[1], 0)], "irrelevant", annotator="ana")
    store.add_label(ids[(3, MODELS[0], 0)], "irrelevant", annotator="bo")

    everything = label_queue(store, study_id, "ana")
    assert (everything.labeled, everything.total) == (2, 5)
    llava = label_queue(store, study_id, "ana", model=MODELS[0])
    assert (llava.labeled, llava.total) == (1, 3)
    moondream = label_queue(store, study_id, "ana", model=MODELS[1])
    assert (moondream.labeled, moondream.total) == (1, 2)
    assert [e.number for e in moondream.items] == [1, 2]  # its item 3 failed


def test_filters_one_model_and_unlabeled_items_only(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=3)
    for model in MODELS:
        store.add_label(ids[(2, model, 0)], "relevant", annotator="ana")
    store.add_label(ids[(1, MODELS[0], 0)], "relevant", annotator="ana")

    pending = label_queue(store, study_id, "ana", unlabeled_only=True)
    assert [e.number for e in pending.items] == [1, 3]
    assert [e.number for e in pending.entries] == [1, 2, 3]  # the progress still counts item 2
    assert (pending.labeled, pending.total) == (3, 6)
    assert pending.position(2) is None and pending.position(3) == 2

    llava_pending = label_queue(store, study_id, "ana", model=MODELS[0], unlabeled_only=True)
    assert [e.number for e in llava_pending.items] == [3]
    # One model's answers only, each with the letter it has among all the item's answers.
    every = item_of(store, study_id, 1, "ana")
    only = item_of(store, study_id, 1, "ana", model=MODELS[1])
    assert order(only) == [ids[(1, MODELS[1], 0)]]
    [letter_in_all] = [a.letter for a in every.answers if a.generation_id == order(only)[0]]
    assert only.answers[0].letter == letter_in_all


def test_next_and_previous_move_through_the_items_shown(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=4)
    queue = label_queue(store, study_id, "ana")
    assert [queue.next(n) for n in (1, 2, 3, 4)] == [2, 3, 4, None]
    assert [queue.previous(n) for n in (1, 2, 3, 4)] == [None, 1, 2, 3]

    for model in MODELS:
        store.add_label(ids[(2, model, 0)], "partial", annotator="ana")
    pending = label_queue(store, study_id, "ana", unlabeled_only=True)
    # From item 2 (done, so no longer shown) the neighbours are the items still shown.
    assert (pending.previous(2), pending.next(2), pending.next(1), pending.previous(3)) == (
        1,
        3,
        3,
        1,
    )


def test_next_unlabeled_goes_round_to_the_first(store: Store, media: MediaStore) -> None:
    study_id, ids = make_study(store, media, models=MODELS, items=4)
    for number in (1, 3):
        for model in MODELS:
            store.add_label(ids[(number, model, 0)], "relevant", annotator="ana")
    store.add_label(ids[(4, MODELS[0], 0)], "relevant", annotator="ana")
    queue = label_queue(store, study_id, "ana")
    # Items 2 and 4 still have answers to label.
    assert [queue.next_unlabeled(n) for n in (1, 2, 3, 4)] == [2, 4, 4, 2]
    assert queue.start() == 2
    # Another annotator starts at the beginning.
    assert label_queue(store, study_id, "bo").start() == 1

    store.add_label(ids[(4, MODELS[1], 0)], "relevant", annotator="ana")
    only_two = label_queue(store, study_id, "ana")
    assert only_two.next_unlabeled(2) == 2  # the only item left: round to itself
    for model in MODELS:
        store.add_label(ids[(2, model, 0)], "relevant", annotator="ana")
    done = label_queue(store, study_id, "ana")
    assert done.next_unlabeled(1) is None
    assert done.start() == 1  # nothing left to label: the first item
    # Nothing left to show: the first item all the same, whose answers are all labeled.
    assert label_queue(store, study_id, "ana", unlabeled_only=True).start() == 1
    assert label_queue(store, study_id + 1, "ana").start() is None  # no such study


def test_voices_answers_are_clips_with_their_transcripts(store: Store, media: MediaStore) -> None:
    study_id, _ = make_study(store, media, models=["espeak:en-us", "piper:x"], kind="tts", items=1)
    item = item_of(store, study_id, 1, "ana")
    assert item.kind == "tts" and item.text == "Sentence number 1." and item.image_hash is None
    assert [a.transcript for a in item.answers] == ["sentence number 1"] * 2
    assert all(a.audio_hash and media.get(a.audio_hash) == wav_bytes() for a in item.answers)


def test_letters_go_on_past_z() -> None:
    assert [letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_the_queue_reads_a_study_in_one_query_and_an_item_in_two(
    store: Store, media: MediaStore
) -> None:
    models = [f"ollama:model{n}" for n in range(3)]
    study_id, ids = make_study(store, media, models=models, items=5, repeats=2)
    for gid in list(ids.values())[::3]:
        store.add_label(gid, "relevant", annotator="ana")
    with counted_statements(store) as statements:
        queue = label_queue(store, study_id, "ana")
    assert len(statements) == 1
    assert queue.total == 30 and queue.labeled == 10
    with counted_statements(store) as statements:
        item = item_of(store, study_id, 3, "ana")
    assert len(statements) == 2
    assert len(item.answers) == 6


def test_the_queue_reads_the_studys_own_index_of_answers(store: Store, media: MediaStore) -> None:
    """Not the index of every `ok` answer of every study: a queue stays fast in a big store."""
    study_id, _ = make_study(store, media, models=MODELS, items=2)
    make_study(store, media, models=MODELS, items=2, name="another set")
    with counted_statements(store) as statements:
        label_queue(store, study_id, "ana", model=MODELS[0])
        label_queue(store, study_id, "ana")
        item_of(store, study_id, 1, "ana")
    plans = []
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            if "FROM generations" not in statement:
                continue  # the item's own row
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(row[3] for row in rows if "generations" in row[3]))
    assert len(plans) == 3
    assert all("USING INDEX uq_generations_study_key" in plan for plan in plans), plans
