"""lineup.scoring: the one normaliser, and WER/CER from jiwer on its output."""

from __future__ import annotations

import jiwer
import pytest

from lineup.measure.wer import ScoringError, corpus_wer, normalize, score, word_alignment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("He said: “Don’t   stop” — twice...", "he said don't stop twice"),
        ("'quoted' words", "quoted words"),
        ("I have 50 cats", "i have fifty cats"),
        ("It costs 1,000 dollars", "it costs one thousand dollars"),
        ("Pi is about 3.5 here", "pi is about three point five here"),
        ("The 1st and the 22nd", "the first and the twenty second"),
        ("Only 99% sure", "only ninety nine percent sure"),
        ("rock-n-roll", "rock n roll"),
    ],
)
def test_normalize_lowercases_spells_numbers_and_drops_punctuation(
    text: str, expected: str
) -> None:
    assert normalize(text, "en") == expected


def test_numbers_are_written_in_the_texts_language() -> None:
    assert normalize("У меня 5 котов.", "ru") == "у меня пять котов"
    # Without a language, Cyrillic script is taken as Russian.
    assert normalize("Ещё 2 дня") == "ещё два дня"


def test_digits_and_number_words_are_not_an_error() -> None:
    result = score("The train leaves at 50 past.", "the train leaves at fifty past")
    assert result.wer == 0.0
    assert result.cer == 0.0


@pytest.mark.parametrize(
    ("reference", "transcript"),
    [
        ("Your payment of 50 dollars was declined.", "Your payment of $50 was declined."),
        ("It costs one pound.", "It costs £1."),
        ("Pay 3 euros 50 cents now.", "Pay €3.50 now."),
        ("A refund of 1,000 dollars.", "A refund of $1,000."),
    ],
)
def test_an_amount_with_a_currency_sign_is_read_with_its_unit(
    reference: str, transcript: str
) -> None:
    # Whisper writes a spoken "fifty dollars" as "$50": no error on either side.
    assert score(reference, transcript).wer == 0.0
    assert score(transcript, reference).wer == 0.0


def test_punctuation_and_case_are_not_an_error() -> None:
    assert score("Well, hello there!", "well hello there").wer == 0.0


def test_wer_and_cer_match_jiwer_on_the_normalised_texts() -> None:
    reference = "The cat sat on the mat."
    hypothesis = "the cat sat on mat"
    result = score(reference, hypothesis)
    assert result.reference == "the cat sat on the mat"
    assert result.wer == pytest.approx(jiwer.wer("the cat sat on the mat", "the cat sat on mat"))
    assert result.wer == pytest.approx(1 / 6)
    assert result.cer == pytest.approx(jiwer.cer("the cat sat on the mat", "the cat sat on mat"))
    assert (result.hits, result.deletions, result.substitutions, result.insertions) == (5, 1, 0, 0)


def test_wer_above_one_is_kept_for_inserted_words() -> None:
    result = score("hello world", "hello there big wide wonderful world of ours")
    assert result.insertions == 6
    assert result.wer == 3.0
    assert result.wer == jiwer.wer("hello world", "hello there big wide wonderful world of ours")


def test_empty_transcript_is_all_deletions() -> None:
    result = score("two words", "")
    assert result.wer == 1.0
    assert result.deletions == 2


def test_a_sentence_with_no_words_cannot_be_scored() -> None:
    with pytest.raises(ScoringError, match="nothing to score"):
        score("?!", "anything")


def test_corpus_wer_is_total_errors_over_total_reference_words() -> None:
    references = ["one two three four", "five six"]
    hypotheses = ["one two three four", "five seven eight"]
    # Errors: 0 + (1 substitution + 1 insertion) over 4 + 2 reference words.
    assert corpus_wer(references, hypotheses) == pytest.approx(2 / 6)
    assert corpus_wer(references, hypotheses) == pytest.approx(jiwer.wer(references, hypotheses))
    mean_of_clips = (0.0 + 2 / 2) / 2
    assert corpus_wer(references, hypotheses) != pytest.approx(mean_of_clips)


def test_word_alignment_marks_the_words_that_differ() -> None:
    chunks = word_alignment("The big dog barked.", "the dog barked loudly")
    assert [(c.op, c.reference_words, c.hypothesis_words) for c in chunks] == [
        ("equal", ("the",), ("the",)),
        ("delete", ("big",), ()),
        ("equal", ("dog", "barked"), ("dog", "barked")),
        ("insert", (), ("loudly",)),
    ]
