"""Every stored WER and CER scored again from its clip's sentence and transcript with the
normalisation that knows Russian and scripts without spaces: "ё" is "е", loose
stress marks are dropped, numbers and "%" are words in the sentence's language (Russian
"10%" -> "десять процентов"), and each Han, kana or Thai character is a word. The sentence's
language is its set item's `language` when the clip belongs to a study, else the guess from
its script, as lineup.measure.wer reads it at this revision.

wer, cer, word_errors and reference_words are rewritten for every generation with a WER and a
transcript, so every stored figure uses this normalisation. A WER stored without its
transcript (none is written since revision 0002; lineup.store counts them) cannot be scored
again and keeps the figure of its time. A sentence with no words left after this
normalisation (it would need to be only marks or punctuation, and then it had no WER before
either) keeps its row as it is.

Downgrade leaves the figures as they are: the old normalisation's figures are not kept, and
the columns mean the same to the code of revision 0011.

The normalisation is frozen here (a copy of lineup.measure.wer.normalize and of the script
guess of lineup.measure.language as of this revision), so this migration never changes when
live code does; jiwer and num2words are the pinned libraries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import re
import unicodedata
from collections import Counter
from decimal import Decimal
from functools import lru_cache

import jiwer
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT generations.id, runs.input_text, generations.transcript, set_items.language "
            "FROM generations JOIN runs ON runs.id = generations.run_id "
            "LEFT JOIN set_items ON set_items.id = runs.item_id "
            "WHERE generations.wer IS NOT NULL AND generations.transcript IS NOT NULL"
        )
    ).all()
    scored: dict[tuple[str, str, str], dict[str, float | int] | None] = {}
    updates = []
    for gid, sentence, transcript, item_language in rows:
        language = item_language or _guess_language(sentence)
        key = (sentence, transcript, language)
        if key not in scored:
            scored[key] = _score(sentence, transcript, language)
        figures = scored[key]
        if figures is not None:
            updates.append({**figures, "gid": gid})
    if updates:  # one executemany
        connection.execute(
            sa.text(
                "UPDATE generations SET wer = :wer, cer = :cer, word_errors = :word_errors, "
                "reference_words = :reference_words WHERE id = :gid"
            ),
            updates,
        )


def downgrade() -> None:
    pass  # the figures stay as scored by 0012: see the module docstring


def _score(sentence: str, transcript: str, language: str) -> dict[str, float | int] | None:
    reference = _normalize(sentence, language)
    if not reference:
        return None
    hypothesis = _normalize(transcript, language)
    words = jiwer.process_words(reference, hypothesis)
    return {
        "wer": float(words.wer),
        "cer": float(jiwer.cer(_character_text(reference), _character_text(hypothesis))),
        "word_errors": words.substitutions + words.deletions + words.insertions,
        "reference_words": len(words.references[0]),
    }


# The script guess (lineup.measure.language at this revision) --------------------------------

_SCRIPT_LANGUAGE = {
    "Latin": "en",
    "Cyrillic": "ru",
    "Greek": "el",
    "Hebrew": "he",
    "Arabic": "ar",
    "Han": "zh",
    "Japanese": "ja",
    "Hangul": "ko",
    "Thai": "th",
}
_SPACELESS_RANGES = (
    (0x2E80, 0x2FDF),
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x0E00, 0x0E7F),
    (0x0E80, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x1B000, 0x1B16F),
    (0x20000, 0x3FFFF),
)
_LOOSE_DIACRITICS = dict.fromkeys(range(0x0300, 0x0370))


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "Han"
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "Japanese"
    return name.split(" ", 1)[0].capitalize() or None


def _guess_language(text: str) -> str:
    counts = Counter(script for script in map(_script, text) if script)
    script = counts.most_common(1)[0][0] if counts else ""
    return _SCRIPT_LANGUAGE.get(script, "en")


_SPACELESS_CHAR = re.compile(
    "["
    + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in _SPACELESS_RANGES if high <= 0xFFFF)
    + "]|["
    + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _SPACELESS_RANGES if low > 0xFFFF)
    + "]"
)


def _spaceless(char: str) -> bool:
    return char.isalnum() and _SPACELESS_CHAR.match(char) is not None


def _word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


# The normalisation (lineup.measure.wer at this revision) -------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_YO = str.maketrans({"ё": "е"})
_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_DECIMAL_COMMA = re.compile(r"(\d),(\d)")
_SPACE_GROUPED = re.compile(r"\b\d{1,3}(?: \d{3})+\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_PERCENT = re.compile(r"(\d)\s*%")
_NUMBER_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
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


def _primary_language(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].lower()


def _num2words_language(language: str) -> str:
    from num2words import CONVERTER_CLASSES

    parts = language.replace("-", "_").split("_")
    variant = "_".join([parts[0].lower(), *(part.upper() for part in parts[1:2])])
    return variant if variant in CONVERTER_CLASSES else _primary_language(language)


def _number_words(number: str, language: str) -> str:
    from num2words import num2words

    value: int | Decimal = Decimal(number) if "." in number else int(number)
    try:
        return f" {num2words(value, lang=_num2words_language(language))} "
    except (NotImplementedError, OverflowError, ValueError):
        return number


def _russian_percent(match: re.Match[str]) -> str:
    number = match.group(1)
    if "." in number:
        word = "процента"
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
    return "".join(
        char if (_word_char(char) or char.isspace() or char == "'") and char != "_" else " "
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
    if _SPACELESS_CHAR.search(text) is None:
        return text
    pieces: list[str] = []
    after_spaceless = False
    for char in text:
        if _spaceless(char):
            pieces.append(f" {char}")
            after_spaceless = True
        elif after_spaceless and unicodedata.category(char).startswith("M"):
            pieces.append(char)
        else:
            pieces.append(f" {char}" if after_spaceless else char)
            after_spaceless = False
    return "".join(pieces)


def _character_text(normalized: str) -> str:
    words = normalized.split(" ")
    if len(words) < 2 or _SPACELESS_CHAR.search(normalized) is None:
        return normalized
    joined = [words[0]]
    for before, word in zip(words, words[1:], strict=False):
        touching = (before and _spaceless(before[0])) or (word and _spaceless(word[0]))
        joined.append(word if touching else f" {word}")
    return "".join(joined)


@lru_cache(maxsize=65536)  # a sentence is spoken by several voices, several times
def _normalize(text: str, language: str) -> str:
    primary = _primary_language(language)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = text.translate(_YO).translate(_LOOSE_DIACRITICS)
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
