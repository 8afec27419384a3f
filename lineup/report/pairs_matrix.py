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

from collections.abc import Callable, Sequence
from typing import Any

# The figures whose matrix the page and the reports show, with the heading and how a
# difference is written.
MATRIX_FIGURES = {
    "relevance": ("Relevance score (relevant 1, partly 0.5, irrelevant 0; mean over items)", ".2f"),
    "pct_relevant": ("% relevant (difference in percentage points)", ".0f"),
    "judge_score": ("The judge's score (the latest judge's figure)", ".2f"),
    "rouge1_f1": ("ROUGE-1 F1 against the references", ".2f"),
    "rougeL_f1": ("ROUGE-L F1 against the references", ".2f"),
    "chrf": ("chrF against the references", ".1f"),
    "mean_wer": ("Mean WER (lower is better)", ".2f"),
    "cer": ("CER (lower is better)", ".2f"),
}
# The rank's definition, wherever a rank is shown (lineup.measure.pairs).
RANK_RULE = (
    "Rank = 1 + the number of models shown better than this one on the relevance score (their "
    "paired difference over the same items has a 95% item-bootstrap interval above 0), or "
    "better than a model whose score is at least this one's; so a rank follows the scores' "
    "order, and models with no difference shown share a rank. No rank, rating or interval from "
    "fewer than 5 shared items."
)
NO_DIFFERENCE = "no difference shown"


def _signed(value: float, fmt: str) -> str:
    """A difference with its sign ("+0.25", "−0.25"); one that rounds to zero without one."""
    text = f"{value:+{fmt}}"
    if float(text) == 0:
        return text[1:]
    return text.replace("-", "−")


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
    return f"{percent:.0f}%"


def cell_text(pair: dict[str, Any], row: str, fmt: str = ".2f") -> str:
    """The cell of `row` against the pair's other model (module docstring)."""
    if pair.get("diff") is None:
        return "no shared item"
    flip = row != pair["a"]
    diff = -pair["diff"] if flip else pair["diff"]
    text = _signed(diff, fmt)
    low, high = pair.get("ci_low"), pair.get("ci_high")
    if low is not None and high is not None:
        low, high = (-high, -low) if flip else (low, high)
        text += f" [{_signed(low, fmt)}, {_signed(high, fmt)}]"
    if pair.get("decided"):
        side = "worse" if flip else "better"
        if low is None:  # unanimous: the same margin on every item
            return f"{text}: {side} on every item ({pair['items']})"
        return f"{text}: {side} ({_share(pair.get('share_a_better'))} of resamples)"
    if low is None and pair.get("reason"):
        reason = str(pair["reason"]).split(":")[0]
        return f"{text}: {NO_DIFFERENCE} ({reason})"
    return f"{text}: {NO_DIFFERENCE}"


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
                    f"{a} is better than {b} on this set: 100% of resamples (the same margin "
                    f"on every one of the {pair['items']} items)"
                )
            else:
                share = _share(pair.get("share_a_better"))
                said.append(f"{a} is better than {b} on this set: {share} of resamples")
        elif pair.get("ci_low") is None and pair.get("reason"):
            said.append(f"between {a} and {b}, {NO_DIFFERENCE} ({pair['reason']})")
        else:
            share = _share(pair.get("share_a_better"))
            said.append(
                f"between {a} and {b}, {NO_DIFFERENCE} ({a} ahead in {share} of resamples; "
                "the interval holds 0)"
            )
    return said


def rank_note(model: dict[str, Any]) -> str | None:
    """What a model's ranking row says beside its rating: won or lost every comparison, or
    why it has no rating or rank."""
    if model.get("won_every_comparison"):
        return "won every comparison: no rating (the fit would make one up)"
    if model.get("lost_every_comparison"):
        return "lost every comparison: no rating (the fit would make one up)"
    reason = model.get("bt_reason")
    return str(reason) if reason else None


def rank_summary(summary: dict[str, Any]) -> str | None:
    """The ranks in one sentence: all different, all shared, or some shared; None when no
    model has a rank."""
    ranks = [m.get("bt_rank") for m in summary["models"] if m.get("bt_rank") is not None]
    if not ranks:
        return None
    if len(ranks) == 1:
        return "One model has a rank: the others share fewer than 5 items with it."
    distinct = len(set(ranks))
    if distinct == len(ranks):
        return (
            f"{len(ranks)} different ranks: each model is shown better than the one ranked "
            "just below it."
        )
    if distinct == 1:
        return (
            f"One shared rank for all {len(ranks)} models: no difference between them is shown yet."
        )
    return (
        f"{distinct} different ranks among {len(ranks)} models; a shared rank (tie) means no "
        "difference between those models is shown."
    )
