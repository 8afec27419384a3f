"""Reusable Streamlit widgets for Lineup's pages."""
