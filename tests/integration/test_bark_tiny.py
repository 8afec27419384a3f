"""The bark backend's real code path on a tiny Bark with random weights (no hub here).

The model follows docs offline-models.md: hidden size 32, 2 layers per sub-model, Bark's own
vocabulary sizes, block_size 1024, a small EncodecConfig (upsampling 8*5*4*2, codebook 1024)
and a plain GenerationConfig whose three sub-configs are dicts. Its processor is a BERT
tokenizer with a small vocabulary plus one random voice preset, saved in the layout
BarkProcessor reads (speaker_embeddings_path.json pointing at .npy prompt files). The audio
is noise; what is checked is shapes, rates, seeding, presets and loading once. EnCodec's
codebooks, zero until trained, are filled with random values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backends import registry
from backends.bark import BarkBackend
from backends.base import BackendError
from lineup.mediastore import MediaStore
from lineup.store import Store
from lineup.tts_runner import start_tts_comparison

PRESET = "v2/en_speaker_0"
# A few semantic tokens keep each clip short: 16 tokens -> 0.32 s of audio.
OPTIONS = {"semantic_max_new_tokens": 16}


def build_tiny_bark(folder: Path) -> Path:
    import torch
    from transformers import (
        BarkConfig,
        BarkModel,
        BertTokenizer,
        EncodecConfig,
        GenerationConfig,
    )
    from transformers.models.bark.configuration_bark import (
        BarkCoarseConfig,
        BarkFineConfig,
        BarkSemanticConfig,
    )
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    torch.manual_seed(0)
    small = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "block_size": 1024}
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(
            input_vocab_size=129_600, output_vocab_size=10_048, **small
        ).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(
            input_vocab_size=12_096, output_vocab_size=12_096, **small
        ).to_dict(),
        fine_acoustics_config=BarkFineConfig(
            input_vocab_size=1_056,
            output_vocab_size=1_056,
            n_codes_total=8,
            n_codes_given=1,
            **small,
        ).to_dict(),
        codec_config=EncodecConfig(
            upsampling_ratios=[8, 5, 4, 2],
            codebook_size=1024,
            hidden_size=32,
            num_filters=8,
            num_residual_layers=1,
            codebook_dim=32,
        ).to_dict(),
    )
    model = BarkModel(config)
    # EnCodec starts its codebooks at zero (training fills them), which would decode every
    # code to the same sound; random codebooks make different codes sound different.
    with torch.no_grad():
        for layer in model.codec_model.quantizer.layers:
            layer.codebook.embed.normal_()
    defaults = BarkGenerationConfig()
    model.generation_config = GenerationConfig(
        semantic_config=defaults.semantic_config.to_dict(),
        coarse_acoustics_config=defaults.coarse_acoustics_config.to_dict(),
        fine_acoustics_config=defaults.fine_acoustics_config.to_dict(),
        sample_rate=24_000,
        codebook_size=1024,
    )
    model.save_pretrained(folder)

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"hello world the quick fox".split()]
    (folder / "vocab.txt").write_text("\n".join(words + list("abcdefghijklmnopqrstuvwxyz")) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)

    rng = np.random.default_rng(0)
    prompts = {
        "semantic_prompt": rng.integers(0, 10_000, (40,)),
        "coarse_prompt": rng.integers(0, 1024, (2, 60)),
        "fine_prompt": rng.integers(0, 1024, (8, 60)),
    }
    (folder / "speaker_embeddings").mkdir()
    entry = {}
    for key, array in prompts.items():
        relative = f"speaker_embeddings/{PRESET.replace('/', '_')}_{key}.npy"
        np.save(folder / relative, array.astype(np.int64))
        entry[key] = relative
    (folder / "speaker_embeddings_path.json").write_text(
        json.dumps({"repo_or_path": str(folder), PRESET: entry})
    )
    return folder


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
        [f"{bark_spec}#{PRESET}", bark_spec],
        "hello world",
        lambda spec: registry.create_backend(spec, OPTIONS),
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
