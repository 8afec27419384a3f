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
    # Without a language, Cyrillic script is taken as Russian. ("ещё" is written "еще" since
    # the rule "ё is е"; before it this read "ещё два дня".)
    assert normalize("Ещё 2 дня") == "еще два дня"
    # A set's tag: num2words' variant when it has one, else its first part.
    assert normalize("10%", "ru-RU") == "десять процентов"
    assert normalize("Il a 10 %", "fr") == "il a dix pour cent"
    assert normalize("Tem 10 anos", "pt-BR") == "tem dez anos"


def test_a_correct_russian_percent_is_no_longer_an_error() -> None:
    # Issue 17's example. Reference "Цены выросли на 10% за год", transcript with the number
    # spoken out. Before: "10%" became "десять" and "%" was dropped, so the reference had 6
    # words and the transcript one more ("процентов"): 1 insertion / 6 words = 0.167.
    # Now both read "цены выросли на десять процентов за год": 0 errors / 7 words.
    result = score("Цены выросли на 10% за год", "Цены выросли на десять процентов за год")
    assert result.reference == "цены выросли на десять процентов за год"
    assert (result.wer, result.cer, result.reference_words) == (0.0, 0.0, 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Russian grammar: 1 and 21 take the nominative singular, 2-4 and 22 the genitive
        # singular, 5-20, 11-14 and 25 the genitive plural; a fraction the genitive singular.
        ("1%", "один процент"),
        ("21%", "двадцать один процент"),
        ("3%", "три процента"),
        ("22 %", "двадцать два процента"),
        ("5%", "пять процентов"),
        ("11%", "одиннадцать процентов"),
        ("12%", "двенадцать процентов"),
        ("111%", "сто одиннадцать процентов"),
        ("3,5%", "три целых пять десятых процента"),
        # The comma is Russian's decimal mark, a (no-break) space its thousands separator.
        ("1\u00a0000 рублей", "одна тысяча рублей"),
        ("2 500 000", "два миллиона пятьсот тысяч"),
    ],
)
def test_russian_numbers_and_percent_are_read_as_russian(text: str, expected: str) -> None:
    assert normalize(text, "ru") == expected


def test_yo_and_russian_stress_marks_are_not_an_error() -> None:
    # "Ёлка ещё стоит" against "Елка еще стоит": before, 2 substituted words of 3 (0.667) and
    # 2 substituted characters of 14; now both read "елка еще стоит": 0.
    result = score("Ёлка ещё стоит", "Елка еще стоит")
    assert (result.wer, result.cer) == (0.0, 0.0)
    # A stress mark (U+0301) over о: no precomposed letter, so NFKC leaves it loose and the
    # rule drops it. Before, it split "моло́ко" into "моло ко": 1 substitution + 1 deletion
    # over 3 words (0.667). Now "молоко свежее" on both sides: 0.
    result = score("Моло\u0301ко свежее", "Молоко свежее")
    assert result.reference == "молоко свежее"
    assert (result.wer, result.cer) == (0.0, 0.0)


def test_english_letters_with_accents_stay_letters() -> None:
    # "cafe" + U+0301 is "café" after NFKC (composed before marks are dropped): no error.
    assert score("A cafe\u0301 here", "A café here").wer == 0.0
    # "café" against "cafe" is still a different word: 1 substitution / 3 words, and one
    # character (é -> e) of 11 ("a café here").
    result = score("A café here", "A cafe here")
    assert result.wer == pytest.approx(1 / 3)
    assert result.cer == pytest.approx(1 / 11)


def test_chinese_is_scored_by_characters() -> None:
    # Han script -> zh, which num2words cannot write: the digit stays a digit. Each character
    # is a word: reference 我 有 3 个 苹 果 (6), transcript 我 有 三 个 苹 果: 1 substitution
    # -> WER 1/6; CER over "我有3个苹果" and "我有三个苹果" (the word spaces are not characters):
    # 1 of 6.
    result = score("我有3个苹果。", "我有三个苹果")
    assert result.reference == "我 有 3 个 苹 果"
    assert result.reference_words == 6
    assert result.wer == pytest.approx(1 / 6)
    assert result.cer == pytest.approx(1 / 6)
    # 我爱北京 against 我爱上海: 2 substitutions of 4, for words and characters alike; a space
    # typed between Chinese words changes nothing.
    result = score("我爱 北京", "我爱上海")
    assert (result.wer, result.cer) == (0.5, 0.5)
    # Mixed text: Latin runs stay words. "iphone 手 机" against "iphone 手 表": 1 of 3.
    assert score("iPhone 手机", "iPhone手表").wer == pytest.approx(1 / 3)


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
