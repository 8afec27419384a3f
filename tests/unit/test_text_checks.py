"""Language, script, empty and refusal checks of an answer's text (lineup.text_checks)."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace

import pytest

from lineup.measure.text_checks import (
    MIN_LANGUAGE_LETTERS,
    TextCheck,
    check_answer,
    detect_language,
    is_empty,
    is_refusal,
    script_profile,
    summarize_text_checks,
    text_checks_by_model,
)

RUSSIAN = "Москва является столицей России и крупнейшим городом страны."
ENGLISH = "Moscow is the capital of Russia and the largest city in the country."


def test_detect_language_names_russian_and_english_answers():
    language, confidence = detect_language(RUSSIAN)
    assert language == "ru"
    assert confidence > 0.9
    language, confidence = detect_language(ENGLISH)
    assert language == "en"
    assert confidence > 0.5


def test_detect_language_says_nothing_about_answers_too_short_to_tell():
    assert detect_language("Да, это верно.") is None  # 10 letters
    assert detect_language("42 + 17 = 59") is None
    assert detect_language("") is None
    assert detect_language("а" * MIN_LANGUAGE_LETTERS) is not None


def test_language_identifier_loads_its_bundled_model_without_the_network():
    # A fresh interpreter where every socket connection fails still identifies a language:
    # py3langid reads the model shipped inside its package.
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from lineup.measure.text_checks import detect_language\n"
        f"print(detect_language({RUSSIAN!r})[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "ru"
    assert socket.socket.connect is not None  # this process is untouched


def test_russian_answer_to_a_russian_item_is_in_the_right_language():
    check = check_answer(RUSSIAN, "ru")
    assert (check.language, check.wrong_language) == ("ru", False)
    assert check.latin_share == 0.0
    assert check.other_script_chars == 0


def test_english_answer_to_a_russian_item_is_in_the_wrong_language():
    check = check_answer(ENGLISH, "ru")
    assert (check.language, check.wrong_language) == ("en", True)
    assert check.latin_share == 1.0


def test_russian_answer_to_an_english_item_is_in_the_wrong_language():
    check = check_answer(RUSSIAN, "en-GB")
    assert (check.language, check.wrong_language) == ("ru", True)
    assert check.latin_share is None  # only measured where Latin letters are foreign
    assert check.other_script_chars == 52


def test_ukrainian_answer_to_a_russian_item_is_in_the_wrong_language():
    check = check_answer("Київ є столицею України та її найбільшим містом.", "ru")
    assert (check.language, check.wrong_language) == ("uk", True)


def test_short_russian_answer_ranked_below_bulgarian_is_not_flagged():
    # py3langid's best guess for this Russian sentence is Bulgarian, but it still gives
    # Russian a fair probability: only an implausible expected language is flagged.
    check = check_answer("Это зависит от контекста задачи.", "ru")
    assert check.language == "bg"
    assert check.wrong_language is False


def test_mixed_answer_is_flagged_by_its_main_language_and_measured_by_its_latin_share():
    mostly_russian = check_answer("Столица Франции — Париж, а Eiffel Tower — её символ.", "ru")
    assert mostly_russian.wrong_language is False
    # letters: столица 7 франции 7 париж 5 а 1 eiffel 6 tower 5 её 2 символ 6 = 39; Latin 11
    assert mostly_russian.latin_share == pytest.approx(11 / 39)
    drifted = check_answer("Ответ: The capital of France is Paris, a city on the Seine.", "ru")
    assert drifted.wrong_language is True
    # letters: ответ 5; the 3 capital 7 of 2 france 6 is 2 paris 5 a 1 city 4 on 2 the 3
    # seine 5 = 40 Latin; 45 in all
    assert drifted.latin_share == pytest.approx(40 / 45)


def test_language_is_not_judged_without_an_item_language_or_on_a_short_answer():
    assert check_answer(RUSSIAN, None).wrong_language is None
    assert check_answer(RUSSIAN, "").wrong_language is None
    short = check_answer("Yes.", "ru")
    assert (short.language, short.wrong_language) == (None, None)
    assert short.latin_share == 1.0  # the script check still sees the drift
    # A language the identifier does not know (Klingon) cannot be judged.
    assert check_answer(ENGLISH, "tlh").wrong_language is None


def test_latin_share_and_other_scripts_of_hand_made_strings():
    profile = script_profile("Привет, world!", "ru")
    # letters: привет 6 (Cyrillic) + world 5 (Latin) = 11
    assert (profile.letters, profile.latin_share, profile.other_script_chars) == (11, 5 / 11, 0)
    # letters: ответ 5 Cyrillic, 北京 2 Han, and 3 Latin, Αθήνα 5 Greek = 15; the digits,
    # the emoji, ©, + and punctuation are not letters and are never counted.
    profile = script_profile("Ответ: 北京 and Αθήνα, 42 + 1 😀 ©", "ru")
    assert profile.letters == 15
    assert profile.latin_share == pytest.approx(3 / 15)
    assert profile.other_script_chars == 7


def test_script_profile_reads_nfkc_and_skips_modifier_letters():
    # Fullwidth ＡＢ are Latin after NFKC; the modifier letter apostrophe ʼ has no script.
    profile = script_profile("ＡＢ мирʼ", "ru")
    assert (profile.letters, profile.latin_share, profile.other_script_chars) == (5, 2 / 5, 0)


def test_other_scripts_of_answers_meant_in_latin_and_japanese_and_unknown_languages():
    english = script_profile("Hello мир 世界", "en")
    assert (english.latin_share, english.other_script_chars) == (None, 5)
    assert script_profile("Bom dia, café", "pt-BR").other_script_chars == 0
    # Japanese is written with kanji (Han) and kana; Latin is accepted everywhere.
    assert script_profile("東京はきれい OK", "ja").other_script_chars == 0
    assert script_profile("東京はきれい", "ja").latin_share == 0.0
    unknown = script_profile("Привет", None)
    assert (unknown.letters, unknown.latin_share, unknown.other_script_chars) == (6, None, None)


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that.",
        "I’m sorry, but I cannot provide that information.",
        "Sorry, I won't assist with this request.",
        "I am unable to answer this question.",
        "I'm not able to share that.",
        "As an AI language model, I cannot generate such content.",
        "Unfortunately, I can not comply.",
        "I must decline.",
        "Here is my view. I cannot really help with this one.",
        "Я не могу помочь с этим.",
        "К сожалению, я не могу ответить на этот вопрос.",
        "Извините, но не могу выполнить эту просьбу.",
        "Я не буду это обсуждать.",
        "Как языковая модель, я не могу давать такие советы.",
        "Я вынуждена отказаться.",
    ],
)
def test_refusals_in_english_and_russian_are_recognised(text):
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "The capital of France is Paris.",
        "I cannot be sure, but it is probably Paris.",
        "I can't help but notice the question has a typo: it is Paris.",
        "Photos can't help much here; the answer is 42.",
        "Москва — столица России.",
        "Я не могу не отметить, что Москва — столица.",
        "Столица — Москва, и никто не может это оспорить.",
        "",
    ],
)
def test_answers_that_mention_not_being_able_are_not_refusals(text):
    assert not is_refusal(text)


def test_empty_answers_are_nothing_or_whitespace():
    assert is_empty("")
    assert is_empty(" \n\t ")
    assert not is_empty(".")
    check = check_answer("  ", "ru")
    assert check.empty
    assert (check.language, check.wrong_language, check.latin_share) == (None, None, None)
    assert not check.refusal


def _check(**fields: object) -> TextCheck:
    base = TextCheck(
        expected_language="ru",
        language="ru",
        language_confidence=0.9,
        wrong_language=False,
        letters=30,
        latin_share=0.0,
        other_script_chars=0,
        empty=False,
        refusal=False,
    )
    return replace(base, **fields)


def test_summary_counts_empty_refusals_and_wrong_language_apart():
    checks = [
        _check(),
        _check(wrong_language=True, latin_share=1.0, refusal=True),
        _check(wrong_language=None, language=None, latin_share=0.5, other_script_chars=3),
        _check(wrong_language=None, language=None, latin_share=None, empty=True, letters=0),
        _check(expected_language=None, wrong_language=None, latin_share=None,
               other_script_chars=None),
    ]  # fmt: skip
    summary = summarize_text_checks(checks)
    assert summary.answers == 5
    assert summary.empty == 1
    assert summary.refusals == 1
    assert summary.language_checked == 2
    assert summary.wrong_language == 1
    assert summary.wrong_language_share == pytest.approx(0.5)
    assert summary.mean_latin_share == pytest.approx((0.0 + 1.0 + 0.5) / 3)
    assert summary.answers_with_other_script == 1
    assert summary.other_script_chars == 3


def test_summary_of_no_judged_answers_has_no_shares():
    summary = summarize_text_checks([_check(wrong_language=None, latin_share=None)])
    assert (summary.language_checked, summary.wrong_language) == (0, 0)
    assert summary.wrong_language_share is None
    assert summary.mean_latin_share is None


def test_text_checks_by_model_groups_in_first_seen_order():
    summaries = text_checks_by_model(
        [
            ("ollama:b", _check(wrong_language=True)),
            ("ollama:a", _check()),
            ("ollama:b", _check()),
        ]
    )
    assert list(summaries) == ["ollama:b", "ollama:a"]
    assert (summaries["ollama:b"].answers, summaries["ollama:b"].wrong_language) == (2, 1)
    assert (summaries["ollama:a"].answers, summaries["ollama:a"].wrong_language) == (1, 0)
