"""Can I stop labeling? in plain words: on the Studies page with the models' names, in the label
queue without them (the queue is blind). Both draw `study show --json`'s `stop_labeling`
(lineup.measure.stopping defines each figure)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from components.study.common import words
from lineup.app import (
    MIN_ITEMS,
    N_,
    _,
    escape_markdown,
    ngettext,
    number,
    percent,
    reason_text,
)

HOW = N_(
    "How, from everyone's labels: a model's score is the mean over the items of its answers' "
    "labels ({r} 1, {p} ½, {i} 0). The items are resampled 1,000 times with all their "
    "answers and labels; a difference is shown when its 95% interval excludes 0. The "
    "estimate of the items still needed assumes today's difference holds and the interval "
    "narrows as 1/√items: it is the number at which a difference of today's size would be "
    "shown 4 times in 5. Only the leader's pairs count: how the others order does not "
    "change which model is best."
)


def _reason(text: str | None) -> str:
    """A reason of lineup.measure.stopping in the page's language (as it is when unknown)."""
    return "" if text is None else reason_text(text)


def _percent(share: float | None) -> str:
    # 99.6% is not certainty: never round a share short of 1 up to 100% (_share).
    return "–" if share is None else _share(share)


def _more(n: int) -> str:
    return ngettext("{count} more item", "{count} more items", n).format(count=n)


def _signed(value: float) -> str:
    """A difference with its sign, the minus a real one."""
    return ("\u2212" if math.copysign(1.0, value) < 0 else "+") + number(abs(value), 2)


def _pair_head(name: str, diff: float, items: int) -> str:
    """How far the other model is from the leader over the items both have."""
    if diff > 0:
        template = ngettext(
            "**{name}** scores {gap} lower over the {count} item both have",
            "**{name}** scores {gap} lower over the {count} items both have",
            items,
        )
    elif diff < 0:
        template = ngettext(
            "**{name}** scores {gap} higher over the {count} item both have",
            "**{name}** scores {gap} higher over the {count} items both have",
            items,
        )
    else:
        template = ngettext(
            "**{name}** scores the same over the {count} item both have",
            "**{name}** scores the same over the {count} items both have",
            items,
        )
    return template.format(name=name, gap=number(abs(diff), 2), count=items)


def _pair_line(pair: dict[str, Any], names: dict[str, str]) -> str:
    """One undecided pair: how far the other model is from the leader on the items both have
    labeled, the interval of that difference, and what would decide it."""
    name = escape_markdown(names.get(pair["b"], pair["b"]))
    if pair["diff"] is None:
        return "- " + _("**{name}**: {reason}.").format(
            name=name, reason=_reason(pair["items_needed_reason"])
        )
    head = "- " + _pair_head(name, pair["diff"], pair["items"] or 0)
    if pair["ci_low"] is not None and pair["ci_high"] is not None:
        head += _(" (95% interval of the difference {low} to {high}, which holds 0)").format(
            low=_signed(pair["ci_low"]), high=_signed(pair["ci_high"])
        )
    if pair["items_needed"] is None:
        return head + _("; no estimate: {reason}.").format(
            reason=_reason(pair["items_needed_reason"])
        )
    more = _more(pair["items_needed"])
    if not pair["beyond_set"]:
        return head + _("; about {more} would decide it.").format(more=more)
    left = pair["items_left"]
    if left == 0:
        return head + _(
            "; about {more} would decide it, but every item of the set is labeled for both."
        ).format(more=more)
    return head + ngettext(
        "; about {more} would decide it, more than the {count} item the set has left.",
        "; about {more} would decide it, more than the {count} items the set has left.",
        left,
    ).format(more=more, count=left)


def stop_labeling_block(stop: dict[str, Any], names: dict[str, str], kind: str) -> None:
    """The Studies page's block, beside the relevance table: whether labeling more would
    change the answer to "which model is best", and what would."""
    said = words(kind)
    how = _(HOW).format(r=said["relevant"], p=said["partial"], i=said["irrelevant"])
    state = stop["state"]
    if state == "one model":
        st.caption(_("Can I stop labeling? One model: there is no comparison to decide."))
        return
    if state == "no labels":
        st.caption(_("Can I stop labeling? Not yet: no answer is labeled."))
        return
    leader = escape_markdown(names.get(stop["leader"], stop["leader"]))
    score = number(stop["leader_value"], 2)
    chance = (
        _("the best in {share} of the resamples of the items").format(
            share=_percent(stop["p_leader_best"])
        )
        if stop["p_leader_best"] is not None
        else _("no chance of being best yet ({reason})").format(
            reason=_reason(stop["p_leader_best_reason"])
        )
    )
    if stop["can_stop"]:
        st.success(
            _(
                "**Can I stop labeling? Yes.** {leader} (score {score}) is shown better than "
                "every other model on this set: {chance}."
            ).format(leader=leader, score=score, chance=chance),
            icon=":material/task_alt:",
        )
        st.caption(how)
        return
    pairs = stop["undecided_pairs"]
    text = (
        ngettext(
            "**Can I stop labeling? Not yet.** {leader} leads (score {score}), {chance}, but is "
            "not yet told apart from {count} model:",
            "**Can I stop labeling? Not yet.** {leader} leads (score {score}), {chance}, but is "
            "not yet told apart from {count} models:",
            len(pairs),
        ).format(leader=leader, score=score, chance=chance, count=len(pairs))
        + "\n"
        + "\n".join(_pair_line(pair, names) for pair in pairs)
    )
    if stop["items_needed"] is not None:
        text += "\n\n" + _(
            "About **{more}**, labeled for every model, would decide them if the differences "
            "stay as they are."
        ).format(more=_more(stop["items_needed"]))
        if stop["beyond_set"]:
            text += " " + _(
                "The set has not that many left: at these differences it is too small to "
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
