"""Asking the LLM judge about one answer: its verdict row claimed before the judge is asked
(so a re-run asks only what is missing and two processes never ask the same), the request with
its own token limit and timeout, and the verdict stored the moment it comes (definitions:
lineup.score.judge)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from backends.base import CancelToken, ImageInput, Usage, VLMBackend, VLMRequest
from lineup.core import N_, REDACTED_COUNT, Message, redacted_values
from lineup.run import IN_FLIGHT, failure_message
from lineup.score.judge_prompt import (
    JUDGE_TEMPERATURE,
    JudgeReplyError,
    parse_pair_reply,
    parse_reply,
)
from lineup.store import (
    JUDGE_ASKING,
    JUDGE_FAILED,
    JUDGE_SCORED,
    JUDGE_UNPARSED,
    JudgeScore,
    Store,
    owner_gone,
    storable,
    this_owner,
    utcnow,
)

NO_END_MARKER = Message.of(
    N_(
        "The judge's reply is cut off: its stream ended without the end marker. Check the "
        "judge's server and score again; this answer is asked again."
    )
)
EMPTY_REPLY = Message.of(N_("The judge returned an empty reply."))
# A server's word for an answer it ended at the output token limit (OpenAI's finish_reason,
# Ollama's done_reason).
CUT_AT_LIMIT = "length"


@dataclass(frozen=True)
class Task:
    """One request to the judge: an answer under one protocol and position."""

    generation_id: int
    prompt: str
    image_hash: str | None
    position: int  # 0 (protocol reference), 1 or 2 (pairwise: where the candidate is shown)
    reference_id: int | None  # pairwise: the reference model's answer


@dataclass(frozen=True)
class StoredVerdict:
    id: int
    status: str
    owner_host: str | None
    owner_pid: int | None
    created_at: Any
    max_tokens: int | None


def stored_verdicts(
    store: Store, study_id: int, judge_spec: str, protocol: str
) -> dict[tuple[int, str, int], StoredVerdict]:
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
    return {(r[0], r[1], r[2]): StoredVerdict(*r[3:]) for r in rows}


def claim_verdict(
    store: Store,
    existing: StoredVerdict | None,
    *,
    study_id: int,
    task: Task,
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
    return _ask_again(store, existing, asking)


def _ask_again(store: Store, existing: StoredVerdict, asking: dict[str, Any]) -> int | str:
    """A failed request, or one whose process is gone: ask again in the same row, if no other
    process took it first (its id, else "busy")."""
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
                error_said=None,
                finished_at=None,
                **asking,
            )
        )
        assert isinstance(result, CursorResult)
        return existing.id if result.rowcount else "busy"


def ask_and_store(
    store: Store,
    verdict_id: int,
    backend: VLMBackend,
    task: Task,
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
    reply, failure, cut = _ask(backend, task.prompt, image, max_tokens, timeout_s, stop)
    english = failure.english if failure is not None else None
    (reply, error), hidden = redacted_values([storable(reply)[0], english], secrets)
    reply = reply or ""
    recorded: dict[str, Any] = {}
    if hidden:
        recorded["request"] = {**request, REDACTED_COUNT: request.get(REDACTED_COUNT, 0) + hidden}
    if failure is not None:
        # The values are the error's own words again: redacted alike, not counted twice.
        said = redacted_values(failure.stored(), secrets)[0]
        finish_verdict(
            store,
            verdict_id,
            JUDGE_FAILED,
            reply=reply or None,
            error=error,
            error_said=said,
            **recorded,
        )
        return JUDGE_FAILED
    try:
        if task.position == 0:
            score, reasons = parse_reply(reply)
            theirs = None
        else:
            first, second, reasons = parse_pair_reply(reply)
            score, theirs = (first, second) if task.position == 1 else (second, first)
    except JudgeReplyError as exc:
        why = (
            Message.of(
                N_(
                    "The judge's reply was cut at its limit of {max_tokens} tokens before it "
                    "gave a score: raise the limit (--judge-max-tokens, or the scoring panel) or "
                    "ask for a shorter reply. {problem}"
                ),
                max_tokens=max_tokens,
                problem=exc.message,
            )
            if cut
            else exc.message
        )
        finish_verdict(
            store,
            verdict_id,
            JUDGE_UNPARSED,
            reply=reply,
            error=why.english,
            error_said=why.stored(),
            **recorded,
        )
        return JUDGE_UNPARSED
    finish_verdict(
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


STOPPED_MESSAGE = Message.of(N_("Stopped before the judge replied; scoring again asks it again."))
STOPPED = STOPPED_MESSAGE.english


def judge_timeout_message(timeout_s: float, max_tokens: int) -> Message:
    return Message.of(
        N_(
            "Timed out after {seconds} s (the judge's timeout) before the judge's reply ended. "
            "Raise the timeout (--judge-timeout, or the scoring panel) if this judge needs "
            "longer; if it writes on without end, lower its token limit ({max_tokens}). The "
            "text it sent until then is kept; this answer is asked again."
        ),
        seconds=f"{timeout_s:g}",
        max_tokens=max_tokens,
    )


def _ask(
    backend: VLMBackend,
    prompt: str,
    image: ImageInput | None,
    max_tokens: int,
    timeout_s: float,
    stop: CancelToken | None = None,
) -> tuple[str, Message | None, bool]:
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
    # The judge's request is one of Lineup's in flight: answers beside it on its host count it
    # (lineup.run.contention); its own count is not stored.
    in_flight = IN_FLIGHT.enter(
        backend.resolved_base_url(backend.spec)
        or (f"in-process:{backend.spec.kind}" if backend.in_process else backend.spec.kind)
    )
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
        return "".join(parts), failure_message(exc), False
    finally:
        timer.cancel()
        in_flight.leave()
    text = "".join(parts)
    if cancel.cancelled:
        return text, _why_cancelled(timeout_s, max_tokens, stop), False
    if usage is None:
        return text, NO_END_MARKER, False
    cut = CUT_AT_LIMIT in (usage.metadata.get("finish_reason"), usage.metadata.get("done_reason"))
    if not text.strip():
        # A reasoning model can spend the whole limit thinking, leaving no answer text.
        if not cut:
            return text, EMPTY_REPLY, cut
        empty_and_cut = Message.of(
            N_(
                "The judge returned an empty reply. The judge's reply was cut at its limit of "
                "{max_tokens} tokens before it gave a score: raise the limit "
                "(--judge-max-tokens, or the scoring panel) or ask for a shorter reply."
            ),
            max_tokens=max_tokens,
        )
        return text, empty_and_cut, cut
    return text, None, cut


def _why_cancelled(timeout_s: float, max_tokens: int, stop: CancelToken | None) -> Message:
    if stop is not None and stop.cancelled:
        return STOPPED_MESSAGE
    return judge_timeout_message(timeout_s, max_tokens)


def finish_verdict(store: Store, verdict_id: int, status: str, **fields: Any) -> None:
    with store.session() as session:
        session.execute(
            update(JudgeScore)
            .where(JudgeScore.id == verdict_id)
            .values(status=status, owner_host=None, owner_pid=None, finished_at=utcnow(), **fields)
        )
