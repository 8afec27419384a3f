"""Studies in the store: a study row, one run per item, and at most one generation per
(item, model, repeat), enforced by the unique index `uq_generations_study_key`.

A process runs a study by owning it (its host, pid and heartbeat on the study row) and by
claiming each (item, model, repeat) with an insert: a second process that tries to claim the
same answer is refused by the index, so nothing runs twice even when two processes resume one
study at once. Rows a dead or stopped process left unfinished (`interrupted`, `cancelled`)
give their key up when the study resumes; they stay in their run as history, and a new row
takes the key (`release_unfinished`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lineup.core import CANCELLED, INTERRUPTED, RUNNING, _
from lineup.store import (
    HEARTBEAT_STALE_S,
    STUDY_CANCELLED,
    STUDY_DONE,
    STUDY_PAUSED,
    STUDY_RUNNING,
    Generation,
    QuestionSet,
    Run,
    SetItemRow,
    Store,
    Study,
    owner_gone,
    this_owner,
    utcnow,
)
from lineup.study.answers import study_answers

# The answers a resume runs again: those a dead or stopped process did not finish.
UNFINISHED = (INTERRUPTED, CANCELLED)
PAUSE, CANCEL = "pause", "cancel"


class StudyBusy(Exception):
    """The study is being run by a live process."""


@dataclass(frozen=True)
class StudyItem:
    """One item of a study's set, with the run that holds its answers."""

    item_id: int
    position: int
    run_id: int
    text: str
    image_hash: str | None
    reference: str | None
    language: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class StudyInfo:
    """A study's row as plain values."""

    id: int
    set_id: int
    set_name: str
    kind: str
    models: tuple[str, ...]
    repeats: int
    params: dict[str, Any]
    blind: bool
    status: str
    requested: str | None
    owner_host: str | None
    owner_pid: int | None
    heartbeat_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    reference_for: int | None = None  # the study whose reference model this study runs
    judge_templates: dict[str, str] = field(default_factory=dict)  # by protocol

    @property
    def seed(self) -> int | None:
        seed = self.params.get("seed")
        return None if seed is None else int(seed)


@dataclass(frozen=True)
class StudyPlan:
    """A study, its items in order and the state of every answer it already has."""

    study: StudyInfo
    items: list[StudyItem]
    answers: dict[tuple[int, str, int], str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.items) * len(self.study.models) * self.study.repeats

    def missing(self, model: str) -> list[tuple[StudyItem, int]]:
        """The (item, repeat) pairs of `model` with no answer yet, item by item, then repeat."""
        return [
            (item, repeat)
            for item in self.items
            for repeat in range(self.study.repeats)
            if (item.item_id, model, repeat) not in self.answers
        ]


def _changed(session: Session, statement: Update) -> int:
    """Run an UPDATE; how many rows it changed."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


def _info(study: Study, set_name: str) -> StudyInfo:
    return StudyInfo(
        id=study.id,
        set_id=study.set_id,
        set_name=set_name,
        kind=study.kind,
        models=tuple(study.models),
        repeats=study.repeats,
        params=dict(study.params or {}),
        blind=study.blind,
        status=study.status,
        requested=study.requested,
        owner_host=study.owner_host,
        owner_pid=study.owner_pid,
        heartbeat_at=study.heartbeat_at,
        created_at=study.created_at,
        finished_at=study.finished_at,
        reference_for=study.reference_for,
        judge_templates=dict(study.judge_templates or {}),
    )


def create_study(
    store: Store,
    *,
    set_id: int,
    models: list[str],
    repeats: int,
    params: dict[str, Any],
    blind: bool = False,
    reference_for: int | None = None,
) -> int:
    """A new study of the set (its kind), owned by this process, with one run per item; all
    in one transaction. `reference_for`: the study whose reference model this one runs."""
    host, pid = this_owner()
    now = utcnow()
    with store.session() as session:
        question_set = session.get(QuestionSet, set_id)
        if question_set is None:
            raise ValueError(_("There is no question set {set_id}.").format(set_id=set_id))
        study = Study(
            set_id=set_id,
            kind=question_set.kind,
            models=list(models),
            repeats=repeats,
            params=dict(params),
            blind=blind,
            reference_for=reference_for,
            status=STUDY_RUNNING,
            owner_host=host,
            owner_pid=pid,
            heartbeat_at=now,
            created_at=now,
        )
        session.add(study)
        session.flush()
        items = session.execute(
            select(SetItemRow.id, SetItemRow.text, SetItemRow.image_hash)
            .where(SetItemRow.set_id == set_id)
            .order_by(SetItemRow.position)
        ).all()
        system = params.get("system")
        run_params = {k: v for k, v in params.items() if k not in ("system", "seed")}
        session.add_all(
            Run(
                kind=question_set.kind,
                input_text=text,
                image_hash=image_hash,
                system_prompt=system,
                params={**run_params, "study_id": study.id, "models": list(models)},
                seed=params.get("seed"),
                blind=blind,
                study_id=study.id,
                item_id=item_id,
            )
            for item_id, text, image_hash in items
        )
        return study.id


def study_info(store: Store, study_id: int) -> StudyInfo | None:
    with store.session() as session:
        row = session.execute(
            select(Study, QuestionSet.name)
            .join(QuestionSet, Study.set_id == QuestionSet.id)
            .where(Study.id == study_id)
        ).first()
    return None if row is None else _info(row[0], row[1])


def reference_study(store: Store, study_id: int) -> StudyInfo | None:
    """The study that runs `study_id`'s reference model, if one was named."""
    with store.session() as session:
        row = session.execute(
            select(Study, QuestionSet.name)
            .join(QuestionSet, Study.set_id == QuestionSet.id)
            .where(Study.reference_for == study_id)
        ).first()
    return None if row is None else _info(row[0], row[1])


def save_judge_template(store: Store, study_id: int, protocol: str, template: str | None) -> None:
    """Keep the person's judge template for `protocol` with the study (None: the default)."""
    with store.session() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise ValueError(_("There is no study {study_id}.").format(study_id=study_id))
        templates = dict(study.judge_templates or {})
        if template is None:
            templates.pop(protocol, None)
        else:
            templates[protocol] = template
        study.judge_templates = templates or None


def list_studies(store: Store, limit: int = 100) -> list[StudyInfo]:
    """The newest studies first."""
    with store.session() as session:
        rows = session.execute(
            select(Study, QuestionSet.name)
            .join(QuestionSet, Study.set_id == QuestionSet.id)
            .order_by(Study.id.desc())
            .limit(limit)
        ).all()
    return [_info(study, name) for study, name in rows]


def load_plan(store: Store, study_id: int) -> StudyPlan:
    """The study, its items with their runs, and the state of each answer it holds."""
    info = study_info(store, study_id)
    if info is None:
        raise ValueError(_("There is no study {study_id}.").format(study_id=study_id))
    with store.session() as session:
        items = [
            StudyItem(
                item_id=item.id,
                position=item.position,
                run_id=run_id,
                text=item.text,
                image_hash=item.image_hash,
                reference=item.reference,
                language=item.language,
                tags=tuple(item.tags or ()),
            )
            for item, run_id in session.execute(
                select(SetItemRow, Run.id)
                .join(Run, Run.item_id == SetItemRow.id)
                .where(Run.study_id == study_id)
                .order_by(SetItemRow.position)
            )
        ]
        # A study's rows always carry their item and repeat (claim writes them together).
        answers: dict[tuple[int, str, int], str] = {
            (item_id or 0, model, repeat or 0): status
            for item_id, model, repeat, status in session.execute(
                study_answers(
                    study_id,
                    Generation.item_id,
                    Generation.model_spec,
                    Generation.repeat,
                    Generation.status,
                )
            )
        }
    return StudyPlan(info, items, answers)


def claim(
    store: Store,
    study_id: int,
    item: StudyItem,
    model: str,
    repeat: int,
    *,
    position: int,
    seed: int | None,
    resolved_spec: str | None = None,
) -> int | None:
    """A new `running` generation for (item, model, repeat), owned by this process; None when
    the study already has one (another process claimed it first). `resolved_spec`: the full
    spec the model stands for (the model itself when None)."""
    host, pid = this_owner()
    generation = Generation(
        run_id=item.run_id,
        model_spec=model,
        resolved_spec=resolved_spec or model,
        position=position,
        sample_index=repeat,
        seed=seed,
        status=RUNNING,
        owner_host=host,
        owner_pid=pid,
        heartbeat_at=utcnow(),
        study_id=study_id,
        item_id=item.item_id,
        repeat=repeat,
    )
    try:
        with store.session() as session:
            session.add(generation)
            session.flush()
            return generation.id
    except IntegrityError:
        return None


def release_unfinished(store: Store, study_id: int) -> int:
    """Give up the keys of the study's answers a dead or stopped process left unfinished, so
    that they run again; the rows stay in their runs. How many were released."""
    with store.session() as session:
        return _changed(
            session,
            update(Generation)
            .where(Generation.study_id == study_id, Generation.status.in_(UNFINISHED))
            .values(study_id=None, item_id=None, repeat=None),
        )


def take_ownership(store: Store, study_id: int) -> StudyInfo:
    """Make this process the study's owner and its state `running`; StudyBusy while another
    live process runs it, ValueError when it is unknown or cancelled."""
    host, pid = this_owner()
    info = study_info(store, study_id)
    if info is None:
        raise ValueError(_("There is no study {study_id}.").format(study_id=study_id))
    if info.status == STUDY_CANCELLED:
        raise ValueError(
            _("Study {study_id} was cancelled; start a new study instead.").format(
                study_id=study_id
            )
        )
    if info.status == STUDY_RUNNING and (info.owner_host, info.owner_pid) != (host, pid):
        why = owner_gone(info.owner_host, info.owner_pid, info.heartbeat_at, info.heartbeat_at)
        if why is None:
            raise StudyBusy(
                _(
                    "Study {study_id} is running in process {pid} on {host}. Pause it there "
                    "first, or wait for it to finish."
                ).format(study_id=study_id, pid=info.owner_pid, host=info.owner_host)
            )
    with store.session() as session:
        taken = _changed(
            session,
            update(Study)
            .where(
                Study.id == study_id,
                Study.status == info.status,
                Study.owner_pid.is_not_distinct_from(info.owner_pid),
            )
            .values(
                status=STUDY_RUNNING,
                requested=None,
                owner_host=host,
                owner_pid=pid,
                heartbeat_at=utcnow(),
                finished_at=None,
            ),
        )
        if not taken:
            raise StudyBusy(f"Study {study_id} was just taken by another process.")
    result = study_info(store, study_id)
    assert result is not None
    return result


def beat(store: Store, study_id: int) -> str | None:
    """Refresh this process's heartbeat on the study; what another process asked of it
    (`PAUSE`, `CANCEL`) or None."""
    host, pid = this_owner()
    with store.session() as session:
        session.execute(
            update(Study)
            .where(Study.id == study_id, Study.owner_host == host, Study.owner_pid == pid)
            .values(heartbeat_at=utcnow())
        )
        return session.scalar(select(Study.requested).where(Study.id == study_id))


def request(store: Store, study_id: int, what: str) -> StudyInfo:
    """Ask the study's owner to pause or cancel it. A study no live process runs is paused or
    cancelled here at once."""
    if what not in (PAUSE, CANCEL):
        raise ValueError(f"A study can be asked to {PAUSE} or {CANCEL}, not {what!r}.")
    info = study_info(store, study_id)
    if info is None:
        raise ValueError(_("There is no study {study_id}.").format(study_id=study_id))
    if info.status in (STUDY_DONE, STUDY_CANCELLED):
        return info
    live = info.status == STUDY_RUNNING and (
        owner_gone(info.owner_host, info.owner_pid, info.heartbeat_at, info.heartbeat_at) is None
    )
    with store.session() as session:
        if live:
            session.execute(update(Study).where(Study.id == study_id).values(requested=what))
        else:
            session.execute(
                update(Study)
                .where(Study.id == study_id)
                .values(
                    status=STUDY_CANCELLED if what == CANCEL else STUDY_PAUSED,
                    requested=None,
                    owner_host=None,
                    owner_pid=None,
                    heartbeat_at=None,
                    finished_at=utcnow() if what == CANCEL else None,
                )
            )
    result = study_info(store, study_id)
    assert result is not None
    return result


def finish_study(store: Store, study_id: int, status: str) -> None:
    """This process stops running the study, leaving it in `status`."""
    host, pid = this_owner()
    with store.session() as session:
        session.execute(
            update(Study)
            .where(Study.id == study_id, Study.owner_host == host, Study.owner_pid == pid)
            .values(
                status=status,
                requested=None,
                owner_host=None,
                owner_pid=None,
                heartbeat_at=None,
                finished_at=utcnow() if status in (STUDY_DONE, STUDY_CANCELLED) else None,
            )
        )


def reap_studies(store: Store, *, stale_s: float = HEARTBEAT_STALE_S) -> list[int]:
    """Studies left `running` by a process that is gone become `paused` (resumable)."""
    with store.session() as session:
        running = session.execute(
            select(Study.id, Study.owner_host, Study.owner_pid, Study.heartbeat_at).where(
                Study.status == STUDY_RUNNING
            )
        ).all()
    reaped = []
    for study_id, host, pid, heartbeat_at in running:
        if owner_gone(host, pid, heartbeat_at, heartbeat_at, stale_s=stale_s) is None:
            continue
        with store.session() as session:
            done = _changed(
                session,
                update(Study)
                .where(Study.id == study_id, Study.status == STUDY_RUNNING, Study.owner_pid == pid)
                .values(status=STUDY_PAUSED, owner_host=None, owner_pid=None, heartbeat_at=None),
            )
            if done:
                reaped.append(study_id)
    return reaped
