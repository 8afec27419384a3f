"""Can I stop labeling? in plain words: on the Studies page with the models' names, in the label
queue without them (the queue is blind). Both draw `study show --json`'s `stop_labeling`
(lineup.measure.stopping defines each figure)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.study.common import count_text, words
from lineup.app import MIN_ITEMS, _, escape_markdown, ngettext, percent

HOW = (
    "How, from everyone's labels: a model's score is the mean over the items of its answers' "
    "labels ({r} 1, {p} ½, {i} 0). The items are resampled 1,000 times with all their "
    "answers and labels; a difference is shown when its 95% interval excludes 0. The "
    "estimate of the items still needed assumes today's difference holds and the interval "
    "narrows as 1/√items: it is the number at which a difference of today's size would be "
    "shown 4 times in 5. Only the leader's pairs count: how the others order does not "
    "change which model is best."
)


def _percent(share: float | None) -> str:
    if share is None:
        return "–"
    shown = f"{100 * share:.0f}%"
    # 99.6% is not certainty: never round a share short of 1 up to 100%.
    return "over 99%" if shown == "100%" and share < 1 else shown


def _items(n: int | None) -> str:
    return "–" if n is None else count_text(n, "item")


def _more(n: int) -> str:
    return f"{n} more item{'' if n == 1 else 's'}"


def _signed(value: float) -> str:
    """A difference with its sign, the minus a real one."""
    return f"{value:+.2f}".replace("-", "\u2212")


def _pair_line(pair: dict[str, Any], names: dict[str, str]) -> str:
    """One undecided pair: how far the other model is from the leader on the items both have
    labeled, the interval of that difference, and what would decide it."""
    name = escape_markdown(names.get(pair["b"], pair["b"]))
    if pair["diff"] is None:
        return f"- **{name}**: {pair['items_needed_reason']}."
    gap = abs(pair["diff"])
    side = "lower" if pair["diff"] > 0 else "higher" if pair["diff"] < 0 else "the same"
    head = f"- **{name}** scores {gap:.2f} {side} over the {_items(pair['items'])} both have"
    if side == "the same":
        head = f"- **{name}** scores the same over the {_items(pair['items'])} both have"
    if pair["ci_low"] is not None and pair["ci_high"] is not None:
        head += (
            f" (95% interval of the difference {_signed(pair['ci_low'])} to "
            f"{_signed(pair['ci_high'])}, which holds 0)"
        )
    if pair["items_needed"] is None:
        return f"{head}; no estimate: {pair['items_needed_reason']}."
    tail = f"; about {_more(pair['items_needed'])} would decide it"
    if pair["beyond_set"]:
        left = pair["items_left"]
        tail += (
            ", but every item of the set is labeled for both"
            if left == 0
            else f", more than the {count_text(left, 'item')} the set has left"
        )
    return head + tail + "."


def stop_labeling_block(stop: dict[str, Any], names: dict[str, str], kind: str) -> None:
    """The Studies page's block, beside the relevance table: whether labeling more would
    change the answer to "which model is best", and what would."""
    said = words(kind)
    how = HOW.format(r=said["relevant"], p=said["partial"], i=said["irrelevant"])
    state = stop["state"]
    if state == "one model":
        st.caption("Can I stop labeling? One model: there is no comparison to decide.")
        return
    if state == "no labels":
        st.caption("Can I stop labeling? Not yet: no answer is labeled.")
        return
    leader = escape_markdown(names.get(stop["leader"], stop["leader"]))
    best = _percent(stop["p_leader_best"])
    chance = (
        f"the best in {best} of the resamples of the items"
        if stop["p_leader_best"] is not None
        else f"no chance of being best yet ({stop['p_leader_best_reason']})"
    )
    if stop["can_stop"]:
        st.success(
            f"**Can I stop labeling? Yes.** {leader} (score {stop['leader_value']:.2f}) is "
            f"shown better than every other model on this set: {chance}.",
            icon=":material/task_alt:",
        )
        st.caption(how)
        return
    pairs = stop["undecided_pairs"]
    text = (
        f"**Can I stop labeling? Not yet.** {leader} leads (score "
        f"{stop['leader_value']:.2f}), {chance}, but is not yet told apart from "
        f"{count_text(len(pairs), 'model')}:\n"
        + "\n".join(_pair_line(pair, names) for pair in pairs)
    )
    if stop["items_needed"] is not None:
        text += (
            f"\n\nAbout **{_more(stop['items_needed'])}**, labeled for every model, "
            "would decide them if the differences stay as they are."
        )
        if stop["beyond_set"]:
            text += (
                " The set has not that many left: at these differences it is too small to "
                "tell, and the models may be about as good."
            )
    st.info(text, icon=":material/pending:")
    st.caption(how)


def _share(share: float) -> str:
    """A share as the queue's note says it, in the current language (as _percent: never 100%
    short of 1)."""
    shown = percent(share)
    return _("over 99%") if round(100 * share) == 100 and share < 1 else shown


def stop_labeling_note(stop: dict[str, Any]) -> None:
    """The label queue's line, without model names (the queue is blind): is labeling more
    worth it, and about how many items. Each sentence whole, for the catalog."""
    state = stop["state"]
    if state in ("one model", "no labels"):
        return
    chance = (
        _("the leading model is the best in {share} of the resamples of the items").format(
            share=_share(stop["p_leader_best"])
        )
        if stop["p_leader_best"] is not None
        else _("too few items to say how sure the lead is")
    )
    if stop["can_stop"]:
        st.success(
            _(
                "**Can I stop labeling? Yes**: {chance}, and it is shown better than every "
                "other model. More labels will not change which model is best (the Studies "
                "page names it)."
            ).format(chance=chance),
            icon=":material/task_alt:",
        )
        return
    pairs = stop["undecided_pairs"]
    others = len(pairs) + stop["decided_pairs"]
    text = ngettext(
        "**Can I stop labeling? Not yet**: {chance}; {count} of the {others} other models is "
        "not yet told apart from it.",
        "**Can I stop labeling? Not yet**: {chance}; {count} of the {others} other models are "
        "not yet told apart from it.",
        len(pairs),
    ).format(chance=chance, count=len(pairs), others=others)
    needed = stop["items_needed"]
    if needed is not None:
        more = ngettext("{count} more item", "{count} more items", needed).format(count=needed)
        text += " " + (
            _(
                "About **{more}**, with every answer labeled, would tell them apart: more than "
                "the set has left, so the models may be about as good."
            )
            if stop["beyond_set"]
            else _("About **{more}**, with every answer labeled, would tell them apart.")
        ).format(more=more)
    elif any(pair["items"] < MIN_ITEMS for pair in pairs):
        text += " " + _(
            "Label at least {count} items of every model for an estimate of how many more."
        ).format(count=MIN_ITEMS)
    else:  # the differences are 0, or every item gives the same one (the reasons name models)
        text += " " + _("There is no estimate of how many more: the models score the same so far.")
    st.info(text, icon=":material/pending:")
