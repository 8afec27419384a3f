"""Checks of an answer's text on its own: its language against the item's, letters in scripts
it should not use, empty answers and refusals.

Definitions (one place for each):

- letters: the characters of the text in Unicode NFKC that are letters (`str.isalpha`). A
  letter's script is the first word of its Unicode name (lineup.measure.language: "CYRILLIC SMALL
  LETTER A" -> Cyrillic; CJK ideographs -> Han, kana -> Japanese). Modifier letters (ʼ, ˆ)
  have no script and are not letters here.
- expected script: the script of the item's language (lineup.measure.language.LANGUAGE_SCRIPTS,
  by the tag's primary subtag: `pt-BR` -> pt -> Latin). Japanese accepts Han as well as kana.
- latin_share: Latin letters / letters, for an answer whose expected script is not Latin (an
  answer meant to be Russian that drifts into English scores high). None when the expected
  script is Latin or unknown, or the answer has no letters.
- other_script_chars: the letters whose script is neither the expected script nor Latin (a
  Russian answer with Chinese characters, an English one with Cyrillic). Digits, punctuation,
  symbols (emoji, maths, currency), combining marks and whitespace are never counted: they are
  not writing in another language. None when the expected script is unknown.
- language, language_confidence: py3langid's best guess (ISO 639-1 code, a few 639-3) and its
  normalised probability (0-1), from the model that ships inside the package (no download).
  None when the answer has fewer than MIN_LANGUAGE_LETTERS letters: on a few words the
  identifier confuses close languages (a short Russian answer comes out Bulgarian or
  Macedonian), so nothing is said about them.
- wrong_language: True when the identifier gives the item's language (its primary subtag) a
  probability below WRONG_LANGUAGE_MAX_PROBABILITY, False otherwise. Comparing the
  probability, not the best guess, keeps a Russian answer that the identifier ranks just below
  Bulgarian from being flagged, while an English answer to a Russian item (probability of
  Russian near 0) is. None when the item has no language, the identifier does not know the
  language, or the answer is too short (language None). A mixed answer is flagged only when
  the expected language is implausible overall: latin_share measures the mix.
- empty: the answer is nothing or only whitespace.
- refusal: the answer opens a sentence, within its first REFUSAL_WINDOW_CHARS characters, with
  one of REFUSAL_PATTERNS (English and Russian, case-insensitive, typographic apostrophes read
  as '). Refusals and empty answers are counted apart; a refusal is still checked for its
  language and script (an English refusal to a Russian item is also in the wrong language).

Per model (`summarize_text_checks`): answers, empty, refusals, language_checked (answers with
a wrong_language that is not None), wrong_language (count) and wrong_language_share
(wrong_language / language_checked), mean_latin_share (over the answers with a latin_share),
answers_with_other_script (other_script_chars > 0) and other_script_chars (the sum).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from lineup.measure.language import LANGUAGE_SCRIPTS, _script

MIN_LANGUAGE_LETTERS = 20
WRONG_LANGUAGE_MAX_PROBABILITY = 0.05
REFUSAL_WINDOW_CHARS = 300

# Scripts an expected script accepts besides itself (Japanese is written with kanji too).
_ALSO_ACCEPTED = {"Japanese": {"Han"}}
# Tags whose identifier label differs from their primary subtag.
_IDENTIFIER_LABELS = {"nb": "no", "nn": "no"}

_APOLOGY_EN = (
    r"(?:(?:i'?m |i am )?sorry,?\s*(?:but\s+)?|unfortunately,?\s*|"
    r"as an ai(?: language model| assistant)?,?\s*)?"
)
_CANNOT_EN = (
    r"i(?:\s+(?:can'?t|cannot|can not|won'?t|will not)|(?:\s+am|'m)\s+(?:unable|not able) to)"
)
_APOLOGY_RU = (
    r"(?:(?:извините|простите|прошу прощения|к сожалению),?\s*(?:но\s+)?|"
    r"как (?:языковая модель|ии|искусственный интеллект|ai),?\s*)?"
)
# An answer is a refusal when a sentence opens with one of these (after an optional apology):
#   English: "I can't / cannot / won't / am unable to / am not able to ..." followed by a verb
#   of helping ("I can't help with that", "Sorry, but I cannot provide ..."), and "I must
#   decline"; a bare "I cannot" before other words ("I cannot be sure, but ...", "I can't
#   help but notice ...") is a hedge, not a refusal.
#   Russian: "Я не могу / не могу / я не буду / я не в состоянии ..." followed by a verb of
#   helping ("Я не могу помочь с этим", "К сожалению, не могу ответить"), and
#   "я вынужден(а) отказаться".
REFUSAL_PATTERNS: tuple[str, ...] = (
    _APOLOGY_EN + _CANNOT_EN + r"(?:\s+\w+ly)?\s+"
    r"(?:help(?!\s+but)|assist|provide|answer|comply|do (?:that|this)|fulfil|fulfill|share|"
    r"create|generate|write|give|support|engage|discuss|continue|complete|process|respond)",
    _APOLOGY_EN + r"i\s+must\s+decline",
    _APOLOGY_RU + r"(?:я\s+)?(?:не могу|не буду|не в состоянии|не имею возможности)\s+"
    r"(?:\w+\s+)?(?:помочь|помогать|ответить|отвечать|предоставить|предоставлять|"
    r"выполнить|выполнять|сделать|делать|дать|давать|обсуждать|обсудить|генерировать|"
    r"сгенерировать|создать|создавать|написать|писать|поделиться|продолжить|поддержать|"
    r"участвовать)",
    _APOLOGY_RU + r"я\s+вынужден[а]?\s+отказаться",
)
_REFUSAL = re.compile(
    r"(?:^|(?<=[.!?\n])\s*)(?:" + "|".join(f"(?:{p})" for p in REFUSAL_PATTERNS) + r")\b"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _letter_scripts(text: str) -> list[str]:
    """The script of each letter of the text in NFKC (modifier letters left out)."""
    scripts = (_script(char) for char in unicodedata.normalize("NFKC", text))
    return [script for script in scripts if script and script != "Modifier"]


def _primary_subtag(language: str) -> str:
    return language.split("-", 1)[0].split("_", 1)[0].lower()


def expected_script(language: str | None) -> str | None:
    """The script the item's language is written in; None when it has none or it is unknown."""
    if not language:
        return None
    return LANGUAGE_SCRIPTS.get(_primary_subtag(language))


@dataclass(frozen=True)
class ScriptProfile:
    """The letters of an answer by script, against the script its language is written in."""

    letters: int
    latin_share: float | None
    other_script_chars: int | None


def script_profile(text: str, expected_language: str | None) -> ScriptProfile:
    """Latin share and letters in other scripts of an answer meant to be in `expected_language`."""
    scripts = _letter_scripts(text)
    expected = expected_script(expected_language)
    if expected is None:
        return ScriptProfile(letters=len(scripts), latin_share=None, other_script_chars=None)
    accepted = {expected, "Latin", *_ALSO_ACCEPTED.get(expected, set())}
    other = sum(1 for script in scripts if script not in accepted)
    latin = sum(1 for script in scripts if script == "Latin")
    latin_share = latin / len(scripts) if scripts and expected != "Latin" else None
    return ScriptProfile(letters=len(scripts), latin_share=latin_share, other_script_chars=other)


@cache
def _identifier() -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ImportError(
            "Language checks need py3langid: pip install py3langid==0.4.0 (see requirements.txt)."
        ) from exc
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_probabilities(text: str) -> dict[str, float] | None:
    """Every language the identifier knows with its probability (summing to 1); None for a
    text with fewer than MIN_LANGUAGE_LETTERS letters."""
    if len(_letter_scripts(text)) < MIN_LANGUAGE_LETTERS:
        return None
    ranked = _identifier().rank(unicodedata.normalize("NFKC", text))
    return {str(code): float(probability) for code, probability in ranked}


def detect_language(text: str) -> tuple[str, float] | None:
    """The text's most likely language and its probability; None when it is too short."""
    probabilities = language_probabilities(text)
    if probabilities is None:
        return None
    code = max(probabilities, key=probabilities.__getitem__)
    return code, probabilities[code]


def is_empty(text: str) -> bool:
    """True for an answer that is nothing or only whitespace."""
    return not text.strip()


def is_refusal(text: str) -> bool:
    """True when the answer declines to answer (a sentence opening with REFUSAL_PATTERNS)."""
    window = unicodedata.normalize("NFKC", text[:REFUSAL_WINDOW_CHARS])
    return _REFUSAL.search(window.translate(_APOSTROPHES).lower().lstrip()) is not None


@dataclass(frozen=True)
class TextCheck:
    """The text checks of one answer (see the module docstring for each field)."""

    expected_language: str | None
    language: str | None
    language_confidence: float | None
    wrong_language: bool | None
    letters: int
    latin_share: float | None
    other_script_chars: int | None
    empty: bool
    refusal: bool


def check_answer(text: str, expected_language: str | None) -> TextCheck:
    """All text checks of one answer to an item in `expected_language` (None: not given)."""
    profile = script_profile(text, expected_language)
    probabilities = language_probabilities(text)
    language: str | None = None
    confidence: float | None = None
    wrong_language: bool | None = None
    if probabilities is not None:
        language = max(probabilities, key=probabilities.__getitem__)
        confidence = probabilities[language]
        if expected_language:
            subtag = _primary_subtag(expected_language)
            label = _IDENTIFIER_LABELS.get(subtag, subtag)
            if label in probabilities:
                wrong_language = probabilities[label] < WRONG_LANGUAGE_MAX_PROBABILITY
    return TextCheck(
        expected_language=expected_language,
        language=language,
        language_confidence=confidence,
        wrong_language=wrong_language,
        letters=profile.letters,
        latin_share=profile.latin_share,
        other_script_chars=profile.other_script_chars,
        empty=is_empty(text),
        refusal=is_refusal(text),
    )


@dataclass(frozen=True)
class TextCheckSummary:
    """A model's text checks over its answers (see the module docstring for each figure)."""

    answers: int
    empty: int
    refusals: int
    language_checked: int
    wrong_language: int
    wrong_language_share: float | None
    mean_latin_share: float | None
    answers_with_other_script: int
    other_script_chars: int


def summarize_text_checks(checks: Iterable[TextCheck]) -> TextCheckSummary:
    """The per-model counts and shares of its answers' text checks."""
    checks = list(checks)
    judged = [check.wrong_language for check in checks if check.wrong_language is not None]
    wrong = sum(judged)
    latin_shares = [check.latin_share for check in checks if check.latin_share is not None]
    other = [check.other_script_chars or 0 for check in checks]
    return TextCheckSummary(
        answers=len(checks),
        empty=sum(check.empty for check in checks),
        refusals=sum(check.refusal for check in checks),
        language_checked=len(judged),
        wrong_language=wrong,
        wrong_language_share=wrong / len(judged) if judged else None,
        mean_latin_share=math.fsum(latin_shares) / len(latin_shares) if latin_shares else None,
        answers_with_other_script=sum(1 for count in other if count > 0),
        other_script_chars=sum(other),
    )


def text_checks_by_model(
    checks: Iterable[tuple[str, TextCheck]],
) -> dict[str, TextCheckSummary]:
    """`summarize_text_checks` per model, from (model spec, check) pairs; models in the order
    they first appear."""
    grouped: defaultdict[str, list[TextCheck]] = defaultdict(list)
    for spec, check in checks:
        grouped[spec].append(check)
    return {spec: summarize_text_checks(model_checks) for spec, model_checks in grouped.items()}
