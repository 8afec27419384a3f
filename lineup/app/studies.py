"""Studies: start, resume, pause and cancel one; list them, follow their progress, and
their tables, summary, export and report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from backends.base import Modality
from lineup.app.part import MAX_REPEATS, Part, RunKind, check_timing_mode, request_key
from lineup.catalog import ResolvedModel
from lineup.core import (
    LANGUAGES,
    InputError,
    _,
    check_max_tokens,
    check_seed,
    check_system_prompt,
    check_temperature,
    current_language,
    using_language,
)
from lineup.report import (
    COMPARISON_FORMATS,
    REPORT_FORMATS,
    StudyResult,
    StudyTables,
    agreement_with,
    compare_results,
    comparison_text,
    load_study_result,
    stop_labeling_summary,
    write_comparison,
    write_csv,
    write_report,
)
from lineup.run import DEFAULT_STT, PARALLEL, STTChoice, first_refusal, host_of
from lineup.sets import set_by_name
from lineup.study import (
    CANCEL,
    PAUSE,
    StudyBusy,
    StudyInfo,
    StudyProgress,
    StudyRun,
    active_study,
    create_study,
    first_seed,
    list_studies,
    load_plan,
    reap_studies,
    release_unfinished,
    resolved_specs,
    study_annotators,
    study_info,
    take_ownership,
)
from lineup.study import progress as study_progress
from lineup.study import request as study_request


class Studies(Part):
    """Studies: start, resume, pause and cancel one; list them, follow their progress, and
    their tables, summary, export and report."""

    def start(
        self,
        *,
        set_name: str,
        models: list[str],
        repeats: int = 1,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        timeout_s: float | None = None,
        stt: str | None = DEFAULT_STT,
        blind: bool = False,
        timing: str = PARALLEL,
        warmup: bool = False,
        request_id: str | None = None,
    ) -> StudyRun:
        """Check everything, store the study (one run per item) and start it in this
        process. A VLM set takes models and the comparison's parameters; a voice set takes
        voices, `repeats` samples per sentence and the STT model (None: no scoring).
        `warmup`: each model answers one warm-up request first, stored apart and never
        counted (lineup.study.running). Raises
        one of INPUT_ERRORS, with nothing stored, for any bad value.

        `request_id` (a page form's token) starts at most one study: a second call with it,
        even at the same moment from another thread, returns the study the first started."""
        return self.started(
            request_key("study", request_id),
            lambda: self._start(
                set_name=set_name,
                models=models,
                repeats=repeats,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                timeout_s=timeout_s,
                stt=stt,
                blind=blind,
                timing=timing,
                warmup=warmup,
            ),
        )

    def _start(
        self,
        *,
        set_name: str,
        models: list[str],
        repeats: int,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
        timeout_s: float | None,
        stt: str | None,
        blind: bool,
        timing: str,
        warmup: bool = False,
    ) -> StudyRun:
        question_set = set_by_name(self.store, set_name)
        if question_set is None:
            raise InputError(
                _(
                    "There is no set named {name}. `python -m lineup sets list` shows the "
                    "stored sets; `sets import PATH` adds one, `sets import --shipped NAME` one "
                    "of the sets that ship with Lineup."
                ).format(name=repr(set_name))
            )
        kind: RunKind = "tts" if question_set.kind == "tts" else "vlm"
        if not 1 <= repeats <= MAX_REPEATS:
            raise InputError(
                _("Repeats must be from 1 to {maximum}, not {repeats}.").format(
                    maximum=MAX_REPEATS, repeats=repeats
                )
            )
        if len(set(models)) != len(models):
            raise InputError(_("Each model can be in a study once; remove the repeated one."))
        resolved = self._app.catalog.resolve_all(models, kind)
        stt_choice: STTChoice | None = None
        params: dict[str, Any] = {
            "timeout_s": self._app.timeout(timeout_s),
            "timing": check_timing_mode(timing),
        }
        if kind == "vlm":
            params.update(
                system=check_system_prompt(system),
                temperature=None if temperature is None else check_temperature(temperature),
                max_tokens=None if max_tokens is None else check_max_tokens(max_tokens),
            )
        else:
            stt_choice = self._app.catalog.resolve_stt(stt)
            if stt_choice is not None:
                sentences = [(item.text, item.language) for item in question_set.items]
                refused = first_refusal(stt_choice, sentences, ResolvedModel.backend)
                if refused is not None:
                    raise InputError(refused)
            params["stt"] = stt_choice.name if stt_choice is not None else None
        # A seed is always stored, so that a resumed study repeats the seeds of its first run.
        params["seed"] = check_seed(seed if seed is not None else first_seed(), samples=repeats)
        if warmup:
            params["warmup"] = True
        study_id = create_study(
            self.store,
            set_id=question_set.id,
            models=models,
            repeats=repeats,
            params=params,
            blind=blind,
        )
        return self.launch(study_id, resolved, stt_choice)

    def resume(self, study_id: int) -> StudyRun:
        """Run what a study still lacks: the answers never started, and those a dead or
        stopped process left unfinished (their rows stay in their runs as history). InputError
        when the study is unknown, cancelled or being run by another live process."""
        return self._resume(study_id)

    def launch(
        self,
        study_id: int,
        models: Sequence[ResolvedModel] | None = None,
        stt: STTChoice | None = None,
    ) -> StudyRun:
        """Run the study with its models resolved once: those just resolved by a start, or,
        on a resume, the study's stored names resolved now (an unknown one fails the resume)."""
        plan = load_plan(self.store, study_id)
        if models is None:
            modality: Modality = "tts" if plan.study.kind == "tts" else "vlm"
            models = [self._app.catalog.resolve(name, modality) for name in plan.study.models]
            stt_name = plan.study.params.get("stt") if plan.study.kind == "tts" else None
            stt = self._app.catalog.resolve_stt(stt_name) if stt_name else None
        return StudyRun(
            self.store,
            self.media,
            plan,
            {model.name: model for model in models},
            image_of=self._app.stored_image,
            stt=stt,
            secrets=self._app.secrets(),
        ).start()

    def pause(self, study_id: int) -> StudyInfo:
        """Pause a study wherever it runs: the answers under way finish, no more start."""
        return self._ask(study_id, PAUSE)

    def cancel(self, study_id: int) -> StudyInfo:
        """Stop a study for good: the answers under way are cancelled."""
        return self._ask(study_id, CANCEL)

    def _ask(self, study_id: int, what: str) -> StudyInfo:
        running = active_study(study_id)
        if running is not None:
            if what == PAUSE:
                running.pause()
            else:
                running.cancel()
        try:
            return study_request(self.store, study_id, what)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def get(self, study_id: int) -> StudyInfo | None:
        return study_info(self.store, study_id)

    def latest(self, limit: int = 100) -> list[StudyInfo]:
        """The studies, newest first."""
        return list_studies(self.store, limit)

    def progress(self, study_id: int) -> StudyProgress:
        """Per model: answers done of the total, errors, running; elapsed and time left."""
        info = study_info(self.store, study_id)
        if info is None:
            raise InputError(_("There is no study {study_id}.").format(study_id=study_id))
        running = active_study(study_id)
        modality: Modality = "tts" if info.kind == "tts" else "vlm"

        def resolved(model: str) -> ResolvedModel:
            # Asked only while the study runs (a name gone from backends.toml fails nothing).
            if running is not None:
                return running.models[model]
            return self._app.catalog.resolve(model, modality)

        return study_progress(
            self.store,
            study_id,
            lambda m: resolved(m).lane.concurrency,
            lambda m: host_of(resolved(m).lane.endpoint),
        )

    def reap(self) -> list[int]:
        """Studies left `running` by a process that is gone become `paused`, ready to resume
        (the studies page does this on every run); returns their ids."""
        return reap_studies(self.store)

    def annotators(self, study_id: int) -> list[str]:
        """The names with a label that counts on the study's answers, in alphabetical order
        (the choices of the study page's annotator filter)."""
        return study_annotators(self.store, study_id)

    def _resume(self, study_id: int, models: Sequence[ResolvedModel] | None = None) -> StudyRun:
        running = active_study(study_id)
        if running is not None:
            return running
        self._app.reap_orphans()
        reap_studies(self.store)
        try:
            take_ownership(self.store, study_id)
        except (StudyBusy, ValueError) as exc:
            raise InputError(str(exc)) from None
        release_unfinished(self.store, study_id)
        return self.launch(study_id, models)

    def specs(self, study_id: int) -> dict[str, str]:
        """Per model of the study (by name), the full spec its latest answer was made with
        (generations.resolved_spec); a model without answers is left out."""
        return resolved_specs(self.store, study_id)

    def machine(self, study_id: int) -> dict[str, Any] | None:
        """The machine that ran the study last (None: before Lineup recorded it)."""
        return self.store.machine_of(study_id=study_id)

    def provenance(self, study_id: int) -> dict[str, dict[str, Any]]:
        """{model: what its server or engine said about itself}, asked once in the study."""
        return self.store.provenance_of(study_id=study_id)

    def result(self, study_id: int, annotator: str | None = None) -> StudyResult:
        """The study's results, read once, for every output to render (lineup.report.result):
        its summary (`study show --json`), its tables counting only `annotator`'s labels when
        one is given, its judges, references and answers; InputError when there is no such
        study (a row read: every part is read when first asked for)."""
        return load_study_result(self.store, study_id, annotator)

    def compare(
        self,
        baseline_id: int,
        candidate_id: int,
        matches: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Two studies compared (lineup.report.comparison): per matched model and figure the
        paired difference candidate - baseline over the shared items with its item-bootstrap
        interval, the per-item scores, the regressions and the improvements, as plain JSON
        values (`study compare --json`). InputError for an unknown study, two studies of
        different kinds, no shared item or no model to compare."""
        baseline = load_study_result(self.store, baseline_id)
        candidate = load_study_result(self.store, candidate_id)
        return compare_results(baseline, candidate, matches=matches)

    def agreement_with(self, study_id: int, chosen: str) -> dict[str, Any]:
        """Within one VLM study, each other model's agreement with the `chosen` model
        (lineup.report.against): identical answers and ROUGE-L to its answer on the same item
        and repeat, with item-bootstrap intervals, next to each model's median decode rate.
        InputError for an unknown study, a voice study or a model the study lacks."""
        return agreement_with(self.result(study_id), chosen)

    def comparison_file(self, document: dict[str, Any], fmt: str) -> str:
        """A comparison (`compare`) as a report's text: html (one self-contained file) or md;
        InputError for another format."""
        if fmt not in COMPARISON_FORMATS:
            raise InputError(
                _("A comparison report is html or md, not {format}.").format(format=repr(fmt))
            )
        return comparison_text(document, fmt)

    def compare_report(
        self,
        baseline_id: int,
        candidate_id: int,
        fmt: str,
        out: Path,
        matches: dict[str, str] | None = None,
    ) -> Path:
        """Write the comparison of two studies (`compare`) as a report: one self-contained
        HTML file or Markdown at `out` (compare-<baseline>-<candidate>.<fmt> inside it when
        `out` is a folder). InputError as `compare`, for a format that is not html or md, or a
        place that cannot be written."""
        if fmt not in COMPARISON_FORMATS:
            raise InputError(
                _("A comparison report is html or md, not {format}.").format(format=repr(fmt))
            )
        document = self.compare(baseline_id, candidate_id, matches)  # errors before any file
        path = out / f"compare-{baseline_id}-{candidate_id}.{fmt}" if out.is_dir() else out
        try:
            return write_comparison(document, fmt, path)
        except OSError as exc:
            raise InputError(
                _(
                    "Cannot write the report at {place}: {reason}. Choose a folder you can "
                    "write to."
                ).format(place=out, reason=exc.strerror or exc)
            ) from None

    def tables(self, study_id: int, annotator: str | None = None) -> StudyTables:
        """`study_result(study_id, annotator).tables`: relevance, speed or voices, answers per
        item, repeats, transcripts. Definitions: lineup.report.tables."""
        return self.result(study_id, annotator).tables

    def summary(self, study_id: int) -> dict[str, Any]:
        """`study_result(study_id).summary`: the study's state and per-model figures as plain
        JSON values (`study show --json`)."""
        return self.result(study_id).summary

    def stop_labeling(self, study_id: int) -> dict[str, Any]:
        """Can I stop labeling: `study show --json`'s `stop_labeling` alone (the leader, its
        chance of being best, the undecided pairs and the items that would decide them;
        lineup.measure.stopping), without the rest of the summary."""
        return stop_labeling_summary(self.result(study_id).stop_labeling)

    def export(self, study_id: int, fmt: Literal["csv", "xlsx"], out: Path) -> list[Path]:
        """Write the study's tables and raw rows as one CSV per table into the folder `out`;
        xlsx is the report workbook (`study_report(study_id, "xlsx", out)`), the one XLSX
        product of a study. The files written; InputError for an unknown study or format."""
        if fmt not in ("csv", "xlsx"):
            raise InputError(
                _("A study is exported as csv or xlsx, not {format}.").format(format=repr(fmt))
            )
        result = load_study_result(self.store, study_id)  # InputError before any file
        try:
            if fmt == "xlsx":  # the report workbook: the one XLSX product of a study
                path = out / f"study-{study_id}.xlsx" if out.is_dir() else out
                return write_report(result, self.media, "xlsx", path)
            return write_csv(result, out)
        except OSError as exc:
            raise InputError(
                _(
                    "Cannot write the export at {place}: {reason}. Choose a folder you can "
                    "write to."
                ).format(place=out, reason=exc.strerror or exc)
            ) from None

    def report(
        self,
        study_id: int,
        fmt: Literal["html", "xlsx", "md"],
        out: Path,
        language: str | None = None,
    ) -> list[Path]:
        """Write the study's report (lineup.report): one self-contained HTML file, the XLSX
        workbook or Markdown at `out` (study-<id>.<fmt> inside it when `out` is a
        folder), in `language` (one of LANGUAGES; default: the current one). InputError for
        an unknown study, format or language, or a place that cannot be written."""
        if language is not None and language not in LANGUAGES:
            raise InputError(
                _("A report is written in {languages}, not {language!r}.").format(
                    languages=", ".join(LANGUAGES), language=language
                )
            )
        if fmt not in REPORT_FORMATS:
            *others, last = REPORT_FORMATS
            raise InputError(
                _("A report is {formats} or {last}, not {format!r}.").format(
                    formats=", ".join(others), last=last, format=fmt
                )
            )
        result = load_study_result(self.store, study_id)  # InputError before any file
        path = out / f"study-{study_id}.{fmt}" if out.is_dir() else out
        try:
            with using_language(language or current_language()):
                return write_report(result, self.media, fmt, path)
        except OSError as exc:
            raise InputError(
                _(
                    "Cannot write the report at {place}: {reason}. Choose a folder you can "
                    "write to."
                ).format(place=out, reason=exc.strerror or exc)
            ) from None
