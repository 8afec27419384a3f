"""Which script a text is written in, a guess at its language, and the warning shown when a
voice cannot speak it."""

from __future__ import annotations

import unicodedata
from collections import Counter

from backends.base import STTBackend, TTSBackend

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
SCRIPT_LANGUAGE = {"Latin": "en", "Cyrillic": "ru", "Greek": "el", "Hebrew": "he", "Arabic": "ar"}
_JAPANESE_KANA = ("HIRAGANA", "KATAKANA")


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
    """A language code for the text from its script alone: Cyrillic -> ru, Latin -> en, ..."""
    return SCRIPT_LANGUAGE.get(dominant_script(text) or "", default)


def language_warning(
    text: str, voice: TTSBackend | STTBackend, preset: str | None = None, name: str = ""
) -> str | None:
    """A warning when `text` is in a script the voice does not speak, else None.

    `voice` is a TTS backend (or an STT one: the model that transcribes for the WER); its
    `languages(preset)` (ISO codes, None = unknown) says what it handles. Only the script is
    compared: a French text to an English voice is not caught. `name` is how the voice is
    shown (its spec when not given).
    """
    languages = voice.languages(preset)
    if not languages:
        return None
    voice_scripts = {LANGUAGE_SCRIPTS[code] for code in languages if code in LANGUAGE_SCRIPTS}
    text_script = dominant_script(text)
    if not voice_scripts or text_script is None or text_script in voice_scripts:
        return None
    label = name or str(voice.spec)
    spoken = ", ".join(sorted(languages))
    likely = SCRIPT_LANGUAGE.get(text_script)
    hint = f" (probably {likely})" if likely else ""
    if voice.modality == "stt":
        return (
            f"The text is written in {text_script} script{hint}, but {label} only "
            f"transcribes {spoken}, so the WER will say little. Choose a multilingual "
            "speech-to-text model (for example faster-whisper:base) for this text."
        )
    return (
        f"The text is written in {text_script} script{hint}, but {label} speaks {spoken}. "
        "Its audio and WER will say little; choose a voice for the text's language"
        + (" (for example espeak:ru)." if likely == "ru" else ".")
    )
