"""The offline OCR baseline (real Tesseract, eng+rus) on a screenshot with known text."""

from __future__ import annotations

from typing import Any

import pytest

from backends.base import BackendError, VLMRequest
from backends.ocr import OCRBackend
from backends.registry import create_backend
from backends.spec import parse_spec
from lineup.core.images import validate_image
from tests.builders import screenshot


def read(languages: str, lines: list[str]) -> str:
    backend = OCRBackend(parse_spec(f"ocr:{languages}"))
    chunks = list(
        backend.stream(VLMRequest("What does it say?", image=validate_image(screenshot(lines))))
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.metadata["languages"] == languages
    return "".join(c.text for c in chunks)


def test_reads_english_screenshot() -> None:
    text = read("eng", ["Payment failed", "Error code: PAY-4021"])
    assert "Payment failed" in text
    assert "PAY-4021" in text


def test_reads_russian_screenshot() -> None:
    lines = ["Оплата не прошла", "Код ошибки: PAY-4021"]
    assert "Оплата не прошла" in read("rus", lines)
    mixed = read("eng+rus", lines)
    # With both scripts allowed Tesseract may read the Cyrillic "не" as Latin "He";
    # the words that have no Latin look-alike, and the code, come through.
    assert "Оплата" in mixed and "прошла" in mixed and "Код ошибки" in mixed
    assert "PAY-4021" in mixed


def test_needs_an_image_and_a_valid_language_list() -> None:
    with pytest.raises(BackendError, match="add an image"):
        list(OCRBackend(parse_spec("ocr:eng")).stream(VLMRequest("q")))
    with pytest.raises(BackendError, match="not a Tesseract language list"):
        OCRBackend(parse_spec("ocr:eng;rm -rf"))


def test_unknown_language_data_names_the_debian_package() -> None:
    backend = OCRBackend(parse_spec("ocr:deu"))
    with pytest.raises(BackendError, match="tesseract-ocr-deu"):
        list(backend.stream(VLMRequest("q", image=validate_image(screenshot(["Hallo"])))))


def test_options_reject_unknown_keys() -> None:
    with pytest.raises(BackendError, match="Bad options for ocr:eng: langauge"):
        create_backend("ocr:eng", {"langauge": "rus"})


def test_tesseract_runs_at_a_lower_priority_and_the_caller_stays_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tesseract's threads take every core; started at a lower priority (a higher nice
    value, which the process inherits from the thread that starts it) they leave the reader
    process and the servers their turn, so the HTTP models' TTFT beside OCR stays true
    (bench/ttft.py). The thread that asked keeps its priority."""
    import os
    import threading

    import pytesseract.pytesseract as engine

    real_popen = engine.subprocess.Popen
    started_at_nice: list[int] = []

    def recording_popen(*args: Any, **kwargs: Any) -> Any:
        started_at_nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(engine.subprocess, "Popen", recording_popen)
    caller_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert "PAY-4021" in read("eng", ["Error code: PAY-4021"])
    assert started_at_nice and all(nice == min(19, caller_nice + 10) for nice in started_at_nice)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller_nice
