"""Tesseract OCR as the offline baseline: answers every question with the text it reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from backends.base import (
    BackendError,
    BackendUnavailable,
    Chunk,
    DiscoveredModel,
    Options,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.spec import ModelSpec

LANGUAGE_PACKAGES = {"eng": "tesseract-ocr-eng", "rus": "tesseract-ocr-rus"}


class OCROptions(Options):
    psm: int = 3  # Tesseract's page segmentation mode; 3 = fully automatic
    timeout_s: float = 60.0


def _pytesseract() -> Any:
    try:
        import pytesseract
    except ImportError as exc:
        raise BackendUnavailable("The OCR backend needs `pip install pytesseract`.") from exc
    return pytesseract


class OCRBackend(VLMBackend):
    Options = OCROptions

    def __init__(self, spec: ModelSpec, options: OCROptions | None = None) -> None:
        self.spec = spec
        self.options = options or OCROptions()
        self.languages = spec.model.strip() or "eng"
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.languages):
            raise BackendError(
                f"{self.languages!r} is not a Tesseract language list; write e.g. `ocr:eng+rus`."
            )

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        if request.image is None:
            raise BackendError("The OCR baseline reads images: add an image to the question.")
        pytesseract = _pytesseract()
        image = request.image.rgb()  # full resolution: small text needs every pixel
        try:
            text = pytesseract.image_to_string(
                image,
                lang=self.languages,
                config=f"--psm {self.options.psm}",
                timeout=self.options.timeout_s,
            )
            version = str(pytesseract.get_tesseract_version())
        except pytesseract.TesseractNotFoundError as exc:
            raise BackendUnavailable(
                "Tesseract is not installed. Install the Debian packages tesseract-ocr, "
                "tesseract-ocr-eng and tesseract-ocr-rus (`make run` does it as root)."
            ) from exc
        except pytesseract.TesseractError as exc:
            missing = [lang for lang in self.languages.split("+") if lang in str(exc)]
            if "Failed loading language" in str(exc) and missing:
                packages = " ".join(LANGUAGE_PACKAGES.get(m, f"tesseract-ocr-{m}") for m in missing)
                raise BackendUnavailable(
                    f"Tesseract has no {'+'.join(missing)} data. Install {packages}."
                ) from exc
            raise BackendError(f"Tesseract failed: {exc}") from exc
        except RuntimeError as exc:  # pytesseract's timeout
            raise BackendError(f"Tesseract took longer than {self.options.timeout_s:g} s.") from exc
        answer = _tidy(text)
        yield Chunk(text=answer)
        yield Chunk(
            usage=Usage(metadata={"tesseract_version": version, "languages": self.languages})
        )

    @classmethod
    def discover_local(cls) -> list[DiscoveredModel]:
        pytesseract = _pytesseract()
        try:
            installed = set(pytesseract.get_languages(config=""))
        except pytesseract.TesseractNotFoundError:
            return []
        specs = []
        for languages in ("eng+rus", "eng", "rus"):
            if set(languages.split("+")) <= installed:
                specs.append(DiscoveredModel(f"ocr:{languages}", languages, vision=True))
        return specs


def _tidy(text: str) -> str:
    """Drop Tesseract's empty lines and trailing form feed; keep the line structure."""
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return "\n".join(line for line in lines if line.strip())
