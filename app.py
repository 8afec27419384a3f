"""Lineup's Streamlit entry point: the pages, nothing else."""

import streamlit as st

from components.language import apply_language, language_switch
from lineup.app import _

# The favicon is inline SVG (Streamlit sends it as a data: URI): a `:material/...:` page icon
# is fetched from fonts.gstatic.com, which fails offline. The page icons below are drawn with
# the Material Symbols font that ships in Streamlit's static files.
ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="#1c83e1">'
    '<rect x="2" y="4" width="5.5" height="16" rx="1.5"/>'
    '<rect x="9.25" y="4" width="5.5" height="16" rx="1.5"/>'
    '<rect x="16.5" y="4" width="5.5" height="16" rx="1.5"/></svg>'
)
st.set_page_config(page_title="Lineup", page_icon=ICON_SVG, layout="wide")
language = apply_language()

pages = [
    st.Page(
        "app_pages/compare_vlms.py",
        title=_("Compare VLMs"),
        icon=":material/image_search:",
        default=True,
    ),
    st.Page(
        "app_pages/compare_voices.py",
        title=_("Compare voices"),
        icon=":material/record_voice_over:",
    ),
    st.Page("app_pages/sets.py", title=_("Sets"), icon=":material/library_books:"),
    st.Page("app_pages/studies.py", title=_("Studies"), icon=":material/science:"),
    st.Page("app_pages/label_queue.py", title=_("Label queue"), icon=":material/fact_check:"),
    st.Page("app_pages/leaderboard.py", title=_("Leaderboard"), icon=":material/leaderboard:"),
    st.Page("app_pages/endpoints.py", title=_("Backends"), icon=":material/dns:"),
]
page = st.navigation(pages)
language_switch(language)
page.run()
