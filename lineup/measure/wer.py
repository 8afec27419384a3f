"""WER and CER of a transcript against the sentence that was spoken: one normalisation, jiwer's
arithmetic.

The normalisation (`normalize`) is applied identically to the reference and the transcript,
in the sentence's language, in this order:

1. Unicode NFKC, and typographic apostrophes (’ ‘ ʼ) become `'`.
2. Lower case; "ё" is written "е" in every language (Russian prints ё optionally, so
   "ещё" and "еще" are one word); every Combining Diacritical Mark (U+0300-U+036F) still
   loose after NFKC is dropped. NFKC has composed every letter that has a precomposed form
   (é, й, ё), so what is dropped is a mark no letter holds: a Russian stress mark (U+0301,
   "моло́ко" -> "молоко").
3. Numbers written out in words with num2words, in the sentence's language:
   - thousands separators are dropped (`1,000` -> `one thousand`); in Russian the separator
     is a space (`1 000` -> `одна тысяча`; NFKC has made a no-break space a space) and a
     comma is the decimal mark (`3,5` = `3.5`);
   - decimals are read with their point (`3.5` -> `three point five`, Russian `три целых
     пять десятых`);
   - English ordinals with a suffix become ordinal words (`1st` -> `first`, `22nd` ->
     `twenty-second`);
   - `%` after a number becomes the word for percent. Russian: `процент`, `процента` or
     `процентов` as the number asks (`1%`, `21%` -> процент; `2%`-`4%`, `22%` -> процента;
     `5%`-`20%`, `25%`, `111%` -> процентов; a decimal -> процента). English `percent`, German
     `prozent`, Dutch `procent`, French `pour cent`, Spanish `por ciento`, Italian `per
     cento`, Portuguese `por cento`. In any other language `%` is punctuation;
   - an amount after a currency sign is read with its unit (English only: `$50` -> `fifty
     dollars`, `£1` -> `one pound`, `€3.50` -> `three euros fifty cents`, as Whisper writes
     what a voice says as "50 dollars");
   - every other run of digits is a cardinal (`50` -> `fifty`, Russian `пятьдесят`, in
     num2words' masculine nominative: "21 книга" reads "двадцать один", so a voice saying
     "двадцать одна" has one error). So "50" and "fifty" are the same word; "1999" is read
     as a cardinal on both sides. In a language num2words cannot write (Chinese, for one)
     the digits stay digits.
4. Punctuation removed: every character that is not a letter, a digit, a combining mark,
   whitespace or an apostrophe becomes a space (so num2words' `ninety-nine` and `ninety nine`
   agree; the vowel signs of Devanagari or Thai, combining marks, stay inside their word),
   and an apostrophe is kept only inside a word (`don't`), never at its edges (`'quoted'`).
5. Each letter or digit of a script written without spaces (Han, Hiragana, Katakana, Thai,
   Lao, Khmer, Myanmar: lineup.measure.language.SPACELESS_RANGES) becomes a word of its own,
   with the combining marks that follow it, the way ROUGE tokenises it
   (lineup.measure.overlap): "我爱北京" -> "我 爱 北 京". So the WER of Chinese or Japanese
   is its error rate over characters, as is usual for those languages.
6. Whitespace collapsed to single spaces, ends stripped.

The sentence's language: the set item's `language` when the clip belongs to a study of a set
that gives one (a tag such as `ru` or `pt-BR`: num2words' variant when it has one, else the
first part), else a guess from the sentence's script (lineup.measure.language.guess_language:
Latin -> en, Cyrillic -> ru, Greek -> el, Han -> zh, kana -> ja, Hangul -> ko, Thai -> th,
...; English for a script it does not map). The guess is all a clip outside a study has (a
sentence typed on the Compare page or given to `lineup speak`): a Latin-script sentence is
then read as English, as before languages were read: French "10 %" reads "ten" against a
heard "dix pour cent" unless the set says `fr`.

WER is (substitutions + deletions + insertions) / reference words and CER the same over
characters, both from jiwer on the normalised texts; for CER a space next to a character of a
script without spaces is not a character (the spaces of step 5 are taken out again, and so
is a space typed in Chinese text), so "我爱北京" is 4 characters, not 7. Neither is capped: a
transcript with more inserted words than the reference has words scores above 1.0, and that
is kept.

Stored figures: a clip's WER, CER, word errors and reference words are computed when the clip
is made (lineup.run.tts) and stored with it. Migration 0012 scored every stored clip that has
its transcript again with these rules, so every stored figure uses them; a WER stored without
its transcript (none since migration 0002) keeps the normalisation of its time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import jiwer

from lineup.measure.language import (
    LOOSE_DIACRITICS,
    SPACELESS_CHAR,
    guess_language,
    spaceless,
    word_char,
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_DECIMAL_COMMA = re.compile(r"(\d),(\d)")
_SPACE_GROUPED = re.compile(r"\b\d{1,3}(?: \d{3})+\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_PERCENT = re.compile(r"(\d)\s*%")
_NUMBER_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
# The word for "percent" where it does not change with the number (Russian's does).
_PERCENT_WORD = {
    "en": "percent",
    "de": "prozent",
    "nl": "procent",
    "fr": "pour cent",
    "es": "por ciento",
    "it": "per cento",
    "pt": "por cento",
}
_MONEY = re.compile(r"([$€£])\s?(\d+)(?:\.(\d{2}))?\b")
_CURRENCY = {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("pound", "pounds")}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_EDGE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")

AlignmentOp = Literal["equal", "substitute", "insert", "delete"]


class ScoringError(ValueError):
    """A reference with nothing left to score after normalisation."""


def primary_language(language: str) -> str:
    """The first part of a language tag, lower case: `pt-BR` -> `pt`."""
    return language.replace("_", "-").split("-", 1)[0].lower()


def _num2words_language(language: str) -> str:
    """num2words' name for a language tag: its variant when it has one (`pt-BR` -> `pt_BR`),
    else the first part (`en-US` -> `en`)."""
    from num2words import CONVERTER_CLASSES

    parts = language.replace("-", "_").split("_")
    variant = "_".join([parts[0].lower(), *(part.upper() for part in parts[1:2])])
    return variant if variant in CONVERTER_CLASSES else primary_language(language)


def _number_words(number: str, language: str) -> str:
    from num2words import num2words

    value: int | Decimal = Decimal(number) if "." in number else int(number)
    try:
        return f" {num2words(value, lang=_num2words_language(language))} "
    except (NotImplementedError, OverflowError, ValueError):
        return number  # a language or size num2words cannot write: leave the digits as they are


def _russian_percent(match: re.Match[str]) -> str:
    """`N%` in Russian: the number, then процент in the form the number asks for."""
    number = match.group(1)
    if "." in number:
        word = "процента"  # a fraction governs the genitive singular: 3,5 процента
    else:
        value = int(number)
        if value % 10 == 1 and value % 100 != 11:
            word = "процент"
        elif value % 10 in (2, 3, 4) and value % 100 not in (12, 13, 14):
            word = "процента"
        else:
            word = "процентов"
    return f"{number} {word}"


def _punctuation_to_spaces(text: str) -> str:
    """Every character that is not a letter, digit, combining mark, whitespace or apostrophe
    becomes a space; so does an underscore."""
    return "".join(
        char if (word_char(char) or char.isspace() or char == "'") and char != "_" else " "
        for char in text
    )


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


def _spaceless_words(text: str) -> str:
    """Each character of a script without spaces set apart as a word, with its marks."""
    if SPACELESS_CHAR.search(text) is None:
        return text
    pieces: list[str] = []
    after_spaceless = False
    for char in text:
        if spaceless(char):
            pieces.append(f" {char}")
            after_spaceless = True
        elif after_spaceless and unicodedata.category(char).startswith("M"):
            pieces.append(char)  # a mark on the character before it
        else:
            pieces.append(f" {char}" if after_spaceless else char)
            after_spaceless = False
    return "".join(pieces)


def character_text(normalized: str) -> str:
    """A normalised text as CER reads it: without the spaces next to a character of a script
    without spaces (see the module docstring)."""
    words = normalized.split(" ")
    if len(words) < 2 or SPACELESS_CHAR.search(normalized) is None:
        return normalized
    joined = [words[0]]
    for before, word in zip(words, words[1:], strict=False):
        touching = (before and spaceless(before[0])) or (word and spaceless(word[0]))
        joined.append(word if touching else f" {word}")
    return "".join(joined)


def normalize(text: str, language: str | None = None) -> str:
    """The normalised form of a text: see the module docstring for each step."""
    language = language or guess_language(text)
    primary = primary_language(language)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = LOOSE_DIACRITICS.sub("", text.replace("ё", "е"))
    if primary == "ru":
        text = _SPACE_GROUPED.sub(lambda m: m.group(0).replace(" ", ""), text)
        text = _DECIMAL_COMMA.sub(r"\1.\2", text)
        text = _NUMBER_PERCENT.sub(_russian_percent, text)
    else:
        text = _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text)
    if primary == "en":
        text = _MONEY.sub(_money_words, text)
        text = _ORDINAL.sub(_ordinal_words, text)
    if primary in _PERCENT_WORD:
        text = _PERCENT.sub(rf"\1 {_PERCENT_WORD[primary]}", text)
    text = _NUMBER.sub(lambda m: _number_words(m.group(0), language), text)
    text = _punctuation_to_spaces(text)
    text = _EDGE_APOSTROPHE.sub(" ", text)
    text = _spaceless_words(text)
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

    `language` (a tag such as `ru` or `pt-BR`: the set item's) picks the number words;
    without one it is guessed from the reference's script (see the module docstring).
    """
    ref, hyp = _normalized_pair(reference, hypothesis, language)
    words = jiwer.process_words(ref, hyp)
    return Score(
        wer=float(words.wer),
        cer=float(jiwer.cer(character_text(ref), character_text(hyp))),
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
