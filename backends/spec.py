"""The one parser for model specs: KIND:MODEL[#PRESET][@BASE_URL]."""

from __future__ import annotations

import re
from dataclasses import dataclass

_KIND = re.compile(r"^[a-z][a-z0-9-]*$")


class SpecError(ValueError):
    """A model spec that cannot be parsed; the message shows the expected form."""


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    model: str
    preset: str | None = None
    base_url: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.model}"
        if self.preset is not None:
            text += f"#{self.preset}"
        if self.base_url is not None:
            text += f"@{self.base_url}"
        return text

    def with_base_url(self, base_url: str | None) -> ModelSpec:
        return ModelSpec(self.kind, self.model, self.preset, base_url)


def parse_spec(text: str) -> ModelSpec:
    """Parse `KIND:MODEL[#PRESET][@BASE_URL]`.

    The first `:` ends the kind, so model names may hold colons (`ollama:llava:7b`).
    The base URL starts at the first `@` that is followed by a URL scheme, so a model name
    may hold an `@` of its own. The preset starts at the first `#` before the base URL.
    """
    original = text
    text = text.strip()
    if ":" not in text:
        raise SpecError(
            f"Model spec {original!r} has no kind. Write KIND:MODEL, for example "
            "`ollama:llava:7b` or `ocr:eng+rus`."
        )
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    if not _KIND.match(kind):
        raise SpecError(
            f"Model spec {original!r} starts with {kind!r}, which is not a backend kind."
        )
    base_url: str | None = None
    at = re.search(r"@(?=[a-zA-Z][a-zA-Z0-9+.-]*://)", rest)
    if at:
        rest, base_url = rest[: at.start()], rest[at.end() :]
        if not base_url.split("://", 1)[1]:
            raise SpecError(f"Model spec {original!r} has an empty base URL after `@`.")
    preset: str | None = None
    if "#" in rest:
        rest, preset = rest.split("#", 1)
    model = rest.strip()
    if not model:
        raise SpecError(f"Model spec {original!r} names no model after `{kind}:`.")
    return ModelSpec(kind=kind, model=model, preset=preset, base_url=base_url)
