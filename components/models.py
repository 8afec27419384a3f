"""Choosing models (discovered on the endpoints, declared in backends.toml, local, or typed)."""

from __future__ import annotations

import streamlit as st

from lineup.app import (
    EndpointReport,
    Lineup,
    Modality,
    _,
)

DISCOVERY_TTL_S = 30
LOCAL_TTL_S = 300


@st.cache_data(ttl=DISCOVERY_TTL_S, show_spinner=False)
def _reports(_app: Lineup, config_key: str, past: bool) -> list[EndpointReport]:
    return _app.catalog.endpoint_reports(past=past)


@st.cache_data(ttl=LOCAL_TTL_S, show_spinner=False)
def _local(_app: Lineup, modality: Modality) -> list[str]:
    return [m.spec for m in _app.catalog.local_models(modality)]


def endpoint_reports(app: Lineup, *, past: bool = False) -> list[EndpointReport]:
    """What each endpoint offers, asked at most every DISCOVERY_TTL_S per backends.toml; with
    `past`, also the endpoints only past comparisons' specs name (the Backends page)."""
    key = repr(app.config)  # a new backends.toml gives a new cache entry
    # The store's name too: the cache is the server's, and each store has its own past.
    with st.spinner(_("Asking the endpoints for their models…")):
        return _reports(app, f"{key} {app.settings.database_url}", past)


def model_options(app: Lineup, modality: Modality, *, text_only: bool = False) -> list[str]:
    """The models to offer: local ones, names from backends.toml, and what the endpoints
    serve (for VLMs, those that can see; with `text_only`, every chat model)."""
    options: list[str] = list(_local(app, modality))
    options += app.catalog.named_models(modality)
    if modality == "vlm":
        for report in endpoint_reports(app):
            options += [m.spec for m in report.models if text_only or m.vision is not False]
    return list(dict.fromkeys(options))


# The box's text field needs 48 px while it has the focus and 8 px once it loses it: when
# the chips fill their last row, the field takes a row of its own only while focused, so the
# box shrank by a row (32 px) as the start button below it was pressed, and the click landed
# on nothing. The field keeps its focused width.
# A chip is as wide as the box allows and cut its spec with an ellipsis beyond ("piper:en_US-
# joe-m…" at 1000 px): its spec wraps instead, broken anywhere, as a spec has few spaces.
_STEADY_BOX = (
    "<style>.st-key-{key} input {{ min-width: 48px !important; }} "
    ".st-key-{key} [data-tag] {{ height: auto !important; }} "
    ".st-key-{key} [data-tag] span {{ white-space: normal !important; "
    "overflow-wrap: anywhere; text-overflow: clip !important; }}</style>"
)


def model_picker(
    app: Lineup, modality: Modality, default: list[str], label: str | None = None
) -> list[str]:
    """The models (or voices) box: discovered, named and typed specs."""
    key = f"models-{modality}"
    st.html(_STEADY_BOX.format(key=key))
    options = model_options(app, modality)
    # The default is given once, through the session state, never as `default=`: the browser
    # drops a box's chips when the default it was drawn with changes between script runs
    # (passing it on the first run and None after left the box empty about one first visit
    # in five).
    chosen = st.session_state.setdefault(key, [d for d in default if d in options])
    if isinstance(chosen, list):  # typed, or a shown run's (which may not be offered now)
        options += [spec for spec in chosen if spec not in options]
    return st.multiselect(
        _("Models") if label is None else label,
        options,
        key=key,
        accept_new_options=True,
        wrap=True,  # a chip with a URL is long: chips go onto more rows, none scrolls out of sight
        placeholder=_("Pick, or type a spec such as ollama:llava:7b"),
        help=_(
            "Discovered models, names from backends.toml, or any KIND:MODEL[#PRESET][@URL]. "
            "The Backends page lists what each endpoint offers."
        ),
    )
