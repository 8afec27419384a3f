"""What ran where: the machine of a comparison or study, a card per model (what its server or
engine said about itself), and the words when columns ran under conditions that differ.

A server's words are hostile text: every value is escaped, never rendered as Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from lineup.app import Lineup, Run, _, card_facts, escape_markdown, host_words, machine_line

ASKING_POLL_S = 0.5


def model_card(card: Mapping[str, Any] | None, *, asking: bool = False) -> None:
    """One model's card, folded: its engine and host in the title, every fact inside."""
    if card is None and asking:
        st.caption(":material/hourglass_top: " + _("asking the server about this model…"))
        return
    facts = card_facts(card)
    engine = (card or {}).get("engine")
    host = (card or {}).get("host")
    host = host_words(host) if host else None
    title = " · ".join(str(part) for part in (engine, host) if part) or _("not recorded")
    with st.expander(
        _("What ran where: {title}").format(title=escape_markdown(title)), icon=":material/dns:"
    ):
        for label, text in facts:
            st.caption(f"**{escape_markdown(label)}:** {escape_markdown(text)}")


def machine_caption(machine: Mapping[str, Any] | None) -> None:
    ran_on = _("Ran on {machine}").format(machine=escape_markdown(machine_line(machine)))
    st.caption(f":material/computer: {ran_on}")


def differences_note(sentences: Sequence[str]) -> None:
    for sentence in sentences:
        st.warning(escape_markdown(sentence), icon=":material/compare_arrows:")


def study_provenance(
    app: Lineup, study_id: int, models: Sequence[str], names: Mapping[str, str]
) -> None:
    """A study's machine and each model's card, folded under one expander per model."""
    cards = app.studies.provenance(study_id)
    st.markdown("**" + _("What ran where") + "**")
    machine_caption(app.studies.machine(study_id))
    for column, model in zip(st.columns(len(models)), models, strict=True):
        with column:
            st.caption(escape_markdown(names.get(model, model)))
            model_card(cards.get(model))


def comparison_provenance(app: Lineup, run: Run, models: Sequence[str]) -> None:
    """Under a stored comparison's columns (one per model, in the order shown): the words when
    they differ, the machine, and a card under each column. While this process still asks the
    servers (just after the answers), it redraws until the cards are in."""
    comparison = app.compare.active(run.id)
    still_asking = comparison is not None and not comparison.settled.is_set()

    def draw() -> None:
        asking = comparison is not None and not comparison.settled.is_set()
        if still_asking and not asking:
            st.rerun()  # the cards are in: draw the page once more, without this redraw
        cards = app.compare.provenance(run.id)
        differences_note(app.compare.differences(run.generations, cards))
        machine_caption(app.compare.machine(run.id))
        for column, model in zip(st.columns(len(models)), models, strict=True):
            with column:
                model_card(cards.get(model), asking=asking)

    st.fragment(draw, run_every=ASKING_POLL_S if still_asking else None)()
