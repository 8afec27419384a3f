"""ROUGE, chrF, the bootstrap interval and repeat stability (lineup.overlap)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import sacrebleu

from lineup.measure.overlap import (
    OverlapScores,
    bootstrap_mean_ci,
    chrf,
    lcs_length,
    overlap_scores,
    repeat_stability,
    rouge_l_f1,
    rouge_n_f1,
    summarize_overlap,
    tokens,
)


def test_tokens_are_lower_case_runs_of_letters_and_digits_in_any_script():
    assert tokens("Привет, МИР! В 2024 году — snake_case.") == [
        "привет",
        "мир",
        "в",
        "2024",
        "году",
        "snake",
        "case",
    ]


def test_tokens_compose_decomposed_letters_and_fold_fullwidth_forms():
    # "и" + combining breve is "й" after NFKC, and fullwidth Latin is plain Latin. (Before the
    # rule "ё is е" this test read ["зелёная", "ёлка"] for "Зеле\u0308ная е\u0308лка": NFKC
    # still composes ё, which is then written е; see the next test.)
    assert tokens("Чаи\u0306 и е\u0308лка") == ["чай", "и", "елка"]
    assert tokens("ＰＡＲＩＳ") == ["paris"]
    assert tokens("Café") == ["café"]  # e + U+0301 composes to é, which stays


def test_russian_stress_marks_and_yo_are_dropped_so_the_word_stays_whole():
    # "моло́ко" is м о л о + U+0301 + к о: no precomposed Cyrillic о with an acute, so NFKC
    # leaves the mark loose, and the rule drops it: one token "молоко" (before: the mark split
    # it into "моло" and "ко"). "Ещё" is written "еще".
    assert tokens("Моло\u0301ко ещё") == ["молоко", "еще"]
    # Answer "Молоко ещё свежее" against the reference "Моло́ко еще́ све́жее":
    # both tokenise to [молоко, еще, свежее]: ROUGE-1 = ROUGE-L = 1.
    answer, reference = "Молоко ещё свежее", "Моло\u0301ко еще\u0301 све\u0301жее"
    assert rouge_n_f1(answer, reference) == 1.0
    assert rouge_l_f1(answer, reference) == 1.0
    # chrF compares the normalised texts, which are now equal strings: 1.
    assert chrf(answer, reference) == pytest.approx(1.0)


def test_marks_of_scripts_that_spell_with_them_stay_inside_the_word():
    # Hindi "हिंदी" is ह + ि (U+093F, a spacing mark) + ं (U+0902) + द + ी: one word, marks kept
    # (before: each mark split it).
    assert tokens("हिंदी भाषा") == ["हिंदी", "भाषा"]


def test_chinese_and_japanese_are_tokens_of_one_character_each():
    # No spaces: each Han or kana character is a token; digits and Latin runs stay words.
    assert tokens("我爱北京。") == ["我", "爱", "北", "京"]
    assert tokens("2024年のコーヒー") == ["2024", "年", "の", "コ", "ー", "ヒ", "ー"]
    # Thai: each letter with the marks that follow it ("ที่" = ท + ี + ่ is one token).
    assert tokens("ที่นี่") == ["ที่", "นี่"]


def _tokens_by_hand(text: str) -> list[str]:
    """The token rule of lineup.measure.overlap walked character by character, independently
    of its regular expressions."""
    import unicodedata

    spaceless_ranges = [
        (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),
        (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF), (0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1000, 0x109F),
        (0x1780, 0x17FF), (0x1B000, 0x1B16F), (0x20000, 0x3FFFF),
    ]  # fmt: skip

    def spaceless(char: str) -> bool:
        return char.isalnum() and any(lo <= ord(char) <= hi for lo, hi in spaceless_ranges)

    def mark(char: str) -> bool:
        return unicodedata.category(char).startswith("M")

    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = "".join(char for char in text if not 0x300 <= ord(char) <= 0x36F)
    found: list[str] = []
    word = ""
    after_spaceless = False
    for char in text:
        if spaceless(char):
            found += [word] if word else []
            word, after_spaceless = "", True
            found.append(char)
        elif mark(char) and after_spaceless:
            found[-1] += char
        elif char.isalnum() or (mark(char) and word):
            word += char
            after_spaceless = False
        else:
            found += [word] if word else []
            word, after_spaceless = "", False
    return found + ([word] if word else [])


def test_tokens_agree_with_the_rule_walked_by_hand_on_random_mixed_text():
    alphabet = (
        "ab é_Zё'-.,!? 12\u0301\u0308Моло\u0301коЁ我爱北京。コーヒーの"
        "हिंदी ที่นี่ 한국어 𠀀😀\u3000\u00a0ﾊﾟ"
    )
    rng = random.Random(17)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert tokens(text) == _tokens_by_hand(text), text


def test_rouge_on_chinese_counts_characters():
    # answer    我 爱 北 京           4 tokens
    # reference 我 爱 上 海 和 北 京  7 tokens
    # ROUGE-1 overlap: 我 爱 北 京 = 4; P = 4/4 = 1, R = 4/7; F1 = 2 * 4/7 / (1 + 4/7) = 8/11
    # LCS 我 爱 北 京 = 4 (in order in both): the same 8/11.
    # ROUGE-2: answer bigrams 我爱 爱北 北京 (3), reference 我爱 爱上 上海 海和 和北 北京 (6);
    # overlap 我爱, 北京 = 2; P = 2/3, R = 2/6; F1 = 2 * 2/3 * 1/3 / (2/3 + 1/3) = 4/9.
    # (Before: each text was one token and every figure was 0.)
    answer, reference = "我爱北京", "我爱上海和北京"
    assert rouge_n_f1(answer, reference) == pytest.approx(8 / 11)
    assert rouge_l_f1(answer, reference) == pytest.approx(8 / 11)
    assert rouge_n_f1(answer, reference, 2) == pytest.approx(4 / 9)


def test_rouge_on_english_answer_with_the_same_words_in_another_order():
    # candidate: [the, mat, was, under, the, cat]   6 tokens
    # reference: [the, cat, sat, on, the, mat]      6 tokens
    # ROUGE-1 overlap: the min(2,2)=2, mat 1, cat 1 -> 4; P = R = 4/6; F1 = 2/3
    # LCS: "the the", "the cat" or "the mat", never three in order -> 2; P = R = 2/6; F1 = 1/3
    candidate, reference = "The mat was under the cat.", "The cat sat on the mat."
    assert rouge_n_f1(candidate, reference) == pytest.approx(2 / 3)
    assert rouge_l_f1(candidate, reference) == pytest.approx(1 / 3)


def test_rouge_on_english_answer_shorter_than_the_reference():
    # candidate: [paris, is, the, capital]                  4 tokens
    # reference: [the, capital, of, france, is, paris]      6 tokens
    # ROUGE-1 overlap 4: P = 4/4 = 1, R = 4/6; F1 = 2 * 1 * 2/3 / (1 + 2/3) = 4/5
    # LCS "the capital" = 2: P = 2/4, R = 2/6; F1 = 2 * 1/2 * 1/3 / (1/2 + 1/3) = 2/5
    candidate, reference = "Paris is the capital", "The capital of France is Paris"
    assert rouge_n_f1(candidate, reference) == pytest.approx(0.8)
    assert rouge_l_f1(candidate, reference) == pytest.approx(0.4)


def test_rouge_on_russian_answer_with_the_same_words_in_another_order():
    # candidate: [столица, россии, москва]; reference: [москва, столица, россии]
    # ROUGE-1 overlap 3: P = R = 1; F1 = 1
    # LCS "столица россии" = 2: P = R = 2/3; F1 = 2/3
    candidate, reference = "Столица России — Москва.", "Москва — столица России."
    assert rouge_n_f1(candidate, reference) == pytest.approx(1.0)
    assert rouge_l_f1(candidate, reference) == pytest.approx(2 / 3)


def test_rouge_on_russian_answer_shorter_than_the_reference():
    # candidate: [москва, большой, город]                               3 tokens
    # reference: [москва, столица, и, самый, большой, город, россии]     7 tokens
    # ROUGE-1 overlap 3: P = 1, R = 3/7; F1 = 2 * 3/7 / (10/7) = 0.6
    # LCS "москва большой город" = 3: the same P, R, F1 = 0.6
    # ROUGE-2: candidate bigrams (москва большой) (большой город); the reference's 6 bigrams
    # share only (большой город): P = 1/2, R = 1/6; F1 = 2 * 1/12 / (2/3) = 0.25
    candidate = "Москва большой город"
    reference = "Москва — столица и самый большой город России"
    assert rouge_n_f1(candidate, reference) == pytest.approx(0.6)
    assert rouge_l_f1(candidate, reference) == pytest.approx(0.6)
    assert rouge_n_f1(candidate, reference, n=2) == pytest.approx(0.25)


def test_rouge_ignores_case_and_punctuation_but_counts_repeated_words_once_each():
    # candidate [да, да, да] vs reference [да]: overlap min(3, 1) = 1; P = 1/3, R = 1; F1 = 1/2
    assert rouge_n_f1("ДА! Да, да.", "да") == pytest.approx(0.5)
    assert rouge_l_f1("ДА! Да, да.", "да") == pytest.approx(0.5)


def test_answer_without_tokens_scores_zero_and_reference_without_tokens_scores_none():
    assert rouge_n_f1("...", "Москва") == 0.0
    assert rouge_l_f1("", "Москва") == 0.0
    assert chrf("", "Москва") == 0.0
    assert rouge_n_f1("Москва", "—") is None
    assert rouge_l_f1("Москва", " ") is None
    assert chrf("Москва", "?!") is None
    assert overlap_scores("Москва", None) is None
    assert overlap_scores("Москва", "—") is None


def test_lcs_length_matches_a_full_table_on_random_sequences():
    rng = random.Random(3)
    for _ in range(50):
        first = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        second = [rng.choice("abcd") for _ in range(rng.randint(0, 12))]
        table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
        for i, a in enumerate(first, 1):
            for j, b in enumerate(second, 1):
                table[i][j] = (
                    table[i - 1][j - 1] + 1 if a == b else max(table[i - 1][j], table[i][j - 1])
                )
        assert lcs_length(first, second) == table[-1][-1]
        assert lcs_length(second, first) == table[-1][-1]


@pytest.mark.parametrize(
    ("candidate", "reference"),
    [
        ("the cat sat on the mat", "the cat is on the mat"),
        ("столица россии москва", "москва столица россии"),
        ("париж", "столица франции париж"),
    ],
)
def test_chrf_is_sacrebleus_chrf_on_a_zero_to_one_scale(candidate, reference):
    expected_sentence = sacrebleu.sentence_chrf(candidate, [reference]).score / 100
    expected_corpus = sacrebleu.corpus_chrf([candidate], [[reference]]).score / 100
    assert chrf(candidate, reference) == pytest.approx(expected_sentence)
    assert chrf(candidate, reference) == pytest.approx(expected_corpus)
    assert 0 < chrf(candidate, reference) < 1


def test_chrf_reads_both_texts_in_lower_case_nfkc():
    assert chrf("МОСКВА", "москва") == pytest.approx(1.0)
    assert chrf("ＰＡＲＩＳ", "paris") == pytest.approx(1.0)
    # Lower-cased before sacrebleu: the same as sacrebleu on the lower-case texts.
    expected = sacrebleu.sentence_chrf("столица — москва", ["москва"]).score / 100
    assert chrf("Столица — Москва", "МОСКВА") == pytest.approx(expected)


def test_overlap_scores_bundles_the_three_figures():
    scores = overlap_scores("Столица России — Москва.", "Москва — столица России.")
    assert scores is not None
    assert scores.rouge1_f1 == pytest.approx(1.0)
    assert scores.rouge_l_f1 == pytest.approx(2 / 3)
    assert scores.chrf == pytest.approx(
        chrf("Столица России — Москва.", "Москва — столица России.")
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    """numpy's default (linear) percentile, written out."""
    position = q * (len(sorted_values) - 1)
    below = int(position)
    above = min(below + 1, len(sorted_values) - 1)
    return sorted_values[below] + (position - below) * (sorted_values[above] - sorted_values[below])


def test_bootstrap_interval_agrees_with_a_plain_python_bootstrap():
    values = [round(random.Random(7 + i).random(), 3) for i in range(50)]
    mean, low, high = bootstrap_mean_ci(values, resamples=20_000)
    rng = random.Random(1)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(20_000))
    assert mean == pytest.approx(sum(values) / len(values))
    # Two independent Monte Carlo estimates of the same percentiles: the interval is about
    # 0.16 wide, their difference a few thousandths.
    assert low == pytest.approx(_percentile(means, 0.025), abs=0.01)
    assert high == pytest.approx(_percentile(means, 0.975), abs=0.01)
    assert low < mean < high


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    trials = 300
    covered = 0
    for trial in range(trials):
        sample = rng.exponential(scale=2.0, size=60)  # skewed, true mean 2
        result = bootstrap_mean_ci(sample, resamples=500, seed=trial)
        assert result is not None
        covered += result[1] <= 2.0 <= result[2]
    # The percentile bootstrap under-covers a little on skewed small samples.
    assert 0.88 <= covered / trials <= 0.99


def test_bootstrap_interval_is_the_same_for_the_same_seed_and_degenerate_cases():
    values = [0.2, 0.9, 0.4, 0.4, 0.7]
    assert bootstrap_mean_ci(values, seed=5) == bootstrap_mean_ci(values, seed=5)
    assert bootstrap_mean_ci(values, seed=5) != bootstrap_mean_ci(values, seed=6)
    assert bootstrap_mean_ci([0.5]) == (0.5, 0.5, 0.5)
    assert bootstrap_mean_ci([]) is None
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_mean_ci([0.5, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean_ci(values, confidence=95)


def test_bootstrap_interval_narrows_with_lower_confidence():
    values = [i / 10 for i in range(11)]
    _, low_95, high_95 = bootstrap_mean_ci(values)
    _, low_50, high_50 = bootstrap_mean_ci(values, confidence=0.5)
    assert low_95 < low_50 < 0.5 < high_50 < high_95


def test_summarize_overlap_leaves_out_answers_without_a_reference():
    scores = [
        OverlapScores(rouge1_f1=1.0, rouge_l_f1=0.5, chrf=0.8),
        None,
        OverlapScores(rouge1_f1=0.0, rouge_l_f1=0.5, chrf=0.4),
    ]
    summary = summarize_overlap(scores)
    assert summary.rouge1_f1.n == 2
    assert summary.rouge1_f1.mean == pytest.approx(0.5)
    assert summary.rouge_l_f1.mean == summary.rouge_l_f1.low == summary.rouge_l_f1.high == 0.5
    assert summary.chrf.mean == pytest.approx(0.6)
    assert 0.4 <= summary.chrf.low <= 0.6 <= summary.chrf.high <= 0.8
    empty = summarize_overlap([None])
    assert (empty.chrf.n, empty.chrf.mean, empty.chrf.low, empty.chrf.high) == (0, None, None, None)


def test_repeat_stability_on_hand_made_repeats():
    groups = [
        # identical: ROUGE-L 1, length range 0, time range 1.5 - 1.0 = 0.5
        [("Москва — столица России.", 1.0), ("Москва — столица России.", 1.5)],
        # pairs: (1, 2) ROUGE-L 1/3 (worked in the English test above), (1, 3) 1, (2, 3) 1/3
        # -> mean 5/9; lengths 22, 25, 22 -> range 3; times 2.0 and 3.0 (one missing) -> 1.0
        [
            ("the cat sat on the mat", 2.0),
            ("the mat was under the cat", None),
            ("the cat sat on the mat", 3.0),
        ],
        # one repeat: says nothing about stability, left out
        [("Один ответ", 0.7)],
        # two answers without tokens are alike (1) though not identical; lengths 0 and 2
        [("", None), ("  ", None)],
    ]
    stability = repeat_stability(groups)
    assert stability.items == 3
    assert stability.identical_items == 1
    assert stability.identical_share == pytest.approx(1 / 3)
    assert stability.mean_pair_rouge_l == pytest.approx((1 + 5 / 9 + 1) / 3)
    assert stability.mean_length_range_chars == pytest.approx((0 + 3 + 2) / 3)
    assert stability.mean_time_range_s == pytest.approx((0.5 + 1.0) / 2)


def test_repeat_stability_of_a_model_that_shares_nothing_between_repeats():
    stability = repeat_stability([[("Москва", 1.0), ("Paris", 4.0)], [("", 2.0), ("да", 2.0)]])
    assert stability.identical_share == 0.0
    assert stability.mean_pair_rouge_l == 0.0
    assert stability.mean_time_range_s == pytest.approx((3.0 + 0.0) / 2)


def test_repeat_stability_without_repeated_items_has_no_figures():
    stability = repeat_stability([[("Москва", 1.0)], []])
    assert stability.items == 0
    assert stability.identical_share is None
    assert stability.mean_pair_rouge_l is None
    assert stability.mean_length_range_chars is None
    assert stability.mean_time_range_s is None
