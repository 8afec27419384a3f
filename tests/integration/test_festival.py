"""Festival's Russian voice (Debian festvox-ru) for real: it speaks a Russian sentence, refuses a
text it cannot read instead of returning silence, and says which voices it has."""

from __future__ import annotations

import pytest

from backends.base import BackendError, BackendUnavailable
from backends.festival import FestivalBackend, voice_language
from backends.spec import parse_spec

RUSSIAN_VOICE = "festival:msu_ru_nsh_clunits"


def test_the_russian_voice_speaks_a_russian_sentence_and_has_no_other_preset() -> None:
    voice = FestivalBackend(parse_spec(RUSSIAN_VOICE))
    assert voice.languages() == {"ru"}
    audio = voice.synthesize("Привет! Сегодня десять градусов тепла.")
    assert audio.sample_rate_hz == 16_000
    assert 1.5 < audio.audio_s < 6.0  # 3.5 s here
    with pytest.raises(BackendError, match="no preset 'slow'"):
        voice.synthesize("Привет!", "slow")


def test_a_text_the_voice_cannot_read_is_an_error_not_silence() -> None:
    voice = FestivalBackend(parse_spec(RUSSIAN_VOICE))
    with pytest.raises(BackendError, match="made no audio for this text"):
        voice.synthesize("Скидка 15%.")


def test_voice_names_are_checked_before_they_reach_festival() -> None:
    with pytest.raises(BackendError, match="is not a Festival voice"):
        FestivalBackend(parse_spec('festival:x) (system "id"'))
    with pytest.raises(BackendUnavailable, match="Festival has no voice 'cmu_us_nobody'"):
        FestivalBackend(parse_spec("festival:cmu_us_nobody"))


def test_a_voice_name_says_its_language() -> None:
    assert voice_language("msu_ru_nsh_clunits") == "ru"
    assert voice_language("cmu_us_slt_arctic_hts") == "en"
    assert voice_language("kal_diphone") == "en"
    assert voice_language("somebody") is None


def test_the_installed_russian_voice_is_discovered() -> None:
    found = {model.spec: model for model in FestivalBackend.discover_local()}
    assert found[RUSSIAN_VOICE].details["languages"] == ["ru"]
