"""WER and CER of a transcript against the sentence that was spoken: one normalisation, jiwer's
arithmetic.

The normalisation (`normalize`) is applied identically to the reference and the transcript,
in this order:

1. Unicode NFKC, and typographic apostrophes (’ ‘ ʼ) become `'`.
2. Lower case.
3. Numbers written out in words with num2words, in the text's language: thousands
   separators are dropped (`1,000` -> `one thousand`), decimals are read with their point
   (`3.5` -> `three point five`), English ordinals with a suffix become ordinal words
   (`1st` -> `first`, `22nd` -> `twenty-second`), `%` after a number becomes `percent`
   (English only), an amount after a currency sign is read with its unit (English only:
   `$50` -> `fifty dollars`, `£1` -> `one pound`, `€3.50` -> `three euros fifty cents`, as
   Whisper writes what a voice says as "50 dollars"), and every other run of digits is a
   cardinal (`50` -> `fifty`). So "50" and "fifty" are the same word; "1999" is read as a
   cardinal on both sides.
4. Punctuation removed: every character that is not a letter, a digit, whitespace or an
   apostrophe becomes a space (so num2words' `ninety-nine` and `ninety nine` agree), and an
   apostrophe is kept only inside a word (`don't`), never at its edges (`'quoted'`).
5. Whitespace collapsed to single spaces, ends stripped.

WER is (substitutions + deletions + insertions) / reference words and CER the same over
characters, both from jiwer on the normalised texts. Neither is capped: a transcript with
more inserted words than the reference has words scores above 1.0, and that is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import jiwer

from lineup.measure.language import guess_language

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_PERCENT = re.compile(r"(\d)\s*%")
_MONEY = re.compile(r"([$€£])\s?(\d+)(?:\.(\d{2}))?\b")
_CURRENCY = {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("pound", "pounds")}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_WORD = re.compile(r"[^\w\s']|_")
_EDGE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")

AlignmentOp = Literal["equal", "substitute", "insert", "delete"]


class ScoringError(ValueError):
    """A reference with nothing left to score after normalisation."""


def _number_words(number: str, language: str) -> str:
    from num2words import num2words

    value: int | Decimal = Decimal(number) if "." in number else int(number)
    try:
        return str(num2words(value, lang=language))
    except (NotImplementedError, OverflowError, ValueError):
        return number  # a language or size num2words cannot write: leave the digits


def _ordinal_words(match: re.Match[str]) -> str:
    from num2words import num2words

    return f" {num2words(int(match.group(1)), to='ordinal', lang='en')} "


def _money_words(match: re.Match[str]) -> str:
    one, many = _CURRENCY[match.group(1)]
    amount, cents = match.group(2), match.group(3)
    words = f" {amount} {one if amount == '1' else many}"
    if cents and cents != "00":
        words += f" {int(cents)} {'cent' if cents == '01' else 'cents'}"
    return words + " "


def normalize(text: str, language: str | None = None) -> str:
    """The normalised form of a text: see the module docstring for each step."""
    language = language or guess_language(text)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text)
    if language == "en":
        text = _MONEY.sub(_money_words, text)
        text = _ORDINAL.sub(_ordinal_words, text)
        text = _PERCENT.sub(r"\1 percent", text)
    text = _NUMBER.sub(lambda m: f" {_number_words(m.group(0), language)} ", text)
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Score:
    """One transcript scored against its reference, with the normalised texts."""

    wer: float
    cer: float
    reference: str
    hypothesis: str
    reference_words: int
    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def word_errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def _normalized_pair(reference: str, hypothesis: str, language: str | None) -> tuple[str, str]:
    language = language or guess_language(reference)
    normalized_reference = normalize(reference, language)
    if not normalized_reference:
        raise ScoringError(
            f"The sentence {reference!r} has no words left after normalisation: nothing to score."
        )
    return normalized_reference, normalize(hypothesis, language)


def score(reference: str, hypothesis: str, language: str | None = None) -> Score:
    """WER and CER of `hypothesis` (a transcript) against `reference` (the sentence spoken).

    `language` (an ISO code) picks the number words; by default it is guessed from the
    reference's script.
    """
    ref, hyp = _normalized_pair(reference, hypothesis, language)
    words = jiwer.process_words(ref, hyp)
    return Score(
        wer=float(words.wer),
        cer=float(jiwer.cer(ref, hyp)),
        reference=ref,
        hypothesis=hyp,
        reference_words=len(words.references[0]),
        hits=words.hits,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
    )


def corpus_wer(
    references: Sequence[str], hypotheses: Sequence[str], language: str | None = None
) -> float:
    """Total word errors over total reference words across all pairs (not a mean of WERs)."""
    if len(references) != len(hypotheses):
        raise ValueError("corpus_wer needs one transcript per reference.")
    if not references:
        raise ScoringError("corpus_wer needs at least one reference.")
    pairs = [_normalized_pair(r, h, language) for r, h in zip(references, hypotheses, strict=True)]
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))


@dataclass(frozen=True)
class AlignedWords:
    """A stretch of the alignment: equal words, or a substitution, insertion or deletion."""

    op: AlignmentOp
    reference_words: tuple[str, ...]
    hypothesis_words: tuple[str, ...]


def word_alignment(
    reference: str, hypothesis: str, language: str | None = None
) -> list[AlignedWords]:
    """The normalised words of both texts, aligned by jiwer, for marking the words that differ."""
    ref, hyp = _normalized_pair(reference, hypothesis, language)
    words = jiwer.process_words(ref, hyp)
    ref_words, hyp_words = words.references[0], words.hypotheses[0]
    return [
        AlignedWords(
            chunk.type,  # type: ignore[arg-type]
            tuple(ref_words[chunk.ref_start_idx : chunk.ref_end_idx]),
            tuple(hyp_words[chunk.hyp_start_idx : chunk.hyp_end_idx]),
        )
        for chunk in words.alignments[0]
    ]
