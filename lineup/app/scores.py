"""Scores of a study beyond the labels: its reference model, and the LLM judge (templates,
checks, a judging run in the foreground or as a background job, its figures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends.base import BackendError, CancelToken
from lineup.app.part import Part
from lineup.catalog import ResolvedModel
from lineup.core import InputError, _
from lineup.score import (
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    PROTOCOL_PAIRWISE,
    PROTOCOL_REFERENCE,
    Dispute,
    JudgeJob,
    JudgeRun,
    JudgeSetting,
    StudyJudge,
    active_judging,
    check_judge_limits,
    check_protocol,
    check_template,
    disputed_answers,
    judge_figures,
    judge_sees_images,
    judge_settings,
    judge_study,
    judge_template,
    last_judging,
    latest_judge,
    model_references,
    reference_summary,
    scored_study,
)
from lineup.study import StudyInfo, StudyRun, create_study, reference_study, save_judge_template


class Scores(Part):
    """Scores of a study beyond the labels: its reference model, and the LLM judge (templates,
    checks, a judging run in the foreground or as a background job, its figures)."""

    def start_reference(self, study_id: int, model: str) -> StudyRun:
        """Run the study's reference model (any VLM spec or name) as a study of its own over
        the same set with the same parameters, one answer per item: new, or resumed where it
        stopped. One of INPUT_ERRORS for an unknown or voice study, a bad spec, or another
        reference model already named for the study. Definitions: lineup.score.references."""
        info = scored_study(self.store, study_id)
        resolved = self._app.catalog.resolve_all([model], "vlm")
        existing = reference_study(self.store, study_id)
        if existing is not None:
            if existing.models[0] != model:
                raise InputError(
                    _(
                        "Study {study_id}'s reference model is {model}; a study has one "
                        "reference model. Start a new study to compare against another."
                    ).format(study_id=study_id, model=existing.models[0])
                )
            return self._app.studies._resume(existing.id, resolved)
        reference_id = create_study(
            self.store,
            set_id=info.set_id,
            models=[model],
            repeats=1,
            params=dict(info.params),
            reference_for=study_id,
        )
        return self._app.studies.launch(reference_id, resolved)

    def reference_of(self, study_id: int) -> StudyInfo | None:
        """The study that runs `study_id`'s reference model, if one was named."""
        return reference_study(self.store, study_id)

    def reference_summary(self, study_id: int) -> dict[str, Any] | None:
        """What `study show --json` says of the study's reference model (None without one);
        InputError for a study that cannot have one (lineup.score.references)."""
        return reference_summary(self.store, scored_study(self.store, study_id))

    def reference_answers(self, study_id: int) -> dict[int, str]:
        """Per item id, the reference model's complete answer (empty without a reference
        model; lineup.score.references)."""
        return {item: found.text for item, found in model_references(self.store, study_id).items()}

    def template(self, study_id: int, protocol: str = PROTOCOL_REFERENCE) -> str:
        """The template the study's judge fills under `protocol`: the person's, else the
        default (lineup.score.judge)."""
        return judge_template(scored_study(self.store, study_id), check_protocol(protocol))

    def set_template(self, study_id: int, protocol: str, template: str | None) -> None:
        """Keep the person's judge template with the study (None: back to the default); an
        InputError, with nothing saved, when it lacks a placeholder of the protocol."""
        scored_study(self.store, study_id)
        if template is not None:
            check_template(template, protocol)
        save_judge_template(self.store, study_id, protocol, template)

    def check_judge(
        self,
        study_id: int,
        judge: str,
        protocol: str = PROTOCOL_REFERENCE,
        template: str | None = None,
        *,
        reference_needed: bool = False,
        max_tokens: int = JUDGE_MAX_TOKENS,
        timeout_s: float = JUDGE_TIMEOUT_S,
    ) -> ResolvedModel:
        """The judge, resolved; one of INPUT_ERRORS, with nothing asked or stored, when the
        judge cannot score the study: an unknown or voice study, a bad judge spec, protocol,
        template (None: the study's own), token limit or timeout; with `reference_needed`,
        protocol `pairwise` without a reference model."""
        self._check_scoring(study_id, protocol, template, max_tokens, timeout_s)
        resolved = self._app.catalog.resolve(judge, "vlm")
        if reference_needed:
            self._check_reference(study_id, protocol)
        return resolved

    def judge(
        self,
        study_id: int,
        judge: str | ResolvedModel,
        template: str | None = None,
        *,
        protocol: str = PROTOCOL_REFERENCE,
        max_tokens: int = JUDGE_MAX_TOKENS,
        timeout_s: float = JUDGE_TIMEOUT_S,
        on_progress: Callable[[int, int], None] | None = None,
        stop: CancelToken | None = None,
    ) -> JudgeRun:
        """An LLM judge (a spec or a name from backends.toml, or one already resolved) scores
        the study's complete answers under `protocol`, asking only what it has not answered
        yet for this template (None: the study's own), with its own token limit and timeout
        per request; one of INPUT_ERRORS, with nothing asked, for an unknown study, a bad
        spec, protocol, template, limit or timeout, or protocol `pairwise` without a
        reference model. Definitions: lineup.score.judge."""
        if isinstance(judge, str):
            resolved = self.check_judge(
                study_id,
                judge,
                protocol,
                template,
                reference_needed=True,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
            )
        else:
            resolved = judge
            self._check_scoring(study_id, protocol, template, max_tokens, timeout_s)
            self._check_reference(study_id, protocol)
        try:
            backend = resolved.backend()
        except BackendError as exc:
            raise InputError(str(exc)) from None
        return judge_study(
            self.store,
            study_id,
            resolved,
            backend,
            template=template,
            image_of=self._app.stored_image,
            sees_images=judge_sees_images(resolved.spec, resolved.api_key_env),
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            secrets=self._app.secrets(),
            protocol=protocol,
            on_progress=on_progress,
            stop=stop,
        )

    def start_judging(
        self,
        study_id: int,
        judge: str,
        protocol: str = PROTOCOL_REFERENCE,
        *,
        max_tokens: int = JUDGE_MAX_TOKENS,
        timeout_s: float = JUDGE_TIMEOUT_S,
    ) -> JudgeJob:
        """Score the study in the background with the study's template (see `judge_study`,
        whose checks run first, in the caller, which resolves the judge once). One job per
        study in this process: while one runs, it is returned."""
        running = active_judging(self._store_key, study_id)
        if running is not None:
            return running
        # Check everything before the thread starts, so bad input is the caller's error.
        resolved = self.check_judge(
            study_id,
            judge,
            protocol,
            reference_needed=True,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
        )
        return JudgeJob(
            self._store_key,
            study_id,
            judge,
            protocol,
            lambda progress, stop: self.judge(
                study_id,
                resolved,
                protocol=protocol,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
                on_progress=progress,
                stop=stop,
            ),
            max_tokens=max_tokens,
            timeout_s=timeout_s,
        ).start()

    def judging(self, study_id: int) -> JudgeJob | None:
        """The study's latest judge job in this process, running or ended."""
        return last_judging(self._store_key, study_id)

    def judges(self, study_id: int) -> list[JudgeSetting]:
        """Every judge and protocol with a finished verdict on the study, the latest first,
        each with the token limit and timeout of its latest verdict (lineup.score.judge)."""
        return judge_settings(self.store, study_id)

    @property
    def _store_key(self) -> str:
        """The store's address with any password hidden: which store a job works on."""
        return str(self.store.engine.url)

    def _check_scoring(
        self,
        study_id: int,
        protocol: str,
        template: str | None,
        max_tokens: int,
        timeout_s: float,
    ) -> None:
        info = scored_study(self.store, study_id)
        check_protocol(protocol)
        check_judge_limits(max_tokens, timeout_s)
        check_template(
            template if template is not None else judge_template(info, protocol), protocol
        )

    def _check_reference(self, study_id: int, protocol: str) -> None:
        if protocol == PROTOCOL_PAIRWISE and reference_study(self.store, study_id) is None:
            raise InputError(
                _(
                    "The pairwise protocol compares each answer with the reference model's: "
                    "name one first (study score {study_id} --reference-model SPEC)."
                ).format(study_id=study_id)
            )

    def judge_figures(
        self, study_id: int, judge: str, protocol: str = PROTOCOL_REFERENCE
    ) -> dict[str, dict[str, Any]]:
        """Per model: the judge's mean figure with its 95% bootstrap interval, the answers
        scored and the failures (lineup.score.judge_verdicts.judge_figures)."""
        return judge_figures(self.store, study_id, judge, protocol)

    def disputed(self, study_id: int, judge: StudyJudge | None = None) -> dict[int, Dispute]:
        """The answers the judge disputes, by generation id: pairwise verdicts that flip with
        the order, scores two steps from a person's label (lineup.score.judge_reliability).
        `judge` None: the study's latest, the one whose figures the models carry; {} when no
        judge ran."""
        judge = judge if judge is not None else latest_judge(self.store, study_id)
        if judge is None:
            return {}
        return disputed_answers(self.store, study_id, judge)
