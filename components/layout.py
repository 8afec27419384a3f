"""Small layout rules the pages share, scoped to one widget by its key."""

from __future__ import annotations

import streamlit as st

# A pill cuts its label with an ellipsis where the column is narrower than the text (a long
# sample question at 1000 px, longer still in Russian): these pills wrap theirs instead.
_WHOLE_PILLS = (
    "<style>.st-key-{key} button, .st-key-{key} button * "
    "{{ white-space: normal !important; overflow: visible !important; "
    "text-overflow: clip !important; height: auto !important; text-align: left; }}</style>"
)


def whole_pill_labels(key: str) -> None:
    """The pills of the widget `key` show their whole labels, wrapped over lines if need be."""
    st.html(_WHOLE_PILLS.format(key=key))
