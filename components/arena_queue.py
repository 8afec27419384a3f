"""The labeling queue's arena mode: one item, two blind answers side by side as A and B, the
four vote buttons and the keys that press them.

Keys go through the labeling queue's script (components.label_queue.KEYS_SCRIPT: one key at a
time, in the order typed, each once the page has redrawn from the one before, never while
typing in a text box): A / B / T / X vote A better / B better / tie / both bad on the pair
shown, J / K (or N / P) move to the next / previous pair and U to the next pair without this
annotator's vote. A vote moves on to the next pair without one.
"""

from __future__ import annotations

import streamlit as st

from components.label_queue import install_keys
from components.stats import render_answer
from lineup.app import (
    INPUT_ERRORS,
    N_,
    VOTE_A,
    VOTE_B,
    VOTE_BOTH_BAD,
    VOTE_TIE,
    ArenaAnswer,
    ArenaPair,
    ArenaQueue,
    ArenaView,
    Lineup,
    PairKey,
    _,
    escape_markdown,
)

PAIR_KEY = "arena-pair"  # the pair shown, as "<id>-<id>" (also in the address, `pair`)
ERROR_KEY = "arena-vote-error"
# (verdict, button text, key, icon), in the order drawn.
VOTE_BUTTONS = [
    (VOTE_A, N_("A is better"), "A", ":material/arrow_back:"),
    (VOTE_B, N_("B is better"), "B", ":material/arrow_forward:"),
    (VOTE_TIE, N_("Tie"), "T", ":material/drag_handle:"),
    (VOTE_BOTH_BAD, N_("Both bad"), "X", ":material/thumb_down:"),
]
VOTE_WORDS = {verdict: text for verdict, text, _key, _icon in VOTE_BUTTONS}
ARENA_KEYS_HELP = N_(
    "**A** or **B**: that answer is better, **T** a tie, **X** both bad  \n"
    "**J / K** (or **N / P**) next / previous pair, **U** next pair without your vote  \n"
    "Keys are taken in the order typed; in a text box they are text."
)


def pair_text(key: PairKey) -> str:
    """A pair's name in the address: its two answers' ids, lower first."""
    return f"{key[0]}-{key[1]}"


def parse_pair(text: str | None) -> PairKey | None:
    """The pair named in the address; None for anything else."""
    parts = (text or "").split("-")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    low, high = sorted(int(part) for part in parts)
    return (low, high)


# Callbacks (they run before the next script run draws the page) --------------------------


def go_to_pair(key: PairKey) -> None:
    st.session_state[PAIR_KEY] = pair_text(key)
    st.session_state.pop(ERROR_KEY, None)


def _vote(app: Lineup, study_id: int, annotator: str, pair: ArenaPair, verdict: str) -> None:
    """Store the vote on the pair drawn, then show the next pair without a vote (the same
    one when every pair has one)."""
    try:
        app.labels.vote(study_id, annotator, pair.generation_a, pair.generation_b, verdict)
    except INPUT_ERRORS as exc:  # an answer gone, a name refused: said in place
        st.session_state[ERROR_KEY] = str(exc)
        return
    st.session_state.pop(ERROR_KEY, None)
    queue = app.labels.arena_queue(study_id, annotator)
    following = queue.next_unvoted(queue.position_of(pair.key))
    target = queue.pair(following) if following is not None else None
    st.session_state[PAIR_KEY] = pair_text((target or pair).key)


# Drawing ---------------------------------------------------------------------------------


def arena_nav(queue: ArenaQueue, position: int) -> None:
    """Previous / Next pair and Next without a vote."""
    moves = [
        (_("Previous"), "arena-previous", "K", queue.previous(position), ":material/arrow_back:"),
        (_("Next"), "arena-next", "J", queue.next(position), ":material/arrow_forward:"),
        (
            _("Next without a vote"),
            "arena-next-unvoted",
            "U",
            queue.next_unvoted(position),
            ":material/skip_next:",
        ),
    ]
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    for text, key, shortcut, target, icon in moves:
        pair = queue.pair(target) if target is not None else None
        row.button(
            text,
            key=key,
            icon=icon,
            shortcut=shortcut,
            disabled=pair is None or target == position,
            on_click=go_to_pair,
            args=(pair.key if pair is not None else None,),
        )


def answers_side_by_side(app: Lineup, view: ArenaView) -> None:
    """Answer A and Answer B in two columns, named by their side only."""
    for column, answer in zip(st.columns(2), (view.a, view.b), strict=True):
        with column:
            answer_card(app, view.item.kind, answer)


def answer_card(app: Lineup, kind: str, answer: ArenaAnswer) -> None:
    with st.container(border=True, key=f"arena-answer-{answer.side.lower()}"):
        st.markdown(f"**{answer.title}**")
        if kind == "tts":
            clip = app.media_path(answer.audio_hash) if answer.audio_hash else None
            if clip is None:
                st.caption(_("audio missing from the media store"))
            else:
                st.audio(str(clip))
            heard = answer.transcript
            st.caption(
                _("Heard: {text}").format(text=escape_markdown(heard))
                if heard
                else _("Heard: *(no transcript)*")
            )
        else:
            render_answer(answer.output_text)
            if not answer.output_text:
                st.markdown(_("*(empty answer)*"))


def vote_buttons(app: Lineup, study_id: int, annotator: str, pair: ArenaPair) -> None:
    """The four votes (this annotator's current one primary), with their keys, and what the
    current vote is."""
    install_keys()
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    for verdict, text, shortcut, icon in VOTE_BUTTONS:
        row.button(
            _(text),
            key=f"arena-vote-{verdict}",
            icon=icon,
            shortcut=shortcut,
            type="primary" if pair.vote == verdict else "secondary",
            disabled=not annotator,
            on_click=_vote,
            args=(app, study_id, annotator, pair, verdict),
        )
    if not annotator:
        row.caption(_("Set your name in the sidebar to vote."))
    elif pair.vote is None:
        row.caption(_("No vote from you on this pair yet."))
    else:
        row.markdown(
            ":blue-badge[:material/how_to_vote: "
            + _("Your vote: {vote}").format(vote=_(VOTE_WORDS[pair.vote]))
            + "]"
        )
    error = st.session_state.get(ERROR_KEY)
    if error:
        st.error(error, icon=":material/block:")
