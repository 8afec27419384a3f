"""Tesseract OCR as the offline baseline: answers every question with the text it reads."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from backends.base import (
    N_,
    BackendError,
    BackendUnavailable,
    Chunk,
    DiscoveredModel,
    Options,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.probe import engine_card
from backends.spec import ModelSpec

LANGUAGE_PACKAGES = {"eng": "tesseract-ocr-eng", "rus": "tesseract-ocr-rus"}
OCR_NICENESS = 10  # how much lower Tesseract runs than the thread that asks for it
T = TypeVar("T")


class OCROptions(Options):
    psm: int = 3  # Tesseract's page segmentation mode; 3 = fully automatic
    timeout_s: float = 60.0


def _pytesseract() -> Any:
    try:
        import pytesseract
    except ImportError as exc:
        raise BackendUnavailable.of(N_("The OCR backend needs `pip install pytesseract`.")) from exc
    return pytesseract


class OCRBackend(VLMBackend):
    Options = OCROptions

    def __init__(self, spec: ModelSpec, options: OCROptions | None = None) -> None:
        self.spec = spec
        self.options = options or OCROptions()
        self.languages = spec.model.strip() or "eng"
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.languages):
            raise BackendError.of(
                N_("{languages} is not a Tesseract language list; write e.g. `ocr:eng+rus`."),
                languages=repr(self.languages),
            )

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        if request.image is None:
            raise BackendError.of(
                N_("The OCR baseline reads images: add an image to the question.")
            )
        pytesseract = _pytesseract()
        image = request.image.rgb()  # full resolution: small text needs every pixel

        def read() -> tuple[str, str]:
            text = pytesseract.image_to_string(
                image,
                lang=self.languages,
                config=f"--psm {self.options.psm}",
                timeout=self.options.timeout_s,
            )
            return text, str(pytesseract.get_tesseract_version())

        try:
            text, version = _at_lower_priority(read)
        except pytesseract.TesseractNotFoundError as exc:
            raise BackendUnavailable.of(
                N_(
                    "Tesseract is not installed. Install the Debian packages tesseract-ocr, "
                    "tesseract-ocr-eng and tesseract-ocr-rus (`make run` does it as root)."
                )
            ) from exc
        except pytesseract.TesseractError as exc:
            missing = [lang for lang in self.languages.split("+") if lang in str(exc)]
            if "Failed loading language" in str(exc) and missing:
                packages = " ".join(LANGUAGE_PACKAGES.get(m, f"tesseract-ocr-{m}") for m in missing)
                raise BackendUnavailable.of(
                    N_("Tesseract has no {languages} data. Install {packages}."),
                    languages="+".join(missing),
                    packages=packages,
                ) from exc
            raise BackendError.of(N_("Tesseract failed: {reason}"), reason=str(exc)) from exc
        except RuntimeError as exc:  # pytesseract's timeout
            raise BackendError.of(
                N_("Tesseract took longer than {seconds} s."),
                seconds=f"{self.options.timeout_s:g}",
            ) from exc
        answer = _tidy(text)
        yield Chunk(text=answer)
        yield Chunk(
            usage=Usage(metadata={"tesseract_version": version, "languages": self.languages})
        )

    def describe(self) -> dict[str, Any]:
        """Tesseract's version and the languages read."""
        try:
            version: str | None = str(_pytesseract().get_tesseract_version())
        except Exception:  # noqa: BLE001 - a missing binary is the answer's error, not this
            version = None
        return engine_card("ocr", None, engine_version=version, languages=self.languages)

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


def _at_lower_priority(call: Callable[[], T]) -> T:
    """`call()` in a thread of its own whose nice value is OCR_NICENESS higher (Linux keeps
    one per thread, and a process started from it inherits it): Tesseract's threads take
    every core, and at a lower priority they leave the other models' reader process and
    servers their turn, so their TTFT beside OCR stays true (bench/ttft.py measured the
    difference). The caller's own priority stays as it was."""
    outcome: list[Any] = []

    def run() -> None:
        if sys.platform.startswith("linux"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _lower_priority())
            except OSError:
                pass  # not allowed here: Tesseract runs at the usual priority
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name="lineup-ocr", daemon=True)
    worker.start()
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: T = outcome[0]
    return result


def _lower_priority() -> int:
    return min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + OCR_NICENESS)


def _tidy(text: str) -> str:
    """Drop Tesseract's empty lines and trailing form feed; keep the line structure."""
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return "\n".join(line for line in lines if line.strip())
