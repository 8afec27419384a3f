"""The pages: one thin script each, run by app.py through st.navigation (a package only so
that the import checks can read it)."""
