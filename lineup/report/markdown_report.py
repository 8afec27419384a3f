"""A study's report as Markdown, and the pieces the HTML report shares with it: how a number
is written, the tables' columns, the ranked models, the setup lines, the judges' rows.

The Markdown file has the tables in the shapes of the photo and voice studies: relevance and
speed per model, or WER and times per voice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lineup.core import N_, _, current_language, escape_markdown, state_word
from lineup.core import percent as locale_percent
from lineup.measure import contention_note
from lineup.report.pairs_matrix import (
    MATRIX_FIGURES,
    RANK_RULE,
    pair_matrix,
    pair_sentences,
    rank_note,
    rank_summary,
)
from lineup.run import card_facts, machine_line
from lineup.score import ALPHA_SCALE

if TYPE_CHECKING:
    from lineup.report.result import StudyResult


def number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        # Three significant digits, but never in e-notation: 999.99 is "1,000", not "1e+03".
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if current_language() != "en":  # 1 000 and 0,25 (a non-breaking space groups)
            text = text.replace(",", "\xa0").replace(".", ",")
        return text
    return str(value)


def percent(share: float | None) -> str:
    """A share from 0 to 1 as a whole percentage in the current language; – for none."""
    return "–" if share is None else locale_percent(share)


def _state(code: str) -> str:
    """A study's state as the report says it: the code itself in English (as it always was),
    else the state's word."""
    return code if current_language() == "en" else state_word(code)


def _reading(reading: str | None) -> str:
    return f" ({reading})" if reading else ""


def _markdown_cell(value: Any) -> str:
    """A table cell: a number as `_number` writes it, text (a model's name) escaped."""
    return escape_markdown(value) if isinstance(value, str) else number(value)


def _markdown_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A GitHub-flavoured Markdown table of `rows`: (key, heading) per column."""
    lines = [
        "| " + " | ".join(_(heading) for _key, heading in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [_markdown_cell(row.get(key)) for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


RELEVANCE_MD = [
    ("model", "Model"),
    ("labeled", "Labels"),
    ("relevant", "Relevant"),
    ("partial", "Partly"),
    ("irrelevant", "Irrelevant"),
    ("pct_relevant", "% relevant"),
    ("pct_relevant_ci_low", "95% CI low"),
    ("pct_relevant_ci_high", "95% CI high"),
    ("relevance", "Mean score"),
    ("relevance_ci_low", "95% CI low"),
    ("relevance_ci_high", "95% CI high"),
]
WARM_NOTE = N_(
    "Speed figures are over the warm answers; the cold ones (that included a model load) are "
    "counted apart. Energy is the whole device's over each answer's time; n/a where the "
    "machine has no readable counter."
)
SPEED_MD = [
    ("model", "Model"),
    ("output_tokens", "Tokens"),
    ("time_s", "Time (s)"),
    ("tokens_per_time_s", "Tokens / s"),
    ("median_ttft_s", "Median TTFT (s)"),
    ("median_tokens_per_s", "Median decode tok/s"),
    ("mean_chars", "Mean length (chars)"),
    ("chars_per_s", "Chars / s"),
    ("concurrent_max", "Most others in flight"),
    ("answers_alone", "Answers alone"),
    ("cold_answers", "Cold answers"),
    ("cold_median_ttft_s", "Cold median TTFT (s)"),
    ("median_energy_j", "Median energy (J)"),
]
AGAINST_MD = [
    ("model", "Model"),
    ("pairs", "Pairs"),
    ("identical_share", "Identical"),
    ("identical_ci_low", "95% CI low"),
    ("identical_ci_high", "95% CI high"),
    ("rougeL_to_chosen", "ROUGE-L to it"),
    ("rougeL_ci_low", "95% CI low"),
    ("rougeL_ci_high", "95% CI high"),
    ("median_tokens_per_s", "Median decode tok/s"),
]


def against_heading(against: dict[str, Any], name: Callable[[str], str]) -> str:
    """The heading of the agreement with the study's first model."""
    rate = number(against["chosen_median_tokens_per_s"])
    return _(
        "Agreement with the first model, {model} ({rate} median decode tok/s): the same "
        "answer to the same item and repeat, and ROUGE-L to its answer"
    ).format(model=name(against["model"]), rate=rate)


SCORES_MD = [
    ("model", "Model"),
    ("rouge1_f1", "ROUGE-1 F1"),
    ("rouge1_f1_ci_low", "95% CI low"),
    ("rouge1_f1_ci_high", "95% CI high"),
    ("rougeL_f1", "ROUGE-L F1"),
    ("rougeL_f1_ci_low", "95% CI low"),
    ("rougeL_f1_ci_high", "95% CI high"),
    ("chrf", "chrF"),
    ("chrf_ci_low", "95% CI low"),
    ("chrf_ci_high", "95% CI high"),
    ("judge_score", "Judge figure"),
    ("judge_score_ci_low", "95% CI low"),
    ("judge_score_ci_high", "95% CI high"),
    ("wrong_language", "Wrong language"),
    ("latin_share", "Latin share"),
    ("other_script_chars", "Other-script chars"),
    ("refusals", "Refusals"),
    ("empty", "Empty"),
]
VOICES_MD = [
    ("model", "Voice"),
    ("mean_wer", "Mean WER"),
    ("mean_wer_ci_low", "95% CI low"),
    ("mean_wer_ci_high", "95% CI high"),
    ("corpus_wer", "Corpus WER"),
    ("cer", "CER"),
    ("cer_ci_low", "95% CI low"),
    ("cer_ci_high", "95% CI high"),
    ("gen_s_per_sentence", "Generation s / sentence"),
    ("stt_s_per_sentence", "Transcription s / sentence"),
    ("rtf", "RTF"),
    ("peak_mem_mb", "Peak memory (MB)"),
    ("cold_answers", "Cold clips"),
    ("median_energy_j", "Median energy (J)"),
]
RANKING_MD = [
    ("bt_rank", "Rank"),
    ("model", "Model"),
    ("rank_relevance", "Score"),
    ("bt_rating", "Rating"),
    ("bt_ci_low", "95% CI low"),
    ("bt_ci_high", "95% CI high"),
    ("rank_note", "Note"),
]
ARENA_MD = [
    ("arena_rank", "Rank"),
    ("model", "Model"),
    ("arena_rating", "Rating"),
    ("arena_ci_low", "95% CI low"),
    ("arena_ci_high", "95% CI high"),
    ("arena_votes", "Votes"),
]


def ranked(models: list[dict[str, Any]], prefix: str = "bt") -> list[dict[str, Any]]:
    """The models with a rank from `prefix` (bt: the labels; arena: the pairwise votes), best
    first; a rank shared by several models is marked as a tie ("2=")."""
    rated = [m for m in models if m.get(f"{prefix}_rank") is not None]
    ranks = [m[f"{prefix}_rank"] for m in rated]
    point = "rank_relevance" if prefix == "bt" else f"{prefix}_rating"
    shown = [
        {
            **m,
            f"{prefix}_rank": f"{m[f'{prefix}_rank']}="
            if ranks.count(m[f"{prefix}_rank"]) > 1
            else m[f"{prefix}_rank"],
            "rank_note": rank_note(m) if prefix == "bt" else None,
        }
        for m in sorted(rated, key=lambda m: (m[f"{prefix}_rank"], -(m.get(point) or 0.0)))
    ]
    if prefix == "bt":  # the models without a rank, with why, after the ranked ones
        shown += [
            {**m, "rank_note": rank_note(m)}
            for m in models
            if m.get("bt_rank") is None and (m.get("bt_items") or rank_note(m))
        ]
    return shown


def setup_lines(summary: dict[str, Any], name: Callable[[str], str] = str) -> list[str]:
    """The reference model and the judge, as the report's header says them; their specs
    written by `name` (the Markdown report escapes them)."""
    lines = []
    reference = summary.get("reference")
    if reference:
        lines.append(
            _(
                "Reference model (shown apart, never ranked): {model}, study {study} "
                "({status}), {ok} answers, {errors} failed. Items taking their reference from "
                "it (the set has none for them): {items}."
            ).format(
                model=name(reference["model"]),
                study=reference["study_id"],
                status=state_word(reference["status"]),
                ok=reference["ok"],
                errors=reference["errors"],
                items=reference["items_referenced"],
            )
        )
    judge = summary.get("judge")
    if judge:
        how = (
            _(
                "each answer beside the reference model's, in both orders; figure = "
                "candidate's / reference's score, each summed over both orders"
            )
            if judge["protocol"] == "pairwise"
            else _("each answer against its item's reference; figure = score / 10")
        )
        lines.append(
            _("Judge: {judge}, protocol {protocol} ({how}).").format(
                judge=name(judge["spec"]), protocol=judge["protocol"], how=how
            )
        )
    return lines


def provenance_markdown(summary: dict[str, Any]) -> list[str]:
    """What ran where: the machine, then each model's card (lineup.run.provenance), escaped:
    a server's words are hostile text."""
    parts = [
        "## " + _("What ran where"),
        "",
        escape_markdown(_("Machine: {machine}.").format(machine=machine_line(summary["machine"]))),
        "",
    ]
    for model in summary["models"]:
        facts = "; ".join(f"{label}: {text}" for label, text in card_facts(model["provenance"]))
        parts += [f"- {escape_markdown(model['model'])}: {escape_markdown(facts)}"]
    return [*parts, ""]


def markdown_report(result: StudyResult) -> str:
    """The study's tables as Markdown. Every piece of people's or models' text in it (the
    set's name, model names, the judge) is escaped (lineup.core.markup.escape_markdown): rendered,
    it is the text it is, never a tag, an image or a link."""
    summary = result.summary
    models = summary["models"]
    parts = [
        "# "
        + _("Study {id}: {set}").format(
            id=summary["study_id"], set=escape_markdown(summary["set"])
        ),
        "",
        _("{kind} study, {status}, {done} of {total} answers.").format(
            kind=summary["kind"].upper(),
            status=_state(summary["status"]),
            done=summary["done"],
            total=summary["total"],
        ),
        "",
        *(line for text in setup_lines(summary, escape_markdown) for line in (text, "")),
        *provenance_markdown(summary),
        "## " + _("Relevance"),
        "",
        _markdown_table(models, RELEVANCE_MD),
        "",
    ]
    uneven = contention_note(
        [(escape_markdown(m["model"]), m["concurrent_min"], m["concurrent_max"]) for m in models]
    )
    badge = [] if uneven is None else [uneven, ""]
    if summary["kind"] == "tts":
        parts += ["## " + _("Voices"), "", _markdown_table(models, VOICES_MD), "", *badge]
    else:
        parts += ["## " + _("Speed"), "", _(WARM_NOTE), "", _markdown_table(models, SPEED_MD), ""]
        parts += [*badge, "## " + _("Automatic scores"), "", _markdown_table(models, SCORES_MD), ""]
        against = result.against_first
        if against is not None:
            parts += [
                f"## {against_heading(against, escape_markdown)}",
                "",
                _markdown_table(against["models"], AGAINST_MD),
                "",
            ]
    by_labels = ranked(models)
    if by_labels:
        said = rank_summary(summary)
        parts += [
            "## " + _("Ranking (from the labels: pairwise differences and Bradley-Terry ratings)"),
            "",
            *([said, ""] if said else []),
            _(RANK_RULE),
            "",
            _markdown_table(by_labels, RANKING_MD),
            "",
        ]
    parts += pairs_markdown(summary)
    arena = ranked(models, "arena")
    if arena:
        parts += [
            "## "
            + _(
                "Ranking from pairwise votes (Bradley-Terry; a rank from the paired "
                "differences of the ratings, shared where none is shown)"
            ),
            "",
            _markdown_table(arena, ARENA_MD),
            "",
        ]
    judges = judge_rows(result)
    if judges:
        parts += [
            "## "
            + _(
                "LLM judges (figure: score / 10 against the reference answer; pairwise: "
                "candidate / reference model, scores summed over both orders)"
            ),
            "",
            _markdown_table(judges, JUDGES_MD),
            "",
        ]
    reliability = reliability_rows(summary)
    if reliability:
        parts += [
            "## " + _("The judge's reliability"),
            "",
            _(RELIABILITY_WORDS),
            "",
            _markdown_table(reliability, RELIABILITY_MD),
            "",
        ]
    agreement = summary["agreement"]
    reading = agreement.get("alpha_reading")
    parts += [
        "## " + _("Agreement"),
        "",
        _(
            "Krippendorff's alpha (ordinal): {alpha}{reading} over {count} answers labeled by "
            "two or more annotators; raw agreement (identical labels): {raw}."
        ).format(
            alpha=number(agreement["alpha"]),
            reading=_reading(_(reading) if reading else None),
            count=agreement["n_items"],
            raw=percent(agreement.get("raw_agreement")),
        )
        + " "
        + _(ALPHA_SCALE),
        "",
    ]
    judge = agreement.get("judge")
    if judge:
        parts += [
            _(
                "The judge {judge} against the people ({count} labels): Spearman {spearman}, "
                "kappa {kappa}. Per model:"
            ).format(
                judge=escape_markdown(judge["judge"]),
                count=judge["n"],
                spearman=number(judge["spearman"]),
                kappa=number(judge["kappa"]),
            ),
            "",
            _markdown_table(judge.get("models") or [], JUDGE_BY_MODEL_MD),
            "",
        ]
    return "\n".join(parts)


RELIABILITY_WORDS = N_(
    "Pairwise: each answer is judged shown first and shown second. First-position win rate: "
    "the share of decided verdicts won by the answer shown first (0.5 = the order does not "
    "matter; ties counted apart); flip rate: the share of answers whose winner changes when "
    "the order is swapped. Disputed: answers the judge flipped, or whose score (read: below "
    "4 irrelevant, 8 and up relevant) is two steps from a person's label; the label queue's "
    "Disputed filter walks them."
)
RELIABILITY_MD = [
    ("judge", "Judge"),
    ("protocol", "Protocol"),
    ("pairs", "Both orders"),
    ("first_position", "First-position win rate"),
    ("ties", "Ties"),
    ("flips_text", "Flip rate"),
    ("disputed", "Disputed"),
    ("flipped", "Flipped"),
    ("disagreed", "Against a label"),
]
JUDGE_BY_MODEL_MD = [
    ("model", "Model"),
    ("spearman", "Spearman"),
    ("kappa", "Kappa"),
    ("n", "Label pairs"),
]


def reliability_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per judge that ran (the latest first), its reliability as the reports show it: the
    rates as percentages with their counts (lineup.score.judge_reliability)."""
    rows = []
    for judged in summary.get("judge_reliability") or []:
        decided = (judged["first_wins"] or 0) + (judged["second_wins"] or 0)
        pairwise = judged["pairs"] is not None
        rows.append(
            judged
            | {
                "first_position": _("{share} ({count} of {total})").format(
                    share=percent(judged["first_position_win_rate"]),
                    count=judged["first_wins"],
                    total=decided,
                )
                if pairwise
                else None,
                "flips_text": _("{share} ({count} of {total})").format(
                    share=percent(judged["flip_rate"]),
                    count=judged["flips"],
                    total=judged["pairs"],
                )
                if pairwise
                else None,
            }
        )
    return rows


def pairs_markdown(summary: dict[str, Any]) -> list[str]:
    """The matrix of each figure of MATRIX_FIGURES and its sentences (lineup.report.pairs_matrix),
    as Markdown lines; none without a pair."""
    parts: list[str] = []
    for figure, (heading, _unit) in MATRIX_FIGURES.items():
        labels, rows = pair_matrix(summary, figure, escape_markdown)
        if not rows:
            continue
        if not parts:
            parts += [
                "## " + _("Which differences are real"),
                "",
                _(
                    "Row against column: the row's figure minus the column's over the items "
                    "both have, its 95% item-bootstrap interval, and the share of resamples in "
                    "which the better one is better; shown better when the interval excludes 0."
                ),
                "",
            ]
        parts += [f"### {_(heading)}", ""]
        lines = ["| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        lines += [
            f"| **{label}** | " + " | ".join(cells) + " |"
            for label, cells in zip(labels, rows, strict=True)
        ]
        parts += [*lines, ""]
        parts += [f"- {line}" for line in pair_sentences(summary, figure, escape_markdown)]
        parts += [""]
    return parts


JUDGES_MD = [
    ("judge", "Judge"),
    ("protocol", "Protocol"),
    ("model", "Model"),
    ("judge_score", "Figure"),
    ("judge_score_ci_low", "95% CI low"),
    ("judge_score_ci_high", "95% CI high"),
    ("judged", "Scored"),
    ("judge_failures", "Failures"),
]


def judge_rows(result: StudyResult) -> list[dict[str, Any]]:
    """Per judge and protocol that ran on the study (the latest first), each model's figure
    with its interval, the answers scored and the failures
    (lineup.score.judge_verdicts.judge_figures)."""
    return [
        {"judge": judge.spec, "protocol": judge.protocol, "model": model, **figures}
        for judge in result.judges
        for model, figures in result.judge_figures(judge).items()
    ]
