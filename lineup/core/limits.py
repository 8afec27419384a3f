"""The documented limits on what a user may ask for, and the checks that enforce them."""

from __future__ import annotations

import math

# A question or system prompt goes into one request beside an image; far longer text is a
# paste gone wrong, and it would be stored again with every run.
MAX_QUESTION_CHARS = 20_000
MAX_SYSTEM_PROMPT_CHARS = 20_000
# One sentence is one clip; long text makes minutes of audio and a WER that says little.
MAX_SENTENCE_CHARS = 2_000
# Seeds, token limits and sample numbers are stored in `Integer` columns, which PostgreSQL
# holds in 32 bits; model servers read max_tokens as a 32-bit integer too.
MAX_INT32 = 2**31 - 1
MAX_SEED = MAX_INT32
MAX_TOKENS = MAX_INT32
# Longer waits overflow the threading timers (and a day per answer is no comparison).
MAX_TIMEOUT_S = 86_400.0


class InputError(ValueError):
    """A value the user gave that Lineup refuses; the message says what is allowed."""


def check_text(text: str, *, what: str, max_chars: int, hint: str) -> str:
    """`text` stripped; InputError if it is empty (the message ends with `hint`), longer than
    `max_chars`, or holds a NUL or bytes that are not UTF-8."""
    stripped = text.strip()
    if not stripped:
        raise InputError(f"The {what} is empty: {hint}.")
    if len(stripped) > max_chars:
        raise InputError(
            f"The {what} is {len(stripped):,} characters long, over the limit of "
            f"{max_chars:,}. Shorten it."
        )
    if "\x00" in stripped:
        raise InputError(f"The {what} holds a NUL character (\\0). Remove it.")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 reach Python as lone surrogates (from argv, for one).
        raise InputError(
            f"The {what} holds bytes that are not UTF-8 text. Save or type it as UTF-8."
        ) from None
    return stripped


def check_question(text: str) -> str:
    """The question, stripped; InputError if it is empty, too long or not storable text."""
    return check_text(
        text,
        what="question",
        max_chars=MAX_QUESTION_CHARS,
        hint="ask something about the image",
    )


def check_sentence(text: str) -> str:
    """One sentence for the voices, stripped; InputError if empty, too long or not text."""
    return check_text(
        text,
        what="sentence",
        max_chars=MAX_SENTENCE_CHARS,
        hint="give a sentence for the voices to speak",
    )


def check_system_prompt(text: str | None) -> str | None:
    """The system prompt, stripped, or None when there is none; InputError if too long."""
    if text is None or not text.strip():
        return None
    return check_text(
        text, what="system prompt", max_chars=MAX_SYSTEM_PROMPT_CHARS, hint="leave it out"
    )


def is_positive_finite(value: float, maximum: float | None = None) -> bool:
    """The one rule for timeouts and size limits: a finite number above 0 (and <= maximum)."""
    return math.isfinite(value) and value > 0 and (maximum is None or value <= maximum)


def positive_number(
    value: float, *, what: str, unit: str = "", maximum: float | None = None
) -> float:
    """`value` if it is a finite number above 0 (and at most `maximum`); InputError if not."""
    if is_positive_finite(value, maximum):
        return value
    allowed = "a number above 0" + (f" and at most {maximum:g}" if maximum is not None else "")
    raise InputError(f"{what} must be {allowed}{' ' + unit if unit else ''}, not {value:g}.")


def check_timeout_s(value: float) -> float:
    """A per-model timeout in seconds: finite, above 0, at most a day."""
    return positive_number(value, what="The timeout", unit="seconds", maximum=MAX_TIMEOUT_S)


def check_temperature(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise InputError(f"The temperature must be a number of 0 or more, not {value:g}.")
    return value


def check_max_tokens(value: int) -> int:
    if not 1 <= value <= MAX_TOKENS:
        raise InputError(f"The token limit must be between 1 and {MAX_TOKENS:,}, not {value}.")
    return value


def check_seed(value: int, *, samples: int = 1) -> int:
    """A seed that fits the store, including seed + k for the k-th of `samples` clips."""
    highest = MAX_SEED - (samples - 1)
    if not 0 <= value <= highest:
        raise InputError(
            f"The seed must be between 0 and {highest:,}"
            + (f" (sample k uses seed + k, with {samples} samples)" if samples > 1 else "")
            + f", not {value}."
        )
    return value
