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

from lineup.core import escape_markdown
from lineup.report import comparison
from lineup.report.markdown_report import number, percent

REPORT_ROWS = 50  # regressions and improvements shown per list in a report


def comparison_reading(row: dict[str, Any]) -> str:
    """A paired difference of the comparison (`differences`) in words."""
    if row["ci_low"] is None:
        return f"no interval: {row['reason']}"
    if not row["decided"]:
        return "no difference shown"
    better = (row["diff"] > 0) != (row["figure"] in comparison.LOWER_IS_BETTER)
    share = row["share_candidate_better"]
    if better:
        return f"the candidate is better on this set: {percent(share)} of resamples"
    return f"the candidate is worse on this set: {percent(1 - share)} of resamples"


def _difference_cells(row: dict[str, Any]) -> list[str]:
    interval = (
        "–" if row["ci_low"] is None else f"{number(row['ci_low'])} to {number(row['ci_high'])}"
    )
    return [
        row["model"],
        row["figure"],
        number(row["baseline"]),
        number(row["candidate"]),
        number(row["diff"]),
        interval,
        percent(row["share_candidate_better"]),
        str(row["items"]),
        comparison_reading(row),
    ]


DIFFERENCE_HEAD = [
    "model",
    "figure",
    "baseline",
    "candidate",
    "candidate - baseline",
    "95% interval",
    "resamples better",
    "items",
    "reading",
]
ITEM_HEAD = ["model", "figure", "item", "question", "baseline", "candidate", "change"]


def _item_cells(row: dict[str, Any]) -> list[str]:
    item = str(row["item"])
    if row["baseline_item"] != row["item"]:
        item += f" (baseline {row['baseline_item']})"
    return [
        row["model"],
        row["figure"],
        item,
        row["question"],
        number(row["baseline"]),
        number(row["candidate"]),
        number(row["change"]),
    ]


def _lead(document: dict[str, Any]) -> list[str]:
    base, cand, items = document["baseline"], document["candidate"], document["items"]
    lines = [
        f"Baseline: study {base['study_id']}, set {base['set']}, models "
        f"{', '.join(base['models'])}.",
        f"Candidate: study {cand['study_id']}, set {cand['set']}, models "
        f"{', '.join(cand['models'])}.",
        f"{items['shared']} shared items, matched by {items['matched_by']}; "
        f"{items['baseline_only']} in the baseline only, {items['candidate_only']} in the "
        "candidate only.",
    ]
    for model in document["models"]:
        if model["model"] != model["baseline_model"]:
            lines.append(f"Compared: {model['baseline_model']} (baseline) with {model['model']}.")
        lines.append(
            f"Median decode tokens/s of {model['model']}: baseline "
            f"{number(model['baseline_median_tokens_per_s'])}, candidate "
            f"{number(model['candidate_median_tokens_per_s'])}."
        )
    judge = document["judge"]
    if judge:
        lines.append(f"Judge in both studies: {judge['spec']} ({judge['protocol']}).")
    return lines


def _title(document: dict[str, Any]) -> str:
    return (
        f"Study {document['candidate']['study_id']} against baseline study "
        f"{document['baseline']['study_id']}"
    )


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return escape_markdown(text).replace("|", "\\|").replace("\n", " ")

    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
    ]


def comparison_markdown(document: dict[str, Any]) -> str:
    """The comparison as Markdown."""
    lines = [f"# {escape_markdown(_title(document))}", ""]
    lines += [f"- {escape_markdown(line)}" for line in _lead(document)]
    lines += ["", "## Paired differences", ""]
    lines += _md_table(DIFFERENCE_HEAD, [_difference_cells(r) for r in document["differences"]])
    for name in ("regressions", "improvements"):
        rows = document[name]
        lines += ["", f"## {name.capitalize()} ({len(rows)})", ""]
        if rows:
            lines += _md_table(ITEM_HEAD, [_item_cells(r) for r in rows[:REPORT_ROWS]])
            if len(rows) > REPORT_ROWS:
                lines += ["", f"{len(rows) - REPORT_ROWS} more in `study compare --json`."]
        else:
            lines.append("None.")
    lines += ["", "## Methods", "", "```", (comparison.__doc__ or "").strip(), "```", ""]
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
    out += [f"<th>{html.escape(h)}</th>" for h in head]
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
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1><ul>",
        *(f"<li>{html.escape(line)}</li>" for line in _lead(document)),
        "</ul><h2>Paired differences</h2>",
        _html_table(
            DIFFERENCE_HEAD,
            [_difference_cells(r) for r in document["differences"]],
            {2, 3, 4, 6, 7},
        ),
    ]
    for name in ("regressions", "improvements"):
        rows = document[name]
        parts.append(f"<h2>{name.capitalize()} ({len(rows)})</h2>")
        if rows:
            parts.append(
                _html_table(ITEM_HEAD, [_item_cells(r) for r in rows[:REPORT_ROWS]], {4, 5, 6})
            )
            if len(rows) > REPORT_ROWS:
                parts.append(f"<p>{len(rows) - REPORT_ROWS} more in study compare --json.</p>")
        else:
            parts.append("<p>None.</p>")
    parts += [
        "<h2>Methods</h2>",
        f"<pre>{html.escape((comparison.__doc__ or '').strip())}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


COMPARISON_WRITERS = {"html": comparison_html, "md": comparison_markdown}
COMPARISON_FORMATS = tuple(COMPARISON_WRITERS)


def comparison_text(document: dict[str, Any], fmt: str) -> str:
    """The comparison as `fmt` (COMPARISON_FORMATS: html or md)."""
    return COMPARISON_WRITERS[fmt](document)
