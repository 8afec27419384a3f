"""Can I stop labeling? on the Studies page (beside the relevance table, with the models' short
names) and in the label queue (without names: the queue is blind), headless with AppTest; the
figures are those of `study show --json` (tests/unit/test_stop_labeling.py checks them)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lineup.app import short_names
from lineup.app.facade import Lineup
from tests.builders import make_study
from tests.pages.helpers import APP, page, studies_page, unescaped

GOOD, CLOSE, POOR = "ollama:good:7b", "ollama:close:7b", "ollama:poor:7b"


def _study(app: Lineup, labels: dict[str, list[str]], name: str = "stop set") -> int:
    """A 10-item study of the models in `labels`, every answer labeled by ana as given."""
    study_id, ids = make_study(app.store, app.media, models=list(labels), items=10, name=name)
    for (number, model, _), gid in ids.items():
        app.labels.add(gid, labels[model][number - 1], annotator="ana")
    return study_id


def _queue(**query: str) -> AppTest:
    """The Label queue as the app serves it (its link to the Studies page needs app.py)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("app_pages/label_queue.py")
    return at.run()


def _blocks(at: AppTest, kind: str) -> list[str]:
    """The text of the `kind` blocks (info, success) that answer the question, bold unmarked."""
    found = [unescaped(b.value) for b in at.get(kind) if "Can I stop labeling" in b.value]
    return [text.replace("**", "") for text in found]


UNDECIDED = {
    GOOD: ["relevant"] * 8 + ["partial", "irrelevant"],
    CLOSE: ["relevant"] * 6 + ["irrelevant", "partial", "relevant", "irrelevant"],
    POOR: ["irrelevant"] * 9 + ["partial"],
}


def test_the_studies_page_says_who_leads_and_what_is_still_undecided(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id = _study(app, UNDECIDED)
    stop = app.studies.stop_labeling(study_id)
    assert stop["state"] == "undecided" and stop["leader"] == GOOD
    [pair] = stop["undecided_pairs"]
    assert pair["b"] == CLOSE and pair["items_needed"] is not None
    at = studies_page(study=str(study_id))
    assert not at.exception
    [text] = _blocks(at, "info")
    names = short_names([GOOD, CLOSE, POOR])
    assert text.startswith(f"Can I stop labeling? Not yet. {names[GOOD]} leads (score 0.85)")
    assert f"the best in {100 * stop['p_leader_best']:.0f}% of the resamples" in text
    assert f"{names[CLOSE]} scores {pair['diff']:.2f} lower over the 10 items both have" in text
    assert f"about {pair['items_needed']} more items would decide it" in text
    # Every item is labeled: the set is too small to tell at this difference.
    assert "but every item of the set is labeled for both" in text
    assert "at these differences it is too small to tell" in text
    assert names[POOR] not in text  # shown worse than the leader: decided
    assert any("4 times in 5" in c.value for c in at.caption)


def test_every_pair_decided_says_yes(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id = _study(app, {GOOD: UNDECIDED[GOOD], POOR: UNDECIDED[POOR]})
    at = studies_page(study=str(study_id))
    [text] = _blocks(at, "success")
    assert "Can I stop labeling? Yes." in text and "shown better than every other model" in text
    queue = _queue(annotator="ana", study=str(study_id))
    [note] = _blocks(queue, "success")
    assert "More labels will not change which model is best" in note


def test_the_queue_says_it_without_the_models_names(lineup_home: Path) -> None:
    app = Lineup.open()
    study_id = _study(app, UNDECIDED)
    stop = app.studies.stop_labeling(study_id)
    at = page(annotator="bo", study=str(study_id))
    assert not at.exception
    [note] = _blocks(at, "info")
    assert note.startswith("Can I stop labeling? Not yet: the leading model is the best in")
    assert "1 of the 2 other models is not yet told apart from it" in note
    assert f"About {stop['items_needed']} more items" in note
    for model in (GOOD, CLOSE, POOR):
        assert model not in note and short_names([model])[model] not in note


def test_models_that_score_the_same_get_no_estimate_and_the_queue_names_none(
    lineup_home: Path,
) -> None:
    app = Lineup.open()
    same = ["relevant", "partial", "irrelevant", "relevant", "relevant"] * 2
    study_id = _study(app, {GOOD: same, CLOSE: same})
    [pair] = app.studies.stop_labeling(study_id)["undecided_pairs"]
    assert pair["diff"] == 0 and pair["items_needed"] is None
    at = studies_page(study=str(study_id))
    [text] = _blocks(at, "info")
    names = short_names([GOOD, CLOSE])
    assert f"{names[CLOSE]} scores the same over the 10 items both have" in text
    assert "no estimate: every one of the 10 items gives the same difference" in text
    [note] = _blocks(_queue(annotator="ana", study=str(study_id)), "info")
    assert note.endswith("There is no estimate of how many more: the models score the same so far.")
    assert GOOD not in note and CLOSE not in note
