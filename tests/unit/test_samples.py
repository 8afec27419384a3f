"""The sample generator, its catalogue (sample_media/questions.json) and lineup.samples."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lineup.core.images import validate_image
from lineup.sets.samples import (
    QUESTIONS_FILE,
    SAMPLE_DIR,
    ensure_samples,
    list_samples,
    missing_samples,
    screen_texts,
)

REPO_DIR = Path(__file__).resolve().parents[2]
SCRIPT = REPO_DIR / "scripts" / "make_samples.py"
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def load_script():
    spec = importlib.util.spec_from_file_location("make_samples_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return json.loads((SAMPLE_DIR / QUESTIONS_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The samples written once by the command line script, into a scratch folder."""
    out_dir = tmp_path_factory.mktemp("sample_media")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out_dir


def test_script_writes_every_file_listed_in_the_catalogue(generated, catalogue) -> None:
    for name in catalogue:
        assert (generated / name).is_file(), name
    assert (generated / QUESTIONS_FILE).read_bytes() == (SAMPLE_DIR / QUESTIONS_FILE).read_bytes()
    assert missing_samples(generated) == []


def test_generated_files_are_readable_by_everyone(generated, catalogue) -> None:
    for name in [*catalogue, QUESTIONS_FILE]:
        assert (generated / name).stat().st_mode & 0o777 == 0o644, name


def test_every_sample_passes_validate_image_in_the_expected_format(generated, catalogue) -> None:
    for name, entry in catalogue.items():
        image = validate_image((generated / name).read_bytes())
        expected = "JPEG" if entry["kind"] == "photo" else "PNG"
        assert image.format == expected, name
        assert image.suffix == Path(name).suffix, name
        assert min(image.width, image.height) >= 200, name


def test_there_are_enough_photos_and_screenshots(generated) -> None:
    samples = list_samples(generated)
    photos = [sample for sample in samples if sample.kind == "photo"]
    screenshots = [sample for sample in samples if sample.kind == "screenshot"]

    assert 4 <= len(photos) <= 5
    assert len(screenshots) >= 6
    assert {sample.path.parent.name for sample in photos} == {"photos"}
    assert {sample.path.parent.name for sample in screenshots} == {"screenshots"}


def test_each_screen_exists_in_russian_and_english(generated) -> None:
    names = {sample.path.name for sample in list_samples(generated)}

    for screen in ("payment_failed", "order_cancelled", "server_error"):
        assert f"{screen}_ru.png" in names
        assert f"{screen}_en.png" in names


def test_russian_screenshots_have_russian_texts_and_questions_plus_one_english(generated) -> None:
    russian = [sample for sample in list_samples(generated) if sample.language == "ru"]

    assert len(russian) >= 3
    for sample in russian:
        assert sample.kind == "screenshot"
        assert sample.path.is_file()
        assert any(CYRILLIC.search(text) for text in sample.texts), sample.path
        russian_questions = [q for q in sample.questions if CYRILLIC.search(q)]
        english_questions = [q for q in sample.questions if not CYRILLIC.search(q)]
        assert len(russian_questions) >= 1, sample.path
        assert len(english_questions) == 1, sample.path


def test_each_sample_has_two_or_three_questions_and_a_title(generated) -> None:
    for sample in list_samples(generated):
        assert 2 <= len(sample.questions) <= 3, sample.path
        assert all(question.strip() for question in sample.questions), sample.path
        assert len(set(sample.questions)) == len(sample.questions), sample.path
        assert sample.title
        assert sample.language in ("en", "ru")


def test_screenshots_list_their_texts_in_drawing_order_and_photos_none(generated) -> None:
    samples = {sample.path.name: sample for sample in list_samples(generated)}

    assert samples["payment_failed_ru.png"].texts == (
        "9:41",
        "Оплата заказа",
        "Платёж не прошёл",
        "Заказ № 58213",
        "Банк отклонил операцию.",
        "Сумма: 4 990 руб.",
        "Проверьте данные карты или",
        "выберите другой способ оплаты.",
        "Код ошибки: PAY-4021",
        "Повторить оплату",
    )
    assert "Error code: SRV-5003" in samples["server_error_en.png"].texts
    assert samples["cat.jpg"].texts == ()
    for sample in samples.values():
        if sample.kind == "screenshot":
            assert any(re.search(r"[A-Z]{3}-\d{4}", text) for text in sample.texts)


def test_list_samples_returns_only_files_that_exist(generated, tmp_path) -> None:
    shutil.copy(generated / QUESTIONS_FILE, tmp_path / QUESTIONS_FILE)
    (tmp_path / "photos").mkdir()
    shutil.copy(generated / "photos" / "cat.jpg", tmp_path / "photos" / "cat.jpg")

    samples = list_samples(tmp_path)

    assert [sample.path for sample in samples] == [tmp_path / "photos" / "cat.jpg"]
    assert samples[0].title == "Cat (Chelsea)"
    assert samples[0].questions[0] == "What animal is in this photo, and what colour is its fur?"
    assert "photos/cat.jpg" not in missing_samples(tmp_path)
    assert "screenshots/payment_failed_ru.png" in missing_samples(tmp_path)


def test_ensure_samples_writes_only_the_missing_files(generated, tmp_path) -> None:
    shutil.copytree(generated, tmp_path, dirs_exist_ok=True)
    (tmp_path / "screenshots" / "order_cancelled_ru.png").unlink()

    written = ensure_samples(tmp_path)

    assert written == [tmp_path / "screenshots" / "order_cancelled_ru.png"]
    assert (tmp_path / "screenshots" / "order_cancelled_ru.png").read_bytes() == (
        generated / "screenshots" / "order_cancelled_ru.png"
    ).read_bytes()
    assert ensure_samples(tmp_path) == []


def test_running_the_generator_twice_rewrites_nothing(generated, tmp_path) -> None:
    shutil.copytree(generated, tmp_path, dirs_exist_ok=True)
    script = load_script()

    assert script.generate(out_dir=tmp_path) == []


def test_generator_fails_naming_the_debian_font_package_when_no_font_is_found(
    tmp_path, monkeypatch
) -> None:
    script = load_script()
    monkeypatch.setattr(script, "FONT_DIRS", ())
    monkeypatch.setattr(script.shutil, "which", lambda name: None)

    with pytest.raises(script.FontNotFoundError, match="fonts-dejavu-core"):
        script.generate(out_dir=tmp_path)


def test_generator_refuses_a_text_too_wide_for_its_screen(tmp_path) -> None:
    script = load_script()
    catalogue = json.loads((SAMPLE_DIR / QUESTIONS_FILE).read_text(encoding="utf-8"))
    entry = catalogue["screenshots/payment_failed_en.png"]
    entry["texts"]["button"] = "Try again " * 10
    questions = tmp_path / QUESTIONS_FILE
    questions.write_text(json.dumps({"screenshots/payment_failed_en.png": entry}))

    with pytest.raises(ValueError, match="payment_failed_en.png: 'Try again .*' is .* wide"):
        script.generate(out_dir=tmp_path, questions_path=questions)


def test_screen_texts_flattens_roles_in_order() -> None:
    entry = {"texts": {"button": "OK", "body": ["a", "b"], "status": "9:41", "header": "H"}}

    assert screen_texts(entry) == ("9:41", "H", "a", "b", "OK")
    assert screen_texts({}) == ()


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        (
            "payment_failed_en.png",
            "eng",
            ["Payment failed", "Error code: PAY-4021", "Amount: $59.90"],
        ),
        (
            "payment_failed_ru.png",
            "rus+eng",
            ["Платёж не прошёл", "Код ошибки: PAY-4021", "Сумма: 4 990 руб."],
        ),
    ],
)
def test_tesseract_reads_the_texts_listed_for_a_screenshot(
    generated, name: str, language: str, expected: list[str]
) -> None:
    sample = next(s for s in list_samples(generated) if s.path.name == name)
    assert set(expected) <= set(sample.texts)

    result = subprocess.run(
        ["tesseract", str(sample.path), "-", "-l", language],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "Failed loading language" in result.stderr:
        pytest.skip(f"tesseract has no {language} data")

    for text in expected:
        assert text in result.stdout, (text, result.stdout)
