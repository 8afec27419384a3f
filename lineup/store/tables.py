"""The tables of the store: runs, generations, labels; the states of a generation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lineup.core import RUNNING

# Limits of the String columns, the same on every database (SQLite would accept longer
# values, PostgreSQL refuses them): the store checks them before anything is written.
MODEL_SPEC_MAX_CHARS = 512
ANNOTATOR_MAX_CHARS = 128
HOST_MAX_CHARS = 255


def ok_rows_with(*columns: str) -> str:
    """SQL for the `ok` generations that have a value in every one of `columns`: the rows a
    figure of the leaderboards counts, and the predicate of the partial index that holds them
    (lineup.store queries with the same text, which SQLite needs to pick that index)."""
    return " AND ".join(["status = 'ok'", *(f"{column} IS NOT NULL" for column in columns)])


# The kind of a study's warm-up request (its run's and its generation's): in no figure, which
# all read `vlm` or `tts` (lineup.study.running).
WARMUP: Final = "warmup"

# An answer that included a model load (Generation.cold, lineup.measure.timing.cold_start): the
# speed medians leave it out and show it apart. Unknown (NULL) counts with the warm ones.
WARM = "cold IS NOT TRUE"
COLD = "cold IS TRUE"
# The speed figures the cold answers are shown with (lineup.measure.figures.COLD_FIGURES).
COLD_COLUMNS = ("ttft_s", "total_s", "tokens_per_s", "rtf", "gen_s")


def warm_rows_with(*columns: str) -> str:
    """SQL for the warm `ok` generations (not known to be cold) that have a value in every one
    of `columns`: the rows a speed median counts (MEDIAN_GROUPS), and its index's predicate."""
    return f"{ok_rows_with(*columns)} AND {WARM}"


# Normally no row: a WER stored without its transcript (lineup.store checks for them). Without
# a condition on status, so that only its own (empty) index can answer it.
WER_WITHOUT_TRANSCRIPT = "wer IS NOT NULL AND transcript IS NULL"


def rows_without(kind: str, *columns: str) -> str:
    """SQL for the generations of `kind` that a speed median of `columns` does not count: those
    that lack a value in any of `columns`, or are cold. Normally few `ok` ones among them, so
    their partial index answers "how many warm `ok` rows have them all" as the `ok` count minus
    its own small count (lineup.store.middle_values), instead of a walk over every value.
    Without a condition on the state, so that SQLite picks this index and not the one of
    every row by state."""
    missing = " OR ".join([*(f"{column} IS NULL" for column in columns), COLD])
    return f"kind = '{kind}' AND ({missing})"


# The groups of columns whose medians the leaderboards give, by kind: each median is over the
# warm `ok` rows that have every column of its group (lineup.measure); the cold ones apart.
MEDIAN_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "vlm": (("ttft_s", "total_s"), ("tokens_per_s",)),
    "tts": (("rtf",), ("gen_s",)),
}


def _gap_index(kind: str, columns: tuple[str, ...]) -> Index:
    where = text(rows_without(kind, *columns))
    return Index(
        f"ix_generations_{kind}_without_{'_'.join(columns)}",
        "kind",
        "model_spec",
        "status",
        *columns,
        "cold",  # in its predicate: the index answers alone (a covering index)
        sqlite_where=where,
        postgresql_where=where,
    )


def _figure_index(
    name: str, *columns: str, present: tuple[str, ...] = (), warm: bool = False
) -> Index:
    """The `ok` generations with a value in each of `present` (by default the first column),
    the warm ones only with `warm` (a speed median's), by kind, model spec then `columns`."""
    rows = warm_rows_with if warm else ok_rows_with
    where = text(rows(*(present or columns[:1])))
    return Index(
        f"ix_generations_ok_{name}",
        "kind",
        "model_spec",
        "status",
        *columns,
        # In a warm index's predicate: the index answers alone (a covering index).
        *(["cold"] if warm else []),
        sqlite_where=where,
        postgresql_where=where,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


SET_NAME_MAX_CHARS = 128
LANGUAGE_MAX_CHARS = 35  # the longest language tag the sets accept (lineup.sets)


class QuestionSet(Base):
    """A stored question set (lineup.sets reads them): its items in order."""

    __tablename__ = "question_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(SET_NAME_MAX_CHARS), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # vlm | tts
    source: Mapped[str | None] = mapped_column(Text)  # where it was imported from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    items: Mapped[list[SetItemRow]] = relationship(
        back_populates="question_set", order_by="SetItemRow.position"
    )


class SetItemRow(Base):
    """One item of a set: a question about an image (with the image's hash in the media store)
    or a sentence, an optional reference answer, language and tags."""

    __tablename__ = "set_items"
    __table_args__ = (Index("uq_set_items_position", "set_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("question_sets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    image_hash: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX_CHARS))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    question_set: Mapped[QuestionSet] = relationship(back_populates="items")


# The states of a study (lineup.study.running): `running` while a process works through it (its
# owner and heartbeat say which), `paused` (asked to stop, or its process died: resumable),
# `cancelled` (stopped for good) or `done` (every (item, model, repeat) has a final row).
STUDY_RUNNING: Final = "running"
STUDY_PAUSED: Final = "paused"
STUDY_CANCELLED: Final = "cancelled"
STUDY_DONE: Final = "done"


class Study(Base):
    """A question set against several models (or voices) with K repeats and the parameters of
    a comparison. Its answers are ordinary generations carrying the study, the item and the
    repeat; one of each (item, model, repeat) at most (`uq_generations_study_key`)."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("question_sets.id"))
    kind: Mapped[str] = mapped_column(String(8))  # vlm | tts, the set's
    models: Mapped[list[str]] = mapped_column(JSON)  # specs or names, in column order
    repeats: Mapped[int] = mapped_column(Integer)  # K; for voices the samples per sentence
    # The comparison's parameters: system, temperature, max_tokens, seed, timeout_s, stt.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=STUDY_RUNNING)
    # A pause or cancel asked for by another process (the CLI, another app): the owner obeys.
    requested: Mapped[str | None] = mapped_column(String(16))
    owner_host: Mapped[str | None] = mapped_column(String(HOST_MAX_CHARS))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set on a reference model's study: the study whose reference column it is (same set, one
    # model, one repeat; shown apart and never ranked). At most one per study.
    reference_for: Mapped[int | None] = mapped_column(ForeignKey("studies.id"))
    # The person's judge templates for this study, by protocol (lineup.score.judge); None: default.
    judge_templates: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The machine that last ran it (lineup.run.provenance.machine_snapshot); None before 0015.
    machine: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    question_set: Mapped[QuestionSet] = relationship()

    __table_args__ = (
        Index(
            "uq_studies_reference_for",
            "reference_for",
            unique=True,
            sqlite_where=text("reference_for IS NOT NULL"),
            postgresql_where=text("reference_for IS NOT NULL"),
        ),
    )


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        # The leaderboards find the runs of one kind from this index alone.
        Index("ix_runs_kind_id", "kind", "id"),
        # A study has one run per item.
        Index(
            "uq_runs_study_item",
            "study_id",
            "item_id",
            unique=True,
            sqlite_where=text("study_id IS NOT NULL"),
            postgresql_where=text("study_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # vlm | tts | warmup (a study's warm-up request)
    input_text: Mapped[str] = mapped_column(Text)
    image_hash: Mapped[str | None] = mapped_column(String(64))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int | None] = mapped_column(Integer)
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # For a study: the study and the item this run asks.
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("set_items.id"))
    # The machine that ran it (lineup.run.provenance.machine_snapshot); None before 0015 and
    # for a study's runs (their study holds it).
    machine: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    generations: Mapped[list[Generation]] = relationship(
        back_populates="run", order_by="Generation.position"
    )


class Generation(Base):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    # The kind of its run (vlm | tts | warmup), copied when the row is written (the store does
    # it) and never changed, so that every aggregate of one kind reads one index of generations.
    # A study's warm-up request (lineup.study.running) is of kind `warmup`: stored and marked,
    # it is in no figure, leaderboard, export, queue or label, which all read `vlm` or `tts`.
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The model as the person named it (a spec, or a name from backends.toml): what every
    # figure groups by. `resolved_spec`: the full spec it stood for when the row was made.
    model_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    resolved_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    sample_index: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    output_text: Mapped[str | None] = mapped_column(Text)
    reasoning_text: Mapped[str | None] = mapped_column(Text)
    audio_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # The error's English template and values ({"template": ..., "values": {...}}), redacted
    # as `error` is, so a page says it in its language (lineup.core.Message); None: English only.
    error_said: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Timings, measured by the runner (see docs/design.md, "Timing").
    ttft_s: Mapped[float | None] = mapped_column(Float)
    reasoning_ttft_s: Mapped[float | None] = mapped_column(Float)
    total_s: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens_source: Mapped[str | None] = mapped_column(String(8))
    tokens_per_s: Mapped[float | None] = mapped_column(Float)
    tokens_per_s_source: Mapped[str | None] = mapped_column(String(8))
    chars_per_s: Mapped[float | None] = mapped_column(Float)
    load_s: Mapped[float | None] = mapped_column(Float)
    prompt_eval_s: Mapped[float | None] = mapped_column(Float)
    # True when the answer included a model load, False when it did not, None when nothing
    # says (lineup.measure.timing.cold_start): the speed medians count the answers not known
    # to be cold and show the cold ones apart.
    cold: Mapped[bool | None] = mapped_column(Boolean)
    # Energy over the answer's time, in joules, of the whole device named by energy_source
    # (lineup.run.meters): "nvml:<gpu>" or "rapl:<package>"; not the model's alone. NULL: n/a.
    energy_j: Mapped[float | None] = mapped_column(Float)
    energy_source: Mapped[str | None] = mapped_column(String(64))
    # The GPU's memory in use (NVML, the whole device) at the larger of the answer's start and
    # end, for in-process engines on a machine with an NVIDIA GPU; NULL: n/a.
    gpu_mem_mb: Mapped[float | None] = mapped_column(Float)
    # Text to speech.
    gen_s: Mapped[float | None] = mapped_column(Float)
    audio_s: Mapped[float | None] = mapped_column(Float)
    rtf: Mapped[float | None] = mapped_column(Float)
    sample_rate_hz: Mapped[int | None] = mapped_column(Integer)
    peak_mem_mb: Mapped[float | None] = mapped_column(Float)
    stt_spec: Mapped[str | None] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    stt_s: Mapped[float | None] = mapped_column(Float)  # the transcription's own seconds
    transcript: Mapped[str | None] = mapped_column(Text)
    wer: Mapped[float | None] = mapped_column(Float)
    cer: Mapped[float | None] = mapped_column(Float)
    # WER's numerator and denominator (lineup.measure.wer): the corpus WER of a voice is the sum
    # of one over the sum of the other.
    word_errors: Mapped[int | None] = mapped_column(Integer)
    reference_words: Mapped[int | None] = mapped_column(Integer)
    # The most other requests this process had in flight beside this one on its host and on
    # its endpoint (lineup.run.contention); NULL for rows from before migration 0014.
    concurrent_max: Mapped[int | None] = mapped_column(Integer)
    concurrent_endpoint_max: Mapped[int | None] = mapped_column(Integer)
    # What the backend reports about the model: digest, quantisation, server version, ...
    backend_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Who runs it while it is `running`: the owner's host and process, and a heartbeat the
    # owner refreshes (with the partial text) at least once a second. A row whose owner is
    # gone becomes `interrupted` (lineup.run.liveness).
    owner_host: Mapped[str | None] = mapped_column(String(HOST_MAX_CHARS))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # For a study: its (study, item, repeat), set while the row is the study's answer for them.
    # A row left unfinished by a dead or stopped process loses them when the study resumes
    # (it stays in its run as history) and a new row takes them.
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("set_items.id"))
    repeat: Mapped[int | None] = mapped_column(Integer)

    run: Mapped[Run] = relationship(back_populates="generations")
    labels: Mapped[list[Label]] = relationship(
        back_populates="generation", order_by="Label.created_at"
    )

    __table_args__ = (
        # Each index serves one filter of the aggregates (lineup.store, "Frames for the metrics"):
        # they read these indexes alone, never the rows. A partial index holds only the rows a
        # figure counts, ordered by its value, so a median is a walk to the middle of it.
        Index("ix_generations_run_id_model_spec", "run_id", "model_spec"),
        Index("ix_generations_kind_spec_status", "kind", "model_spec", "status"),
        # The running rows (the reaper), and the failed rows of a kind (the label export count).
        Index("ix_generations_status_kind", "status", "kind"),
        _figure_index("ttft_total", "ttft_s", "total_s", present=("ttft_s", "total_s"), warm=True),
        _figure_index("total_ttft", "total_s", "ttft_s", present=("ttft_s", "total_s"), warm=True),
        _figure_index("tokens_per_s", "tokens_per_s", warm=True),
        _figure_index("rtf", "rtf", warm=True),
        _figure_index("gen_s", "gen_s", warm=True),
        # The cold answers, shown apart from the speed medians (normally few), with their
        # speed figures (lineup.measure.figures.COLD_FIGURES): it answers alone.
        Index(
            "ix_generations_cold",
            "kind",
            "model_spec",
            "status",
            *COLD_COLUMNS,
            "cold",
            sqlite_where=text(COLD),
            postgresql_where=text(COLD),
        ),
        _figure_index("peak_mem_mb", "peak_mem_mb"),
        _figure_index("concurrent_max", "concurrent_max"),
        _figure_index("wer", "wer", "cer", "word_errors", "reference_words"),
        # The few rows that lack a figure of a median (see rows_without).
        *(_gap_index(kind, group) for kind, groups in MEDIAN_GROUPS.items() for group in groups),
        # Each (item, model, repeat) of a study is one generation; the study's rows by item.
        Index(
            "uq_generations_study_key",
            "study_id",
            "item_id",
            "model_spec",
            "repeat",
            unique=True,
            sqlite_where=text("study_id IS NOT NULL"),
            postgresql_where=text("study_id IS NOT NULL"),
        ),
        # Normally empty: a WER stored without its transcript (see lineup.store).
        Index(
            "ix_generations_wer_without_transcript",
            "kind",
            "model_spec",
            sqlite_where=text(WER_WITHOUT_TRANSCRIPT),
            postgresql_where=text(WER_WITHOUT_TRANSCRIPT),
        ),
    )


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    # Its generation's kind and model spec, copied when the label is written (the store does
    # it; neither ever changes), so that the label counts read one index of labels.
    kind: Mapped[str] = mapped_column(String(8))
    model_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    # The label that counts: its annotator's latest (greatest created_at, then greatest id) on
    # a complete (`ok`) generation. The store keeps it true of exactly one label per
    # (generation, annotator) at most, on every write (lineup.store, `_recount_labels`); a
    # unique index makes two impossible.
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    annotator: Mapped[str] = mapped_column(String(ANNOTATOR_MAX_CHARS))
    relevance: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    generation: Mapped[Generation] = relationship(back_populates="labels")

    __table_args__ = (
        # Each annotator's latest label on a generation is read from this index alone.
        Index("ix_labels_latest", "generation_id", "annotator", "created_at", "id", "relevance"),
        # The labels that count, by kind and spec: the leaderboards' label counts.
        Index(
            "ix_labels_counted",
            "kind",
            "model_spec",
            "relevance",
            sqlite_where=text("counted"),
            postgresql_where=text("counted"),
        ),
        Index(
            "uq_labels_counted",
            "generation_id",
            "annotator",
            unique=True,
            sqlite_where=text("counted"),
            postgresql_where=text("counted"),
        ),
        # The labels of a kind (the label export count).
        Index("ix_labels_kind", "kind"),
    )


# The states of a judge's verdict (lineup.score.judge): `asking` while a process waits for the judge
# (its owner on the row), then `scored`, `unparsed` (a complete reply without a parsable score:
# a visible failure, never a zero) or `failed` (the request failed: a re-run asks again).
JUDGE_ASKING: Final = "asking"
JUDGE_SCORED: Final = "scored"
JUDGE_UNPARSED: Final = "unparsed"
JUDGE_FAILED: Final = "failed"


class JudgeScore(Base):
    """An LLM judge's verdict on one answer of a study under one protocol and one filled-in
    prompt: what was sent (images as their media hash), the reply, the parsed score (1-10) and
    reasons, or what went wrong. One row per (answer, judge, protocol, prompt hash), claimed
    before the judge is asked, so a re-run asks nothing twice and two processes never both
    ask; an edited template is another prompt hash, so it asks again."""

    __tablename__ = "judge_scores"
    __table_args__ = (
        Index(
            "uq_judge_scores_key",
            "generation_id",
            "judge_spec",
            "protocol",
            "prompt_hash",
            "position",
            unique=True,
        ),
        # A study's verdicts by judge and protocol (lineup.score.judge_verdicts.judge_figures).
        Index("ix_judge_scores_study", "study_id", "judge_spec", "protocol"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    judge_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    protocol: Mapped[str] = mapped_column(String(16))  # reference | pairwise
    prompt_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the filled-in template
    # Protocol `pairwise`: 1 when the candidate was shown as "Answer 1", 2 when the reference
    # model's answer was; 0 for protocol `reference`.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Protocol `pairwise`: the reference model's answer it was compared with, and its score.
    reference_id: Mapped[int | None] = mapped_column(ForeignKey("generations.id"))
    reference_score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=JUDGE_ASKING)
    saw_image: Mapped[bool] = mapped_column(Boolean, default=False)
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the messages sent
    # The judge's own limits for this request (lineup.score.judge): its output token limit and its
    # timeout in seconds. NULL on verdicts from before they existed (no limit was sent).
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    reply: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)  # 1-10; NULL unless `scored`
    reasons: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)  # the parse failure or the request error
    # Its English template and values, as generations.error_said: said in a page's language.
    error_said: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner_host: Mapped[str | None] = mapped_column(String(HOST_MAX_CHARS))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# A pairwise vote's verdicts (the arena mode of the labeling queue).
VOTE_A: Final = "a"
VOTE_B: Final = "b"
VOTE_TIE: Final = "tie"
VOTE_BOTH_BAD: Final = "both_bad"
VOTES = (VOTE_A, VOTE_B, VOTE_TIE, VOTE_BOTH_BAD)


class PairwiseVote(Base):
    """An annotator's vote on two answers to the same item of a study, shown blind as A and B:
    A better, B better, a tie or both bad. Every vote is kept; an annotator's latest vote on a
    pair (greatest id, whichever side each answer was shown on) is the one that counts."""

    __tablename__ = "pairwise_votes"
    __table_args__ = (Index("ix_pairwise_votes_study", "study_id", "annotator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("set_items.id"))
    annotator: Mapped[str] = mapped_column(String(ANNOTATOR_MAX_CHARS))
    generation_a: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    generation_b: Mapped[int] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(16))  # a | b | tie | both_bad
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _one_per(owner: str) -> Index:
    where = text(f"{owner} IS NOT NULL")
    return Index(
        f"uq_model_provenance_{owner}",
        owner,
        "model_spec",
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


class ModelProvenance(Base):
    """What one model's server or engine said about itself (lineup.run.provenance), asked once
    per model for a comparison (`run_id`; a voice comparison of several sentences has one row
    per run) or for a study (`study_id`): one row per (owner, model as named)."""

    __tablename__ = "model_provenance"
    __table_args__ = (_one_per("run_id"), _one_per("study_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"))
    model_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    resolved_spec: Mapped[str] = mapped_column(String(MODEL_SPEC_MAX_CHARS))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
