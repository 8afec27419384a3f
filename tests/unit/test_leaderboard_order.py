"""The VLM leaderboard ranks by the lower end of the 95% interval of % relevant, not by the
point value: one label at 100% (interval 21-100%) ranks below 47 of 56 (84%, 72-91%). The
same order in the facade, the CLI's text and JSON; its counts are called labels and answers."""

from __future__ import annotations

import json

import pytest

from lineup.cli.main import main
from lineup.leaderboard.boards import vlm_leaderboard
from lineup.store.database import Store
from tests.builders import MANY_LABELS, ONE_LABEL, label_answers, word_counts


@pytest.fixture()
def board(store: Store) -> Store:
    label_answers(store, ONE_LABEL, ["relevant"])
    label_answers(store, MANY_LABELS, ["relevant"] * 47 + ["irrelevant"] * 9)
    unlabeled = store.add_generation(store.create_run("vlm", "q"), "ollama:no-labels")
    store.finish_generation(unlabeled, "ok", output_text="x", ttft_s=0.2, total_s=1.0)
    return store


def test_one_label_at_100_percent_ranks_below_56_labels_at_84_percent(board: Store) -> None:
    rows = vlm_leaderboard(board)
    assert [r["model"] for r in rows] == [MANY_LABELS, ONE_LABEL, "ollama:no-labels"]
    many, one = rows[0], rows[1]
    assert (round(many["pct_relevant"]), round(one["pct_relevant"])) == (84, 100)
    # The lower ends decide: about 72% against about 21%.
    assert round(many["pct_relevant_ci_low"]) == 72 and round(one["pct_relevant_ci_low"]) == 21


def test_the_counts_are_called_labels_and_answers(board: Store) -> None:
    many = vlm_leaderboard(board)[0]
    assert (many["labels"], many["answers"]) == (56, 56)
    assert "n" not in many and "ok" not in many


def test_cli_text_says_labels_answers_and_the_order(
    board: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leaderboard", "--kind", "vlm"]) == 0
    printed, err = capsys.readouterr()
    header, *lines = printed.splitlines()
    assert header.split()[:2] == ["model", "labels"] and "answers" in header.split()
    assert " n " not in f" {header} " and " ok " not in f" {header} "
    assert [line.split()[0] for line in lines] == [MANY_LABELS, ONE_LABEL, "ollama:no-labels"]
    assert "lower end of the 95% interval" in err


def test_cli_json_keeps_n_and_names_labels_and_answers_in_the_same_order(
    board: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leaderboard", "--kind", "vlm", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["model"] for r in rows] == [MANY_LABELS, ONE_LABEL, "ollama:no-labels"]
    many = rows[0]
    # `n` is the stable key issue 2 defined (the labels); `labels` and `answers` say what
    # each count is, and the interval the order follows is there too.
    assert (many["n"], many["labels"], many["answers"]) == (56, 56, 56)
    assert round(many["pct_relevant_ci_low"]) == 72 and many["pct_relevant_ci_high"] > 84


def test_cli_json_of_voices_keeps_n_and_names_answers_and_labels(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    for relevance in ["relevant", "partial"]:
        gid = store.add_generation(store.create_run("tts", "Hello there."), "espeak:en-us")
        store.finish_generation(
            gid,
            "ok",
            transcript="hello there",
            wer=0.0,
            **word_counts("Hello there.", 0.0),
            rtf=0.1,
            gen_s=0.1,
        )
        store.add_label(gid, relevance, annotator="ana")
        store.add_label(gid, relevance, annotator="bo")
    assert main(["leaderboard", "--kind", "tts", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["rows"]
    # For voices `n` was always the complete clips: the answers.
    assert (row["n"], row["answers"], row["labels"]) == (2, 2, 4)
