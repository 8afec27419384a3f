"""The Label queue page's Arena mode, headless with Streamlit's AppTest: a study built straight in
the store (tests.builders.make_study, its answers' texts made neutral so a model
name on the page can only come from the page), voted on through the page's buttons."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from lineup.app.facade import Lineup
from lineup.store.tables import Generation, PairwiseVote
from tests.builders import MODELS, make_study
from tests.pages.helpers import html_text, page, param, progress_text, shown, titles

NAMES = ("llava", "moondream", "ollama")  # any part of a model's name
VERDICTS = ("a", "b", "tie", "both_bad")


@pytest.fixture()
def study(app: Lineup) -> int:
    study_id, _ = make_study(app.store, app.media, models=MODELS, items=3)
    with app.store.session() as session:
        for generation in session.scalars(select(Generation)):
            generation.output_text = f"Some answer, number {generation.id}"
    return study_id


def everything_shown(at: AppTest) -> str:
    """Every text the page's main area shows: markdown, captions, buttons, messages."""
    texts = [m.value for m in at.main.markdown]
    texts += [html_text(h.value) for h in at.main.get("html")]
    texts += [c.value for c in at.main.caption]
    texts += [b.label for b in at.main.button]
    texts += [
        e.value for kind in ("info", "success", "warning", "error") for e in at.main.get(kind)
    ]
    texts += [bar.proto.text for bar in at.main.get("progress")]
    return "\n".join(str(text) for text in texts)


def votes(app: Lineup) -> list[tuple[str, int, int, str]]:
    with app.store.session() as session:
        return [
            tuple(row)  # type: ignore[misc]
            for row in session.execute(
                select(
                    PairwiseVote.annotator,
                    PairwiseVote.generation_a,
                    PairwiseVote.generation_b,
                    PairwiseVote.verdict,
                ).order_by(PairwiseVote.id)
            )
        ]


def test_the_arena_shows_two_blind_answers_and_stores_a_vote(app: Lineup, study: int) -> None:
    at = page(annotator="ana", study=str(study), mode="arena")
    assert not at.exception
    queue = app.labels.arena_queue(study, "ana")
    first, second = queue.pairs[0], queue.pairs[1]
    assert param(at, "pair") == f"{min(first.key)}-{max(first.key)}"
    assert param(at, "mode") == "arena"
    assert progress_text(at) == "Voted on 0 of 3 pairs"
    assert titles(at) == ["Answer A", "Answer B"]
    page_text = everything_shown(at)
    assert f"Some answer, number {first.generation_a}" in page_text
    assert f"Some answer, number {first.generation_b}" in page_text
    assert page_text.index(f"number {first.generation_a}") < page_text.index(
        f"number {first.generation_b}"
    )  # A on the left, B on the right
    assert f"Question {first.number}?" in shown(at)
    assert not [name for name in NAMES if name in page_text.lower()]
    assert "No vote from you on this pair yet." in page_text
    shortcuts = [at.button(key=f"arena-vote-{v}").proto.shortcut for v in VERDICTS]
    assert shortcuts == ["a", "b", "t", "x"]

    at.button(key="arena-vote-a").click().run()
    assert not at.exception
    assert votes(app) == [("ana", first.generation_a, first.generation_b, "a")]
    assert progress_text(at) == "Voted on 1 of 3 pairs"
    assert param(at, "pair") == f"{min(second.key)}-{max(second.key)}"  # on to the next

    at.button(key="arena-previous").click().run()
    assert param(at, "pair") == f"{min(first.key)}-{max(first.key)}"
    assert at.button(key="arena-vote-a").proto.type == "primary"
    assert at.button(key="arena-vote-b").proto.type == "secondary"
    assert "Your vote: A is better" in everything_shown(at)
    at.button(key="arena-vote-both_bad").click().run()  # a new vote replaces it
    assert app.labels.arena_queue(study, "ana").pairs[0].vote == "both_bad"
    assert progress_text(at) == "Voted on 1 of 3 pairs"
    assert len(votes(app)) == 2

    # A reload keeps the mode and the pair; the Labels mode is one click away.
    again = page(annotator="ana", study=str(study), mode="arena", pair=param(at, "pair"))
    assert not again.exception
    assert param(again, "pair") == param(at, "pair")
    assert progress_text(again) == "Voted on 1 of 3 pairs"
    again.segmented_control(key="queue-mode").set_value("labels").run()
    assert not again.exception
    assert progress_text(again) == "Labeled 0 of 6 answers"
    assert "mode" not in again.query_params


def test_every_pair_voted_says_so_and_a_vote_needs_a_name(app: Lineup, study: int) -> None:
    nameless = page(study=str(study), mode="arena")
    assert not nameless.exception
    assert all(b.disabled for b in nameless.button if (b.key or "").startswith("arena-vote-"))
    assert "Set your name in the sidebar to vote." in everything_shown(nameless)

    at = page(annotator="bob", study=str(study), mode="arena")
    for verdict in ("b", "tie", "a"):
        at.button(key=f"arena-vote-{verdict}").click().run()
    assert not at.exception
    assert progress_text(at) == "Voted on 3 of 3 pairs"
    assert "Every pair has your vote." in everything_shown(at)
    assert sorted(verdict for *_, verdict in votes(app)) == ["a", "b", "tie"]
    assert {(a, b) for _, a, b, _ in votes(app)} == {
        (p.generation_a, p.generation_b) for p in app.labels.arena_queue(study, "bob").pairs
    }


def test_a_study_of_one_model_has_no_pairs(app: Lineup) -> None:
    study_id, _ = make_study(app.store, app.media, models=MODELS[:1], items=2)
    at = page(annotator="ana", study=str(study_id), mode="arena")
    assert not at.exception
    assert "this study has one model" in everything_shown(at)
