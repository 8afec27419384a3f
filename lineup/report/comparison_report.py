"""Two studies compared, as a report: Markdown, or one self-contained HTML file (inline styles,
no script, no network), rendered from the comparison's document (lineup.report.comparison's
compare_results), so the report, `study compare --json` and the Studies page cannot disagree.
It holds the two studies, the shared items, the paired differences with their intervals, the
regressions and improvements, and a methods section quoting lineup.report.comparison's
definitions. Model output and questions are escaped, never rendered as markup.
"""

from __future__ import annotations

import html
from typing import Any

from lineup.core import N_, _, current_language, escape_markdown, ngettext
from lineup.report import comparison
from lineup.report.markdown_report import number, percent
from lineup.report.pairs_matrix import reason_text

REPORT_ROWS = 50  # regressions and improvements shown per list in a report


# The figures compared (lineup.report.comparison), as a report in another language than
# English names them (English: the figure's key, as `study compare --json` has it).
FIGURE_WORDS = {
    "relevance": N_("Relevance score"),
    "rouge1_f1": N_("ROUGE-1 F1"),
    "rougeL_f1": N_("ROUGE-L F1"),
    "chrf": N_("chrF"),
    "judge": N_("Judge figure"),
    "wer": N_("WER"),
}
# The methods in another language than English: a summary of lineup.report.comparison's
# definitions (English quotes them).
METHODS_SUMMARY = N_(
    "Two studies of the same kind compared over their shared items (over two sets: the same "
    "question and image, or the same sentence), model by model. For each figure (relevance "
    "score, ROUGE, chrF, the judge's figure, WER) the paired difference is the candidate "
    "minus the baseline over the items both have a score on, with its 95% item-bootstrap "
    "interval (1,000 resamples of the items, seed 0; none below 5 items) and the share of "
    "resamples in which the candidate is better; a difference is shown when the interval "
    "excludes 0. A regression is an item on which the candidate scores worse than the "
    "baseline (for WER: higher), the worst first; an improvement the other way."
)


# How the items were matched (lineup.report.comparison's `matched_by`), marked to be said.
MATCHED_BY = (N_("item id (the same set)"), N_("content (question and image, or sentence)"))


def _figure(key: str) -> str:
    if current_language() == "en" or key not in FIGURE_WORDS:
        return key
    return _(FIGURE_WORDS[key])


def comparison_reading(row: dict[str, Any]) -> str:
    """A paired difference of the comparison (`differences`) in words."""
    if row["ci_low"] is None:
        return _("no interval: {reason}").format(reason=reason_text(str(row["reason"])))
    if not row["decided"]:
        return _("no difference shown")
    better = (row["diff"] > 0) != (row["figure"] in comparison.LOWER_IS_BETTER)
    share = row["share_candidate_better"]
    if better:
        return _("the candidate is better on this set: {share} of resamples").format(
            share=percent(share)
        )
    return _("the candidate is worse on this set: {share} of resamples").format(
        share=percent(1 - share)
    )


def _difference_cells(row: dict[str, Any]) -> list[str]:
    interval = (
        "–"
        if row["ci_low"] is None
        else _("{low} to {high}").format(low=number(row["ci_low"]), high=number(row["ci_high"]))
    )
    return [
        row["model"],
        _figure(row["figure"]),
        number(row["baseline"]),
        number(row["candidate"]),
        number(row["diff"]),
        interval,
        percent(row["share_candidate_better"]),
        str(row["items"]),
        comparison_reading(row),
    ]


DIFFERENCE_HEAD = [
    N_("model"),
    N_("figure"),
    N_("baseline"),
    N_("candidate"),
    N_("candidate - baseline"),
    N_("95% interval"),
    N_("resamples better"),
    N_("items"),
    N_("reading"),
]
ITEM_HEAD = [
    N_("model"),
    N_("figure"),
    N_("item"),
    N_("question"),
    N_("baseline"),
    N_("candidate"),
    N_("change"),
]


def _item_cells(row: dict[str, Any]) -> list[str]:
    item = str(row["item"])
    if row["baseline_item"] != row["item"]:
        item = _("{item} (baseline {baseline})").format(item=item, baseline=row["baseline_item"])
    return [
        row["model"],
        _figure(row["figure"]),
        item,
        row["question"],
        number(row["baseline"]),
        number(row["candidate"]),
        number(row["change"]),
    ]


def _lead(document: dict[str, Any]) -> list[str]:
    base, cand, items = document["baseline"], document["candidate"], document["items"]
    lines = [
        _("Baseline: study {study}, set {set}, models {models}.").format(
            study=base["study_id"], set=base["set"], models=", ".join(base["models"])
        ),
        _("Candidate: study {study}, set {set}, models {models}.").format(
            study=cand["study_id"], set=cand["set"], models=", ".join(cand["models"])
        ),
        ngettext(
            "{shared} shared item, matched by {matched_by}; {baseline_only} in the baseline "
            "only, {candidate_only} in the candidate only.",
            "{shared} shared items, matched by {matched_by}; {baseline_only} in the baseline "
            "only, {candidate_only} in the candidate only.",
            items["shared"],
        ).format(
            shared=items["shared"],
            matched_by=_(items["matched_by"])
            if items["matched_by"] in MATCHED_BY
            else items["matched_by"],
            baseline_only=items["baseline_only"],
            candidate_only=items["candidate_only"],
        ),
    ]
    for model in document["models"]:
        if model["model"] != model["baseline_model"]:
            lines.append(
                _("Compared: {baseline} (baseline) with {candidate}.").format(
                    baseline=model["baseline_model"], candidate=model["model"]
                )
            )
        lines.append(
            _(
                "Median decode tokens/s of {model}: baseline {baseline}, candidate {candidate}."
            ).format(
                model=model["model"],
                baseline=number(model["baseline_median_tokens_per_s"]),
                candidate=number(model["candidate_median_tokens_per_s"]),
            )
        )
    judge = document["judge"]
    if judge:
        lines.append(
            _("Judge in both studies: {judge} ({protocol}).").format(
                judge=judge["spec"], protocol=judge["protocol"]
            )
        )
    return lines


def _title(document: dict[str, Any]) -> str:
    return _("Study {candidate} against baseline study {baseline}").format(
        candidate=document["candidate"]["study_id"], baseline=document["baseline"]["study_id"]
    )


# The lists of per-item changes, as headed (each with its count).
LIST_HEADINGS = {
    "regressions": N_("Regressions ({count})"),
    "improvements": N_("Improvements ({count})"),
}


def _methods() -> str:
    if current_language() == "en":
        return (comparison.__doc__ or "").strip()
    return _(METHODS_SUMMARY)


def _more(count: int, command: str) -> str:
    """How many entries of a list the report leaves to `command`."""
    return _("{count} more in {command}.").format(count=count, command=command)


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return escape_markdown(text).replace("|", "\\|").replace("\n", " ")

    return [
        "| " + " | ".join(_(h) for h in head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
    ]


def comparison_markdown(document: dict[str, Any]) -> str:
    """The comparison as Markdown."""
    lines = [f"# {escape_markdown(_title(document))}", ""]
    lines += [f"- {escape_markdown(line)}" for line in _lead(document)]
    lines += ["", "## " + _("Paired differences"), ""]
    lines += _md_table(DIFFERENCE_HEAD, [_difference_cells(r) for r in document["differences"]])
    for name in ("regressions", "improvements"):
        rows = document[name]
        lines += ["", "## " + _(LIST_HEADINGS[name]).format(count=len(rows)), ""]
        if rows:
            lines += _md_table(ITEM_HEAD, [_item_cells(r) for r in rows[:REPORT_ROWS]])
            if len(rows) > REPORT_ROWS:
                lines += ["", _more(len(rows) - REPORT_ROWS, "`study compare --json`")]
        else:
            lines.append(_("None."))
    lines += ["", "## " + _("Methods"), "", "```", _methods(), "```", ""]
    return "\n".join(lines)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;background:#f7f7f7;padding:1rem;font-size:.85rem}
"""


def _html_table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(_(h))}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        out += [
            f"<td{' class=num' if i in numeric else ''}>{html.escape(cell)}</td>"
            for i, cell in enumerate(row)
        ]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def comparison_html(document: dict[str, Any]) -> str:
    """The comparison as one self-contained HTML file."""
    title = html.escape(_title(document))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"ru" if current_language() == "ru" else "en"}"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1><ul>",
        *(f"<li>{html.escape(line)}</li>" for line in _lead(document)),
        f"</ul><h2>{html.escape(_('Paired differences'))}</h2>",
        _html_table(
            DIFFERENCE_HEAD,
            [_difference_cells(r) for r in document["differences"]],
            {2, 3, 4, 6, 7},
        ),
    ]
    for name in ("regressions", "improvements"):
        rows = document[name]
        heading = _(LIST_HEADINGS[name]).format(count=len(rows))
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if rows:
            parts.append(
                _html_table(ITEM_HEAD, [_item_cells(r) for r in rows[:REPORT_ROWS]], {4, 5, 6})
            )
            if len(rows) > REPORT_ROWS:
                more = _more(len(rows) - REPORT_ROWS, "study compare --json")
                parts.append(f"<p>{html.escape(more)}</p>")
        else:
            parts.append(f"<p>{html.escape(_('None.'))}</p>")
    parts += [
        f"<h2>{html.escape(_('Methods'))}</h2>",
        f"<pre>{html.escape(_methods())}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


COMPARISON_WRITERS = {"html": comparison_html, "md": comparison_markdown}
COMPARISON_FORMATS = tuple(COMPARISON_WRITERS)


def comparison_text(document: dict[str, Any], fmt: str) -> str:
    """The comparison as `fmt` (COMPARISON_FORMATS: html or md)."""
    return COMPARISON_WRITERS[fmt](document)
