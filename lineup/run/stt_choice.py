"""Which speech-to-text model hears a sentence's clips, and the refusal to score speech with a
model that cannot hear the sentence's language.

`auto` (the default) chooses by the sentence's language: English -> `faster-whisper:tiny.en`
(the model every English figure was made with), any other language ->
`faster-whisper:base` (multilingual). A model the person names (`--stt`, the pages' field) is
used for every sentence whose language it hears; for one it does not hear (tiny.en and a
Russian sentence) nothing is scored: a CLI command or a start refuses before anything is
stored, and a clip that meets it anyway (a study resumed with an English-only model stored in
its parameters) keeps its audio and gets an error instead of a WER.

The sentence's language is its set item's `language` (its first part: `pt-BR` -> `pt`), else a
guess from its script (lineup.measure.language.guess_language: Cyrillic -> ru, Latin -> en,
...). The language is passed to the model (Whisper's `language="ru"`), never guessed by it.
"What a model hears" is its backend's `languages()`; a model that does not say (None) is
trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lineup.catalog import ResolvedModel
from lineup.core import N_, Message, said
from lineup.measure import guess_language, primary_language

AUTO_STT = "auto"
ENGLISH_STT = "faster-whisper:tiny.en"
MULTILINGUAL_STT = "faster-whisper:base"
DEFAULT_STT = AUTO_STT


def sentence_language(text: str, language: str | None) -> str:
    """The ISO 639-1 code a sentence is heard in: its item's language, else its script's."""
    return primary_language(language) if language else guess_language(text)


@dataclass(frozen=True)
class STTChoice:
    """The STT model of a comparison or study: one the person named (`named`), or `auto`
    (`english` for English sentences, `multilingual` for the others)."""

    named: ResolvedModel | None = None
    english: ResolvedModel | None = None
    multilingual: ResolvedModel | None = None

    def __post_init__(self) -> None:
        assert (self.named is None) != (self.english is None or self.multilingual is None)

    @property
    def name(self) -> str:
        """As stored in a run's or study's parameters: the model's name, or `auto`."""
        return self.named.name if self.named is not None else AUTO_STT

    def model_for(self, language: str) -> ResolvedModel:
        """The model that hears a sentence in `language` (an ISO 639-1 code)."""
        if self.named is not None:
            return self.named
        assert self.english is not None and self.multilingual is not None
        return self.english if language == "en" else self.multilingual


def refusal(stt_name: str, backend: Any, language: str, *, auto: bool) -> Message | None:
    """Why `backend` (an STT backend named `stt_name`) may not score a sentence in `language`,
    or None when it hears it (or does not say what it hears). Stored as a clip's error (in
    English, with its template), or said at once (`said_message`)."""
    heard = backend.languages()
    if heard is None or language in heard:
        return None
    # English says "languages" whatever the count, as it always did (there are more than 5).
    spoken = (
        ", ".join(sorted(heard))
        if len(heard) <= 5
        else Message.ngettext("{count} languages", "{count} languages", len(heard))
    )
    values = {
        "stt": stt_name,
        "quoted": repr(language),
        "language": language,
        "spoken": spoken,
        "multilingual": MULTILINGUAL_STT,
    }
    if auto:
        return Message.of(
            N_(
                "{stt} cannot hear {quoted} (it hears {spoken}), so its transcript of this "
                "sentence would be no measure of the voice: no WER is stored. No bundled model "
                "hears it: name one that does."
            ),
            **values,
        )
    return Message.of(
        N_(
            "{stt} cannot hear {quoted} (it hears {spoken}), so its transcript of this sentence "
            "would be no measure of the voice: no WER is stored. Use `auto` (the default: "
            "{multilingual} for languages other than English) or a model that hears {language}."
        ),
        **values,
    )


def first_refusal(
    choice: STTChoice,
    sentences: Iterable[tuple[str, str | None]],
    factory: Callable[[ResolvedModel], Any],
) -> str | None:
    """The refusal for the first (text, item language) whose chosen model cannot hear it, else
    None. Builds each chosen model once (in-process ones are kept for the run); one that
    cannot be built refuses nothing here: its clips say why it failed."""
    checked: set[tuple[str, str]] = set()
    for text, item_language in sentences:
        language = sentence_language(text, item_language)
        model = choice.model_for(language)
        if (model.name, language) in checked:
            continue
        checked.add((model.name, language))
        try:
            backend = factory(model)
        except Exception:  # noqa: BLE001 - reported by the clips themselves
            continue
        why = refusal(model.name, backend, language, auto=choice.named is None)
        if why is not None:
            # Said in the current language: the page's or the command line's.
            return said(why.english, why.template, why.values, why.plural)
    return None
