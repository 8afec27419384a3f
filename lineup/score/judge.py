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
  (`judge_sees_images`), the item's reference answer (lineup.score.references: the set's, else the
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
- Every verdict is one row of `judge_scores` (lineup.store.tables.JudgeScore), claimed before the
  judge is asked and finished the moment it answers, so a killed run loses at most the answer
  in flight and a re-run asks only what is missing: rows `scored` and `unparsed` are kept;
  `failed` ones (the request failed: server down, timeout, cut-off stream) and `asking` ones
  whose process is gone are asked again, and so are `unparsed` ones asked under another token
  limit (a reply cut at the limit may hold a score under a higher one).
- A run that mostly failed (`JudgeRun.mostly_failed`): more than half (MOSTLY_FAILED_SHARE) of
  the verdicts the run ends with (asked now or stored before for the same prompts, the
  request stopped by Stop left out) have no score (`unparsed` or `failed`). It is shown and
  printed as a failure, with the first FAILED_REPLIES_SHOWN of those replies.
- The figure of an answer. Protocol `reference`: score / 10. Protocol `pairwise`: the
  candidate's scores summed over both orders over the reference's scores summed over both
  orders, (c1 + c2) / (r1 + r2) (1 = as good as the reference; above 1 = better). It is
  position-neutral: a judge that gives a to whatever is shown first and b to the other
  whatever they say gives (a + b) / (b + a) = 1 to every answer (the mean of the two orders'
  ratios, (a/b + b/a) / 2, would give 1.042 for 8 against 6 and 5.05 for 10 against 1). Both
  orders must be scored; if either is unparsed or failed, the answer is a failure. Its score
  (the judge-versus-people agreement) is the candidate's mean score over the two orders. How
  far the judge's verdicts depend on the order: lineup.score.judge_reliability.
- Per model (`judge_figures`): over the study's current complete answers, the judge's latest
  finished verdict on each under the protocol; the mean figure of the scored ones (each answer
  weighs the same) with its 95% item-bootstrap interval (lineup.measure.item_bootstrap,
  `pooled`: the study's items resampled with all their answers; `judge_score_ci_method`
  "item-bootstrap", `judge_score_ci_reason` when there is none), how many were scored
  (`judged`) and how many failed (`judge_failures`: unparsed or failed, counted apart and left
  out of the mean).
- The study's judge (`latest_judge`): the judge and protocol of its most recent finished
  verdict; `study show` and the report give that judge's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from backends.base import BackendError, CancelToken, EndpointBackend, ImageInput, VLMBackend
from backends.registry import backend_class
from backends.spec import ModelSpec
from lineup.catalog import ResolvedModel
from lineup.core import N_, REDACTED_COUNT, Message, redacted
from lineup.score.judge_ask import (
    StoredVerdict,
    Task,
    ask_and_store,
    claim_verdict,
    finish_verdict,
    stored_verdicts,
)
from lineup.score.judge_prompt import (
    DEFAULT_TEMPLATES,
    JUDGE_MAX_TOKENS,
    JUDGE_TEMPERATURE,
    JUDGE_TIMEOUT_S,
    PROTOCOL_REFERENCE,
    check_judge_limits,
    check_protocol,
    check_template,
    fill_template,
    prompt_hash,
)
from lineup.score.references import item_references, model_references, scored_study
from lineup.store import (
    HEARTBEAT_STALE_S,
    JUDGE_FAILED,
    JUDGE_SCORED,
    Generation,
    JudgeScore,
    SetItemRow,
    Store,
)
from lineup.study import StudyInfo, study_answers

# A run fails when the share of its verdicts without a score is above this.
MOSTLY_FAILED_SHARE = 0.5
FAILED_REPLIES_SHOWN = 3
REPLY_SHOWN_CHARS = 600
SIMPLER_TEMPLATE_HINT = N_(  # marked: said through `_()` where shown
    'A small model may need a simpler template: ask for one line "Score: N" (N from 1 to 10) '
    "and nothing else, or choose a larger judge."
)
# In-process kinds whose models take an image with the question; endpoint kinds say per model.
IN_PROCESS_VISION_KINDS = frozenset({"transformers"})

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
    # The error's template and values (judge_scores.error_said); not in as_dict: JSON keeps
    # the English text.
    error_said: dict[str, Any] | None = None

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


def _tasks(store: Store, info: StudyInfo, protocol: str, template: str) -> tuple[list[Task], int]:
    """The requests the protocol makes of the study's complete answers (see the module's
    definitions), and how many answers it skips for want of a reference."""
    candidates = _candidates(store, info.id, info.models)
    tasks: list[Task] = []
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
            tasks.append(Task(c.generation_id, prompt, c.image_hash, 0, None))
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
                Task(c.generation_id, prompt, c.image_hash, position, theirs.generation_id)
            )
    return tasks, skipped


def judge_template(info: StudyInfo, protocol: str) -> str:
    """The template the study's judge fills: the person's, kept with the study, or the
    protocol's default."""
    return info.judge_templates.get(protocol) or DEFAULT_TEMPLATES[protocol]


def judge_study(
    store: Store,
    study_id: int,
    judge: ResolvedModel,
    backend: VLMBackend,
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
    """Ask the judge (resolved once by the caller, its `backend` built) every request the
    protocol makes of the study's complete answers that has no verdict yet for this judge
    (by its name as given) and filled-in template, one at a time, each verdict stored the
    moment it comes. `template` None: the study's own (`judge_template`).
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
    if sees_images is None:
        sees_images = judge_sees_images(judge.spec, judge.api_key_env)
    asking = _Asking(
        store,
        study_id,
        judge.name,
        protocol,
        backend,
        image_of if sees_images else None,
        max_tokens,
        timeout_s,
        tuple(secrets),
        stop,
    )
    stored = stored_verdicts(store, study_id, judge.name, protocol)
    tally = _Tally()
    for done, task in enumerate(tasks, start=1):
        if stop is not None and stop.cancelled:
            break
        tally.count(*asking.one(task, stored, tally))
        if on_progress is not None:
            on_progress(done, len(tasks))
    return JudgeRun(
        study_id,
        judge.name,
        protocol,
        tally.asked,
        tally.cached,
        tally.failed,
        tally.busy,
        skipped,
        scored=tally.scored,
        unscored=tally.unscored,
        failed_replies=_failed_replies(store, tally.unscored_ids),
    )


@dataclass
class _Tally:
    """What one run did so far (see JudgeRun)."""

    asked: int = 0
    cached: int = 0
    failed: int = 0
    busy: int = 0
    scored: int = 0
    unscored: int = 0
    # The first few verdicts without a score, in the order asked.
    unscored_ids: list[int] = field(default_factory=list)

    def count(self, status: str | None, verdict_id: int | None) -> None:
        """A verdict the run ends with (None: none, as a busy or stopped request)."""
        if status == JUDGE_SCORED:
            self.scored += 1
        elif status is not None and verdict_id is not None:
            self.unscored += 1
            if len(self.unscored_ids) < FAILED_REPLIES_SHOWN:
                self.unscored_ids.append(verdict_id)


@dataclass(frozen=True)
class _Asking:
    """What every request of one run shares; `image_of` None when the judge sees no image."""

    store: Store
    study_id: int
    judge_spec: str
    protocol: str
    backend: VLMBackend
    image_of: Callable[[str], ImageInput] | None
    max_tokens: int
    timeout_s: float
    secrets: tuple[str, ...]
    stop: CancelToken | None

    def one(
        self, task: Task, stored: dict[tuple[int, str, int], StoredVerdict], tally: _Tally
    ) -> tuple[str | None, int | None]:
        """Ask about one task unless its verdict is stored or another process asks: the
        verdict's status and id (None for no verdict), counting what was done in `tally`."""
        digest = prompt_hash(task.prompt)
        image_hash = task.image_hash if self.image_of is not None else None
        request = self._request(task.prompt, image_hash)
        existing = stored.get((task.generation_id, digest, task.position))
        claimed = claim_verdict(
            self.store,
            existing,
            study_id=self.study_id,
            task=task,
            judge_spec=self.judge_spec,
            protocol=self.protocol,
            digest=digest,
            request=request,
            saw_image=image_hash is not None,
            max_tokens=self.max_tokens,
            timeout_s=self.timeout_s,
            stale_s=self.timeout_s + HEARTBEAT_STALE_S,
        )
        if claimed == "cached":
            assert existing is not None
            tally.cached += 1
            return existing.status, existing.id
        if not isinstance(claimed, int):
            tally.busy += 1
            return None, None
        tally.asked += 1
        image = self.image_of(image_hash) if self.image_of is not None and image_hash else None
        try:
            status = ask_and_store(
                self.store,
                claimed,
                self.backend,
                task,
                image,
                max_tokens=self.max_tokens,
                request=request,
                timeout_s=self.timeout_s,
                secrets=self.secrets,
                stop=self.stop,
            )
        except BaseException:
            interrupted = Message.of(N_("Interrupted before the judge replied."))
            finish_verdict(
                self.store,
                claimed,
                JUDGE_FAILED,
                error=interrupted.english,
                error_said=interrupted.stored(),
            )
            raise
        tally.failed += status != JUDGE_SCORED
        if status == JUDGE_FAILED and self.stop is not None and self.stop.cancelled:
            return None, claimed  # stopped, not judged: no verdict, asked again next time
        return status, claimed

    def _request(self, prompt: str, image_hash: str | None) -> dict[str, Any]:
        """The request as stored with the verdict: a configured key in the prompt is
        [redacted] and counted."""
        content, hidden = redacted(prompt, self.secrets)
        sent: dict[str, Any] = {"role": "user", "content": content}
        if image_hash is not None:
            sent["images"] = [image_hash]
        request: dict[str, Any] = {
            "messages": [sent],
            "temperature": JUDGE_TEMPERATURE,
            "max_tokens": self.max_tokens,
        }
        if hidden:
            request[REDACTED_COUNT] = hidden
        return request


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
                    JudgeScore.error_said,
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
            row.error_said,
        )
        for row in (rows[verdict_id] for verdict_id in verdict_ids if verdict_id in rows)
    )


def _clipped(text: str) -> str:
    return text if len(text) <= REPLY_SHOWN_CHARS else text[:REPLY_SHOWN_CHARS] + "…"
