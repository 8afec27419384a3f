"""A study's head: one line of what it asked, and its models' full specs and system prompt."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from lineup.app import (
    ENGLISH,
    StudyInfo,
    _,
    code_span,
    current_language,
    escape_markdown,
    hide_credentials,
    moment,
    ngettext,
    significant,
)


def _decimal(value: object) -> str:
    """A stored parameter as it was given (0.7, 1), with the locale's decimal sign."""
    text = str(value)
    return text if current_language() == ENGLISH else text.replace(".", ",")


def study_caption(info: StudyInfo) -> str:
    """One line of what the study asked: models, repeats and parameters."""
    params = info.params
    voices = info.kind == "tts"
    name = escape_markdown(info.set_name)
    count, repeats = len(info.models), info.repeats
    if voices:
        parts = [
            _("Voice set **{name}**").format(name=name),
            ngettext(
                "{count} voices × {repeats} sample",
                "{count} voices × {repeats} samples",
                repeats,
            ).format(count=count, repeats=repeats),
        ]
    else:
        parts = [
            _("VLM set **{name}**").format(name=name),
            ngettext(
                "{count} models × {repeats} repeat",
                "{count} models × {repeats} repeats",
                repeats,
            ).format(count=count, repeats=repeats),
        ]
    if info.kind == "tts":
        stt = params.get("stt")
        parts.append(_("STT {model}").format(model=stt) if stt else _("STT none"))
    else:
        if params.get("temperature") is not None:
            parts.append(_("temperature {value}").format(value=_decimal(params["temperature"])))
        if params.get("max_tokens") is not None:
            parts.append(_("max tokens {value}").format(value=params["max_tokens"]))
        if params.get("system"):
            parts.append(_("with a system prompt"))
    if info.seed is not None:
        parts.append(_("seed {value}").format(value=info.seed))
    if params.get("timeout_s") is not None:
        parts.append(_("timeout {seconds} s").format(seconds=significant(params["timeout_s"], 6)))
    if params.get("timing") == "fair":
        parts.append(_("fair timing"))
    if info.blind:
        parts.append(_("blind"))
    parts.append(_("created {moment} UTC").format(moment=moment(info.created_at)))
    return " · ".join(parts)


def study_details(
    info: StudyInfo, names: dict[str, str], specs: Mapping[str, str] | None = None
) -> None:
    """The full spec of each model (the tables show short names) and the system prompt; a
    name from backends.toml with the full spec its answers were made with (`specs`)."""
    title = _("Voices and parameters") if info.kind == "tts" else _("Models and parameters")
    with st.expander(title, icon=":material/tune:"):
        st.markdown(
            "\n".join(
                f"- **{escape_markdown(names[m])}**: {code_span(hide_credentials(m))}"
                + _stood_for(m, specs or {})
                for m in info.models
            )
        )
        system = info.params.get("system")
        if system:
            st.caption(_("System prompt"))
            st.code(system, language=None, wrap_lines=True)


def _stood_for(model: str, specs: Mapping[str, str]) -> str:
    """` = `SPEC`` for a model whose name stood for another spec, else nothing."""
    spec = specs.get(model)
    return "" if spec is None or spec == model else f" = {code_span(hide_credentials(spec))}"
