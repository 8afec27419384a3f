"""Compare voices: one sentence, several voices; listen, read the WER, label."""

import streamlit as st

st.title("Compare voices")
st.info("Coming with the text-to-speech backends.")
