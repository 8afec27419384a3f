"""The offline OCR baseline (real Tesseract, eng+rus) on a screenshot with known text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from backends.base import BackendError, VLMRequest
from backends.ocr import OCRBackend
from backends.registry import create_backend
from backends.spec import parse_spec
from lineup.media import validate_image

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def screenshot(lines: list[str]) -> bytes:
    image = Image.new("RGB", (900, 90 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 900, 50), fill=(30, 60, 120))
    font = ImageFont.truetype(str(FONT), 36)
    for index, line in enumerate(lines):
        draw.text((40, 80 + 70 * index), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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
