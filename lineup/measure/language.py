"""Which script a text is written in, a guess at its language, and the warning shown when a
voice cannot speak it."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache

from backends.base import TTSBackend
from lineup.core import N_, _

# The script each language a voice may declare is written in (ISO 639-1). A voice whose
# languages are all missing here is treated as unknown: no warning.
LANGUAGE_SCRIPTS: dict[str, str] = {
    **dict.fromkeys(
        "en fr de es it pt nl sv da no nb nn fi is et lv lt pl cs sk sl hr bs ro hu tr az "
        "sq ca eu gl ga cy mt id ms vi tl sw af eo la".split(),
        "Latin",
    ),
    **dict.fromkeys("ru uk be bg sr mk kk ky tg mn ba tt".split(), "Cyrillic"),
    "el": "Greek",
    "he": "Hebrew",
    "ar": "Arabic",
    "fa": "Arabic",
    "ur": "Arabic",
    "hi": "Devanagari",
    "mr": "Devanagari",
    "ne": "Devanagari",
    "ka": "Georgian",
    "hy": "Armenian",
    "th": "Thai",
    "zh": "Han",
    "ja": "Japanese",
    "ko": "Hangul",
}
# The language a text in a script most likely is, for number words and the warning's hint.
SCRIPT_LANGUAGE = {
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
_JAPANESE_KANA = ("HIRAGANA", "KATAKANA")
# The scripts' names as a warning says them (another script keeps its Unicode name).
SCRIPT_NAMES = {
    "Latin": N_("Latin"),
    "Cyrillic": N_("Cyrillic"),
    "Greek": N_("Greek"),
    "Hebrew": N_("Hebrew"),
    "Arabic": N_("Arabic"),
    "Devanagari": N_("Devanagari"),
    "Georgian": N_("Georgian"),
    "Armenian": N_("Armenian"),
    "Thai": N_("Thai"),
    "Han": N_("Han"),
    "Japanese": N_("Japanese"),
    "Hangul": N_("Hangul"),
}


def _script(char: str) -> str | None:
    """Unicode script of a letter, from its character name (`CYRILLIC SMALL LETTER A`)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "Han"
    if name.startswith(_JAPANESE_KANA):
        return "Japanese"
    return name.split(" ", 1)[0].capitalize() or None


def dominant_script(text: str) -> str | None:
    """The script most of the text's letters are written in (None for a text with no letters)."""
    counts = Counter(script for script in map(_script, text) if script)
    return counts.most_common(1)[0][0] if counts else None


def guess_language(text: str, default: str = "en") -> str:
    """A language code for the text from its script alone (SCRIPT_LANGUAGE: Latin -> en,
    Cyrillic -> ru, Han -> zh, kana -> ja, ...); `default` for a script it does not map."""
    return SCRIPT_LANGUAGE.get(dominant_script(text) or "", default)


def language_warning(
    text: str, voice: TTSBackend, preset: str | None = None, name: str = ""
) -> str | None:
    """A warning when `text` is in a script the voice does not speak, else None.

    `voice` is a TTS backend; its `languages(preset)` (ISO codes, None = unknown) says what it
    handles. Only the script is compared: a French text to an English voice is not caught.
    `name` is how the voice is shown (its spec when not given). (The model that transcribes
    for the WER is not warned about but refused: lineup.run.stt_choice.)
    """
    languages = voice.languages(preset)
    if not languages:
        return None
    voice_scripts = {LANGUAGE_SCRIPTS[code] for code in languages if code in LANGUAGE_SCRIPTS}
    text_script = dominant_script(text)
    if not voice_scripts or text_script is None or text_script in voice_scripts:
        return None
    values = {
        "script": _(SCRIPT_NAMES.get(text_script, text_script)),
        "voice": name or str(voice.spec),
        "languages": ", ".join(sorted(languages)),
        "language": SCRIPT_LANGUAGE.get(text_script),
    }
    if values["language"] is None:
        message = _(
            "The text is written in {script} script, but {voice} speaks {languages}. Its audio "
            "and WER will say little; choose a voice for the text's language."
        )
    elif values["language"] == "ru":
        message = _(
            "The text is written in {script} script (probably {language}), but {voice} speaks "
            "{languages}. Its audio and WER will say little; choose a voice for the text's "
            "language (for example espeak:ru)."
        )
    else:
        message = _(
            "The text is written in {script} script (probably {language}), but {voice} speaks "
            "{languages}. Its audio and WER will say little; choose a voice for the text's "
            "language."
        )
    return message.format(**values)


# Scripts written without spaces between words: a text in them is compared character by
# character (lineup.measure.overlap). Code points after NFKC (which maps half-width kana and
# CJK compatibility ideographs onto these): Han (CJK radicals, 々 〆 〇 and the Hangzhou
# numerals, the unified ideographs and their extensions A-H, compatibility ideographs),
# Hiragana, Katakana (with ー and the phonetic extensions), Thai, Lao, Khmer, Myanmar.
SPACELESS_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3038, 0x303B),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1B000, 0x1B16F),  # Kana supplement and extension A
    (0x20000, 0x3FFFF),  # CJK extensions B-H
)
# Combining Diacritical Marks (U+0300-U+036F): the accents Latin, Cyrillic and Greek letters
# take. After NFKC one is left only where no precomposed letter exists (a Russian stress mark:
# а́, о́), so dropping them after NFKC removes stress marks and keeps é, ё, й.
LOOSE_DIACRITICS = re.compile("[\u0300-\u036f]+")


def any_of(ranges: Iterable[tuple[int, int]]) -> str:
    """A regular expression for one character in `ranges`: a class of the Basic Multilingual
    Plane ranges, or one of the others (Python's `re` tests a BMP-only class from a bitmap,
    many times faster than a class that also holds ranges above it)."""
    ranges = list(ranges)
    assert all(high <= 0xFFFF or low > 0xFFFF for low, high in ranges)
    bmp = "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges if high <= 0xFFFF)
    astral = "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges if low > 0xFFFF)
    return f"[{bmp}]|[{astral}]"


@cache
def mark_ranges() -> tuple[tuple[int, int], ...]:
    """The code point ranges of every combining mark (Unicode category M, from this Python's
    Unicode database). Built once, on first use (a pass over the code points where marks
    are)."""
    marks: list[tuple[int, int]] = []
    start = previous = -2
    for point in range(0x0300, 0x1E950):
        if unicodedata.category(chr(point)).startswith("M"):
            if point != previous + 1:
                if start >= 0:
                    marks.append((start, previous))
                start = point
            previous = point
    marks.append((start, previous))
    marks.append((0xE0100, 0xE01EF))  # variation selectors supplement
    return tuple(marks)


# One character of SPACELESS_RANGES, letter or not (a class of ranges is fast below U+FFFF).
SPACELESS_CHAR = re.compile(
    "["
    + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in SPACELESS_RANGES if high <= 0xFFFF)
    + "]|["
    + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in SPACELESS_RANGES if low > 0xFFFF)
    + "]"
)


def spaceless(char: str) -> bool:
    """Whether `char` is a letter or digit of a script written without spaces (see
    SPACELESS_RANGES)."""
    return char.isalnum() and SPACELESS_CHAR.match(char) is not None


def word_char(char: str) -> bool:
    """A character that belongs to a word: a Unicode letter, digit or combining mark (so the
    vowel signs of Devanagari or Thai stay inside their word)."""
    return char.isalnum() or unicodedata.category(char).startswith("M")
