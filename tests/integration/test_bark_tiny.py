"""The bark backend's real code path on a tiny Bark with random weights (no hub here).

The model (testbed/tiny_models.py) follows docs offline-models.md: hidden size 32, 2 layers per
sub-model, Bark's own vocabulary sizes, block_size 1024, a small EncodecConfig (upsampling
8*5*4*2, codebook 1024) and a plain GenerationConfig whose three sub-configs are dicts. Its
processor is a BERT tokenizer with a small vocabulary plus one random voice preset, saved in
the layout BarkProcessor reads (speaker_embeddings_path.json pointing at .npy prompt files).
The audio is noise; what is checked is shapes, rates, seeding, presets and loading once.
EnCodec's codebooks, zero until trained, are filled with random values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backends import registry
from backends.bark import BarkBackend
from backends.base import BackendError
from lineup.run.tts import start_tts_comparison
from lineup.store.database import Store
from lineup.store.media import MediaStore
from testbed.tiny_models import BARK_PRESET, build_tiny_bark
from tests.builders import by_name, resolved_all

PRESET = BARK_PRESET  # the one voice preset the tiny Bark holds
# A few semantic tokens keep each clip short: 16 tokens -> 0.32 s of audio.
OPTIONS = {"semantic_max_new_tokens": 16}


@pytest.fixture(scope="session")
def bark_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bark(tmp_path_factory.mktemp("tiny-bark"))


@pytest.fixture(scope="session")
def bark_spec(bark_folder: Path) -> str:
    return f"bark:{bark_folder}"


@pytest.fixture(scope="session")
def bark(bark_spec: str) -> BarkBackend:
    return registry.create_backend(bark_spec, OPTIONS)


def test_bark_clip_has_bark_sample_rate_and_audio(bark: BarkBackend) -> None:
    for preset in (None, PRESET):
        audio = bark.synthesize("hello world", preset, seed=1)
        assert audio.sample_rate_hz == 24_000
        assert audio.samples.dtype == np.float32
        # 16 semantic tokens -> 24 coarse frames of 320 samples each.
        assert len(audio.samples) == 24 * 320
        assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0
        assert audio.metadata["voice_preset"] == preset
        assert audio.metadata["temperature"] == 0.55


def test_bark_seed_makes_a_clip_repeatable_and_samples_differ(bark: BarkBackend) -> None:
    first = bark.synthesize("hello world", PRESET, seed=5)
    again = bark.synthesize("hello world", PRESET, seed=5)
    other = bark.synthesize("hello world", PRESET, seed=6)
    assert np.array_equal(first.samples, again.samples)
    assert not np.array_equal(first.samples, other.samples)


def test_bark_unknown_preset_lists_the_known_ones(bark: BarkBackend) -> None:
    assert bark.voice_presets() == [PRESET]
    with pytest.raises(BackendError, match=r"no voice preset 'v2/en_speaker_6'.*v2/en_speaker_0"):
        bark.synthesize("hello", "v2/en_speaker_6")
    assert bark.synthesize("hello", "none", seed=1).metadata["voice_preset"] is None


def test_bark_preset_says_its_language(bark: BarkBackend) -> None:
    assert bark.languages("v2/ru_speaker_3") == {"ru"}
    assert bark.languages(PRESET) == {"en"}
    assert bark.languages(None) is None


def test_bark_options_reject_unknown_keys(bark_spec: str) -> None:
    with pytest.raises(BackendError, match="temprature"):
        registry.create_backend(bark_spec, {"temprature": 0.7})


def test_bark_in_the_runner_loads_once_and_seeds_each_sample(
    bark: BarkBackend, bark_spec: str, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lineup.db'}")
    comparison = start_tts_comparison(
        store,
        MediaStore(tmp_path / "media"),
        resolved_all([f"{bark_spec}#{PRESET}", bark_spec], "tts"),
        "hello world",
        by_name(lambda spec: registry.create_backend(spec, OPTIONS)),
        samples=2,
        stt=None,
        seed=40,
    )
    results = comparison.wait()
    assert [(r.status, r.seed, r.sample_rate_hz) for r in results] == [
        ("ok", 40, 24_000),
        ("ok", 41, 24_000),
    ] * 2
    assert [r.metadata["voice_preset"] for r in results] == [PRESET, PRESET, None, None]
    assert all(r.peak_mem_mb is not None and r.audio_s == pytest.approx(0.32) for r in results)
    keys = [key for key in registry.load_counts if str(bark_spec.split(":", 1)[1]) in key]
    assert [registry.load_counts[key] for key in keys] == [1]
