"""The documented limits on what a user may ask for, and the checks that enforce them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lineup.core.i18n import N_, _, grouped

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


@dataclass(frozen=True)
class TextMessages:
    """The four things a text check may say of one kind of text, each a whole sentence marked
    for the catalog (N_), so each language words it for its noun (Russian agrees in gender):
    `too_long` has the placeholders {length} and {limit}."""

    empty: str
    too_long: str
    nul: str
    not_utf8: str


QUESTION_TEXT = TextMessages(
    empty=N_("The question is empty: ask something about the image."),
    too_long=N_("The question is {length} characters long, over the limit of {limit}. Shorten it."),
    nul=N_("The question holds a NUL character (\\0). Remove it."),
    not_utf8=N_("The question holds bytes that are not UTF-8 text. Save or type it as UTF-8."),
)
SENTENCE_TEXT = TextMessages(
    empty=N_("The sentence is empty: give a sentence for the voices to speak."),
    too_long=N_("The sentence is {length} characters long, over the limit of {limit}. Shorten it."),
    nul=N_("The sentence holds a NUL character (\\0). Remove it."),
    not_utf8=N_("The sentence holds bytes that are not UTF-8 text. Save or type it as UTF-8."),
)
SYSTEM_PROMPT_TEXT = TextMessages(
    empty=N_("The system prompt is empty: leave it out."),
    too_long=N_(
        "The system prompt is {length} characters long, over the limit of {limit}. Shorten it."
    ),
    nul=N_("The system prompt holds a NUL character (\\0). Remove it."),
    not_utf8=N_("The system prompt holds bytes that are not UTF-8 text. Save or type it as UTF-8."),
)


def check_text(text: str, *, messages: TextMessages, max_chars: int) -> str:
    """`text` stripped; InputError (in `messages`' words) if it is empty, longer than
    `max_chars`, or holds a NUL or bytes that are not UTF-8."""
    stripped = text.strip()
    if not stripped:
        raise InputError(_(messages.empty))
    if len(stripped) > max_chars:
        raise InputError(
            _(messages.too_long).format(length=grouped(len(stripped)), limit=grouped(max_chars))
        )
    if "\x00" in stripped:
        raise InputError(_(messages.nul))
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 reach Python as lone surrogates (from argv, for one).
        raise InputError(_(messages.not_utf8)) from None
    return stripped


def check_question(text: str) -> str:
    """The question, stripped; InputError if it is empty, too long or not storable text."""
    return check_text(text, messages=QUESTION_TEXT, max_chars=MAX_QUESTION_CHARS)


def check_sentence(text: str) -> str:
    """One sentence for the voices, stripped; InputError if empty, too long or not text."""
    return check_text(text, messages=SENTENCE_TEXT, max_chars=MAX_SENTENCE_CHARS)


def check_system_prompt(text: str | None) -> str | None:
    """The system prompt, stripped, or None when there is none; InputError if too long."""
    if text is None or not text.strip():
        return None
    return check_text(text, messages=SYSTEM_PROMPT_TEXT, max_chars=MAX_SYSTEM_PROMPT_CHARS)


def is_positive_finite(value: float, maximum: float | None = None) -> bool:
    """The one rule for timeouts and size limits: a finite number above 0 (and <= maximum)."""
    return math.isfinite(value) and value > 0 and (maximum is None or value <= maximum)


def check_timeout_s(value: float) -> float:
    """A per-model timeout in seconds: finite, above 0, at most a day."""
    if is_positive_finite(value, MAX_TIMEOUT_S):
        return value
    raise InputError(
        _(
            "The timeout must be a number above 0 and at most {maximum} seconds, not {value}."
        ).format(maximum=f"{MAX_TIMEOUT_S:g}", value=f"{value:g}")
    )


def check_temperature(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise InputError(
            _("The temperature must be a number of 0 or more, not {value}.").format(
                value=f"{value:g}"
            )
        )
    return value


def check_max_tokens(value: int) -> int:
    if not 1 <= value <= MAX_TOKENS:
        raise InputError(
            _("The token limit must be between 1 and {maximum}, not {value}.").format(
                maximum=grouped(MAX_TOKENS), value=value
            )
        )
    return value


def check_seed(value: int, *, samples: int = 1) -> int:
    """A seed that fits the store, including seed + k for the k-th of `samples` clips."""
    highest = MAX_SEED - (samples - 1)
    if not 0 <= value <= highest:
        if samples > 1:
            message = _(
                "The seed must be between 0 and {highest} (sample k uses seed + k, with "
                "{samples} samples), not {value}."
            )
        else:
            message = _("The seed must be between 0 and {highest}, not {value}.")
        raise InputError(message.format(highest=grouped(highest), samples=samples, value=value))
    return value
