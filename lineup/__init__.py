"""Lineup: compare local vision-language models and voices side by side."""

__version__ = "0.1.0"
