"""A study's report as one XLSX workbook: a sheet per table, to sort, filter and quote in a
spreadsheet. It is the one XLSX product of a study: `study export --format xlsx` writes it too.

Sheets, in this order (a sheet with no rows is still written, as its header):

- Summary, one row per model (voice) in the relevance table's order (best % relevant first):
  requests (its answers in any state), ok, errors, labeled (the counted labels: each
  annotator's latest on a complete answer), relevant, partial, irrelevant, pct_relevant with
  its 95% item-bootstrap interval (pct_relevant_ci_low, pct_relevant_ci_high, the method in
  pct_relevant_ci_method and, when there is none, the reason in pct_relevant_ci_reason), the
  mean relevance score with its interval (relevance, relevance_ci_*, the same way),
  labeled_answers; then
  the speed table (VLM studies) or the voices' timings (gen_s_per_sentence,
  stt_s_per_sentence, rtf, peak_mem_mb). Definitions: lineup.report.tables.
- Metrics, one row per model in the study's order: for VLM studies the automatic scores of
  lineup.score.automatic (rouge1_f1, rougeL_f1, chrf with their 95% item-bootstrap intervals,
  each with its *_ci_method and *_ci_reason,
  with_reference, language_checked, wrong_language, latin_share, other_script_chars, empty,
  refusals; judge_score with its interval, judged, judge_failures from the study's latest
  judge) and the repeats table (items_repeated, identical_repeats, identical_share,
  mean_repeat_rougeL, mean_length_spread,
  mean_time_spread); for voice studies the WER figures of the voices table (scored, mean_wer
  and cer each with its item-bootstrap interval, wer_std, corpus_wer). Then the Bradley-Terry
  rating, its interval, the items it rests on, the won / lost every comparison flags and why
  there is no rating (RANKING_KEYS), the rank
  from the decided pairwise differences of the relevance score (lineup.measure.pairs: 1 + the
  models shown better than it or than a model scoring at least as high) and that score
  (rank_relevance), and, where the study has them,
  the same from the annotators' pairwise votes (ARENA_KEYS).
- Per item, one row per item (item_id, position, text, reference) and one column per model:
  the score of its counted labels on the item (lineup.report.tables' per-item grid).
- Transcripts (voice studies only), one row per (sentence, repeat), one column per voice: the
  transcript of its `ok` clip.
- Pairs, one row per pair of models and figure, as `study show --json`'s `pairs`
  (lineup.measure.pairs): the figure, a (the better by the point figure) and b, diff (a - b over
  their shared items), its 95% item-bootstrap interval, share_a_better, items, decided (a shown
  better), ci_method, the reason when there is no interval, and the pair in words.
- Judge, one row per verdict of every judge and protocol that ran on the study, the latest
  judge first (lineup.score.judge's study_judges; each judge's latest_verdicts: the latest finished
  verdict on each current complete answer; for protocol `pairwise` the two orders as one):
  the answer's item and question, model, repeat, the judge and protocol,
  status (scored, unparsed or failed), score (1-10), figure (`reference`: score / 10;
  `pairwise`: the candidate's score over the reference model's), reference_score
  (`pairwise`), the judge's reasons and the error. No rows when no judge ran (voice studies are
  never judged).
- Labels: every counted label (each annotator's latest on a complete answer) with its answer's
  item, model and repeat (the study export's label rows, lineup.report.export).
- Agreement, one row per figure of lineup.score.agreement: Krippendorff's alpha over the answers two
  or more annotators labeled, Cohen's kappa of each annotator pair over the answers both
  labeled, and the latest judge against the people (Spearman, kappa), over all and per model;
  then per judge that ran its reliability (lineup.score.judge_reliability: first-position win
  rate and flip rate for the pairwise protocol, and its disputed answers); each with the number
  of answers (or label pairs) it rests on, and what it means or why it is empty.
- Provenance: what ran where, one row per fact (model, field, value, why_empty): the machine's
  (model `(machine)`: CPU, cores, memory, OS, Python, torch, GPUs), then each model's card, what
  its server or engine said about itself (lineup.run.provenance).
- Generations: every generation of the study in any state, every stored column, as the study
  export writes them (lineup.report.export).

Item positions and repeats count from 0, as in the store and the study export, so the sheets
join on generation_id (`id` in Generations), item_id and repeat. Model names are written for a
blind study too: blind hides them while labeling (the label queue); the study's tables and
exports name them.

Cells follow the study export's rules (lineup.report.export): numbers as numbers, text stored
as text, never as a formula (text a spreadsheet would run, lineup.core.cells, with the quote-prefix
style), characters XML refuses replaced, text cut at Excel's cell limit, times in UTC. The
header row is bold and frozen; columns are sized to fit their header and first rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lineup.core import N_, _, current_language
from lineup.report.export import (
    GENERATION_COLUMNS,
    LABEL_COLUMNS,
    Sheet,
    _frame_rows,
    _generations_query,
    _labels_query,
    _streamed,
    provenance_sheet,
    write_sheets,
)
from lineup.report.pairs_matrix import pair_words, reason_text
from lineup.report.result import StudyResult
from lineup.report.summary import RANKING_KEYS
from lineup.report.tables import (
    LABEL_FIGURES,
    REPEAT_COLUMNS,
    SPEED_COLUMNS,
    StudyTables,
    _with_interval,
)
from lineup.report.words import column_word, sheet_name
from lineup.score import ALPHA_SCALE, SCORE_KEYS, StudyJudge, Verdict
from lineup.store import Store

SHEETS = (
    "Summary",
    "Metrics",
    "Per item",
    "Pairs",
    "Judge",
    "Labels",
    "Agreement",
    "Provenance",
    "Generations",
)
VOICE_SHEETS = (*SHEETS[:3], "Transcripts", *SHEETS[3:])
PAIR_COLUMNS = [
    "figure",
    "a",
    "b",
    "diff",
    "ci_low",
    "ci_high",
    "share_a_better",
    "items",
    "decided",
    "ci_method",
    "reason",
    "words",
]

# A model's rating from the annotators' pairwise votes, when the study's summary has it.
ARENA_KEYS = ("arena_rating", "arena_ci_low", "arena_ci_high", "arena_rank", "arena_votes")
SUMMARY_COLUMNS = [
    "model",
    "requests",
    "ok",
    "errors",
    "labeled",
    *LABEL_FIGURES,
    "labeled_answers",
]
VOICE_TIMES = ["gen_s_per_sentence", "stt_s_per_sentence", "rtf", "peak_mem_mb"]
VOICE_WER = [
    "scored",
    *_with_interval("mean_wer"),
    "wer_std",
    "corpus_wer",
    *_with_interval("cer"),
]
JUDGE_COLUMNS = [
    "generation_id",
    "item_id",
    "item_position",
    "question",
    "model",
    "repeat",
    "judge",
    "protocol",
    "status",
    "score",
    "figure",
    "reference_score",
    "reasons",
    "error",
]
# The label rows of the study export, in the order a reader scans them.
LABEL_SHEET_COLUMNS = [
    "generation_id",
    "item_id",
    "item_position",
    "model_spec",
    "repeat",
    "annotator",
    "relevance",
    "comment",
    "created_at",
    "id",
]
AGREEMENT_COLUMNS = ["figure", "between", "and", "value", "n", "meaning"]
FIRST_POSITION_MEANING = N_(
    "The share of the decided pairwise verdicts won by the answer shown first (n: the decided "
    "verdicts; ties left out). 0.5: the order does not sway the judge."
)
FLIP_MEANING = N_(
    "The share of answers judged in both orders whose winner changes when the order is swapped "
    "(n: those answers)."
)
DISPUTED_MEANING = N_(
    "Answers the judge flipped, or whose score (below 4 irrelevant, 8 and up relevant) is two "
    "steps from a person's label: the label queue's Disputed filter walks them."
)

ALPHA_MEANING = N_(
    "Krippendorff's alpha, ordinal (irrelevant < partial < relevant), over the answers two or "
    "more annotators labeled (n): 1 = they always agree, 0 = what chance gives, below 0 = "
    "worse than chance."
)
ALPHA_MISSING = N_(
    "Needs two annotators on the same answers, and at least two different labels among them."
)
KAPPA_MEANING = N_(
    "Cohen's kappa with linear weights over the answers both labeled (n): 1 = the same labels, "
    "0 = chance; relevant against irrelevant weighs twice a one-step disagreement."
)
RAW_MEANING = N_(
    "Raw agreement: the share of the pairs of labels on one answer that are the same relevance "
    "(n answers with two or more labels). The base alpha and kappa correct for chance: when "
    "nearly every label is the same, they can be 0 while this is near 1."
)
RAW_MISSING = N_("Needs two annotators on the same answers.")
KAPPA_MISSING = N_("They share no answer, or each gave one and the same label throughout.")
NO_PAIR = N_("Needs two annotators: no two annotators labeled the same answer yet.")
SPEARMAN_MEANING = N_(
    "Spearman's rank correlation of the judge's scores (1-10) with the people's labels on the "
    "same answers (n label pairs): 1 = the same order."
)
JUDGE_KAPPA_MEANING = N_(
    "Cohen's kappa (linear weights) between the people's labels and the judge's scores read "
    "as labels: below 4 irrelevant, 4-7 partial, 8 and up relevant."
)
JUDGE_MISSING = N_(
    "Undefined: no label beside a judge's score, or one side is the same throughout."
)
NO_JUDGE = N_("No judge ran on this study: python -m lineup study score ID --judge SPEC.")


def _merged(left: pd.DataFrame, right: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`left` with `right`'s `columns` beside it, matched on model, in `left`'s order."""
    return left.merge(right[["model", *columns]], on="model", how="left", sort=False)


def _summary_sheet(tables: StudyTables) -> Sheet:
    relevance = tables.relevance.rename(columns={"requests": "labeled"}).rename(
        columns={"answers": "requests"}
    )[SUMMARY_COLUMNS]
    if tables.study.kind == "tts":
        frame = _merged(relevance, tables.voices, VOICE_TIMES)
    else:
        speed = [c for c in SPEED_COLUMNS if c not in ("model", "ok")]
        frame = _merged(relevance, tables.speed, speed)
    return Sheet("Summary", [str(c) for c in frame.columns], list(_frame_rows(frame)))


def _metric_keys(summary: dict[str, Any], tables: StudyTables) -> list[str]:
    models = summary["models"]
    arena = [key for key in ARENA_KEYS if any(key in model for model in models)]
    if tables.study.kind == "tts":
        return [*VOICE_WER, *RANKING_KEYS, *arena]
    repeats = [c for c in REPEAT_COLUMNS if c != "model"]
    return [*SCORE_KEYS, *repeats, *RANKING_KEYS, *arena]


def _metrics_sheet(summary: dict[str, Any], tables: StudyTables) -> Sheet:
    keys = _metric_keys(summary, tables)
    extra = tables.voices if tables.study.kind == "tts" else tables.repeats
    by_model = {row["model"]: row for row in extra.astype(object).to_dict("records")}
    rows = []
    for model in summary["models"]:
        figures = {**by_model.get(model["model"], {}), **model}
        rows.append([model["model"], *(figures.get(key) for key in keys)])
    frame = pd.DataFrame(rows, columns=["model", *keys])
    return Sheet("Metrics", ["model", *keys], list(_frame_rows(frame)))


def _judge_sheet(result: StudyResult) -> Sheet:
    if not result.judges:
        return Sheet("Judge", JUDGE_COLUMNS, [])
    items = {item.item_id: item for item in result.plan.items}
    answers = {
        a.id: (
            a.item_id,
            *(
                (items[a.item_id].position, items[a.item_id].text)
                if a.item_id in items
                else (None, None)
            ),
            a.repeat,
        )
        for a in result.answers
    }
    order = {model: index for index, model in enumerate(result.study.models)}

    def place(gid: int, verdict: Verdict) -> tuple[int, int, int, int]:
        """Items in the set's order, then models in the study's, then repeats."""
        _, position, _, repeat = answers.get(gid, (None, None, None, None))
        model = order.get(verdict.model, len(order))
        return (position is None, position or 0, model, repeat or 0)

    rows = []
    for judge in result.judges:
        rows += _judge_rows(judge, result.verdicts(judge), answers, place)
    return Sheet("Judge", JUDGE_COLUMNS, rows)


def _judge_rows(
    judge: StudyJudge,
    verdicts: dict[int, Verdict],
    answers: dict[int, tuple[Any, Any, Any, Any]],
    place: Callable[[int, Verdict], tuple[int, int, int, int]],
) -> list[list[Any]]:
    rows = []
    for gid in sorted(verdicts, key=lambda gid: place(gid, verdicts[gid])):
        verdict = verdicts[gid]
        item_id, position, question, repeat = answers.get(gid, (None, None, None, None))
        rows.append(
            [
                gid,
                item_id,
                position,
                question,
                verdict.model,
                repeat,
                judge.spec,
                judge.protocol,
                verdict.status,
                verdict.score,
                verdict.figure,
                verdict.reference_score,
                verdict.reasons,
                verdict.error,
            ]
        )
    return rows


def _labels_sheet(store: Store, study_id: int) -> Sheet:
    """The study export's label rows that count, its columns in LABEL_SHEET_COLUMNS' order."""
    index = {name: i for i, name in enumerate(LABEL_COLUMNS)}
    picked = [index[name] for name in LABEL_SHEET_COLUMNS]
    counted = index["counted"]
    rows = (
        [row[i] for i in picked]
        for row in _streamed(store, _labels_query(study_id))
        if row[counted]
    )
    # The model under the name the other sheets give it.
    header = ["model" if name == "model_spec" else name for name in LABEL_SHEET_COLUMNS]
    return Sheet("Labels", header, rows)


def _agreement_sheet(summary: dict[str, Any]) -> Sheet:
    agreement = summary["agreement"]
    alpha = agreement.get("alpha")
    rows: list[list[Any]] = [
        [
            "Krippendorff's alpha",
            "every annotator",
            None,
            alpha,
            agreement.get("n_items"),
            f"{ALPHA_MEANING} Read: {agreement.get('alpha_reading')}. {ALPHA_SCALE}"
            if alpha is not None
            else ALPHA_MISSING,
        ],
        [
            "Raw agreement",
            "every annotator",
            None,
            agreement.get("raw_agreement"),
            agreement.get("n_items"),
            RAW_MEANING if agreement.get("raw_agreement") is not None else RAW_MISSING,
        ],
    ]
    pairs = agreement.get("kappa_pairs") or []
    for pair in pairs:
        kappa, raw = pair.get("kappa"), pair.get("raw_agreement")
        rows.append(
            [
                "Cohen's kappa",
                pair.get("a"),
                pair.get("b"),
                kappa,
                pair.get("n_shared"),
                KAPPA_MEANING if kappa is not None else KAPPA_MISSING,
            ]
        )
        rows.append(
            [
                "Raw agreement",
                pair.get("a"),
                pair.get("b"),
                raw,
                pair.get("n_shared"),
                RAW_MEANING if raw is not None else RAW_MISSING,
            ]
        )
    if not pairs:
        rows.append(["Cohen's kappa", None, None, None, 0, NO_PAIR])
    judge = agreement.get("judge")
    if judge is None:
        rows.append(["Judge vs people", None, "people", None, None, NO_JUDGE])
    else:
        for figure, key, meaning in (
            ("Spearman (judge vs people)", "spearman", SPEARMAN_MEANING),
            ("Cohen's kappa (judge vs people)", "kappa", JUDGE_KAPPA_MEANING),
        ):
            value = judge.get(key)
            rows.append(
                [
                    figure,
                    judge.get("judge"),
                    "people",
                    value,
                    judge.get("n"),
                    meaning if value is not None else JUDGE_MISSING,
                ]
            )
        for model in judge.get("models") or []:
            for figure, key, meaning in (
                ("Spearman (judge vs people, one model)", "spearman", SPEARMAN_MEANING),
                ("Cohen's kappa (judge vs people, one model)", "kappa", JUDGE_KAPPA_MEANING),
            ):
                value = model.get(key)
                rows.append(
                    [
                        figure,
                        judge.get("judge"),
                        model.get("model"),
                        value,
                        model.get("n"),
                        meaning if value is not None else JUDGE_MISSING,
                    ]
                )
    rows += _reliability_rows(summary)
    return Sheet("Agreement", AGREEMENT_COLUMNS, rows)


def _reliability_rows(summary: dict[str, Any]) -> list[list[Any]]:
    """Per judge that ran (the latest first): its first-position win rate and flip rate (the
    pairwise protocol only) and its disputed answers (lineup.score.judge_reliability)."""
    rows: list[list[Any]] = []
    for judged in summary.get("judge_reliability") or []:
        name = f"{judged['judge']} ({judged['protocol']})"
        if judged.get("pairs") is not None:
            decided = (judged.get("first_wins") or 0) + (judged.get("second_wins") or 0)
            rows.append(
                [
                    "First-position win rate (judge)",
                    name,
                    None,
                    judged.get("first_position_win_rate"),
                    decided,
                    FIRST_POSITION_MEANING,
                ]
            )
            rows.append(
                ["Flip rate (judge)", name, None, judged.get("flip_rate"), judged["pairs"],
                 FLIP_MEANING]
            )  # fmt: skip
        rows.append(
            ["Disputed answers (judge)", name, None, judged.get("disputed"), None, DISPUTED_MEANING]
        )
    return rows


def _pairs_sheet(summary: dict[str, Any]) -> Sheet:
    rows = [[pair.get(key) for key in PAIR_COLUMNS] for pair in summary.get("pairs") or []]
    return Sheet("Pairs", PAIR_COLUMNS, rows)


def _table_sheet(name: str, frame: pd.DataFrame) -> Sheet:
    return Sheet(name, [str(c) for c in frame.columns], list(_frame_rows(frame)))


def workbook_sheets(result: StudyResult) -> list[Sheet]:
    """The workbook's sheets (see the module docstring); the raw ones are read as they are
    written."""
    summary, tables, store, study_id = result.summary, result.tables, result.store, result.study.id
    voices = tables.study.kind == "tts"
    return [
        _summary_sheet(tables),
        _metrics_sheet(summary, tables),
        _table_sheet("Per item", tables.per_item),
        *([_table_sheet("Transcripts", tables.transcripts)] if voices else []),
        _pairs_sheet(summary),
        _judge_sheet(result),
        _labels_sheet(store, study_id),
        _agreement_sheet(summary),
        provenance_sheet(result, "Provenance"),
        Sheet("Generations", GENERATION_COLUMNS, _streamed(store, _generations_query(study_id))),
    ]


# The Agreement sheet's figures and its other words, marked: said in the workbook's language.
AGREEMENT_WORDS = (
    N_("Krippendorff's alpha"),
    N_("Raw agreement"),
    N_("Cohen's kappa"),
    N_("Judge vs people"),
    N_("Spearman (judge vs people)"),
    N_("Cohen's kappa (judge vs people)"),
    N_("Spearman (judge vs people, one model)"),
    N_("Cohen's kappa (judge vs people, one model)"),
    N_("First-position win rate (judge)"),
    N_("Flip rate (judge)"),
    N_("Disputed answers (judge)"),
    N_("every annotator"),
    N_("people"),
)
MEANINGS = (
    FIRST_POSITION_MEANING, FLIP_MEANING, DISPUTED_MEANING, ALPHA_MEANING, ALPHA_MISSING,
    KAPPA_MEANING, RAW_MEANING, RAW_MISSING, KAPPA_MISSING, NO_PAIR, SPEARMAN_MEANING,
    JUDGE_KAPPA_MEANING, JUDGE_MISSING, NO_JUDGE,
)  # fmt: skip


def _agreement_word(index: int, value: Any) -> Any:
    """An Agreement sheet's cell in the current language: its figure, the words "every
    annotator" and "people", its meaning; an annotator's name, a model and a number as they
    are."""
    if not isinstance(value, str):
        return value
    if index == 5:
        reading = value.removeprefix(f"{ALPHA_MEANING} Read: ")
        if reading != value and reading.endswith(f". {ALPHA_SCALE}"):
            word = reading.removesuffix(f". {ALPHA_SCALE}")
            return _("{meaning} Read: {reading}. {scale}").format(
                meaning=_(ALPHA_MEANING), reading=_(word), scale=_(ALPHA_SCALE)
            )
        return _(value) if value in MEANINGS else value
    return _(value) if index in (0, 1, 2) and value in AGREEMENT_WORDS else value


def _pair_in_language(columns: Sequence[str], row: Sequence[Any]) -> list[Any]:
    """A Pairs sheet's row with its figure, method, reason and words in the current
    language (lineup.report.pairs_matrix); the models and numbers as they are."""
    pair = dict(zip(columns, row, strict=True))
    said = {
        "figure": column_word(str(pair["figure"])) or pair["figure"],
        "ci_method": reason_text(pair["ci_method"]) if pair.get("ci_method") else None,
        "reason": reason_text(pair["reason"]) if pair.get("reason") else None,
        "words": pair_words(pair),
    }
    return [said.get(key, value) for key, value in pair.items()]


def _in_language(sheet: Sheet) -> Sheet:
    """A sheet named and headed in the current language (lineup.report.words; as it is in
    English): a column's words, or its key where it has none. The cells are unchanged but the
    Agreement sheet's words (`_agreement_word`)."""
    if current_language() == "en":
        return sheet
    columns = [
        _("Label") if sheet.name == "Labels" and key == "relevance" else column_word(key) or key
        for key in sheet.columns
    ]
    rows = sheet.rows
    if sheet.name == "Agreement":
        rows = [[_agreement_word(i, v) for i, v in enumerate(row)] for row in sheet.rows]
    elif sheet.name == "Pairs":
        rows = [_pair_in_language(sheet.columns, row) for row in sheet.rows]
    elif sheet.name in ("Summary", "Metrics"):  # why a figure has no interval or rating
        said = [
            key.endswith(("_ci_method", "_ci_reason")) or key == "bt_reason"
            for key in sheet.columns
        ]
        rows = [
            [
                reason_text(v) if s and isinstance(v, str) else v
                for s, v in zip(said, row, strict=True)
            ]
            for row in sheet.rows
        ]
    return dataclasses.replace(sheet, name=sheet_name(sheet.name), columns=columns, rows=rows)


def write_workbook(result: StudyResult, out: Path) -> Path:
    """Write the study's report workbook at `out` (lineup.report.export's write_sheets:
    written whole beside it, then moved over it), named and headed in the current language."""
    return write_sheets([_in_language(sheet) for sheet in workbook_sheets(result)], out)
