"""An LLM judge scores a study's answers; protocol (a): against the item's reference answer.

Definitions (one place for each):

- The judge is any VLM spec that chats (an Ollama or OpenAI-compatible server, an in-process
  model). It is asked through the backend's own stream, one answer at a time (concurrency 1),
  with temperature 0, and its reply counts only when the stream ends with its end marker.
- Protocol `reference`: the judge sees the question, the item's image when it can see images
  (`judge_sees_images`), the reference answer and the candidate answer, filled into one
  template (DEFAULT_TEMPLATE, or the person's own with the same placeholders). Model names never
  reach it: the template has no place for one. Answers whose item has no reference are skipped.
- prompt_hash: the SHA-256 of the filled-in template (UTF-8), so an edited template asks again.
- The reply's score (`parse_reply`): the first JSON object with a "score" key (inside ```
  fences or not), else the last line "Score: N" (N or N/10); it must be a number from 1 to 10.
  A reply without one is stored as `unparsed` with the reason: a visible failure, never a zero.
- Every verdict is one row of `judge_scores` (lineup.models.JudgeScore), claimed before the
  judge is asked and finished the moment it answers, so a killed run loses at most the answer
  in flight and a re-run asks only what is missing: rows `scored` and `unparsed` are kept;
  `failed` ones (the request failed: server down, timeout, cut-off stream) and `asking` ones
  whose process is gone are asked again.
- The figure of an answer is score / 10. Per model (`judge_figures`): over the study's current
  complete answers, the judge's latest finished verdict on each under the protocol; the mean
  figure of the scored ones with its 95% percentile bootstrap interval
  (lineup.overlap.bootstrap_mean_ci), how many were scored (`judged`) and how many failed
  (`judge_failures`: unparsed or failed, counted apart and left out of the mean).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, select, update
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
from lineup.limits import InputError
from lineup.models import (
    JUDGE_ASKING,
    JUDGE_FAILED,
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    OK,
    Generation,
    JudgeScore,
    Label,
    SetItemRow,
    utcnow,
)
from lineup.overlap import bootstrap_mean_ci
from lineup.redact import redact
from lineup.runner import describe_error, timeout_message
from lineup.store import HEARTBEAT_STALE_S, Store, owner_gone, storable, this_owner
from lineup.study_store import study_info

PROTOCOL_REFERENCE = "reference"
PROTOCOLS = (PROTOCOL_REFERENCE,)
PLACEHOLDERS = ("question", "reference", "answer")
MAX_TEMPLATE_CHARS = 20_000
SCORE_MIN, SCORE_MAX = 1.0, 10.0
JUDGE_TEMPERATURE = 0.0
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

NO_END_MARKER = (
    "The judge's reply is cut off: its stream ended without the end marker. Check the judge's "
    "server and score again; this answer is asked again."
)
EMPTY_REPLY = "The judge returned an empty reply."
NO_SCORE = (
    'The judge\'s reply has no score: expected a JSON object {"score": 1-10, "reasons": "..."} '
    'or a line "Score: N". Edit the template to ask for one more plainly, or choose another judge.'
)

_PLACEHOLDER = re.compile(r"\{(question|reference|answer)\}")
_FENCED = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_SCORE_LINE = re.compile(
    r"^[\s*#>_-]*score[\s*_]*[:=][\s*_]*([-+]?\d+(?:[.,]\d+)?)\s*(?:/\s*10(?![\d.]))?",
    re.I | re.M,
)
_REASONS_LINE = re.compile(r"^[\s*#>_-]*reasons?[\s*_]*[:=][\s*_]*", re.I | re.M)


class JudgeReplyError(ValueError):
    """The judge's reply holds no score on the scale; the message says what was wrong."""


# The template ---------------------------------------------------------------------------------


def check_template(template: str | None) -> str:
    """The template to fill (DEFAULT_TEMPLATE for None); InputError when it lacks one of the
    placeholders or is too long."""
    if template is None:
        return DEFAULT_TEMPLATE
    if len(template) > MAX_TEMPLATE_CHARS:
        raise InputError(
            f"The judge's template is {len(template):,} characters long; the limit is "
            f"{MAX_TEMPLATE_CHARS:,}."
        )
    missing = [name for name in PLACEHOLDERS if "{" + name + "}" not in template]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        raise InputError(
            f"The judge's template lacks {names}: it must hold {{question}}, {{reference}} and "
            "{answer}, each filled in for every answer."
        )
    return template


def fill_template(template: str, *, question: str, reference: str, answer: str) -> str:
    """The template with its placeholders filled in one pass (an answer that contains
    "{reference}" stays as written)."""
    values = {"question": question, "reference": reference, "answer": answer}
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


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


def _json_verdict(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for candidate in [*(m[1] for m in _FENCED.finditer(text)), text]:
        for start in (i for i, char in enumerate(candidate) if char == "{"):
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                continue
            if isinstance(value, dict) and "score" in value:
                return value
    return None


def _score_value(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JudgeReplyError(f"The judge's score {value!r} is not a number. {NO_SCORE}")
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
class JudgeRun:
    """What one `judge_study` did."""

    study_id: int
    judge: str
    protocol: str
    asked: int  # requests sent to the judge
    cached: int  # answers with a verdict already stored for this prompt
    failed: int  # of those asked, the replies without a score and the failed requests
    busy: int = 0  # being asked by another live process
    skipped: int = 0  # complete answers whose item has no reference

    def as_dict(self) -> dict[str, Any]:
        """What `study score --json` prints."""
        return {
            "study_id": self.study_id,
            "judge": self.judge,
            "protocol": self.protocol,
            "asked": self.asked,
            "cached": self.cached,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class _Candidate:
    generation_id: int
    model: str
    question: str
    reference: str
    answer: str
    image_hash: str | None


def _candidates(store: Store, study_id: int, models: Sequence[str]) -> tuple[list[_Candidate], int]:
    """The study's complete answers whose item has a reference, item by item, then model, then
    repeat; and how many complete answers have none."""
    with store.session() as session:
        rows = list(
            session.execute(
                select(
                    Generation.id,
                    Generation.model_spec,
                    Generation.output_text,
                    Generation.repeat,
                    SetItemRow.position,
                    SetItemRow.text,
                    SetItemRow.reference,
                    SetItemRow.image_hash,
                )
                .join(SetItemRow, Generation.item_id == SetItemRow.id)
                .where(Generation.study_id == study_id, Generation.status == OK)
            )
        )
    order = {model: index for index, model in enumerate(models)}
    rows.sort(key=lambda r: (r.position, order.get(r.model_spec, len(order)), r.repeat or 0))
    with_reference = [r for r in rows if r.reference and r.reference.strip()]
    candidates = [
        _Candidate(r.id, r.model_spec, r.text, r.reference, r.output_text or "", r.image_hash)
        for r in with_reference
    ]
    return candidates, len(rows) - len(with_reference)


def judge_study(
    store: Store,
    study_id: int,
    judge_spec: str,
    factory: Callable[[str], VLMBackend],
    *,
    template: str | None = None,
    image_of: Callable[[str], ImageInput] | None = None,
    sees_images: bool | None = None,
    timeout_s: float = 300.0,
    secrets: Sequence[str] = (),
    protocol: str = PROTOCOL_REFERENCE,
    on_progress: Callable[[int, int], None] | None = None,
) -> JudgeRun:
    """Ask the judge about every complete answer of the study that has a reference and no
    verdict yet for this judge, protocol and filled-in template, one at a time, each verdict
    stored the moment it comes. `sees_images` None: ask the judge's server
    (`judge_sees_images`). `on_progress(done, total)` after each answer. InputError for an
    unknown study, a voice study, an unknown protocol or a bad template."""
    if protocol not in PROTOCOLS:
        raise InputError(
            f"The judge's protocol is one of {', '.join(PROTOCOLS)}, not {protocol!r}."
        )
    filled_template = check_template(template)
    info = study_info(store, study_id)
    if info is None:
        raise InputError(f"There is no study {study_id}.")
    if info.kind != "vlm":
        raise InputError(f"Study {study_id} is a voice study; a judge scores model answers.")
    candidates, skipped = _candidates(store, study_id, info.models)
    backend = factory(judge_spec)
    if sees_images is None:
        sees_images = judge_sees_images(backend.spec)
    stored = _stored_verdicts(store, study_id, judge_spec, protocol)
    asked = cached = failed = busy = 0
    for done, candidate in enumerate(candidates, start=1):
        prompt = fill_template(
            filled_template,
            question=candidate.question,
            reference=candidate.reference,
            answer=candidate.answer,
        )
        digest = prompt_hash(prompt)
        image_hash = candidate.image_hash if sees_images and image_of is not None else None
        sent: dict[str, Any] = {"role": "user", "content": prompt}
        if image_hash is not None:
            sent["images"] = [image_hash]
        request = {"messages": [sent], "temperature": JUDGE_TEMPERATURE}
        claimed = _claim(
            store,
            stored.get((candidate.generation_id, digest)),
            study_id=study_id,
            generation_id=candidate.generation_id,
            judge_spec=judge_spec,
            protocol=protocol,
            digest=digest,
            request=request,
            saw_image=image_hash is not None,
            stale_s=timeout_s + HEARTBEAT_STALE_S,
        )
        if claimed == "cached":
            cached += 1
        elif claimed == "busy":
            busy += 1
        elif isinstance(claimed, int):
            asked += 1
            image = image_of(image_hash) if image_of is not None and image_hash else None
            try:
                status = _ask_and_store(
                    store, claimed, backend, prompt, image, timeout_s=timeout_s, secrets=secrets
                )
            except BaseException:
                _finish(store, claimed, JUDGE_FAILED, error="Interrupted before the judge replied.")
                raise
            failed += status != JUDGE_SCORED
        if on_progress is not None:
            on_progress(done, len(candidates))
    return JudgeRun(study_id, judge_spec, protocol, asked, cached, failed, busy, skipped)


@dataclass(frozen=True)
class _Stored:
    id: int
    status: str
    owner_host: str | None
    owner_pid: int | None
    created_at: Any


def _stored_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str
) -> dict[tuple[int, str], _Stored]:
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.generation_id,
                JudgeScore.prompt_hash,
                JudgeScore.id,
                JudgeScore.status,
                JudgeScore.owner_host,
                JudgeScore.owner_pid,
                JudgeScore.created_at,
            ).where(
                JudgeScore.study_id == study_id,
                JudgeScore.judge_spec == judge_spec,
                JudgeScore.protocol == protocol,
            )
        ).all()
    return {(r[0], r[1]): _Stored(*r[2:]) for r in rows}


def _claim(
    store: Store,
    existing: _Stored | None,
    *,
    study_id: int,
    generation_id: int,
    judge_spec: str,
    protocol: str,
    digest: str,
    request: dict[str, Any],
    saw_image: bool,
    stale_s: float,
) -> int | str:
    """The id of the verdict row this process now owns, or "cached" (a verdict is stored) or
    "busy" (another live process is asking)."""
    host, pid = this_owner()
    asking = {
        "status": JUDGE_ASKING,
        "request": request,
        "saw_image": saw_image,
        "owner_host": host,
        "owner_pid": pid,
        "created_at": utcnow(),
    }
    if existing is None:
        row = JudgeScore(
            study_id=study_id,
            generation_id=generation_id,
            judge_spec=judge_spec,
            protocol=protocol,
            prompt_hash=digest,
            **asking,
        )
        try:
            with store.session() as session:
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return "busy"
    if existing.status in (JUDGE_SCORED, JUDGE_UNPARSED):
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
                JudgeScore.owner_pid.is_(None)
                if existing.owner_pid is None
                else JudgeScore.owner_pid == existing.owner_pid,
            )
            .values(reply=None, score=None, reasons=None, error=None, finished_at=None, **asking)
        )
        assert isinstance(result, CursorResult)
        return existing.id if result.rowcount else "busy"


def _ask_and_store(
    store: Store,
    verdict_id: int,
    backend: VLMBackend,
    prompt: str,
    image: ImageInput | None,
    *,
    timeout_s: float,
    secrets: Sequence[str],
) -> str:
    """Ask the judge once and store its verdict; the verdict's status."""
    reply, error = _ask(backend, prompt, image, timeout_s)
    reply = redact(storable(reply)[0], secrets) or ""
    if error is not None:
        _finish(store, verdict_id, JUDGE_FAILED, reply=reply or None, error=redact(error, secrets))
        return JUDGE_FAILED
    try:
        score, reasons = parse_reply(reply)
    except JudgeReplyError as exc:
        _finish(store, verdict_id, JUDGE_UNPARSED, reply=reply, error=str(exc))
        return JUDGE_UNPARSED
    _finish(store, verdict_id, JUDGE_SCORED, reply=reply, score=score, reasons=reasons)
    return JUDGE_SCORED


def _ask(
    backend: VLMBackend, prompt: str, image: ImageInput | None, timeout_s: float
) -> tuple[str, str | None]:
    """The judge's reply text and None, or what it sent until the failure and why it failed.
    The request is stopped (its connection closed) when `timeout_s` passes."""
    cancel = CancelToken()
    timer = threading.Timer(timeout_s, cancel.cancel)
    timer.daemon = True
    parts: list[str] = []
    usage: Usage | None = None
    request = VLMRequest(question=prompt, image=image, temperature=JUDGE_TEMPERATURE, cancel=cancel)
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
            return "".join(parts), timeout_message(timeout_s, "judge")
        return "".join(parts), describe_error(exc)
    finally:
        timer.cancel()
    text = "".join(parts)
    if cancel.cancelled:
        return text, timeout_message(timeout_s, "judge")
    if usage is None:
        return text, NO_END_MARKER
    if not text.strip():
        return text, EMPTY_REPLY
    return text, None


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


def latest_judge(store: Store, study_id: int, protocol: str = PROTOCOL_REFERENCE) -> str | None:
    """The judge that gave the study's most recent finished verdict (the one `study show`
    reports), or None when no judge ran."""
    with store.session() as session:
        return session.scalar(
            select(JudgeScore.judge_spec)
            .where(
                JudgeScore.study_id == study_id,
                JudgeScore.protocol == protocol,
                JudgeScore.status != JUDGE_ASKING,
            )
            .order_by(JudgeScore.id.desc())
            .limit(1)
        )


@dataclass(frozen=True)
class Verdict:
    """The judge's latest finished verdict on one answer."""

    model: str
    status: str  # scored, unparsed or failed
    score: float | None
    reasons: str | None
    error: str | None


def latest_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[int, Verdict]:
    """Per current complete answer of the study (by generation id), the judge's latest
    finished verdict under `protocol` (greatest id: after a template edit, the new one)."""
    with store.session() as session:
        rows = session.execute(
            select(
                JudgeScore.generation_id,
                Generation.model_spec,
                JudgeScore.status,
                JudgeScore.score,
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
    # Rows come oldest first, so each answer keeps its latest verdict.
    return {
        gid: Verdict(model, status, score, reasons, error)
        for gid, model, status, score, reasons, error in rows
    }


def judge_figures(
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> dict[str, dict[str, Any]]:
    """Per model of the study, in its order: the mean figure (score / 10) of the judge's
    latest finished verdicts on its current complete answers, the 95% bootstrap interval, how
    many were scored and how many failed (see the module's definitions). None figures for a
    model with no scored answer."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(f"There is no study {study_id}.")
    latest = latest_verdicts(store, study_id, judge_spec, protocol)
    figures: dict[str, list[float]] = {model: [] for model in info.models}
    failures: dict[str, int] = {model: 0 for model in info.models}
    for verdict in latest.values():
        if verdict.status == JUDGE_SCORED and verdict.score is not None:
            figures.setdefault(verdict.model, []).append(verdict.score / SCORE_MAX)
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
    store: Store, study_id: int, judge_spec: str, protocol: str = PROTOCOL_REFERENCE
) -> tuple[list[float], list[str]]:
    """The judge's score (its latest scored verdict) beside each counted label on the same
    answer of the study: one pair per (answer, annotator), for lineup.agreement's
    judge_agreement."""
    with store.session() as session:
        labels = session.execute(
            select(Label.generation_id, Label.relevance)
            .join(Generation, Label.generation_id == Generation.id)
            .where(Generation.study_id == study_id, Generation.status == OK, Label.counted)
            .order_by(Label.generation_id, Label.annotator)
        ).all()
    scores = {
        gid: float(verdict.score)
        for gid, verdict in latest_verdicts(store, study_id, judge_spec, protocol).items()
        if verdict.status == JUDGE_SCORED and verdict.score is not None
    }
    pairs = [(scores[gid], relevance) for gid, relevance in labels if gid in scores]
    return [score for score, _ in pairs], [relevance for _, relevance in pairs]
