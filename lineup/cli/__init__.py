"""python -m lineup: the command line."""

from lineup.cli.main import main

__all__ = [
    "main",
]
