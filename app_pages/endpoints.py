"""Backends: the endpoints, their health and models, and how to add one."""

from __future__ import annotations

import streamlit as st

from components.context import get_lineup
from components.models import endpoint_reports
from lineup.app import N_, EndpointReport, _, code_span, said

app = get_lineup()
kinds = app.catalog.kinds()
st.title(_("Backends"))

if st.button(_("Refresh"), icon=":material/refresh:"):
    st.cache_data.clear()


# The details servers give of a model, as they name them (Ollama): headers in the language.
DETAILS = {
    "size": N_("size"),
    "parameter_size": N_("parameter_size"),
    "quantization": N_("quantization"),
    "family": N_("family"),
    "server_version": N_("server_version"),
}


def _detail(key: str) -> str:
    return _(DETAILS[key]) if key in DETAILS else key


def endpoint_box(report: EndpointReport) -> None:
    """An endpoint: up or not, where, and the models it serves. One that only past
    comparisons name is shown by its URL and the specs that name it, in code spans: the
    store's text, which Markdown must not draw."""
    icon = ":material/check_circle:" if report.health.ok else ":material/cancel:"
    health = report.health
    message = said(health.message, health.template, health.values)
    with st.container(border=True):
        if report.used_by:
            st.markdown(f"{icon} `{report.kind}` · {code_span(report.base_url)}")
            st.caption(
                _("Used by {specs}").format(
                    specs=", ".join(code_span(spec) for spec in report.used_by)
                )
            )
            message = message.replace(report.base_url, code_span(report.base_url))
        else:
            st.markdown(f"{icon} **{report.name}** · `{report.kind}` · `{report.base_url}`")
        if report.health.ok:
            st.caption(message)
        else:
            st.warning(message)
        if report.models:
            st.dataframe(
                [
                    {
                        "spec": m.spec,
                        _("vision"): {True: _("yes"), False: _("no"), None: "?"}[m.vision],
                        **{_detail(k): v for k, v in m.details.items() if k != "digest"},
                    }
                    for m in report.models
                ],
                hide_index=True,
            )


reports = endpoint_reports(app, past=True)
st.subheader(_("Endpoints"))
for report in reports:
    if not report.used_by:
        endpoint_box(report)

past = [report for report in reports if report.used_by]
if past:
    st.subheader(_("Used in past comparisons"))
    st.caption(
        _(
            "Endpoints that stored answers name with `@BASE_URL` in their model spec, and "
            "`{file}` does not (keys in a URL are shown as `***`). "
            "Add one there to give it a name and an API key variable."
        ).format(file=app.settings.backends_file)
    )
    for report in past:
        endpoint_box(report)

st.subheader(_("Offline, no server needed"))
by_kind: dict[str, list[str]] = {}
for model in app.catalog.local_models():
    by_kind.setdefault(model.spec.split(":", 1)[0], []).append(model.spec)
if not by_kind:
    st.warning(_("No offline engine found: run `make run` as root to install the Debian packages."))
for kind, specs in by_kind.items():
    with st.expander(
        f"`{kind}` · {len(specs)} · {_(kinds[kind].description)}", expanded=len(specs) <= 5
    ):
        st.code("\n".join(specs), language=None)

if app.config.models:
    st.subheader(_("Named in backends.toml"))
    st.dataframe([{_("name"): m.name, "spec": m.spec} for m in app.config.models], hide_index=True)

st.subheader(_("Kinds"))
st.dataframe(
    [
        {_("kind"): k, _("for"): i.modality.upper(), _("what"): _(i.description)}
        for k, i in kinds.items()
    ],
    hide_index=True,
)

st.subheader(_("Adding a backend"))
st.markdown(
    _(
        "Type a spec wherever models are chosen: `KIND:MODEL[#PRESET][@BASE_URL]`, for example "
        "`ollama:llava:7b`, `openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1`, "
        "`transformers:/models/SmolVLM-256M-Instruct`, `ocr:eng+rus`.\n\n"
        "To have an endpoint's models listed, and to give models short names, write "
        "`{file}`:"
    ).format(file=app.settings.backends_file)
)
st.code(
    """[endpoints.vllm]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
api_key_env = "VLLM_API_KEY"   # the variable holding the key, never the key itself

[models.qwen]
spec = "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1"
options = { timeout_s = 120 }
""",
    language="toml",
)
st.caption(
    _(
        "The Ollama endpoint is always listed: OLLAMA_HOST, or http://127.0.0.1:11434. "
        "API keys come from the environment."
    )
)
