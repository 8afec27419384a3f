"""Lineup's Streamlit entry point: the pages, nothing else."""

import streamlit as st

st.set_page_config(page_title="Lineup", page_icon=":material/view_column:", layout="wide")

pages = [
    st.Page(
        "app_pages/compare_vlms.py",
        title="Compare VLMs",
        icon=":material/image_search:",
        default=True,
    ),
    st.Page(
        "app_pages/compare_voices.py", title="Compare voices", icon=":material/record_voice_over:"
    ),
    st.Page("app_pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:"),
    st.Page("app_pages/endpoints.py", title="Backends", icon=":material/dns:"),
]
st.navigation(pages).run()
