"""Overlap of an answer with the reference answer (ROUGE, chrF), its bootstrap interval, and the
stability of a model's answers across repeats of the same item.

Definitions (one place for each):

- normalised text: Unicode NFKC, lower case, "ё" written "е" (Russian prints ё optionally:
  "ещё" and "еще" are one word), then every Combining Diacritical Mark (U+0300-U+036F) still
  loose after NFKC dropped. NFKC has composed every letter that has a precomposed form (é, й,
  ё), so what it drops is a mark no letter holds, such as a Russian stress mark ("моло́ко" ->
  "молоко"). Marks of other blocks (the vowel signs of Devanagari or Thai) are kept.
- tokens: the normalised text split into words and characters. A word is a maximal run of
  Unicode letters, digits (`str.isalnum`: no underscore, no punctuation) and combining marks
  that begins with a letter or digit (a mark with nothing before it belongs to no token).
  A letter or digit of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
  Khmer, Myanmar: lineup.measure.language.SPACELESS_RANGES) is a token on its own, with the
  combining marks that follow it ("我爱北京" -> ["我", "爱", "北", "京"]; "2024年" ->
  ["2024", "年"]); Hangul is written with spaces and splits into words. No stemming and no
  stop words. So Russian and English are tokenised alike ("Привет, мир!" -> ["привет",
  "мир"]), which the `rouge-score` package's tokenizer does not do (it drops every non-ASCII
  letter). An apostrophe splits a word on both sides alike ("don't" -> ["don", "t"]).
- rouge1_f1 (`rouge_n_f1`, n=1; n=2 the same over word pairs): overlap = sum over distinct
  n-grams of min(count in the answer, count in the reference); P = overlap / answer n-grams,
  R = overlap / reference n-grams, F1 = 2PR / (P + R), 0 when the overlap is 0.
- rouge_l_f1: L = the length of the longest common subsequence of the two token
  lists; P = L / answer tokens, R = L / reference tokens, F1 = 2PR / (P + R), 0 when L is 0.
- chrf: sacrebleu's sentence chrF with its defaults (character n-grams of 1 to 6, beta = 2,
  whitespace ignored) on the two normalised texts (the normalisation the tokens use),
  divided by 100. It reads characters already, so a text without spaces needs nothing more.
- Every overlap figure is on a 0-1 scale (1 = the answer is the reference). Each is None when
  the reference has no tokens: there is nothing to overlap with. An answer with no tokens
  against a reference with some scores 0.
- Per model (`summarize_overlap`): the mean of each figure over the answers that have it,
  with a 95% percentile bootstrap interval (`bootstrap_mean_ci`): the answers are resampled
  with replacement `resamples` times with numpy's Generator seeded with `seed`, so the same
  scores give the same interval; the interval is the 2.5th and 97.5th percentiles of the
  resampled means (numpy's default linear interpolation).

Stability across repeats (`repeat_stability`), over the items of one model that have at
least two repeats (an item answered once says nothing about stability):

- identical_share: identical_items / items, where an item is identical when all its repeats
  are the same string, character for character.
- mean_pair_rouge_l: for each item, the mean rouge_l_f1 over its unordered pairs of repeats
  (symmetric: swapping the two swaps P and R), then the mean over items, so an item repeated
  five times weighs as much as one repeated twice. Two repeats with no tokens are alike (1);
  one with tokens and one without share nothing (0).
- mean_length_range_chars: per item, the longest repeat's characters minus the shortest's;
  the mean over items.
- mean_time_range_s: per item, the largest total_s minus the smallest over its repeats that
  have a total_s (items with fewer than two such repeats do not count); the mean over items.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from lineup.measure.language import LOOSE_DIACRITICS, SPACELESS_RANGES, any_of, mark_ranges

if TYPE_CHECKING:
    from sacrebleu.metrics import CHRF

CONFIDENCE = 0.95
RESAMPLES = 1000
# Resampled means are drawn in blocks of at most this many indexes, so a large model's
# scores never need a resamples x answers matrix at once.
_BOOTSTRAP_BLOCK = 1_000_000


def _normalize(text: str) -> str:
    """NFKC, lower case, ё as е, loose diacritical marks dropped (see the module docstring)."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    return LOOSE_DIACRITICS.sub("", lowered.replace("ё", "е"))


@cache
def _token_pattern() -> re.Pattern[str]:
    letter = r"[^\W_]"  # str.isalnum
    marks = f"(?:{any_of(mark_ranges())})"
    # a letter or digit of a script without spaces (its marks are not: they follow one)
    spaceless = f"(?={letter})(?:{any_of(SPACELESS_RANGES)})"
    return re.compile(
        # such a character, with the marks that follow it
        rf"{spaceless}{marks}*"
        # a word: a letter or digit, then letters, digits and marks, but no such character
        rf"|(?!{spaceless}){letter}(?:(?!{spaceless})(?:{letter}|{marks}))*"
    )


@cache
def _mark_or_spaceless() -> re.Pattern[str]:
    """A character that may need `_token_pattern`: a mark, a character of a script without
    spaces, or any character above the Basic Multilingual Plane (one range: fast to test)."""
    bmp = [(low, high) for low, high in [*mark_ranges(), *SPACELESS_RANGES] if high <= 0xFFFF]
    return re.compile(any_of([*sorted(bmp), (0x10000, 0x10FFFF)]))


_PLAIN_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The normalised text's words, and each character of a script without spaces on its own
    (see the module docstring)."""
    normalized = _normalize(text)
    if _mark_or_spaceless().search(normalized) is None:
        return _PLAIN_WORD.findall(normalized)  # the same tokens, found faster
    return _token_pattern().findall(normalized)


def _f1(overlap: int, candidate_count: int, reference_count: int) -> float:
    if overlap == 0:
        return 0.0
    precision = overlap / candidate_count
    recall = overlap / reference_count
    return 2 * precision * recall / (precision + recall)


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def rouge_n_f1(candidate: str, reference: str, n: int = 1) -> float | None:
    """ROUGE-N F1 of the candidate against the reference (0-1); None for a reference
    without n-grams."""
    if n < 1:
        raise ValueError(f"n must be 1 or more, not {n}.")
    reference_ngrams = _ngrams(tokens(reference), n)
    if not reference_ngrams:
        return None
    candidate_ngrams = _ngrams(tokens(candidate), n)
    overlap = sum((candidate_ngrams & reference_ngrams).values())
    return _f1(overlap, candidate_ngrams.total(), reference_ngrams.total())


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence: O(len(first) * len(second)) time, one row of
    the shorter sequence's length in memory."""
    if len(first) < len(second):
        first, second = second, first
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0] * (len(second) + 1)
        for j, other in enumerate(second, start=1):
            if item == other:
                current[j] = previous[j - 1] + 1
            else:
                current[j] = max(previous[j], current[j - 1])
        previous = current
    return previous[-1]


def rouge_l_f1(candidate: str, reference: str) -> float | None:
    """ROUGE-L F1 (longest common subsequence of tokens) of the candidate against the
    reference (0-1); None for a reference without tokens."""
    reference_tokens = tokens(reference)
    if not reference_tokens:
        return None
    candidate_tokens = tokens(candidate)
    common = lcs_length(candidate_tokens, reference_tokens)
    return _f1(common, len(candidate_tokens), len(reference_tokens))


@cache
def _chrf_metric() -> CHRF:
    try:
        from sacrebleu.metrics import CHRF
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ImportError(
            "chrF needs sacrebleu: pip install sacrebleu==2.6.0 (see requirements.txt)."
        ) from exc
    return CHRF()


def chrf(candidate: str, reference: str) -> float | None:
    """sacrebleu's sentence chrF of the candidate against the reference, on a 0-1 scale;
    None for a reference without tokens."""
    if not tokens(reference):
        return None
    score = _chrf_metric().sentence_score(_normalize(candidate), [_normalize(reference)])
    return float(score.score) / 100


@dataclass(frozen=True)
class OverlapScores:
    """One answer's overlap with its item's reference, each on a 0-1 scale."""

    rouge1_f1: float
    rouge_l_f1: float
    chrf: float


def overlap_scores(candidate: str, reference: str | None) -> OverlapScores | None:
    """All overlap figures of one answer; None when there is no reference or it has no
    tokens."""
    if reference is None or not tokens(reference):
        return None
    rouge1 = rouge_n_f1(candidate, reference, 1)
    rouge_l = rouge_l_f1(candidate, reference)
    chrf_score = chrf(candidate, reference)
    assert rouge1 is not None and rouge_l is not None and chrf_score is not None
    return OverlapScores(rouge1_f1=rouge1, rouge_l_f1=rouge_l, chrf=chrf_score)


# How many (answer, reference) pairs remembered_overlap keeps in a process (a few studies' worth).
OVERLAP_MEMO = 8192


@lru_cache(maxsize=OVERLAP_MEMO)
def remembered_overlap(candidate: str, reference: str | None) -> OverlapScores | None:
    """overlap_scores, remembered per (answer text, reference text) in this process (the least
    recently used forgotten past OVERLAP_MEMO): a page drawn again does not score its answers
    again. Keyed by the texts themselves, so an edited answer or reference is a new key and is
    scored afresh: it can never give a stale score. Thread-safe (functools.lru_cache); each
    process has its own, so processes share nothing to corrupt."""
    return overlap_scores(candidate, reference)


def bootstrap_mean_ci(
    values: Iterable[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float] | None:
    """The mean of the values and its percentile bootstrap interval, (mean, low, high);
    None when there are no values. Deterministic for a given seed."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}.")
    if resamples < 1:
        raise ValueError(f"resamples must be 1 or more, not {resamples}.")
    sample = np.asarray(list(values), dtype=float)
    if sample.size == 0:
        return None
    if np.isnan(sample).any():
        raise ValueError("The values contain NaN: leave out the answers without a score.")
    rng = np.random.default_rng(seed)
    rows_per_block = max(1, _BOOTSTRAP_BLOCK // sample.size)
    means = np.empty(resamples)
    for start in range(0, resamples, rows_per_block):
        rows = min(rows_per_block, resamples - start)
        indexes = rng.integers(0, sample.size, size=(rows, sample.size))
        means[start : start + rows] = sample[indexes].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(sample.mean()), float(low), float(high)


@dataclass(frozen=True)
class MeanInterval:
    """A mean over `n` answers with its bootstrap interval (None values when n is 0)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class OverlapSummary:
    """A model's overlap figures: each a mean over its scored answers with a 95% interval."""

    rouge1_f1: MeanInterval
    rouge_l_f1: MeanInterval
    chrf: MeanInterval


def mean_interval(values: Sequence[float], *, seed: int = 0) -> MeanInterval:
    """`bootstrap_mean_ci` of the values as a MeanInterval."""
    result = bootstrap_mean_ci(values, seed=seed)
    if result is None:
        return MeanInterval(n=0, mean=None, low=None, high=None)
    mean, low, high = result
    return MeanInterval(n=len(values), mean=mean, low=low, high=high)


def summarize_overlap(scores: Iterable[OverlapScores | None], *, seed: int = 0) -> OverlapSummary:
    """Per-model overlap: the mean and interval of each figure over the answers that have
    scores (None, an answer to an item without a reference, is left out)."""
    scored = [score for score in scores if score is not None]
    return OverlapSummary(
        rouge1_f1=mean_interval([s.rouge1_f1 for s in scored], seed=seed),
        rouge_l_f1=mean_interval([s.rouge_l_f1 for s in scored], seed=seed),
        chrf=mean_interval([s.chrf for s in scored], seed=seed),
    )


@dataclass(frozen=True)
class RepeatStability:
    """How alike a model's repeats of the same items are (see the module docstring)."""

    items: int
    identical_items: int
    identical_share: float | None
    mean_pair_rouge_l: float | None
    mean_length_range_chars: float | None
    mean_time_range_s: float | None


def answer_similarity(first: str, second: str) -> float:
    """rouge_l_f1 of two answers (symmetric), with two answers without tokens alike (1) and
    one with tokens and one without sharing nothing (0): how repeats, and two models' answers
    to the same item and repeat, are compared."""
    score = rouge_l_f1(first, second)
    if score is None:  # `second` has no tokens
        return 1.0 if not tokens(first) else 0.0
    return score


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def repeat_stability(groups: Iterable[Sequence[tuple[str, float | None]]]) -> RepeatStability:
    """Stability of one model from its answers grouped per item: each group lists the item's
    repeats as (text, total_s), total_s None when it was not measured."""
    repeated = [group for group in groups if len(group) >= 2]
    identical = sum(1 for group in repeated if len({text for text, _ in group}) == 1)
    pair_means: list[float] = []
    length_ranges: list[float] = []
    time_ranges: list[float] = []
    for group in repeated:
        texts = [text for text, _ in group]
        pairs = [answer_similarity(a, b) for a, b in combinations(texts, 2)]
        pair_means.append(math.fsum(pairs) / len(pairs))
        lengths = [len(text) for text in texts]
        length_ranges.append(float(max(lengths) - min(lengths)))
        times = [t for _, t in group if t is not None and not math.isnan(t)]
        if len(times) >= 2:
            time_ranges.append(max(times) - min(times))
    return RepeatStability(
        items=len(repeated),
        identical_items=identical,
        identical_share=identical / len(repeated) if repeated else None,
        mean_pair_rouge_l=_mean(pair_means),
        mean_length_range_chars=_mean(length_ranges),
        mean_time_range_s=_mean(time_ranges),
    )
