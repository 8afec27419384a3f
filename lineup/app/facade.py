"""The one door the pages and the CLI use into Lineup: runs, labels, media, discovery, warnings,
leaderboards, exports and comparisons, over one store, one media store and backends.toml."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from backends import keys
from backends.base import BackendError, CancelToken, DiscoveredModel, VLMRequest
from backends.base import Modality as Modality  # what the pages choose models of
from backends.registry import KINDS, KindInfo, default_api_key_envs
from backends.spec import SpecError
from lineup.app.start_once import StartOnce
from lineup.catalog import (
    BackendsConfig,
    ConfigError,
    DescribeCache,
    ModelLabel,
    ResolvedModel,
    load_backends_config,
    local_models,
    model_label,
    probe_endpoints,
    resolve,
    resolve_all,
)
from lineup.catalog import EndpointReport as EndpointReport  # what pages list
from lineup.core import (
    RUNNING,
    InputError,
    MediaError,
    Settings,
    SettingsError,
    ValidatedImage,
    check_max_tokens,
    check_question,
    check_seed,
    check_sentence,
    check_system_prompt,
    check_temperature,
    check_timeout_s,
    load_settings,
    read_image_file,
    validate_image,
)
from lineup.leaderboard import (
    FilterChoices,
    check_filter,
    filter_choices,
    tts_leaderboard,
    vlm_leaderboard,
)
from lineup.leaderboard import LeaderboardFilter as LeaderboardFilter  # pages build one
from lineup.measure import CLIP_COLUMNS, summarize_clips, voice_figures
from lineup.measure import FAILURE_KEYS as FAILURE_KEYS
from lineup.report import (
    REPORT_FORMATS,
    StudyResult,
    StudyTables,
    load_study_result,
    write_csv,
    write_report,
)
from lineup.run import (
    DEFAULT_STT,
    ClipResult,
    Comparison,
    RunInputs,
    TTSComparison,
    active_run,
    inputs_of,
    language_warnings,
    start_tts_comparison,
    start_vlm_comparison,
)
from lineup.score import (
    JUDGE_MAX_TOKENS,
    JUDGE_TIMEOUT_S,
    PROTOCOL_PAIRWISE,
    PROTOCOL_REFERENCE,
    JudgeJob,
    JudgeRun,
    JudgeSetting,
    active_judging,
    check_judge_limits,
    check_protocol,
    check_template,
    judge_figures,
    judge_sees_images,
    judge_settings,
    judge_study,
    judge_template,
    last_judging,
    model_references,
    reference_summary,
    scored_study,
)
from lineup.sets import (
    SetSummary,
    ShippedImport,
    ShippedSet,
    import_shipped,
    read_set,
    read_set_bytes,
    save_set,
    set_by_name,
    set_summaries,
    shipped_sets,
)
from lineup.store import (
    GENERATION_EXPORT_COLUMNS,
    LABEL_EXPORT_COLUMNS,
    Generation,
    Label,
    MediaStore,
    MediaStoreError,
    QuestionSet,
    Run,
    Store,
    StoreError,
    StoreUnavailable,
)
from lineup.study import (
    CANCEL,
    PAUSE,
    ArenaPair,
    ArenaQueue,
    ArenaRating,
    ArenaView,
    LabelQueue,
    QueueItem,
    StudyBusy,
    StudyInfo,
    StudyProgress,
    StudyRun,
    active_study,
    arena_queue,
    arena_ranking,
    arena_view,
    create_study,
    first_seed,
    list_studies,
    load_plan,
    reap_studies,
    reference_study,
    release_unfinished,
    resolved_specs,
    save_judge_template,
    study_annotators,
    study_info,
    take_ownership,
)
from lineup.study import label_queue as read_label_queue
from lineup.study import progress as study_progress
from lineup.study import queue_item as read_queue_item
from lineup.study import request as study_request
from lineup.study import vote as arena_vote

RunKind = Literal["vlm", "tts"]
MAX_REPEATS = 100  # repeats of a study (samples per sentence for voices)
ExportTable = Literal["generations", "labels"]

# What Lineup raises when the input, the environment (settings, a full disk, a read-only
# LINEUP_HOME, a damaged or unreachable database) or backends.toml needs fixing: each is raised
# where the problem is found, with nothing half-stored, and a message that says what to do. The
# pages show these as messages and the CLI exits 2; any other exception is a bug in Lineup and
# is never shown as bad input. (Most are ValueErrors, but a bare ValueError is not one of them.)
INPUT_ERRORS: tuple[type[Exception], ...] = (
    InputError,
    SettingsError,
    ConfigError,
    SpecError,
    MediaError,
    MediaStoreError,
    StoreError,
    StoreUnavailable,
)


def read_keys_from(source: keys.KeySource) -> None:
    """Look API keys up in `source` too (by variable name), after the environment: the app
    passes its Streamlit secrets. Registering the same source again does nothing."""
    keys.register_source(source)


@dataclass(frozen=True)
class Lineup:
    """The engine with one reading of backends.toml.

    Frozen: the app keeps one per settings for the whole server and every session shares it,
    so nothing assigns to it. A page run takes its own reading of backends.toml with
    `refreshed()` (a new facade over the same store, media and caches); what a session sees
    never changes under another session's feet.
    """

    settings: Settings
    store: Store
    media: MediaStore
    config: BackendsConfig
    described: DescribeCache = field(default_factory=DescribeCache)
    # The starts of every session of the server, one per request id (a page's form token).
    started: StartOnce = field(default_factory=StartOnce)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Lineup:
        """Open the store (migrating it) and mark rows whose process died `interrupted`."""
        settings = settings or load_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        app = cls(
            settings=settings,
            store=Store(settings.database_url, connect_timeout_s=settings.db_connect_timeout_s),
            media=MediaStore(settings.media_dir),
            config=load_backends_config(settings),
        )
        app.reap_orphans()
        return app

    # Config -----------------------------------------------------------------------------

    def with_config(self, config: BackendsConfig) -> Lineup:
        """The same engine (store, media, caches) with another reading of backends.toml."""
        return replace(self, config=config)

    def refreshed(self) -> Lineup:
        """backends.toml read again (the app does so on every page run, so an edit shows
        without a restart): this facade when the file is unchanged, else a new one."""
        fresh = load_backends_config(self.settings)
        return self if fresh == self.config else self.with_config(fresh)

    def secrets(self) -> list[str]:
        """The value of every API key Lineup may send (from the environment or a registered
        source such as Streamlit secrets), to keep out of what is stored and printed."""
        names = default_api_key_envs() | {
            e.api_key_env for e in self.config.endpoints if e.api_key_env
        }
        for named in self.config.models:
            key_env = (named.options or {}).get("api_key_env")
            if isinstance(key_env, str):
                names.add(key_env)
        return [value for name in sorted(names) if (value := keys.api_key(name))]

    def timeout(self, timeout_s: float | None) -> float:
        """The per-model timeout: the one given, else the setting; a positive finite number."""
        if timeout_s is None:
            return self.settings.model_timeout_s
        return float(check_timeout_s(timeout_s))

    # Runs -------------------------------------------------------------------------------

    def run(self, run_id: int, kind: RunKind | None = None) -> Run | None:
        """A stored run with its generations and their labels; None when there is no such run
        (or it is not of `kind`)."""
        run = self.store.get_run(run_id)
        if run is None or (kind is not None and run.kind != kind):
            return None
        return run

    def runs(self, run_ids: Iterable[int], kind: RunKind | None = None) -> list[Run]:
        """The runs of these ids that exist (and are of `kind`), in the order given."""
        return [run for run in (self.run(run_id, kind) for run_id in run_ids) if run is not None]

    def latest_runs(self, kind: RunKind, limit: int = 20) -> list[Run]:
        """The newest runs of a kind, newest first, with their generations."""
        return self.store.latest_runs(kind, limit=limit)

    def reap_orphans(self) -> list[int]:
        """Running rows whose owner process is gone become `interrupted` (the app calls this
        on every page run, the CLI at start); returns their ids."""
        return self.store.reap_orphans()

    def active_comparison(self, run_id: int) -> Comparison | TTSComparison | None:
        """The comparison in progress in this process that holds run `run_id`, if any."""
        found = active_run(run_id)
        return found if isinstance(found, Comparison | TTSComparison) else None

    def in_progress(self, run_ids: Iterable[int]) -> bool:
        """Whether any of these runs still has a model at work, here or in another process
        (whose rows are read from the store, after marking those of a process that died)."""
        reaped = False
        for run_id in run_ids:
            comparison = self.active_comparison(run_id)
            if comparison is not None:
                if not comparison.done:
                    return True
                continue
            if not reaped:
                self.reap_orphans()
                reaped = True
            run = self.run(run_id)
            if run is not None and any(g.status == RUNNING for g in run.generations):
                return True
        return False

    def cancel_run(self, run_id: int) -> bool:
        """Stop the run in progress that holds `run_id`; False when none runs here."""
        comparison = active_run(run_id)
        if comparison is None:
            return False
        comparison.cancel()
        return True

    # Labels -----------------------------------------------------------------------------

    def add_label(
        self, generation_id: int, relevance: str, *, annotator: str, comment: str | None = None
    ) -> int:
        """Write a label now; StoreError when the generation cannot be labeled (it is not a
        complete answer, there is no such generation, the relevance or name is refused)."""
        return self.store.add_label(generation_id, relevance, annotator=annotator, comment=comment)

    def current_labels(self, generation_ids: Iterable[int], annotator: str) -> dict[int, Label]:
        """The label that counts (the latest) of this annotator on each of these generations."""
        return self.store.current_labels(generation_ids, annotator)

    # Media ------------------------------------------------------------------------------

    def media_path(self, digest: str) -> Path | None:
        """The file of a stored image or clip, by its hash; None when it is gone from disk."""
        try:
            return self.media.path(digest)
        except FileNotFoundError:
            return None

    def read_image_file(self, path: str | Path) -> ValidatedImage:
        """An image file, its size checked from the file before it is read, then validated."""
        return self.validate_image(read_image_file(path, max_bytes=self.settings.max_upload_bytes))

    def validate_image(self, data: bytes) -> ValidatedImage:
        """Uploaded bytes as an image within the size limits; MediaError says what is wrong."""
        return validate_image(
            data, max_bytes=self.settings.max_upload_bytes, max_pixels=self.settings.max_pixels
        )

    # Question sets ----------------------------------------------------------------------

    def import_set(self, path: str | Path, name: str | None = None) -> SetSummary:
        """Read a set from a folder, a .zip or a set file, check it whole, and store it;
        SetError (nothing stored) lists every problem with its line."""
        parsed = read_set(
            path,
            name=name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
            max_set_pixels=self.settings.max_set_pixels,
        )
        return save_set(self.store, self.media, parsed)

    def import_set_upload(self, filename: str, data: bytes, name: str | None = None) -> SetSummary:
        """The same for an uploaded .zip (or a lone sentences file)."""
        parsed = read_set_bytes(
            filename,
            data,
            name=name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
            max_set_pixels=self.settings.max_set_pixels,
        )
        return save_set(self.store, self.media, parsed)

    def shipped_sets(self) -> list[ShippedSet]:
        """The sets that ship with Lineup (sample_media/sets/): what each holds, and whether
        the store has it already."""
        return shipped_sets(
            self.store,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
        )

    def import_shipped_set(self, name: str, as_name: str | None = None) -> ShippedImport:
        """Store a shipped set by name (under `as_name` if given), or find it stored already:
        it is never stored twice. UnknownShippedSet names the shipped sets; SetError when a
        different set holds the name."""
        return import_shipped(
            self.store,
            self.media,
            name,
            as_name=as_name,
            max_image_bytes=self.settings.max_upload_bytes,
            max_pixels=self.settings.max_pixels,
        )

    def sets(self) -> list[SetSummary]:
        """Every stored set, newest first."""
        return set_summaries(self.store)

    def question_set(self, name: str) -> QuestionSet | None:
        """The stored set of that name, with its items in order."""
        return set_by_name(self.store, name)

    # Studies ----------------------------------------------------------------------------

    def start_study(
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
        request_id: str | None = None,
    ) -> StudyRun:
        """Check everything, store the study (one run per item) and start it in this
        process. A VLM set takes models and the comparison's parameters; a voice set takes
        voices, `repeats` samples per sentence and the STT model (None: no scoring). Raises
        one of INPUT_ERRORS, with nothing stored, for any bad value.

        `request_id` (a page form's token) starts at most one study: a second call with it,
        even at the same moment from another thread, returns the study the first started."""
        return self.started(
            _request_key("study", request_id),
            lambda: self._start_study(
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
            ),
        )

    def _start_study(
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
    ) -> StudyRun:
        question_set = set_by_name(self.store, set_name)
        if question_set is None:
            raise InputError(
                f"There is no set named {set_name!r}. `python -m lineup sets list` shows the "
                "stored sets; `sets import PATH` adds one, `sets import --shipped NAME` one "
                "of the sets that ship with Lineup."
            )
        kind: RunKind = "tts" if question_set.kind == "tts" else "vlm"
        if not 1 <= repeats <= MAX_REPEATS:
            raise InputError(f"Repeats must be from 1 to {MAX_REPEATS}, not {repeats}.")
        if len(set(models)) != len(models):
            raise InputError("Each model can be in a study once; remove the repeated one.")
        resolved = self._resolve_all(models, kind)
        stt_model: ResolvedModel | None = None
        params: dict[str, Any] = {"timeout_s": self.timeout(timeout_s)}
        if kind == "vlm":
            params.update(
                system=check_system_prompt(system),
                temperature=None if temperature is None else check_temperature(temperature),
                max_tokens=None if max_tokens is None else check_max_tokens(max_tokens),
            )
        else:
            if stt is not None:
                [stt_model] = self._resolve_all([stt], "stt")
            params["stt"] = stt
        # A seed is always stored, so that a resumed study repeats the seeds of its first run.
        params["seed"] = check_seed(seed if seed is not None else first_seed(), samples=repeats)
        study_id = create_study(
            self.store,
            set_id=question_set.id,
            models=models,
            repeats=repeats,
            params=params,
            blind=blind,
        )
        return self._run_study(study_id, resolved, stt_model)

    def resume_study(self, study_id: int) -> StudyRun:
        """Run what a study still lacks: the answers never started, and those a dead or
        stopped process left unfinished (their rows stay in their runs as history). InputError
        when the study is unknown, cancelled or being run by another live process."""
        return self._resume(study_id)

    def _resume(self, study_id: int, models: Sequence[ResolvedModel] | None = None) -> StudyRun:
        running = active_study(study_id)
        if running is not None:
            return running
        self.reap_orphans()
        reap_studies(self.store)
        try:
            take_ownership(self.store, study_id)
        except (StudyBusy, ValueError) as exc:
            raise InputError(str(exc)) from None
        release_unfinished(self.store, study_id)
        return self._run_study(study_id, models)

    def _run_study(
        self,
        study_id: int,
        models: Sequence[ResolvedModel] | None = None,
        stt: ResolvedModel | None = None,
    ) -> StudyRun:
        """Run the study with its models resolved once: those just resolved by a start, or,
        on a resume, the study's stored names resolved now (an unknown one fails the resume)."""
        plan = load_plan(self.store, study_id)
        if models is None:
            modality: Modality = "tts" if plan.study.kind == "tts" else "vlm"
            models = [self.resolve(name, modality) for name in plan.study.models]
            stt_name = plan.study.params.get("stt") if plan.study.kind == "tts" else None
            stt = self.resolve(stt_name, "stt") if stt_name else None
        return StudyRun(
            self.store,
            self.media,
            plan,
            {model.name: model for model in models},
            image_of=self._stored_image,
            stt=stt,
            describe=self.described,
            secrets=self.secrets(),
        ).start()

    def pause_study(self, study_id: int) -> StudyInfo:
        """Pause a study wherever it runs: the answers under way finish, no more start."""
        return self._ask_study(study_id, PAUSE)

    def cancel_study(self, study_id: int) -> StudyInfo:
        """Stop a study for good: the answers under way are cancelled."""
        return self._ask_study(study_id, CANCEL)

    def _ask_study(self, study_id: int, what: str) -> StudyInfo:
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

    def study(self, study_id: int) -> StudyInfo | None:
        return study_info(self.store, study_id)

    def study_list(self, limit: int = 100) -> list[StudyInfo]:
        """The studies, newest first."""
        return list_studies(self.store, limit)

    def study_specs(self, study_id: int) -> dict[str, str]:
        """Per model of the study (by name), the full spec its latest answer was made with
        (generations.resolved_spec); a model without answers is left out."""
        return resolved_specs(self.store, study_id)

    def study_progress(self, study_id: int) -> StudyProgress:
        """Per model: answers done of the total, errors, running; elapsed and time left."""
        info = study_info(self.store, study_id)
        if info is None:
            raise InputError(f"There is no study {study_id}.")
        running = active_study(study_id)
        if running is not None:
            return study_progress(
                self.store, study_id, lambda m: running.models[m].lane.concurrency
            )
        modality: Modality = "tts" if info.kind == "tts" else "vlm"
        return study_progress(
            self.store, study_id, lambda m: self.resolve(m, modality).lane.concurrency
        )

    def _stored_image(self, digest: str) -> ValidatedImage:
        return self.validate_image(self.media.get(digest))

    # Labeling queue ---------------------------------------------------------------------

    def label_queue(
        self,
        study_id: int,
        annotator: str,
        *,
        model: str | None = None,
        unlabeled_only: bool = False,
    ) -> LabelQueue:
        """A study's items with complete answers, in order, and this annotator's progress
        (within the filters: one model's answers, items with unlabeled answers only)."""
        return read_label_queue(
            self.store, study_id, annotator, model=model, unlabeled_only=unlabeled_only
        )

    def queue_item(
        self, study_id: int, number: int, annotator: str, *, model: str | None = None
    ) -> QueueItem | None:
        """Item `number` (from 1) of a study with its complete answers, blind and shuffled for
        this annotator until they have labeled them all, with their own labels and comments
        only; None when the study has no such item. Labels are written with `add_label`."""
        return read_queue_item(self.store, study_id, number, annotator, model=model)

    # Arena ------------------------------------------------------------------------------

    def arena_queue(self, study_id: int, annotator: str) -> ArenaQueue:
        """The study's pairs of answers (two models, one item) in this annotator's order, blind,
        with their current votes; InputError when there is no such study. lineup.arena."""
        return arena_queue(self.store, study_id, annotator)

    def arena_view(self, study_id: int, pair: ArenaPair) -> ArenaView | None:
        """The pair's item and its two answers as A and B; None when they are gone."""
        return arena_view(self.store, study_id, pair)

    def add_vote(
        self, study_id: int, annotator: str, generation_a: int, generation_b: int, verdict: str
    ) -> int:
        """Store a vote now (`a`, `b`, `tie` or `both_bad` on the answers shown as A and B);
        the latest of an annotator on a pair counts. InputError, with nothing stored, for a
        bad verdict, name or pair."""
        return arena_vote(self.store, study_id, annotator, generation_a, generation_b, verdict)

    def arena_ranking(self, study_id: int) -> dict[str, ArenaRating]:
        """Every model of the study ranked from the pairwise votes (Bradley-Terry with
        bootstrap intervals); InputError when there is no such study."""
        return arena_ranking(self.store, study_id)

    # Study report -----------------------------------------------------------------------

    def study_report(
        self, study_id: int, fmt: Literal["html", "xlsx", "md"], out: Path
    ) -> list[Path]:
        """Write the study's report (lineup.report): one self-contained HTML file, the XLSX
        workbook or Markdown at `out` (study-<id>.<fmt> inside it when `out` is a
        folder). InputError for an unknown study or format, or a place that cannot be written."""
        if fmt not in REPORT_FORMATS:
            *others, last = REPORT_FORMATS
            raise InputError(f"A report is {', '.join(others)} or {last}, not {fmt!r}.")
        result = load_study_result(self.store, study_id)  # InputError before any file
        path = out / f"study-{study_id}.{fmt}" if out.is_dir() else out
        try:
            return write_report(result, self.media, fmt, path)
        except OSError as exc:
            raise InputError(
                f"Cannot write the report at {out}: {exc.strerror or exc}. Choose a folder "
                "you can write to."
            ) from None

    # Study tables -----------------------------------------------------------------------

    def study_result(self, study_id: int, annotator: str | None = None) -> StudyResult:
        """The study's results, read once, for every output to render (lineup.report.result):
        its summary (`study show --json`), its tables counting only `annotator`'s labels when
        one is given, its judges, references and answers; InputError when there is no such
        study (a row read: every part is read when first asked for)."""
        return load_study_result(self.store, study_id, annotator)

    def study_tables(self, study_id: int, annotator: str | None = None) -> StudyTables:
        """`study_result(study_id, annotator).tables`: relevance, speed or voices, answers per
        item, repeats, transcripts. Definitions: lineup.report.tables."""
        return self.study_result(study_id, annotator).tables

    def study_summary(self, study_id: int) -> dict[str, Any]:
        """`study_result(study_id).summary`: the study's state and per-model figures as plain
        JSON values (`study show --json`)."""
        return self.study_result(study_id).summary

    def export_study(self, study_id: int, fmt: Literal["csv", "xlsx"], out: Path) -> list[Path]:
        """Write the study's tables and raw rows as one CSV per table into the folder `out`;
        xlsx is the report workbook (`study_report(study_id, "xlsx", out)`), the one XLSX
        product of a study. The files written; InputError for an unknown study or format."""
        if fmt not in ("csv", "xlsx"):
            raise InputError(f"A study is exported as csv or xlsx, not {fmt!r}.")
        result = load_study_result(self.store, study_id)  # InputError before any file
        try:
            if fmt == "xlsx":  # the report workbook: the one XLSX product of a study
                path = out / f"study-{study_id}.xlsx" if out.is_dir() else out
                return write_report(result, self.media, "xlsx", path)
            return write_csv(result, out)
        except OSError as exc:
            raise InputError(
                f"Cannot write the export at {out}: {exc.strerror or exc}. Choose a folder "
                "you can write to."
            ) from None

    # Study pages ------------------------------------------------------------------------

    def reap_studies(self) -> list[int]:
        """Studies left `running` by a process that is gone become `paused`, ready to resume
        (the studies page does this on every run); returns their ids."""
        return reap_studies(self.store)

    def study_annotators(self, study_id: int) -> list[str]:
        """The names with a label that counts on the study's answers, in alphabetical order
        (the choices of the study page's annotator filter)."""
        return study_annotators(self.store, study_id)

    def run_of(self, generation_id: int) -> Run | None:
        """The run that holds a generation, with every generation of it and their labels (for
        a study's answer: the item's answers of every model and repeat); None when there is no
        such generation."""
        generation = self.store.get_generation(generation_id)
        return None if generation is None else self.run(generation.run_id)

    # Leaderboard filters ----------------------------------------------------------------

    def leaderboard_filter_choices(self) -> FilterChoices:
        """What the leaderboard's filters can be set to: the studies (newest first), the sets,
        the tags of their items, the annotators with a label that counts, the states."""
        return filter_choices(self.store)

    # Judge ------------------------------------------------------------------------------

    def start_reference(self, study_id: int, model: str) -> StudyRun:
        """Run the study's reference model (any VLM spec or name) as a study of its own over
        the same set with the same parameters, one answer per item: new, or resumed where it
        stopped. One of INPUT_ERRORS for an unknown or voice study, a bad spec, or another
        reference model already named for the study. Definitions: lineup.references."""
        info = scored_study(self.store, study_id)
        resolved = self._resolve_all([model], "vlm")
        existing = reference_study(self.store, study_id)
        if existing is not None:
            if existing.models[0] != model:
                raise InputError(
                    f"Study {study_id}'s reference model is {existing.models[0]}; a study has "
                    "one reference model. Start a new study to compare against another."
                )
            return self._resume(existing.id, resolved)
        reference_id = create_study(
            self.store,
            set_id=info.set_id,
            models=[model],
            repeats=1,
            params=dict(info.params),
            reference_for=study_id,
        )
        return self._run_study(reference_id, resolved)

    def reference_of(self, study_id: int) -> StudyInfo | None:
        """The study that runs `study_id`'s reference model, if one was named."""
        return reference_study(self.store, study_id)

    def reference_summary(self, study_id: int) -> dict[str, Any] | None:
        """What `study show --json` says of the study's reference model (None without one);
        InputError for a study that cannot have one (lineup.references)."""
        return reference_summary(self.store, scored_study(self.store, study_id))

    def reference_answers(self, study_id: int) -> dict[int, str]:
        """Per item id, the reference model's complete answer (empty without a reference
        model; lineup.references)."""
        return {item: found.text for item, found in model_references(self.store, study_id).items()}

    def judge_template(self, study_id: int, protocol: str = PROTOCOL_REFERENCE) -> str:
        """The template the study's judge fills under `protocol`: the person's, else the
        default (lineup.judge)."""
        return judge_template(scored_study(self.store, study_id), check_protocol(protocol))

    def set_judge_template(self, study_id: int, protocol: str, template: str | None) -> None:
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
        resolved = self.resolve(judge, "vlm")
        if reference_needed:
            self._check_reference(study_id, protocol)
        return resolved

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
                "The pairwise protocol compares each answer with the reference model's: name "
                f"one first (study score {study_id} --reference-model SPEC)."
            )

    def judge_study(
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
            image_of=self._stored_image,
            sees_images=judge_sees_images(resolved.spec, resolved.api_key_env),
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            secrets=self.secrets(),
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
            lambda progress, stop: self.judge_study(
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

    def study_judges(self, study_id: int) -> list[JudgeSetting]:
        """Every judge and protocol with a finished verdict on the study, the latest first,
        each with the token limit and timeout of its latest verdict (lineup.judge)."""
        return judge_settings(self.store, study_id)

    @property
    def _store_key(self) -> str:
        """The store's address with any password hidden: which store a job works on."""
        return str(self.store.engine.url)

    def judge_figures(
        self, study_id: int, judge: str, protocol: str = PROTOCOL_REFERENCE
    ) -> dict[str, dict[str, Any]]:
        """Per model: the judge's mean figure with its 95% bootstrap interval, the answers
        scored and the failures (lineup.judge.judge_figures)."""
        return judge_figures(self.store, study_id, judge, protocol)

    # Discovery --------------------------------------------------------------------------

    def kinds(self) -> dict[str, KindInfo]:
        """Every backend kind, by name: its modality and what it is."""
        return dict(KINDS)

    def endpoint_reports(self, *, past: bool = False) -> list[EndpointReport]:
        """Each endpoint of backends.toml (and Ollama's): up or not, and its models; with
        `past`, then each endpoint only the specs of stored answers name (`@BASE_URL` typed in
        a past comparison), its URL redacted and the specs in `used_by`."""
        return probe_endpoints(self.config, self.store if past else None)

    def local_models(self, modality: Modality | None = None) -> list[DiscoveredModel]:
        """Models that need no server (of one modality, or all)."""
        found = local_models()
        if modality is None:
            return found
        return [m for m in found if self._modality(m.spec) == modality]

    def named_models(self, modality: Modality) -> list[str]:
        """The names backends.toml gives models of this modality."""
        return [m.name for m in self.config.models if self._modality(m.spec) == modality]

    def forget_descriptions(self) -> None:
        """Ask every backend for its model's description afresh on the next run."""
        self.described.forget()

    # Warnings ---------------------------------------------------------------------------

    def language_warnings(
        self,
        texts: str | Sequence[str],
        voices: Sequence[str],
        stt: str | None = DEFAULT_STT,
    ) -> list[str]:
        """A warning for each voice, and the STT model, that cannot handle the script of one of
        the sentences. Voices may be specs or names from backends.toml; one that is not a
        usable voice (or STT model) gives no warning: starting the run says what is wrong."""
        sentences = [
            text for text in ([texts] if isinstance(texts, str) else texts) if text.strip()
        ]
        if not sentences or not voices:
            return []
        resolved = [model for voice in voices if (model := self._resolved_or_none(voice, "tts"))]
        return language_warnings(
            sentences,
            resolved,
            stt=self._resolved_or_none(stt, "stt") if stt is not None else None,
        )

    # Leaderboards and exports -----------------------------------------------------------

    def leaderboard(
        self, kind: RunKind, filter: LeaderboardFilter | None = None
    ) -> list[dict[str, Any]]:
        """One row per model (`vlm`) or voice (`tts`): label shares, speed, failures; for
        voices the WER too. Definitions: lineup.metrics and lineup.tts_metrics. With a filter,
        over the generations and labels it keeps (lineup.leaderboard_filter); InputError when
        it names a study, set, tag or annotator the store does not hold."""
        if filter is None or filter.is_empty:
            filter = None  # the unfiltered leaderboard reads its indexes alone
        else:
            check_filter(self.store, filter)
        if kind == "vlm":
            return vlm_leaderboard(self.store, filter)
        return tts_leaderboard(self.store, filter)

    def export_columns(self, table: ExportTable) -> tuple[str, ...]:
        """The columns of a raw export, in the order `export_rows` yields them."""
        return GENERATION_EXPORT_COLUMNS if table == "generations" else LABEL_EXPORT_COLUMNS

    def export_count(self, kind: RunKind, table: ExportTable) -> int:
        """How many rows a raw export holds (every generation of a kind, or every label on
        its complete generations)."""
        return self.store.export_count(kind, table)

    def export_rows(self, kind: RunKind, table: ExportTable) -> Iterator[tuple[Any, ...]]:
        """The rows of a raw export, as stored, streamed from the store in batches."""
        return self.store.export_rows(kind, table)

    def voice_figures(self, run: Run) -> dict[str, dict[str, Any]]:
        """Per voice of a stored TTS run: the WER, CER and speed over its clips."""
        by_voice: dict[str, list[Generation]] = {}
        for generation in run.generations:
            by_voice.setdefault(generation.model_spec, []).append(generation)
        figures = {}
        for voice, clips in by_voice.items():
            frame = pd.DataFrame(
                [
                    {c: getattr(g, c, None) for c in CLIP_COLUMNS} | {"input_text": run.input_text}
                    for g in clips
                ],
                columns=CLIP_COLUMNS,
            )
            figures[voice] = voice_figures(frame)
        return figures

    def clip_summary(self, results: Iterable[ClipResult]) -> list[dict[str, Any]]:
        """The same figures per voice for the clips of one comparison, in the voices' order."""
        return summarize_clips(results)

    # Comparisons ------------------------------------------------------------------------

    def start_vlm(
        self,
        *,
        question: str,
        models: list[str],
        image: ValidatedImage | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        timeout_s: float | None = None,
        blind: bool = False,
        request_id: str | None = None,
    ) -> Comparison:
        """Check everything (the one place that does), store the image and the run, then
        start every model at once. Raises one of INPUT_ERRORS, with nothing stored, for a bad
        question, system prompt, timeout or model.

        `request_id` (a page form's token) starts at most one run: a second call with it (a
        double click), even at the same moment from another thread, returns the comparison
        the first started, whatever its other arguments."""
        return self.started(
            _request_key("vlm", request_id),
            lambda: self._start_vlm(
                question=question,
                models=models,
                image=image,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                timeout_s=timeout_s,
                blind=blind,
            ),
        )

    def _start_vlm(
        self,
        *,
        question: str,
        models: list[str],
        image: ValidatedImage | None,
        system: str | None,
        temperature: float | None,
        max_tokens: int | None,
        seed: int | None,
        timeout_s: float | None,
        blind: bool,
    ) -> Comparison:
        question = check_question(question)
        system = check_system_prompt(system)
        timeout = self.timeout(timeout_s)
        resolved = self._resolve_all(models, "vlm")
        image_hash = self.media.put(image.data, image.suffix) if image is not None else None
        request = VLMRequest(
            question=question,
            image=image,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
        )
        return start_vlm_comparison(
            self.store,
            resolved,
            request,
            image_hash=image_hash,
            timeout_s=timeout,
            blind=blind,
            secrets=self.secrets(),
            describe=self.described,
        )

    def start_tts(
        self,
        *,
        texts: str | Sequence[str],
        voices: list[str],
        samples: int = 1,
        stt: str | None = DEFAULT_STT,
        seed: int | None = None,
        timeout_s: float | None = None,
        request_id: str | None = None,
    ) -> TTSComparison:
        """Check everything (the one place that does), store one run per sentence, start every
        voice. Raises one of INPUT_ERRORS, with nothing stored, for a bad sentence, sample
        count, seed, timeout, voice or STT model.

        Voices may be specs or names from backends.toml; a voice's #PRESET is passed to
        its synthesize(). See lineup.tts_runner for what each clip records. `request_id`
        starts at most one comparison, as in `start_vlm`.
        """
        return self.started(
            _request_key("tts", request_id),
            lambda: self._start_tts(
                texts=texts,
                voices=voices,
                samples=samples,
                stt=stt,
                seed=seed,
                timeout_s=timeout_s,
            ),
        )

    def _start_tts(
        self,
        *,
        texts: str | Sequence[str],
        voices: list[str],
        samples: int,
        stt: str | None,
        seed: int | None,
        timeout_s: float | None,
    ) -> TTSComparison:
        timeout = self.timeout(timeout_s)
        sentences = [texts] if isinstance(texts, str) else list(texts)
        checked = [check_sentence(text) for text in sentences if text.strip()]
        if not checked:
            raise InputError("Type a sentence for the voices to speak.")
        if samples < 1:
            raise InputError(f"The number of samples must be at least 1, not {samples}.")
        if seed is not None:
            check_seed(seed, samples=samples)
        resolved = self._resolve_all(voices, "tts")
        stt_model = self._resolve_all([stt], "stt")[0] if stt is not None else None
        return start_tts_comparison(
            self.store,
            self.media,
            resolved,
            checked,
            samples=samples,
            stt=stt_model,
            timeout_s=timeout,
            seed=seed,
            secrets=self.secrets(),
        )

    def run_inputs(self, run_ids: Sequence[int]) -> RunInputs | None:
        """What these stored runs were asked with (one VLM run, or the runs of one TTS
        comparison); None when the first does not exist."""
        runs = self.runs(run_ids)
        return inputs_of(runs) if runs else None

    def start_again(
        self, run_ids: Sequence[int], *, request_id: str | None = None
    ) -> Comparison | TTSComparison:
        """A new comparison with the inputs of these stored runs (one VLM run, or the runs
        of one TTS comparison): the same question or sentences, image, models or voices and
        parameters, seed included. InputError when the runs are gone; `request_id` as in
        `start_vlm`."""
        inputs = self.run_inputs(run_ids)
        if inputs is None:
            raise InputError(f"There is no run {run_ids[0] if run_ids else ''} to run again.")
        if inputs.kind == "tts":
            return self.start_tts(
                texts=list(inputs.texts),
                voices=list(inputs.models),
                samples=inputs.samples,
                stt=inputs.stt,
                seed=inputs.seed,
                timeout_s=inputs.timeout_s,
                request_id=request_id,
            )
        image = None
        if inputs.image_hash is not None:
            try:
                image = self._stored_image(inputs.image_hash)
            except FileNotFoundError:
                raise MediaError(
                    "This run's image is missing from the media store, so it cannot run "
                    "again; upload the image and press Compare."
                ) from None
        return self.start_vlm(
            question=inputs.texts[0],
            models=list(inputs.models),
            image=image,
            system=inputs.system,
            temperature=inputs.temperature,
            max_tokens=inputs.max_tokens,
            seed=inputs.seed,
            timeout_s=inputs.timeout_s,
            blind=inputs.blind,
            request_id=request_id,
        )

    # Models -----------------------------------------------------------------------------

    def resolve(self, model: str, modality: Modality) -> ResolvedModel:
        """A spec or a backends.toml name, resolved once (lineup.catalog.resolver): what the
        runner, studies and the judge are given. SpecError when it is not a model of
        `modality`."""
        return resolve(model, modality, self.config)

    def model_label(self, name: str, spec: str | None = None) -> ModelLabel:
        """How a model shows: its name as typed, with the full spec in the tooltip: `spec`,
        the one it stood for when its answer was made (generations.resolved_spec), else the
        one backends.toml gives the name now. No resolution: a lookup of the name."""
        named = self.config.named(name.strip())
        if spec is None or spec == name:
            spec = named.spec if named is not None else name
        return model_label(name, spec, named=named is not None or ":" not in name)

    def _resolve_all(self, models: Sequence[str], modality: Modality) -> list[ResolvedModel]:
        """Every spec or name, before anything runs; SpecError naming the bad one."""
        return resolve_all(models, modality, self.config)

    def _resolved_or_none(self, model: str, modality: Modality) -> ResolvedModel | None:
        try:
            return self.resolve(model, modality)
        except SpecError:
            return None

    @staticmethod
    def _modality(spec_text: str) -> Modality | None:
        kind = spec_text.split(":", 1)[0]
        return KINDS[kind].modality if kind in KINDS else None


def _request_key(kind: str, request_id: str | None) -> str | None:
    """A start's request id, apart per kind of start (a token is only ever one form's)."""
    return None if request_id is None else f"{kind}:{request_id}"
