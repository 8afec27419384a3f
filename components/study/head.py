"""A study's head: one line of what it asked, and its models' full specs and system prompt."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from components.study.common import count_text
from lineup.app import StudyInfo, code_span, escape_markdown, hide_credentials


def study_caption(info: StudyInfo) -> str:
    """One line of what the study asked: models, repeats and parameters."""
    params = info.params
    voices = info.kind == "tts"
    parts = [
        f"{'Voice' if voices else 'VLM'} set **{escape_markdown(info.set_name)}**",
        f"{len(info.models)} {'voices' if voices else 'models'} × "
        + count_text(info.repeats, "sample" if voices else "repeat"),
    ]
    if info.kind == "tts":
        parts.append(f"STT {params.get('stt') or 'none'}")
    else:
        if params.get("temperature") is not None:
            parts.append(f"temperature {params['temperature']}")
        if params.get("max_tokens") is not None:
            parts.append(f"max tokens {params['max_tokens']}")
        if params.get("system"):
            parts.append("with a system prompt")
    if info.seed is not None:
        parts.append(f"seed {info.seed}")
    if params.get("timeout_s") is not None:
        parts.append(f"timeout {params['timeout_s']:g} s")
    if params.get("timing") == "fair":
        parts.append("fair timing")
    if info.blind:
        parts.append("blind")
    parts.append(f"created {info.created_at:%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts)


def study_details(
    info: StudyInfo, names: dict[str, str], specs: Mapping[str, str] | None = None
) -> None:
    """The full spec of each model (the tables show short names) and the system prompt; a
    name from backends.toml with the full spec its answers were made with (`specs`)."""
    noun = "Voices" if info.kind == "tts" else "Models"
    with st.expander(f"{noun} and parameters", icon=":material/tune:"):
        st.markdown(
            "\n".join(
                f"- **{escape_markdown(names[m])}**: {code_span(hide_credentials(m))}"
                + _stood_for(m, specs or {})
                for m in info.models
            )
        )
        system = info.params.get("system")
        if system:
            st.caption("System prompt")
            st.code(system, language=None, wrap_lines=True)


def _stood_for(model: str, specs: Mapping[str, str]) -> str:
    """` = `SPEC`` for a model whose name stood for another spec, else nothing."""
    spec = specs.get(model)
    return "" if spec is None or spec == model else f" = {code_span(hide_credentials(spec))}"
