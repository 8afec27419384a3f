"""An LLM judge scores a study's answers: (a) against the item's reference answer, (b) against
the reference model's answer.

Definitions (one place for each):

- The judge is any VLM spec that chats (an Ollama or OpenAI-compatible server, an in-process
  model). It is asked through the backend's own stream, one answer at a time (concurrency 1),
  with temperature 0, and its reply counts only when the stream ends with its end marker.
- The judge's own limits, sent and kept with every verdict: an output token limit
  (`max_tokens`, default JUDGE_MAX_TOKENS = 512; Ollama's num_predict, OpenAI's max_tokens)
  and a timeout per request (`timeout_s`, default JUDGE_TIMEOUT_S = 120 s), apart from the
  models' own (a judge that repeats a line for ever is cut at the token limit by its server,
  or else at the timeout, its verdict `failed`). A reply the server cut at the token limit
  that holds no score is `unparsed` and says so.
- Protocol `reference`: the judge sees the question, the item's image when it can see images
  (`judge_sees_images`), the item's reference answer (lineup.references: the set's, else the
  reference model's) and the candidate answer, filled into one template (DEFAULT_TEMPLATE, or
  the person's own with the same placeholders, kept with the study). Model names never reach
  it: the template has no place for one. Answers whose item has no reference are skipped.
- Protocol `pairwise`: the judge sees the question, the image as above, and two answers
  anonymised as "Answer 1" and "Answer 2": the candidate and the reference model's answer to
  the same item (PAIRWISE_TEMPLATE, placeholders {question}, {answer_1}, {answer_2}). It is
  asked twice, the candidate first (position 1) and the reference first (position 2), and
  scores both answers each time. Answers whose item has no complete reference-model answer
  are skipped.
- prompt_hash: the SHA-256 of the filled-in template (UTF-8), so an edited template asks again.
- The reply's score (`parse_reply`): the first JSON object with a "score" key (inside ```
  fences or not), else the last line "Score: N" (N or N/10); it must be a number from 1 to 10.
  Pairwise (`parse_pair_reply`): the first JSON object with "score_1" and "score_2", else the
  last lines "Score 1: N" and "Score 2: N". A reply without them is stored as `unparsed`
  with the reason: a visible failure, never a zero.
- Every verdict is one row of `judge_scores` (lineup.models.JudgeScore), claimed before the
  judge is asked and finished the moment it answers, so a killed run loses at most the answer
  in flight and a re-run asks only what is missing: rows `scored` and `unparsed` are kept;
  `failed` ones (the request failed: server down, timeout, cut-off stream) and `asking` ones
  whose process is gone are asked again, and so are `unparsed` ones asked under another token
  limit (a reply cut at the limit may hold a score under a higher one).
- A run that mostly failed (`JudgeRun.mostly_failed`): more than half (MOSTLY_FAILED_SHARE) of
  the verdicts the run ends with (asked now or stored before for the same prompts, the
  request stopped by Stop left out) have no score (`unparsed` or `failed`). It is shown and
  printed as a failure, with the first FAILED_REPLIES_SHOWN of those replies.
- The figure of an answer. Protocol `reference`: score / 10. Protocol `pairwise`: in each
  order, the candidate's score over the reference's score; the figure is the mean of the two
  orders' ratios (1 = as good as the reference; above 1 = better). Both orders must be scored;
  if either is unparsed or failed, the answer is a failure. Its score (the judge-versus-people
  agreement) is the candidate's mean score over the two orders.
- Per model (`judge_figures`): over the study's current complete answers, the judge's latest
  finished verdict on each under the protocol; the mean figure of the scored ones with its 95%
  percentile bootstrap interval (lineup.overlap.bootstrap_mean_ci), how many were scored
  (`judged`) and how many failed (`judge_failures`: unparsed or failed, counted apart and left
  out of the mean).
- The study's judge (`latest_judge`): the judge and protocol of its most recent finished
  verdict; `study show` and the report give that judge's figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError

from backends.base import (
    BackendError,
    CancelToken,
    EndpointBackend,
    ImageInput,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.registry import backend_class
from backends.spec import ModelSpec
from lineup.core import (
    OK,
    REDACTED_COUNT,
    InputError,
    check_max_tokens,
    check_timeout_s,
    redacted,
    redacted_values,
)
from lineup.measure import bootstrap_mean_ci
from lineup.run import describe_error
from lineup.score.references import item_references, model_references, scored_study
from lineup.store import (
    HEARTBEAT_STALE_S,
    JUDGE_ASKING,
    JUDGE_FAILED,
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    Generation,
    JudgeScore,
    Label,
    SetItemRow,
    Store,
    owner_gone,
    storable,
    this_owner,
    utcnow,
)
from lineup.study import StudyInfo, counted_labels, study_answers, study_info

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
# A run fails when the share of its verdicts without a score is above this.
MOSTLY_FAILED_SHARE = 0.5
FAILED_REPLIES_SHOWN = 3
REPLY_SHOWN_CHARS = 600
SIMPLER_TEMPLATE_HINT = (
    'A small model may need a simpler template: ask for one line "Score: N" (N from 1 to 10) '
    "and nothing else, or choose a larger judge."
)
# In-process kinds whose models take an image with the question; endpoint kinds say per model.
IN_PROCESS_VISION_KINDS = frozenset({"transformers"})

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

NO_END_MARKER = (
    "The judge's reply is cut off: its stream ended without the end marker. Check the judge's "
    "server and score again; this answer is asked again."
)
EMPTY_REPLY = "The judge returned an empty reply."
# A server's word for an answer it ended at the output token limit (OpenAI's finish_reason,
# Ollama's done_reason).
CUT_AT_LIMIT = "length"
NO_SCORE = (
    'The judge\'s reply has no score: expected a JSON object {"score": 1-10, "reasons": "..."} '
    'or a line "Score: N". Edit the template to ask for one more plainly, or choose another judge.'
)
NO_PAIR_SCORES = (
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
    """The judge's reply holds no score on the scale; the message says what was wrong."""


# The template ---------------------------------------------------------------------------------


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise InputError(
            f"The judge's protocol is one of {', '.join(PROTOCOLS)}, not {protocol!r}."
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
            f"The judge's template is {len(template):,} characters long; the limit is "
            f"{MAX_TEMPLATE_CHARS:,}."
        )
    wanted = PLACEHOLDERS[protocol]
    missing = [name for name in wanted if "{" + name + "}" not in template]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        every = ", ".join("{" + name + "}" for name in wanted)
        raise InputError(
            f"The judge's template lacks {names}: a {protocol} template must hold {every}, "
            "each filled in for every answer."
        )
    return template


def check_judge_limits(max_tokens: int, timeout_s: float) -> tuple[int, float]:
    """The judge's token limit and timeout; InputError when either is out of range (the rules
    of every model's: lineup.limits)."""
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
        raise JudgeReplyError(NO_SCORE)
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
        raise JudgeReplyError(NO_PAIR_SCORES)
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
        raise JudgeReplyError(f"The judge's score {value!r} is not a number. {expected}")
    try:
        score = float(value.strip().removesuffix("/10") if isinstance(value, str) else value)
    except ValueError:
        raise JudgeReplyError(f"The judge's score {value!r} is not a number.") from None
    if not math.isfinite(score) or not SCORE_MIN <= score <= SCORE_MAX:
        raise JudgeReplyError(
            f"The judge's score {value} is outside the scale {SCORE_MIN:g}-{SCORE_MAX:g}."
        )
    return score


# Whether the judge sees the image -------------------------------------------------------------


def judge_sees_images(spec: ModelSpec, api_key_env: str | None = None) -> bool:
    """True when the judge's model takes images: an endpoint's model listed with the vision
    capability (Ollama's /api/show, llama.cpp's input modalities), or an in-process VLM. When
    the server cannot say, text only."""
    cls = backend_class(spec.kind)
    if not issubclass(cls, EndpointBackend):
        return spec.kind in IN_PROCESS_VISION_KINDS
    base_url = cls.resolved_base_url(spec)
    if base_url is None:
        return False
    try:
        offered = cls.discover(base_url, api_key_env=api_key_env)
    except BackendError:
        return False
    names = {spec.model, f"{spec.model}:latest"}
    return any(model.vision is True for model in offered if model.name in names)


# Asking ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedReply:
    """A verdict without a score, as a run shows it: its answer, status, why, and the start of
    the judge's reply (REPLY_SHOWN_CHARS; the whole reply is in the store and exports)."""

    generation_id: int
    status: str  # unparsed or failed
    error: str | None
    reply: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation_id": self.generation_id,
            "status": self.status,
            "error": self.error,
            "reply": self.reply,
        }


@dataclass(frozen=True)
class JudgeRun:
    """What one `judge_study` did."""

    study_id: int
    judge: str
    protocol: str
    asked: int  # requests sent to the judge
    cached: int  # requests with a verdict already stored for this prompt (and token limit)
    failed: int  # of those asked, the replies without a score and the failed requests
    busy: int = 0  # being asked by another live process
    skipped: int = 0  # complete answers whose item has no reference
    # The verdicts the run ends with (asked now or stored before; not the one Stop stopped):
    scored: int = 0  # with a score
    unscored: int = 0  # without one (unparsed or failed)
    failed_replies: tuple[FailedReply, ...] = ()  # the first FAILED_REPLIES_SHOWN unscored

    @property
    def mostly_failed(self) -> bool:
        """More than half of the run's verdicts have no score (see the module's definitions)."""
        return self.unscored > MOSTLY_FAILED_SHARE * (self.scored + self.unscored)

    def as_dict(self) -> dict[str, Any]:
        """What `study score --json` prints."""
        return {
            "study_id": self.study_id,
            "judge": self.judge,
            "protocol": self.protocol,
            "asked": self.asked,
            "cached": self.cached,
            "failed": self.failed,
            "busy": self.busy,
            "skipped": self.skipped,
            "scored": self.scored,
            "unscored": self.unscored,
            "mostly_failed": self.mostly_failed,
            "failed_replies": [reply.as_dict() for reply in self.failed_replies],
        }


@dataclass(frozen=True)
class _Candidate:
    generation_id: int
    model: str
    item_id: int
    question: str
    answer: str
    image_hash: str | None


@dataclass(frozen=True)
class _Task:
    """One request to the judge: an answer under one protocol and position."""

    generation_id: int
    prompt: str
    image_hash: str | None
    position: int  # 0 (protocol reference), 1 or 2 (pairwise: where the candidate is shown)
    reference_id: int | None  # pairwise: the reference model's answer


def _candidates(store: Store, study_id: int, models: Sequence[str]) -> list[_Candidate]:
    """The study's complete answers, item by item, then model, then repeat."""
    with store.session() as session:
        rows = list(
            session.execute(
                study_answers(
                    study_id,
                    Generation.id,
                    Generation.model_spec,
                    Generation.output_text,
                    Generation.repeat,
                    SetItemRow.id,
                    SetItemRow.position,
                    SetItemRow.text,
                    SetItemRow.image_hash,
                    complete=True,
                    with_item="inner",
                )
            )
        )
    order = {model: index for index, model in enumerate(models)}
    rows.sort(key=lambda r: (r.position, order.get(r.model_spec, len(order)), r.repeat or 0))
    return [
        _Candidate(r[0], r.model_spec, r[4], r.text, r.output_text or "", r.image_hash)
        for r in rows
    ]


def _tasks(store: Store, info: StudyInfo, protocol: str, template: str) -> tuple[list[_Task], int]:
    """The requests the protocol makes of the study's complete answers (see the module's
    definitions), and how many answers it skips for want of a reference."""
    candidates = _candidates(store, info.id, info.models)
    tasks: list[_Task] = []
    skipped = 0
    if protocol == PROTOCOL_REFERENCE:
        references = item_references(store, info.id, info.set_id)
        for c in candidates:
            reference = references.get(c.item_id)
            if reference is None:
                skipped += 1
                continue
            prompt = fill_template(
                template, question=c.question, reference=reference.text, answer=c.answer
            )
            tasks.append(_Task(c.generation_id, prompt, c.image_hash, 0, None))
        return tasks, skipped
    answers = model_references(store, info.id)
    for c in candidates:
        theirs = answers.get(c.item_id)
        if theirs is None:
            skipped += 1
            continue
        for position, (first, second) in (
            (1, (c.answer, theirs.text)),
            (2, (theirs.text, c.answer)),
        ):
            prompt = fill_template(template, question=c.question, answer_1=first, answer_2=second)
            tasks.append(
                _Task(c.generation_id, prompt, c.image_hash, position, theirs.generation_id)
            )
    return tasks, skipped


def judge_template(info: StudyInfo, protocol: str) -> str:
    """The template the study's judge fills: the person's, kept with the study, or the
    protocol's default."""
    return info.judge_templates.get(protocol) or DEFAULT_TEMPLATES[protocol]


def judge_study(
    store: Store,
    study_id: int,
    judge_spec: str,
    factory: Callable[[str], VLMBackend],
    *,
    template: str | None = None,
    image_of: Callable[[str], ImageInput] | None = None,
    sees_images: bool | None = None,
    max_tokens: int = JUDGE_MAX_TOKENS,
    timeout_s: float = JUDGE_TIMEOUT_S,
    secrets: Sequence[str] = (),
    protocol: str = PROTOCOL_REFERENCE,
    on_progress: Callable[[int, int], None] | None = None,
    stop: CancelToken | None = None,
) -> JudgeRun:
    """Ask the judge every request the protocol makes of the study's complete answers that
    has no verdict yet for this judge and filled-in template, one at a time, each verdict
    stored the moment it comes. `template` None: the study's own (`judge_template`).
    `sees_images` None: ask the judge's server (`judge_sees_images`). `max_tokens` and
    `timeout_s`: the judge's own limits (see the module's definitions). `on_progress(done,
    total)` after each request; `stop` ends the run (the request in flight is stopped and
    asked again next time). InputError for an unknown study, a voice study, a reference study,
    an unknown protocol, a bad template or a bad limit."""
    check_protocol(protocol)
    check_judge_limits(max_tokens, timeout_s)
    info = scored_study(store, study_id)
    filled_template = check_template(
        template if template is not None else judge_template(info, protocol), protocol
    )
    tasks, skipped = _tasks(store, info, protocol, filled_template)
    backend = factory(judge_spec)
    if sees_images is None:
        sees_images = judge_sees_images(backend.spec)
    stored = _stored_verdicts(store, study_id, judge_spec, protocol)
    asked = cached = failed = busy = scored = unscored = 0
    unscored_ids: list[int] = []  # the first few verdicts without a score, in the order asked
    for done, task in enumerate(tasks, start=1):
        if stop is not None and stop.cancelled:
            break
        digest = prompt_hash(task.prompt)
        image_hash = task.image_hash if sees_images and image_of is not None else None
        content, hidden = redacted(task.prompt, secrets)
        sent: dict[str, Any] = {"role": "user", "content": content}
        if image_hash is not None:
            sent["images"] = [image_hash]
        request: dict[str, Any] = {
            "messages": [sent],
            "temperature": JUDGE_TEMPERATURE,
            "max_tokens": max_tokens,
        }
        if hidden:
            request[REDACTED_COUNT] = hidden
        existing = stored.get((task.generation_id, digest, task.position))
        claimed = _claim(
            store,
            existing,
            study_id=study_id,
            task=task,
            judge_spec=judge_spec,
            protocol=protocol,
            digest=digest,
            request=request,
            saw_image=image_hash is not None,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            stale_s=timeout_s + HEARTBEAT_STALE_S,
        )
        status: str | None = None
        if claimed == "cached":
            assert existing is not None
            cached += 1
            status, verdict_id = existing.status, existing.id
        elif claimed == "busy":
            busy += 1
        elif isinstance(claimed, int):
            asked += 1
            image = image_of(image_hash) if image_of is not None and image_hash else None
            try:
                status = _ask_and_store(
                    store,
                    claimed,
                    backend,
                    task,
                    image,
                    max_tokens=max_tokens,
                    request=request,
                    timeout_s=timeout_s,
                    secrets=secrets,
                    stop=stop,
                )
            except BaseException:
                _finish(store, claimed, JUDGE_FAILED, error="Interrupted before the judge replied.")
                raise
            failed += status != JUDGE_SCORED
            verdict_id = claimed
            if status == JUDGE_FAILED and stop is not None and stop.cancelled:
                status = None  # stopped, not judged: no verdict, asked again next time
        if status == JUDGE_SCORED:
            scored += 1
        elif status is not None:
            unscored += 1
            if len(unscored_ids) < FAILED_REPLIES_SHOWN:
                unscored_ids.append(verdict_id)
        if on_progress is not None:
            on_progress(done, len(tasks))
    return JudgeRun(
        study_id,
        judge_spec,
        protocol,
        asked,
        cached,
        failed,
        busy,
        skipped,
        scored=scored,
        unscored=unscored,
        failed_replies=_failed_replies(store, unscored_ids),
    )


def _failed_replies(store: Store, verdict_ids: Sequence[int]) -> tuple[FailedReply, ...]:
    """The verdicts, in the order given, as a run shows them."""
    if not verdict_ids:
        return ()
    with store.session() as session:
        rows = {
            row.id: row
            for row in session.execute(
                select(
                    JudgeScore.id,
                    JudgeScore.generation_id,
                    JudgeScore.status,
                    JudgeScore.error,
                    func.substr(JudgeScore.reply, 1, REPLY_SHOWN_CHARS + 1).label("reply"),
                ).where(JudgeScore.id.in_(verdict_ids))
            )
        }
    return tuple(
        FailedReply(
            row.generation_id,
            row.status,
            row.error,
            None if row.reply is None else _clipped(row.reply),
        )
        for row in (rows[verdict_id] for verdict_id in verdict_ids if verdict_id in rows)
    )


def _clipped(text: str) -> str:
    return text if len(text) <= REPLY_SHOWN_CHARS else text[:REPLY_SHOWN_CHARS] + "…"


@dataclass(frozen=True)
class _Stored:
    id: int
    status: str
    owner_host: str | None
    owner_pid: int | None
    created_at: Any
    max_tokens: int | None


def _stored_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str
) -> dict[tuple[int, str, int], _Stored]:
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.generation_id,
                JudgeScore.prompt_hash,
                JudgeScore.position,
                JudgeScore.id,
                JudgeScore.status,
                JudgeScore.owner_host,
                JudgeScore.owner_pid,
                JudgeScore.created_at,
                JudgeScore.max_tokens,
            ).where(
                JudgeScore.study_id == study_id,
                JudgeScore.judge_spec == judge_spec,
                JudgeScore.protocol == protocol,
            )
        ).all()
    return {(r[0], r[1], r[2]): _Stored(*r[3:]) for r in rows}


def _claim(
    store: Store,
    existing: _Stored | None,
    *,
    study_id: int,
    task: _Task,
    judge_spec: str,
    protocol: str,
    digest: str,
    request: dict[str, Any],
    saw_image: bool,
    max_tokens: int,
    timeout_s: float,
    stale_s: float,
) -> int | str:
    """The id of the verdict row this process now owns, or "cached" (a verdict is stored) or
    "busy" (another live process is asking)."""
    host, pid = this_owner()
    asking = {
        "status": JUDGE_ASKING,
        "request": request,
        "saw_image": saw_image,
        "max_tokens": max_tokens,
        "timeout_s": timeout_s,
        "owner_host": host,
        "owner_pid": pid,
        "created_at": utcnow(),
    }
    if existing is None:
        row = JudgeScore(
            study_id=study_id,
            generation_id=task.generation_id,
            judge_spec=judge_spec,
            protocol=protocol,
            prompt_hash=digest,
            position=task.position,
            reference_id=task.reference_id,
            **asking,
        )
        try:
            with store.session() as session:
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return "busy"
    if existing.status == JUDGE_SCORED or (
        existing.status == JUDGE_UNPARSED and existing.max_tokens == max_tokens
    ):
        return "cached"
    if existing.status == JUDGE_ASKING and (
        owner_gone(
            existing.owner_host,
            existing.owner_pid,
            existing.created_at,
            existing.created_at,
            stale_s=stale_s,
        )
        is None
    ):
        return "busy"
    # A failed request, or one whose process is gone: ask again in the same row, if no other
    # process took it first.
    with store.session() as session:
        result = session.execute(
            update(JudgeScore)
            .where(
                JudgeScore.id == existing.id,
                JudgeScore.status == existing.status,
                JudgeScore.owner_pid.is_not_distinct_from(existing.owner_pid),
            )
            .values(
                reply=None,
                score=None,
                reference_score=None,
                reasons=None,
                error=None,
                finished_at=None,
                **asking,
            )
        )
        assert isinstance(result, CursorResult)
        return existing.id if result.rowcount else "busy"


def _ask_and_store(
    store: Store,
    verdict_id: int,
    backend: VLMBackend,
    task: _Task,
    image: ImageInput | None,
    *,
    max_tokens: int,
    request: dict[str, Any],
    timeout_s: float,
    secrets: Sequence[str],
    stop: CancelToken | None = None,
) -> str:
    """Ask the judge once and store its verdict; the verdict's status. A configured key in
    the reply or the error is [redacted], and counted in the stored request's
    REDACTED_COUNT with those of the prompt."""
    reply, error, cut = _ask(backend, task.prompt, image, max_tokens, timeout_s, stop)
    (reply, error), hidden = redacted_values([storable(reply)[0], error], secrets)
    reply = reply or ""
    recorded: dict[str, Any] = {}
    if hidden:
        recorded["request"] = {**request, REDACTED_COUNT: request.get(REDACTED_COUNT, 0) + hidden}
    if error is not None:
        _finish(store, verdict_id, JUDGE_FAILED, reply=reply or None, error=error, **recorded)
        return JUDGE_FAILED
    try:
        if task.position == 0:
            score, reasons = parse_reply(reply)
            theirs = None
        else:
            first, second, reasons = parse_pair_reply(reply)
            score, theirs = (first, second) if task.position == 1 else (second, first)
    except JudgeReplyError as exc:
        why = f"{cut_message(max_tokens)} {exc}" if cut else str(exc)
        _finish(store, verdict_id, JUDGE_UNPARSED, reply=reply, error=why, **recorded)
        return JUDGE_UNPARSED
    _finish(
        store,
        verdict_id,
        JUDGE_SCORED,
        **recorded,
        reply=reply,
        score=score,
        reference_score=theirs,
        reasons=reasons,
    )
    return JUDGE_SCORED


STOPPED = "Stopped before the judge replied; scoring again asks it again."


def cut_message(max_tokens: int) -> str:
    return (
        f"The judge's reply was cut at its limit of {max_tokens} tokens before it gave a score: "
        "raise the limit (--judge-max-tokens, or the scoring panel) or ask for a shorter reply."
    )


def judge_timeout_message(timeout_s: float, max_tokens: int) -> str:
    return (
        f"Timed out after {timeout_s:g} s (the judge's timeout) before the judge's reply ended. "
        f"Raise the timeout (--judge-timeout, or the scoring panel) if this judge needs longer; "
        f"if it writes on without end, lower its token limit ({max_tokens}). The text it sent "
        "until then is kept; this answer is asked again."
    )


def _ask(
    backend: VLMBackend,
    prompt: str,
    image: ImageInput | None,
    max_tokens: int,
    timeout_s: float,
    stop: CancelToken | None = None,
) -> tuple[str, str | None, bool]:
    """The judge's reply text, None or why it failed, and whether the server cut it at
    `max_tokens`. The request is stopped (its connection closed) when `timeout_s` passes or
    `stop` is cancelled."""
    cancel = CancelToken()
    timer = threading.Timer(timeout_s, cancel.cancel)
    timer.daemon = True
    if stop is not None:
        stop.on_cancel(cancel.cancel)
    parts: list[str] = []
    usage: Usage | None = None
    request = VLMRequest(
        question=prompt,
        image=image,
        temperature=JUDGE_TEMPERATURE,
        max_tokens=max_tokens,
        cancel=cancel,
    )
    timer.start()
    try:
        stream = backend.stream(request)
        try:
            for chunk in stream:
                parts.append(chunk.text)
                if chunk.usage is not None:
                    usage = chunk.usage
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    except Exception as exc:  # noqa: BLE001 - the judge's failure is this verdict's alone
        if cancel.cancelled:
            return "".join(parts), _why_cancelled(timeout_s, max_tokens, stop), False
        return "".join(parts), describe_error(exc), False
    finally:
        timer.cancel()
    text = "".join(parts)
    if cancel.cancelled:
        return text, _why_cancelled(timeout_s, max_tokens, stop), False
    if usage is None:
        return text, NO_END_MARKER, False
    cut = CUT_AT_LIMIT in (usage.metadata.get("finish_reason"), usage.metadata.get("done_reason"))
    if not text.strip():
        # A reasoning model can spend the whole limit thinking, leaving no answer text.
        return text, f"{EMPTY_REPLY} {cut_message(max_tokens)}" if cut else EMPTY_REPLY, cut
    return text, None, cut


def _why_cancelled(timeout_s: float, max_tokens: int, stop: CancelToken | None) -> str:
    if stop is not None and stop.cancelled:
        return STOPPED
    return judge_timeout_message(timeout_s, max_tokens)


def _finish(store: Store, verdict_id: int, status: str, **fields: Any) -> None:
    with store.session() as session:
        session.execute(
            update(JudgeScore)
            .where(JudgeScore.id == verdict_id)
            .values(status=status, owner_host=None, owner_pid=None, finished_at=utcnow(), **fields)
        )


# Figures --------------------------------------------------------------------------------------

FIGURE_KEYS = (
    "judge_score",
    "judge_score_ci_low",
    "judge_score_ci_high",
    "judged",
    "judge_failures",
)


class StudyJudge(NamedTuple):
    spec: str
    protocol: str


def latest_judge(store: Store, study_id: int) -> StudyJudge | None:
    """The judge and protocol of the study's most recent finished verdict (the ones `study
    show` reports), or None when no judge ran."""
    with store.session() as session:
        row = session.execute(
            select(JudgeScore.judge_spec, JudgeScore.protocol)
            .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
            .order_by(JudgeScore.id.desc())
            .limit(1)
        ).first()
    return None if row is None else StudyJudge(row[0], row[1])


def study_judges(store: Store, study_id: int) -> list[StudyJudge]:
    """Every judge and protocol with a finished verdict on the study, the latest first."""
    with store.session() as session:
        rows = session.execute(
            select(JudgeScore.judge_spec, JudgeScore.protocol, func.max(JudgeScore.id))
            .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
            .group_by(JudgeScore.judge_spec, JudgeScore.protocol)
            .order_by(func.max(JudgeScore.id).desc())
        ).all()
    return [StudyJudge(spec, protocol) for spec, protocol, _ in rows]


@dataclass(frozen=True)
class JudgeSetting:
    """A judge that scored the study, as its latest finished verdict asked it (the limits of
    verdicts from before they were kept: the defaults)."""

    spec: str
    protocol: str
    max_tokens: int
    timeout_s: float


def judge_settings(store: Store, study_id: int) -> list[JudgeSetting]:
    """Every judge and protocol with a finished verdict on the study, the latest first, with
    the token limit and timeout of its latest verdict."""
    latest = (
        select(func.max(JudgeScore.id))
        .where(JudgeScore.study_id == study_id, JudgeScore.status != JUDGE_ASKING)
        .group_by(JudgeScore.judge_spec, JudgeScore.protocol)
    )
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.judge_spec,
                JudgeScore.protocol,
                JudgeScore.max_tokens,
                JudgeScore.timeout_s,
            )
            .where(JudgeScore.id.in_(latest))
            .order_by(JudgeScore.id.desc())
        ).all()
    return [
        JudgeSetting(
            spec,
            protocol,
            JUDGE_MAX_TOKENS if max_tokens is None else max_tokens,
            JUDGE_TIMEOUT_S if timeout_s is None else timeout_s,
        )
        for spec, protocol, max_tokens, timeout_s in rows
    ]


@dataclass(frozen=True)
class Verdict:
    """The judge's latest finished verdict on one answer (for `pairwise`, both orders)."""

    model: str
    status: str  # scored, unparsed or failed
    score: float | None  # 1-10; pairwise: the candidate's mean over the two orders
    reasons: str | None
    error: str | None
    figure: float | None = None  # see the module's definitions
    reference_score: float | None = None  # pairwise: the reference's mean over the two orders


def latest_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[int, Verdict]:
    """Per current complete answer of the study (by generation id), the judge's latest
    finished verdict under `protocol` (greatest id: after a template edit, the new one). A
    pairwise verdict needs both orders finished; until then the answer has none."""
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.generation_id,
                JudgeScore.position,
                Generation.model_spec,
                JudgeScore.status,
                JudgeScore.score,
                JudgeScore.reference_score,
                JudgeScore.reasons,
                JudgeScore.error,
            )
            .join(Generation, JudgeScore.generation_id == Generation.id)
            .where(
                Generation.study_id == study_id,
                Generation.status == OK,
                JudgeScore.judge_spec == judge_spec,
                JudgeScore.protocol == protocol,
                JudgeScore.status != JUDGE_ASKING,
            )
            .order_by(JudgeScore.id)
        ).all()
    # Rows come oldest first, so each (answer, position) keeps its latest verdict.
    latest = {(row.generation_id, row.position): row for row in rows}
    if protocol == PROTOCOL_REFERENCE:
        return {
            gid: Verdict(
                row.model_spec,
                row.status,
                row.score,
                row.reasons,
                row.error,
                figure=None if row.score is None else row.score / SCORE_MAX,
            )
            for (gid, _), row in latest.items()
        }
    verdicts: dict[int, Verdict] = {}
    for gid in {gid for gid, _ in latest}:
        first, second = latest.get((gid, 1)), latest.get((gid, 2))
        if first is None or second is None:
            continue
        failed = next((r for r in (first, second) if r.status != JUDGE_SCORED), None)
        if failed is not None:
            verdicts[gid] = Verdict(failed.model_spec, failed.status, None, None, failed.error)
            continue
        mine = [first.score, second.score]
        theirs = [first.reference_score, second.reference_score]
        ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
        verdicts[gid] = Verdict(
            first.model_spec,
            JUDGE_SCORED,
            sum(mine) / 2,
            f"Shown first: {first.reasons or '-'}\nShown second: {second.reasons or '-'}",
            None,
            figure=sum(ratios) / 2,
            reference_score=sum(theirs) / 2,
        )
    return verdicts


def judge_figures(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[str, dict[str, Any]]:
    """Per model of the study, in its order: the mean figure of the judge's latest finished
    verdicts on its current complete answers, the 95% bootstrap interval, how many were
    scored and how many failed (see the module's definitions). None figures for a model with
    no scored answer."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(f"There is no study {study_id}.")
    return verdict_figures(info.models, latest_verdicts(store, study_id, judge_spec, protocol))


def verdict_figures(
    models: Sequence[str], latest: Mapping[int, Verdict]
) -> dict[str, dict[str, Any]]:
    """judge_figures from verdicts already read (latest_verdicts), per model in `models`' order
    (then any other model a verdict names)."""
    figures: dict[str, list[float]] = {model: [] for model in models}
    failures: dict[str, int] = {model: 0 for model in models}
    for verdict in latest.values():
        if verdict.status == JUDGE_SCORED and verdict.figure is not None:
            figures.setdefault(verdict.model, []).append(verdict.figure)
        else:
            failures[verdict.model] = failures.get(verdict.model, 0) + 1
    result: dict[str, dict[str, Any]] = {}
    for model, values in figures.items():
        interval = bootstrap_mean_ci(values)
        mean, low, high = interval if interval is not None else (None, None, None)
        result[model] = {
            "judge_score": mean,
            "judge_score_ci_low": low,
            "judge_score_ci_high": high,
            "judged": len(values),
            "judge_failures": failures.get(model, 0),
        }
    return result


def judge_label_pairs(
    store: Store,
    study_id: int,
    judge_spec: str,
    protocol: str = PROTOCOL_REFERENCE,
    *,
    verdicts: Mapping[int, Verdict] | None = None,
) -> tuple[list[float], list[str]]:
    """The judge's score (its latest scored verdict; pairwise: the candidate's mean score)
    beside each counted label on the same answer of the study: one pair per (answer,
    annotator), for lineup.agreement's judge_agreement. `verdicts`: the judge's
    latest_verdicts when the caller has read them already."""
    with store.session() as session:
        labels = session.execute(
            counted_labels(study_id, Label.generation_id, Label.relevance).order_by(
                Label.generation_id, Label.annotator
            )
        ).all()
    if verdicts is None:
        verdicts = latest_verdicts(store, study_id, judge_spec, protocol)
    scores = {
        gid: float(verdict.score)
        for gid, verdict in verdicts.items()
        if verdict.status == JUDGE_SCORED and verdict.score is not None
    }
    pairs = [(scores[gid], relevance) for gid, relevance in labels if gid in scores]
    return [score for score, _ in pairs], [relevance for _, relevance in pairs]
