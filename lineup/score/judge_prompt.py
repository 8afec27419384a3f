"""What the LLM judge is asked and how its reply is read: the protocols, their templates and
placeholders, the judge's own limits, and the score in a reply (definitions: lineup.score.judge)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from lineup.core import (
    N_,
    InputError,
    Message,
    _,
    check_max_tokens,
    check_timeout_s,
    grouped,
)

PROTOCOL_REFERENCE = "reference"
PROTOCOL_PAIRWISE = "pairwise"
PROTOCOLS = (PROTOCOL_REFERENCE, PROTOCOL_PAIRWISE)
PLACEHOLDERS = {
    PROTOCOL_REFERENCE: ("question", "reference", "answer"),
    PROTOCOL_PAIRWISE: ("question", "answer_1", "answer_2"),
}
MAX_TEMPLATE_CHARS = 20_000
SCORE_MIN, SCORE_MAX = 1.0, 10.0
JUDGE_TEMPERATURE = 0.0
# The judge's own limits (see the definitions): a verdict is one short JSON object, so 512
# tokens leave room for a few sentences of reasons; 120 s bound a judge that never stops.
JUDGE_MAX_TOKENS = 512
JUDGE_TIMEOUT_S = 120.0
# The template of protocol `reference`. Its placeholders are {question}, {reference} and
# {answer}; every other character, braces included, is sent as written.
DEFAULT_TEMPLATE = """\
You are grading an answer to a question about an image against a reference answer.

Question:
{question}

Reference answer (take it as correct):
{reference}

Answer to grade:
{answer}

Score how well the answer agrees with the reference answer, from 1 (wrong, unrelated or no \
answer) to 10 (says what the reference says, with nothing wrong added). Judge the content, not \
the wording or the length. If the image is attached, use it to check details the reference \
leaves open.

Reply with one JSON object and nothing else:
{"score": <a whole number from 1 to 10>, "reasons": "<one or two sentences>"}
"""

# The template of protocol `pairwise`: placeholders {question}, {answer_1} and {answer_2}.
PAIRWISE_TEMPLATE = """\
You are comparing two answers to the same question about an image.

Question:
{question}

Answer 1:
{answer_1}

Answer 2:
{answer_2}

Score each answer on its own, from 1 (wrong, unrelated or no answer) to 10 (correct, \
complete, nothing wrong added). Judge the content, not the wording, the length or the order \
in which the answers are shown. If the image is attached, use it to check the details.

Reply with one JSON object and nothing else:
{"score_1": <1-10>, "score_2": <1-10>, "reasons": "<one or two sentences>"}
"""

DEFAULT_TEMPLATES = {PROTOCOL_REFERENCE: DEFAULT_TEMPLATE, PROTOCOL_PAIRWISE: PAIRWISE_TEMPLATE}

# Stored as a verdict's error (with Message: said in a page's language). Their braces are
# literal text, so they are Messages without values (never .format()ed).
NO_SCORE = N_(
    'The judge\'s reply has no score: expected a JSON object {"score": 1-10, "reasons": "..."} '
    'or a line "Score: N". Edit the template to ask for one more plainly, or choose another judge.'
)
NO_PAIR_SCORES = N_(
    'The judge\'s reply does not score both answers: expected a JSON object {"score_1": 1-10, '
    '"score_2": 1-10, "reasons": "..."} or lines "Score 1: N" and "Score 2: N". Edit the '
    "template to ask for them more plainly, or choose another judge."
)

_PLACEHOLDER = re.compile(r"\{(question|reference|answer|answer_1|answer_2)\}")
_FENCED = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_SCORE_LINE = re.compile(
    r"^[\s*#>_-]*score[\s*_]*[:=][\s*_]*([-+]?\d+(?:[.,]\d+)?)\s*(?:/\s*10(?![\d.]))?",
    re.I | re.M,
)
_PAIR_SCORE_LINE = re.compile(
    r"^[\s*#>_-]*(?:score|answer)[\s*_]*([12])[\s*_]*[:=][\s*_]*"
    r"([-+]?\d+(?:[.,]\d+)?)\s*(?:/\s*10(?![\d.]))?",
    re.I | re.M,
)
_REASONS_LINE = re.compile(r"^[\s*#>_-]*reasons?[\s*_]*[:=][\s*_]*", re.I | re.M)


class JudgeReplyError(ValueError):
    """The judge's reply holds no score on the scale; the message says what was wrong
    (`message`: its English text with its template, stored as the verdict's error)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.english)
        self.message = message


# The template ---------------------------------------------------------------------------------


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise InputError(
            _("The judge's protocol is one of {protocols}, not {protocol}.").format(
                protocols=", ".join(PROTOCOLS), protocol=repr(protocol)
            )
        )
    return protocol


def check_template(template: str | None, protocol: str = PROTOCOL_REFERENCE) -> str:
    """The template to fill (the protocol's default for None); InputError when it lacks one
    of the protocol's placeholders or is too long."""
    check_protocol(protocol)
    if template is None:
        return DEFAULT_TEMPLATES[protocol]
    if len(template) > MAX_TEMPLATE_CHARS:
        raise InputError(
            _("The judge's template is {length} characters long; the limit is {limit}.").format(
                length=grouped(len(template)), limit=grouped(MAX_TEMPLATE_CHARS)
            )
        )
    wanted = PLACEHOLDERS[protocol]
    missing = [name for name in wanted if "{" + name + "}" not in template]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        every = ", ".join("{" + name + "}" for name in wanted)
        raise InputError(
            _(
                "The judge's template lacks {missing}: a {protocol} template must hold "
                "{every}, each filled in for every answer."
            ).format(missing=names, protocol=protocol, every=every)
        )
    return template


def check_judge_limits(max_tokens: int, timeout_s: float) -> tuple[int, float]:
    """The judge's token limit and timeout; InputError when either is out of range (the rules
    of every model's: lineup.core.limits)."""
    return check_max_tokens(max_tokens), check_timeout_s(timeout_s)


def fill_template(template: str, **values: str) -> str:
    """The template with its placeholders filled in one pass (an answer that contains
    "{reference}" stays as written, and so does a placeholder with no value given)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), template)


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


# The reply ------------------------------------------------------------------------------------


def parse_reply(text: str) -> tuple[float, str]:
    """The score (1-10) and the reasons in a judge's reply; JudgeReplyError when it has none.

    The first JSON object with a "score" key wins, in ``` fences or in the text; without one,
    the last line "Score: N" (or "Score: N/10"), its reasons the text after a "Reasons:" line
    or else the rest of the reply.
    """
    found = _json_verdict(text)
    if found is not None:
        verdict = found
        score = _score_value(verdict.get("score"))
        reasons = verdict.get("reasons", verdict.get("reason", ""))
        if not isinstance(reasons, str):
            reasons = json.dumps(reasons, ensure_ascii=False)
        return score, reasons.strip()
    lines = list(_SCORE_LINE.finditer(text))
    if not lines:
        raise JudgeReplyError(Message(NO_SCORE, NO_SCORE, {}))
    last = lines[-1]
    score = _score_value(last[1].replace(",", "."))
    reasons_at = _REASONS_LINE.search(text)
    if reasons_at is not None:
        reasons = text[reasons_at.end() :]
        reasons = _SCORE_LINE.sub("", reasons)
    else:
        reasons = text[: last.start()] + text[last.end() :]
    return score, reasons.strip()


def parse_pair_reply(text: str) -> tuple[float, float, str]:
    """The scores (1-10) of "Answer 1" and "Answer 2" and the reasons in a judge's pairwise
    reply; JudgeReplyError when it lacks either score.

    The first JSON object with "score_1" and "score_2" keys wins, in ``` fences or in the
    text; without one, the last lines "Score 1: N" and "Score 2: N" ("Answer 1: N" too)."""
    found = _json_verdict(text, ("score_1", "score_2"))
    if found is not None:
        first = _score_value(found.get("score_1"), NO_PAIR_SCORES)
        second = _score_value(found.get("score_2"), NO_PAIR_SCORES)
        reasons = found.get("reasons", found.get("reason", ""))
        if not isinstance(reasons, str):
            reasons = json.dumps(reasons, ensure_ascii=False)
        return first, second, reasons.strip()
    scores: dict[str, str] = {}
    for match in _PAIR_SCORE_LINE.finditer(text):
        scores[match[1]] = match[2]
    if set(scores) != {"1", "2"}:
        raise JudgeReplyError(Message(NO_PAIR_SCORES, NO_PAIR_SCORES, {}))
    first = _score_value(scores["1"].replace(",", "."), NO_PAIR_SCORES)
    second = _score_value(scores["2"].replace(",", "."), NO_PAIR_SCORES)
    reasons_at = _REASONS_LINE.search(text)
    rest = text[reasons_at.end() :] if reasons_at is not None else text
    return first, second, _PAIR_SCORE_LINE.sub("", rest).strip()


def _json_verdict(text: str, keys: Sequence[str] = ("score",)) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for candidate in [*(m[1] for m in _FENCED.finditer(text)), text]:
        for start in (i for i, char in enumerate(candidate) if char == "{"):
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                continue
            if isinstance(value, dict) and all(key in value for key in keys):
                return value
    return None


def _score_value(value: Any, expected: str = NO_SCORE) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JudgeReplyError(
            Message.of(
                N_("The judge's score {value} is not a number. {expected}"),
                value=repr(value),
                expected=Message(expected, expected, {}),
            )
        )
    try:
        score = float(value.strip().removesuffix("/10") if isinstance(value, str) else value)
    except ValueError:
        raise JudgeReplyError(
            Message.of(N_("The judge's score {value} is not a number."), value=repr(value))
        ) from None
    if not math.isfinite(score) or not SCORE_MIN <= score <= SCORE_MAX:
        raise JudgeReplyError(
            Message.of(
                N_("The judge's score {value} is outside the scale {low}-{high}."),
                value=str(value),
                low=f"{SCORE_MIN:g}",
                high=f"{SCORE_MAX:g}",
            )
        )
    return score
