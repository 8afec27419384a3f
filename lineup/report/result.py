"""One study's results, read once into one object that every output renders.

`load_study_result(store, study_id)` reads the study's row (InputError without one: checking
that a study exists is a row read) and nothing else; every other part is read or computed the
first time a renderer asks for it and kept (functools.cached_property), so `study show`, the
Studies page, the CSV export, the workbook and the HTML and Markdown reports show the same
figures and none of them computes a part twice: the plan, the answers (one query, the
study/answers builder), the tables, the summary with its Bradley-Terry bootstraps, the item
bootstraps of every figure with an interval (`bootstraps`), each judge's verdicts and
figures, the references, each answer's overlap with its reference.

A new output of a study is one module with one function that takes a StudyResult.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sqlalchemy import func

from lineup.core import OK, InputError, _
from lineup.measure import (
    ItemBootstrap,
    Observation,
    OverlapScores,
    Pair,
    StopLabeling,
    bootstrap_by_item,
    pairs_of,
    ranks_from_pairs,
    remembered_overlap,
    stop_labeling,
)
from lineup.report.answers import Answer, read_answers
from lineup.report.tables import (
    StudyTables,
    build_tables,
    relevance_rows,
    repeat_rows,
    speed_rows,
    voice_rows,
)
from lineup.score import (
    STOP_FIGURE,
    Agreement,
    ItemReference,
    JudgeLabel,
    JudgeReliability,
    ScoredAnswer,
    StudyJudge,
    Verdict,
    judge_labels,
    latest_verdicts,
    overlap_bootstraps,
    reference_summary,
    references_with,
    reliability_of,
    scores_of,
    study_agreement,
    study_judges,
    study_label_bootstraps,
    study_ranking,
    verdict_bootstrap,
    verdict_figures,
)
from lineup.store import Label, Store
from lineup.study import (
    ArenaRating,
    StudyInfo,
    StudyPlan,
    answer_counts,
    arena_ranking,
    counted_labels,
    load_plan,
    reference_study,
    study_info,
)

# The figures whose every pair of models `study show --json` lists (`pairs`), and the one the
# ranks come from (the mean item score: relevant 1, partial 0.5, irrelevant 0).
RANK_FIGURE = "relevance"


class StudyResult:
    """One study's results, read once (see the module docstring). `annotator`: whose labels
    `tables` counts (None: everyone's, as the summary always does)."""

    def __init__(self, store: Store, study: StudyInfo, annotator: str | None = None) -> None:
        self.store = store
        self.study = study
        self.annotator = annotator
        self._verdicts: dict[StudyJudge, dict[int, Verdict]] = {}
        self._figures: dict[StudyJudge, dict[str, dict[str, Any]]] = {}
        self._judge_bootstraps: dict[StudyJudge, ItemBootstrap] = {}
        self._judge_labels: dict[StudyJudge, list[JudgeLabel]] = {}
        self._reliability: dict[StudyJudge, JudgeReliability] = {}
        self._overlaps: dict[tuple[str, str | None], OverlapScores | None] = {}

    # What the database holds ----------------------------------------------------------------

    @cached_property
    def plan(self) -> StudyPlan:
        return load_plan(self.store, self.study.id)

    @cached_property
    def states(self) -> dict[str, dict[str, int]]:
        """Per model, its answers by state."""
        return answer_counts(self.store, self.study.id)

    @cached_property
    def answers(self) -> tuple[Answer, ...]:
        return read_answers(self.store, self.study.id)

    @cached_property
    def label_counts(self) -> dict[int, dict[str, int]]:
        """Per answer, its counted labels by relevance (everyone's)."""
        counts: dict[int, dict[str, int]] = {}
        query = counted_labels(
            self.study.id, Label.generation_id, Label.relevance, func.count()
        ).group_by(Label.generation_id, Label.relevance)
        with self.store.session() as session:
            for gid, relevance, n in session.execute(query):
                counts.setdefault(gid, {})[relevance] = n
        return counts

    @cached_property
    def references(self) -> dict[int, ItemReference]:
        return references_with(self.store, self.study.set_id, self.reference_study)

    @cached_property
    def reference_study(self) -> StudyInfo | None:
        return reference_study(self.store, self.study.id)

    @cached_property
    def reference_answers(self) -> dict[int, list[Answer]]:
        """The reference model's answers by item (empty without a reference model)."""
        if self.reference_study is None:
            return {}
        by_item: dict[int, list[Answer]] = {}
        for answer in read_answers(self.store, self.reference_study.id):
            by_item.setdefault(answer.item_id, []).append(answer)
        return by_item

    @cached_property
    def reference(self) -> dict[str, Any] | None:
        """What `study show --json` says of the reference model (VLM studies)."""
        if self.study.kind != "vlm":
            return None
        return reference_summary(self.store, self.study, self.references)

    # The judges -----------------------------------------------------------------------------

    @cached_property
    def judges(self) -> list[StudyJudge]:
        """Every judge and protocol that ran on the study, the latest first."""
        return study_judges(self.store, self.study.id)

    @property
    def judge(self) -> StudyJudge | None:
        """The latest judge: the one whose figures the models carry."""
        return self.judges[0] if self.judges else None

    def verdicts(self, judge: StudyJudge) -> dict[int, Verdict]:
        if judge not in self._verdicts:
            self._verdicts[judge] = latest_verdicts(
                self.store, self.study.id, judge.spec, judge.protocol
            )
        return self._verdicts[judge]

    def judge_bootstrap(self, judge: StudyJudge) -> ItemBootstrap:
        """The item bootstrap of the judge's figure (lineup.score's verdict_bootstrap)."""
        if judge not in self._judge_bootstraps:
            self._judge_bootstraps[judge] = verdict_bootstrap(
                self.study.models, self.verdicts(judge)
            )
        return self._judge_bootstraps[judge]

    def judge_figures(self, judge: StudyJudge) -> dict[str, dict[str, Any]]:
        if judge not in self._figures:
            self._figures[judge] = verdict_figures(
                self.study.models, self.verdicts(judge), self.judge_bootstrap(judge)
            )
        return self._figures[judge]

    def judge_labels(self, judge: StudyJudge) -> list[JudgeLabel]:
        """Each counted label beside the judge's score of the same answer."""
        if judge not in self._judge_labels:
            self._judge_labels[judge] = judge_labels(
                self.store, self.study.id, self.verdicts(judge)
            )
        return self._judge_labels[judge]

    def reliability(self, judge: StudyJudge) -> JudgeReliability:
        """The judge's position bias, disputes and agreement per model
        (lineup.score.judge_reliability)."""
        if judge not in self._reliability:
            self._reliability[judge] = reliability_of(
                self.study.models, judge, self.verdicts(judge), self.judge_labels(judge)
            )
        return self._reliability[judge]

    # Figures --------------------------------------------------------------------------------

    def overlap(self, text: str, reference: str | None) -> OverlapScores | None:
        """overlap_scores, each (answer, reference) computed once for every output (and kept
        across results in this process: lineup.measure's remembered_overlap)."""
        key = (text, reference)
        if key not in self._overlaps:
            self._overlaps[key] = remembered_overlap(text, reference)
        return self._overlaps[key]

    @cached_property
    def scored_answers(self) -> list[ScoredAnswer]:
        """The complete answers to the plan's items, as the automatic scores read them."""
        languages = {item.item_id: item.language for item in self.plan.items}
        complete = sorted((a for a in self.answers if a.status == OK), key=lambda a: a.id)
        return [
            ScoredAnswer(
                a.model,
                a.text,
                reference.text if reference else None,
                languages.get(a.item_id),
                a.item_id,
                a.id,
            )
            for a in complete
            if a.item_id in languages
            for reference in [self.references.get(a.item_id)]
        ]

    @cached_property
    def overlap_bootstraps(self) -> dict[str, ItemBootstrap]:
        """The item bootstraps of ROUGE-1, ROUGE-L and chrF (lineup.score's
        overlap_bootstraps); {} for voices."""
        if self.study.kind == "tts":
            return {}
        return overlap_bootstraps(self.study.models, self.scored_answers, self.overlap)

    @cached_property
    def scores(self) -> dict[str, dict[str, Any]]:
        """The automatic scores per model (lineup.score's study_scores); {} for voices."""
        if self.study.kind == "tts":
            return {}
        judged = self.judge_figures(self.judge) if self.judge is not None else {}
        return scores_of(
            self.study.models, self.scored_answers, judged, self.overlap, self.overlap_bootstraps
        )

    @cached_property
    def label_bootstraps(self) -> dict[str, ItemBootstrap]:
        """% relevant and the mean relevance score over everyone's labels, item-bootstrapped
        (lineup.score's study_label_bootstraps)."""
        return study_label_bootstraps(self.store, self.study.id)

    @cached_property
    def voice_bootstraps(self) -> dict[str, ItemBootstrap]:
        """Voices: the item bootstraps (pooled: each clip weighs the same, as the voices
        table's means) of mean_wer over the scored clips (`ok`, with a WER and a transcript)
        and of cer over those with a CER; {} for a VLM study."""
        if self.study.kind != "tts":
            return {}
        wer: list[Observation] = []
        cer: list[Observation] = []
        for a in sorted(self.answers, key=lambda a: a.id):
            if a.status != OK or a.wer is None or a.transcript is None:
                continue
            wer.append((a.item_id, a.model, a.id, a.wer))
            if a.cer is not None:
                cer.append((a.item_id, a.model, a.id, a.cer))
        models = self.study.models
        return {
            "mean_wer": bootstrap_by_item(wer, models=models, pooled=True),
            "cer": bootstrap_by_item(cer, models=models, pooled=True),
        }

    @cached_property
    def bootstraps(self) -> dict[str, ItemBootstrap]:
        """Every per-model figure of the study that has an interval, by its key in `study show
        --json`'s models, as an item bootstrap (lineup.measure.item_bootstrap: ITEM_RESAMPLES
        draws of the items, seed 0): pct_relevant and relevance (everyone's labels); VLM:
        rouge1_f1, rougeL_f1, chrf and, once a judge ran, judge_score (the latest judge's);
        voices: mean_wer and cer. The intervals the outputs show and the paired differences
        of two models (ItemBootstrap.difference) come from these."""
        out = dict(self.label_bootstraps)
        out |= self.overlap_bootstraps
        if self.study.kind != "tts" and self.judge is not None:
            out["judge_score"] = self.judge_bootstrap(self.judge)
        out |= self.voice_bootstraps
        return out

    @cached_property
    def ranking(self) -> dict[str, Any]:
        """Bradley-Terry from the labels (one bootstrap)."""
        return study_ranking(self.store, self.study.id)

    @cached_property
    def pairs(self) -> list[Pair]:
        """Every pair of models on each figure with an item bootstrap (`bootstraps`: the labels'
        relevance and % relevant, then ROUGE, chrF and the judge, or WER and CER for voices),
        the better first (lineup.measure.pairs); the same resamples as the intervals shown."""
        return pairs_of(self.bootstraps)

    @cached_property
    def ranks(self) -> dict[str, int | None]:
        """Each model's rank from the decided pairwise differences of RANK_FIGURE
        (lineup.measure.pairs), ordered by its point figure; None without one."""
        return ranks_from_pairs(
            self.rank_points, [p for p in self.pairs if p.figure == RANK_FIGURE]
        )

    @cached_property
    def rank_points(self) -> dict[str, float | None]:
        """Each model's RANK_FIGURE over all its items: the order the ranks follow."""
        return {m: i.value for m, i in self.label_bootstraps[RANK_FIGURE].intervals().items()}

    @cached_property
    def arena(self) -> dict[str, ArenaRating]:
        """Bradley-Terry from the pairwise votes (one bootstrap)."""
        return arena_ranking(self.store, self.study.id)

    @cached_property
    def stop_labeling(self) -> StopLabeling:
        """Can I stop labeling: the leader's chance of being best, the undecided pairs, the
        items that would decide them (lineup.measure.stopping), over everyone's labels: the
        relevance bootstrap the tables show (lineup.score's study_stop_labeling, built once)."""
        return stop_labeling(self.label_bootstraps[STOP_FIGURE], items_total=len(self.plan.items))

    @cached_property
    def agreement(self) -> Agreement:
        return study_agreement(self.store, self.study.id)

    def relevance_rows(self, annotator: str | None) -> list[dict[str, Any]]:
        if annotator is None:
            return self._relevance_everyone
        mine = study_label_bootstraps(self.store, self.study.id, annotator=annotator)
        return relevance_rows(self.store, self.study, annotator, self.states, mine)

    @cached_property
    def _relevance_everyone(self) -> list[dict[str, Any]]:
        return relevance_rows(self.store, self.study, None, self.states, self.label_bootstraps)

    @cached_property
    def speed_rows(self) -> list[dict[str, Any]]:
        return speed_rows(self.store, self.study, self.answers) if self.study.kind != "tts" else []

    @cached_property
    def repeat_rows(self) -> list[dict[str, Any]]:
        return repeat_rows(self.store, self.study, self.answers) if self.study.kind != "tts" else []

    @cached_property
    def voice_rows(self) -> list[dict[str, Any]]:
        if self.study.kind != "tts":
            return []
        return voice_rows(self.store, self.study, self.answers, self.states, self.voice_bootstraps)

    @cached_property
    def tables(self) -> StudyTables:
        """Every table, counting `annotator`'s labels (everyone's when None)."""
        return build_tables(self, self.annotator)

    @cached_property
    def against_first(self) -> dict[str, Any] | None:
        """Each other model's agreement with the study's first model (lineup.report.against),
        as the reports show it; None for a voice study or a study of one model."""
        if self.study.kind == "tts" or len(self.study.models) < 2:
            return None
        from lineup.report.against import agreement_with

        return agreement_with(self, self.study.models[0])

    @cached_property
    def machine(self) -> dict[str, Any] | None:
        """The machine that ran the study last (lineup.run.provenance); None before 0015."""
        return self.store.machine_of(study_id=self.study.id)

    @cached_property
    def provenance(self) -> dict[str, dict[str, Any]]:
        """{model: what its server or engine said about itself}, asked once in the study."""
        return self.store.provenance_of(study_id=self.study.id)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The study as `study show --json` prints it (lineup.report.summary)."""
        from lineup.report.summary import summarize

        return summarize(self)


def load_study_result(store: Store, study_id: int, annotator: str | None = None) -> StudyResult:
    """The study's result; InputError when there is no such study (one row read)."""
    info = study_info(store, study_id)
    if info is None:
        raise InputError(
            _("There is no study {id}: give the id of a stored study.").format(id=study_id)
        )
    return StudyResult(store, info, annotator)


def study_summary(store: Store, study_id: int) -> dict[str, Any]:
    """Shorthand for `load_study_result(store, study_id).summary`."""
    return load_study_result(store, study_id).summary


def study_tables(store: Store, study_id: int, annotator: str | None = None) -> StudyTables:
    """Shorthand for `load_study_result(store, study_id, annotator).tables`."""
    return load_study_result(store, study_id, annotator).tables
