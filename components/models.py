"""Choosing models: discovered on the endpoints, declared in backends.toml, local, or typed."""

from __future__ import annotations

import streamlit as st

from backends.registry import KINDS
from lineup.discovery import EndpointReport, local_models, probe_endpoints
from lineup.service import Lineup

DISCOVERY_TTL_S = 30


@st.cache_data(ttl=DISCOVERY_TTL_S, show_spinner="Asking the endpoints for their models…")
def _reports(_app: Lineup, config_key: str) -> list[EndpointReport]:
    return probe_endpoints(_app.config)


@st.cache_data(ttl=300, show_spinner=False)
def _local(modality: str) -> list[str]:
    return [m.spec for m in local_models() if KINDS[m.spec.split(":", 1)[0]].modality == modality]


def endpoint_reports(app: Lineup) -> list[EndpointReport]:
    key = repr(app.config)  # a new backends.toml gives a new cache entry
    return _reports(app, key)


def model_picker(
    app: Lineup, modality: str, default: list[str], label: str = "Models"
) -> list[str]:
    options: list[str] = list(_local(modality))
    options += [
        m.name for m in app.config.models if KINDS[m.spec.split(":", 1)[0]].modality == modality
    ]
    if modality == "vlm":
        for report in endpoint_reports(app):
            options += [m.spec for m in report.models if m.vision is not False]
    options = list(dict.fromkeys(options))
    return st.multiselect(
        label,
        options,
        default=[d for d in default if d in options],
        key=f"models-{modality}",
        accept_new_options=True,
        placeholder="Pick, or type a spec such as ollama:llava:7b",
        help="Discovered models, names from backends.toml, or any KIND:MODEL[#PRESET][@URL]. "
        "The Backends page lists what each endpoint offers.",
    )
