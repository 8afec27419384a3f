"""Sentence sets that ship with the app, for the voice comparison."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SENTENCES_FILE = Path(__file__).resolve().parents[2] / "sample_media" / "sentences.json"


@dataclass(frozen=True)
class SentenceSet:
    title: str
    language: str
    sentences: tuple[str, ...]


def sentence_sets(path: Path = SENTENCES_FILE) -> list[SentenceSet]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        SentenceSet(title, entry["language"], tuple(entry["sentences"]))
        for title, entry in data.items()
    ]


def split_sentences(text: str) -> list[str]:
    """One sentence per non-empty line of a text box."""
    return [line.strip() for line in text.splitlines() if line.strip()]
