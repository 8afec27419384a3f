"""Backends: the endpoints, their health and models, and how to add one."""

from __future__ import annotations

import streamlit as st

from components.context import get_lineup
from components.models import endpoint_reports
from lineup.app import EndpointReport, code_span

app = get_lineup()
kinds = app.catalog.kinds()
st.title("Backends")

if st.button("Refresh", icon=":material/refresh:"):
    st.cache_data.clear()


def endpoint_box(report: EndpointReport) -> None:
    """An endpoint: up or not, where, and the models it serves. One that only past
    comparisons name is shown by its URL and the specs that name it, in code spans: the
    store's text, which Markdown must not draw."""
    icon = ":material/check_circle:" if report.health.ok else ":material/cancel:"
    message = report.health.message
    with st.container(border=True):
        if report.used_by:
            st.markdown(f"{icon} `{report.kind}` · {code_span(report.base_url)}")
            st.caption("Used by " + ", ".join(code_span(spec) for spec in report.used_by))
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
                        "vision": {True: "yes", False: "no", None: "?"}[m.vision],
                        **{k: v for k, v in m.details.items() if k != "digest"},
                    }
                    for m in report.models
                ],
                hide_index=True,
            )


reports = endpoint_reports(app, past=True)
st.subheader("Endpoints")
for report in reports:
    if not report.used_by:
        endpoint_box(report)

past = [report for report in reports if report.used_by]
if past:
    st.subheader("Used in past comparisons")
    st.caption(
        "Endpoints that stored answers name with `@BASE_URL` in their model spec, and "
        f"`{app.settings.backends_file}` does not (keys in a URL are shown as `***`). "
        "Add one there to give it a name and an API key variable."
    )
    for report in past:
        endpoint_box(report)

st.subheader("Offline, no server needed")
by_kind: dict[str, list[str]] = {}
for model in app.catalog.local_models():
    by_kind.setdefault(model.spec.split(":", 1)[0], []).append(model.spec)
if not by_kind:
    st.warning("No offline engine found: run `make run` as root to install the Debian packages.")
for kind, specs in by_kind.items():
    with st.expander(
        f"`{kind}` · {len(specs)} · {kinds[kind].description}", expanded=len(specs) <= 5
    ):
        st.code("\n".join(specs), language=None)

if app.config.models:
    st.subheader("Named in backends.toml")
    st.dataframe([{"name": m.name, "spec": m.spec} for m in app.config.models], hide_index=True)

st.subheader("Kinds")
st.dataframe(
    [{"kind": k, "for": i.modality.upper(), "what": i.description} for k, i in kinds.items()],
    hide_index=True,
)

st.subheader("Adding a backend")
st.markdown(
    f"""
Type a spec wherever models are chosen: `KIND:MODEL[#PRESET][@BASE_URL]`, for example
`ollama:llava:7b`, `openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1`,
`transformers:/models/SmolVLM-256M-Instruct`, `ocr:eng+rus`.

To have an endpoint's models listed, and to give models short names, write
`{app.settings.backends_file}`:
"""
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
    "The Ollama endpoint is always listed: OLLAMA_HOST, or http://127.0.0.1:11434. "
    "API keys come from the environment."
)
