"""The pairs of `study show --json` (lineup.measure.pairs) as the Studies page and the reports
show them: a matrix whose rows and columns are the models, each cell the row's model against
the column's (the difference, its 95% interval and plain words), and one sentence per pair.

Cell of row r, column c: r's figure minus c's over their shared items, its interval, and
"better (97% of resamples)" when r is shown better than c, "worse (97% of resamples)" when c
is shown better than r (97%: the share of resamples in which the better one is better), "no
difference shown" otherwise (with the reason when there is no interval, e.g. fewer than 5
shared items).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from lineup.core import N_, _, current_language, ngettext
from lineup.core import percent as locale_percent

# The figures whose matrix the page and the reports show, with the heading (marked: shown
# through `_()`) and how a difference is written.
MATRIX_FIGURES = {
    "relevance": (
        N_("Relevance score (relevant 1, partly 0.5, irrelevant 0; mean over items)"),
        ".2f",
    ),
    "pct_relevant": (N_("% relevant (difference in percentage points)"), ".0f"),
    "judge_score": (N_("The judge's score (the latest judge's figure)"), ".2f"),
    "rouge1_f1": (N_("ROUGE-1 F1 against the references"), ".2f"),
    "rougeL_f1": (N_("ROUGE-L F1 against the references"), ".2f"),
    "chrf": (N_("chrF against the references"), ".1f"),
    "mean_wer": (N_("Mean WER (lower is better)"), ".2f"),
    "cer": (N_("CER (lower is better)"), ".2f"),
}
# The rank's definition, wherever a rank is shown (lineup.measure.pairs); marked, shown
# through `_()`.
RANK_RULE = N_(
    "Rank = 1 + the number of models shown better than this one on the relevance score (their "
    "paired difference over the same items has a 95% item-bootstrap interval above 0), or "
    "better than a model whose score is at least this one's; so a rank follows the scores' "
    "order, and models with no difference shown share a rank. No rank, rating or interval from "
    "fewer than 5 shared items."
)
NO_DIFFERENCE = "no difference shown"

# Why a figure has no interval or rating, as lineup.measure fills it in (item_bootstrap's
# FEW_ITEMS and SAME_VALUE, bradley_terry's FEW_ITEMS, WON_EVERY and LOST_EVERY): the same
# templates, marked here so a report says them in its language (a test keeps them equal).
REASONS = (
    N_("fewer than {minimum} items ({n}): no interval"),
    N_(
        "every one of the {n} items gives the same value (or difference): the resamples cannot "
        "show the spread"
    ),
    N_("battles on fewer than {minimum} items ({n}): no rating"),
    N_("won every comparison ({n} battles): no rating, the fit would make one up"),
    N_("lost every comparison ({n} battles): no rating, the fit would make one up"),
)
# Each reason's words before its colon, as a matrix's cell says it (the same order).
SHORT_REASONS = (
    N_("fewer than {minimum} items ({n})"),
    N_("every one of the {n} items gives the same value (or difference)"),
    N_("battles on fewer than {minimum} items ({n})"),
    N_("won every comparison ({n} battles)"),
    N_("lost every comparison ({n} battles)"),
)
# Why "can I stop labeling" has no chance or estimate, as lineup.measure.stopping words it
# (its templates, marked here so the Studies page and `study show` say them in their language).
STOP_REASONS = (
    N_("no item is labeled for both yet"),
    N_("{n} items labeled for both: an estimate needs {minimum}"),
    N_("every one of the {n} items gives the same difference: no spread to go on"),
    N_("no difference so far (0): no number of items decides an effect of 0"),
    N_("only one model has labeled items"),
    N_("the leader has {n} labeled items: fewer than {minimum}"),
)
# Reasons lineup.report.tables gives whole, and the interval's method, as a table shows them.
WORDS = {"no label": N_("no label"), "item-bootstrap": N_("item bootstrap")}


def _pattern(template: str) -> re.Pattern[str]:
    """What a reason filled in from `template` looks like: its placeholders whole numbers."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(template)) + "$")


_REASON_PATTERNS = [(_pattern(template), template) for template in REASONS]
_STOP_PATTERNS = [(_pattern(template), template) for template in STOP_REASONS]


def reason_text(reason: str, short: bool = False) -> str:
    """A reason lineup.measure gave (or a word of WORDS), in the current language; `short`:
    only its words before the colon. Unchanged in English or when it is none of those."""
    if current_language() == "en":
        return reason.split(":")[0] if short else reason
    if reason in WORDS:
        return _(WORDS[reason])
    for index, (pattern, template) in enumerate(_REASON_PATTERNS):
        found = pattern.match(reason)
        if found:
            said = SHORT_REASONS[index] if short else template
            return _(said).format(**found.groupdict())
    for pattern, template in _STOP_PATTERNS:
        found = pattern.match(reason)
        if found:
            said = _(template).format(**found.groupdict())
            return said.split(":")[0] if short else said
    return reason.split(":")[0] if short else reason


def _decimal(text: str) -> str:
    """A number written in English (`text`) with the current language's decimal mark."""
    return text if current_language() == "en" else text.replace(".", ",")


def _signed(value: float, fmt: str) -> str:
    """A difference with its sign ("+0.25", "−0.25"); one that rounds to zero without one."""
    text = f"{value:+{fmt}}"
    if float(text) == 0:
        return _decimal(text[1:])
    return _decimal(text.replace("-", "−"))


def _pair_of(pairs: Sequence[dict[str, Any]], x: str, y: str) -> dict[str, Any] | None:
    for pair in pairs:
        if {pair["a"], pair["b"]} == {x, y}:
            return pair
    return None


def _share(share: float | None) -> str:
    if share is None:
        return "–"
    percent = 100 * share
    if 0 < share < 1:  # never rounded up to every resample
        percent = min(max(int(percent), 1), 99)
    if current_language() == "en":
        return f"{percent:.0f}%"
    return locale_percent(round(percent) / 100)


def cell_text(pair: dict[str, Any], row: str, fmt: str = ".2f") -> str:
    """The cell of `row` against the pair's other model (module docstring)."""
    if pair.get("diff") is None:
        return _("no shared item")
    flip = row != pair["a"]
    diff = -pair["diff"] if flip else pair["diff"]
    text = _signed(diff, fmt)
    low, high = pair.get("ci_low"), pair.get("ci_high")
    if low is not None and high is not None:
        low, high = (-high, -low) if flip else (low, high)
        text += f" [{_signed(low, fmt)}, {_signed(high, fmt)}]"
    if pair.get("decided"):
        if low is None:  # unanimous: the same margin on every item
            said = (
                _("{difference}: worse on every item ({items})")
                if flip
                else _("{difference}: better on every item ({items})")
            )
            return said.format(difference=text, items=pair["items"])
        said = (
            _("{difference}: worse ({share} of resamples)")
            if flip
            else _("{difference}: better ({share} of resamples)")
        )
        return said.format(difference=text, share=_share(pair.get("share_a_better")))
    if low is None and pair.get("reason"):
        reason = reason_text(str(pair["reason"]), short=True)
        return _("{difference}: no difference shown ({reason})").format(
            difference=text, reason=reason
        )
    return _("{difference}: no difference shown").format(difference=text)


def pair_matrix(
    summary: dict[str, Any], figure: str, name: Callable[[str], str] = str
) -> tuple[list[str], list[list[str]]]:
    """The models' names (rows and columns, in the summary's order) and each row's cells
    against each column; the diagonal is "–". Empty when the figure has no pair."""
    pairs = [p for p in summary.get("pairs") or [] if p["figure"] == figure]
    if not pairs:
        return [], []
    fmt = MATRIX_FIGURES.get(figure, ("", ".3g"))[1]
    models = [m["model"] for m in summary["models"]]
    rows = []
    for row in models:
        cells = []
        for column in models:
            pair = None if row == column else _pair_of(pairs, row, column)
            cells.append("–" if pair is None else cell_text(pair, row, fmt))
        rows.append(cells)
    return [name(m) for m in models], rows


def pair_sentences(
    summary: dict[str, Any], figure: str, name: Callable[[str], str] = str
) -> list[str]:
    """One sentence per pair of `figure`, the decided ones first: "A is better than B on
    this set: 97% of resamples", or "between A and B, no difference shown (reason)". A name is
    never followed by a colon: Streamlit reads "m:a:" as an emoji code, escaped or not."""
    pairs = [p for p in summary.get("pairs") or [] if p["figure"] == figure]
    said = []
    for pair in sorted(pairs, key=lambda p: not p.get("decided")):
        a, b = name(pair["a"]), name(pair["b"])
        if pair.get("decided"):
            if pair.get("ci_low") is None:
                said.append(
                    ngettext(
                        "{a} is better than {b} on this set: {share} of resamples (the same "
                        "margin on the {items} item)",
                        "{a} is better than {b} on this set: {share} of resamples (the same "
                        "margin on every one of the {items} items)",
                        pair["items"],
                    ).format(a=a, b=b, share=_share(1.0), items=pair["items"])
                )
            else:
                share = _share(pair.get("share_a_better"))
                said.append(
                    _("{a} is better than {b} on this set: {share} of resamples").format(
                        a=a, b=b, share=share
                    )
                )
        elif pair.get("ci_low") is None and pair.get("reason"):
            said.append(
                _("between {a} and {b}, no difference shown ({reason})").format(
                    a=a, b=b, reason=reason_text(str(pair["reason"]))
                )
            )
        else:
            share = _share(pair.get("share_a_better"))
            said.append(
                _(
                    "between {a} and {b}, no difference shown ({a} ahead in {share} of "
                    "resamples; the interval holds 0)"
                ).format(a=a, b=b, share=share)
            )
    return said


def rank_note(model: dict[str, Any]) -> str | None:
    """What a model's ranking row says beside its rating: won or lost every comparison, or
    why it has no rating or rank."""
    if model.get("won_every_comparison"):
        return _("won every comparison: no rating (the fit would make one up)")
    if model.get("lost_every_comparison"):
        return _("lost every comparison: no rating (the fit would make one up)")
    reason = model.get("bt_reason")
    return reason_text(str(reason)) if reason else None


def rank_summary(summary: dict[str, Any]) -> str | None:
    """The ranks in one sentence: all different, all shared, or some shared; None when no
    model has a rank."""
    ranks = [m.get("bt_rank") for m in summary["models"] if m.get("bt_rank") is not None]
    if not ranks:
        return None
    if len(ranks) == 1:
        return _("One model has a rank: the others share fewer than 5 items with it.")
    distinct = len(set(ranks))
    if distinct == len(ranks):
        return ngettext(
            "{count} different rank: each model is shown better than the one ranked just below it.",
            "{count} different ranks: each model is shown better than the one ranked just "
            "below it.",
            len(ranks),
        ).format(count=len(ranks))
    if distinct == 1:
        return ngettext(
            "One shared rank for all {count} model: no difference between them is shown yet.",
            "One shared rank for all {count} models: no difference between them is shown yet.",
            len(ranks),
        ).format(count=len(ranks))
    return ngettext(
        "{distinct} different ranks among {count} model; a shared rank (tie) means no "
        "difference between those models is shown.",
        "{distinct} different ranks among {count} models; a shared rank (tie) means no "
        "difference between those models is shown.",
        len(ranks),
    ).format(distinct=distinct, count=len(ranks))


def pair_words(pair: dict[str, Any]) -> str:
    """A pair of `study show --json`'s `pairs` in plain words (lineup.measure.pairs' words) in
    the current language: its own `words` in English."""
    if current_language() == "en":
        return str(pair.get("words") or "")
    a, b = pair["a"], pair["b"]
    if pair.get("decided") and pair.get("share_a_better") is not None:
        if pair.get("ci_low") is None:  # unanimous: the same margin on every item
            return ngettext(
                "{a} is better than {b} on this set: {share} of resamples (the same "
                "margin on the {items} item)",
                "{a} is better than {b} on this set: {share} of resamples (the same "
                "margin on every one of the {items} items)",
                pair["items"],
            ).format(a=a, b=b, share=_share(pair["share_a_better"]), items=pair["items"])
        return _("{a} is better than {b} on this set: {share} of resamples").format(
            a=a, b=b, share=_share(pair["share_a_better"])
        )
    if pair.get("ci_low") is None and pair.get("reason"):
        return _("no difference shown ({reason})").format(reason=reason_text(str(pair["reason"])))
    return _("no difference shown")
