"""Settings from the environment: a wrong value is a message naming the variable, not a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lineup.core.settings import SettingsError, load_settings

NUMBER_VARIABLES = [
    "LINEUP_MAX_UPLOAD_MB",
    "LINEUP_MAX_MEGAPIXELS",
    "LINEUP_MODEL_TIMEOUT_S",
    "LINEUP_STALL_S",
]


@pytest.mark.parametrize("variable", NUMBER_VARIABLES)
@pytest.mark.parametrize("raw", ["-1", "0", "nan", "inf", "-inf", "abc", "1e400"])
def test_a_number_that_is_not_positive_and_finite_names_the_variable_and_the_range(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, raw: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{variable}={raw!r}" in message
    assert "above 0" in message
    assert f"unset {variable}" in message


def test_a_timeout_too_long_for_the_timers_is_refused(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEUP_MODEL_TIMEOUT_S", "1e12")  # threading timers overflow
    with pytest.raises(SettingsError, match="at most 86400"):
        load_settings()


def test_a_fractional_upload_limit_is_kept_not_truncated_to_zero(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEUP_MAX_UPLOAD_MB", "0.5")
    monkeypatch.setenv("LINEUP_MAX_MEGAPIXELS", "2.5")
    monkeypatch.setenv("LINEUP_MODEL_TIMEOUT_S", "12.5")
    settings = load_settings()
    assert settings.max_upload_bytes == 512 * 1024
    assert settings.max_pixels == 2_500_000
    assert settings.model_timeout_s == 12.5


def test_the_stall_time_is_5_s_unless_lineup_stall_s_says_otherwise(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINEUP_STALL_S", raising=False)
    assert load_settings().stall_s == 5.0
    monkeypatch.setenv("LINEUP_STALL_S", "1.5")
    assert load_settings().stall_s == 1.5


def test_unset_or_empty_numbers_take_the_defaults(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINEUP_MAX_UPLOAD_MB", raising=False)
    monkeypatch.setenv("LINEUP_MAX_MEGAPIXELS", "")
    monkeypatch.setenv("LINEUP_MODEL_TIMEOUT_S", " ")
    settings = load_settings()
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.max_pixels == 40_000_000
    assert settings.model_timeout_s == 300


def test_a_home_that_is_a_file_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("LINEUP_HOME", str(home))
    with pytest.raises(SettingsError, match="LINEUP_HOME=.* is a file, not a folder") as caught:
        load_settings()
    assert "Set LINEUP_HOME to a folder" in str(caught.value)


def test_a_home_inside_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("LINEUP_HOME", str(tmp_path / "file" / "home"))
    with pytest.raises(SettingsError, match=r"is inside .*file, which is a file"):
        load_settings()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_home_that_cannot_be_created_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("LINEUP_HOME", str(locked / "home"))
    try:
        with pytest.raises(SettingsError, match="cannot be created: .*locked is not writable"):
            load_settings()
    finally:
        locked.chmod(0o700)


def test_a_missing_home_is_fine_it_is_created_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEUP_HOME", str(tmp_path / "new" / "home"))
    assert load_settings().home == tmp_path / "new" / "home"


def test_a_comparison_calls_a_model_stalled_after_lineup_stall_s(
    lineup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineup.app import Lineup

    monkeypatch.setenv("LINEUP_STALL_S", "2.5")
    app = Lineup.open(load_settings())
    comparison = app.compare.vlm(question="What is shown?", models=["ocr:eng"])
    assert comparison.stall_s == 2.5
    comparison.wait()
