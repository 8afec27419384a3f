"""The transformers backend on tiny random-weight models built here: LLaVA, BLIP VQA and GIT."""

from __future__ import annotations

import dataclasses
import io
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from backends import compute, hub, registry
from backends.base import BackendError, BackendUnavailable, Chunk, Usage, VLMRequest
from backends.spec import parse_spec
from backends.transformers_vlm import TransformersOptions, TransformersVLMBackend
from lineup.core.images import ValidatedImage, validate_image
from lineup.measure import cold_start
from lineup.run.vlm import start_vlm_comparison
from lineup.store.database import Store
from testbed.tiny_models import (
    build_tiny_bark,
    build_tiny_blip_vqa,
    build_tiny_git,
    build_tiny_llava,
)
from tests.builders import by_name, resolved_all

pytest.importorskip("torch")
pytest.importorskip("transformers")

QUESTION = "What does the error say?"


def screenshot() -> ValidatedImage:
    image = Image.new("RGB", (96, 64), "white")
    ImageDraw.Draw(image).text((4, 20), "Error 503", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return validate_image(buffer.getvalue())


def split(chunks: list[Chunk]) -> tuple[str, Usage]:
    """The answer text and the usage record, checking usage comes once, on the last chunk."""
    assert chunks and chunks[-1].usage is not None
    assert all(chunk.usage is None for chunk in chunks[:-1])
    return "".join(chunk.text for chunk in chunks), chunks[-1].usage


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def llava(llava_dir: Path) -> TransformersVLMBackend:
    return TransformersVLMBackend(parse_spec(f"transformers:{llava_dir}"))


@pytest.fixture()
def fresh_registry() -> Any:
    registry.clear_cache()
    yield registry
    registry.clear_cache()


def greedy_reference(folder: Path, request: VLMRequest) -> tuple[int, list[int], str]:
    """Prompt length, generated ids and text from transformers directly, without the backend."""
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder, backend="pil")
    model = LlavaForConditionalGeneration.from_pretrained(folder, dtype="float32").eval()
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": request.image.rgb()},
                {"type": "text", "text": request.question},
            ],
        }
    ]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    output = model.generate(**inputs, max_new_tokens=request.max_tokens, do_sample=False)
    prompt_tokens = inputs["input_ids"].shape[-1]
    generated = output[0, prompt_tokens:]
    text = processor.tokenizer.decode(generated, skip_special_tokens=True)
    return prompt_tokens, generated.tolist(), text


def test_chat_vlm_streams_text_and_counts_generated_token_ids(
    llava: TransformersVLMBackend, llava_dir: Path
) -> None:
    request = VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=8)

    chunks = list(llava.stream(request))
    text, usage = split(chunks)

    prompt_tokens, generated_ids, reference_text = greedy_reference(llava_dir, request)
    assert usage.output_tokens == len(generated_ids)
    if llava.model.generation_config.eos_token_id not in generated_ids:
        assert usage.output_tokens == 8  # greedy runs to max_tokens unless it ends itself
    assert usage.input_tokens == prompt_tokens
    assert prompt_tokens > 4  # the question, the template and the image's 4 placeholder tokens
    assert usage.output_tokens_source == "client"
    assert text == reference_text
    assert len(chunks) >= 2  # text arrives in pieces before the usage record
    assert usage.metadata["model_type"] == "llava"
    assert usage.metadata["model_class"] == "LlavaForConditionalGeneration"
    assert usage.metadata["task"] == "chat"
    assert usage.metadata["dtype"] == "float32"
    assert usage.metadata["parameter_count"] == sum(p.numel() for p in llava.model.parameters())
    assert usage.metadata["transformers_version"].startswith("5.")


def test_greedy_decoding_is_deterministic(llava: TransformersVLMBackend) -> None:
    request = VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=12)
    first, first_usage = split(list(llava.stream(request)))
    second, second_usage = split(list(llava.stream(request)))
    assert first == second
    assert first
    assert first_usage.output_tokens == second_usage.output_tokens


def test_seeded_sampling_repeats_itself(llava: TransformersVLMBackend) -> None:
    request = VLMRequest(QUESTION, image=screenshot(), temperature=1.5, max_tokens=12, seed=7)
    first, _ = split(list(llava.stream(request)))
    second, _ = split(list(llava.stream(request)))
    assert first == second


def test_system_prompt_and_text_only_questions_reach_the_template(
    llava: TransformersVLMBackend,
) -> None:
    plain = llava._chat_inputs(VLMRequest(QUESTION))
    with_system = llava._chat_inputs(VLMRequest(QUESTION, system="Answer in one word."))
    prompt = llava.tokenizer.decode(with_system["input_ids"][0])
    assert prompt.startswith("<s>system: Answer in one word.\nuser: What does the error say?")
    assert prompt.endswith("assistant:")
    assert "pixel_values" not in plain
    assert with_system["input_ids"].shape[-1] > plain["input_ids"].shape[-1]
    _, usage = split(list(llava.stream(VLMRequest(QUESTION, temperature=0, max_tokens=3))))
    assert usage.input_tokens == plain["input_ids"].shape[-1]


def test_load_time_is_reported_by_the_first_answer_only(llava_dir: Path) -> None:
    backend = TransformersVLMBackend(parse_spec(f"transformers:{llava_dir}"))
    request = VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=2)
    _, first = split(list(backend.stream(request)))
    _, second = split(list(backend.stream(request)))
    assert first.load_s is not None and 0 < first.load_s < 30
    assert second.load_s is None
    # The engine says which answer came with its load: that one is cold, the next warm.
    assert (first.loaded, second.loaded) == (True, False)
    assert (cold_start(first), cold_start(second)) == (True, False)


def test_registry_loads_the_model_once_and_shares_it(llava_dir: Path, fresh_registry: Any) -> None:
    spec = f"transformers:{llava_dir}"
    first = fresh_registry.create_backend(spec)
    second = fresh_registry.create_backend(spec)
    assert first is second
    assert isinstance(first, TransformersVLMBackend)
    assert [
        count for key, count in fresh_registry.load_counts.items() if str(llava_dir) in key
    ] == [1]


def test_error_inside_generate_surfaces_as_backend_error(
    llava: TransformersVLMBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_generate(**kwargs: Any) -> Any:
        raise RuntimeError("out of memory while decoding")

    monkeypatch.setattr(llava.model, "generate", broken_generate)
    started = time.perf_counter()
    with pytest.raises(BackendError, match="failed while generating: RuntimeError: out of memory"):
        list(llava.stream(VLMRequest(QUESTION, image=screenshot(), max_tokens=4)))
    assert time.perf_counter() - started < 10
    monkeypatch.undo()
    # The model is free again for the next request.
    _, usage = split(list(llava.stream(VLMRequest(QUESTION, temperature=0, max_tokens=2))))
    assert usage.output_tokens is not None


def test_closing_the_stream_early_stops_generation(llava: TransformersVLMBackend) -> None:
    stream = llava.stream(VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=5000))
    assert next(stream).text
    stream.close()
    # 5000 tokens would hold in-process compute for a long time; a stopped generation frees it
    # at once.
    assert compute.lock.acquire(timeout=5)
    compute.lock.release()


def test_missing_folder_is_unavailable_with_a_useful_message(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(BackendUnavailable, match="not on disk") as caught:
        TransformersVLMBackend(parse_spec(f"transformers:{missing}"))
    assert str(missing) in str(caught.value)
    assert "local folder" in str(caught.value)


def test_folder_without_config_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(BackendUnavailable, match="no config.json"):
        TransformersVLMBackend(parse_spec(f"transformers:{tmp_path}"))


def test_folder_missing_processor_files_is_called_incomplete(
    llava_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(llava_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(BackendUnavailable, match="is incomplete"):
        TransformersVLMBackend(parse_spec(f"transformers:{tmp_path}"))


def test_chat_vlm_without_chat_template_is_refused(llava_dir: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(llava_dir, tmp_path / "no-template")
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(BackendError, match="has no chat template"):
        TransformersVLMBackend(parse_spec(f"transformers:{folder}"))


def test_hub_id_not_on_disk_with_no_hub_says_to_give_a_local_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout_s=3.0: False)
    started = time.perf_counter()
    with pytest.raises(BackendUnavailable) as caught:
        TransformersVLMBackend(parse_spec("transformers:lineup-tests/no-such-vlm"))
    message = str(caught.value)
    assert "lineup-tests/no-such-vlm is not on disk and the hub is unreachable" in message
    assert "give a local folder" in message
    assert time.perf_counter() - started < 10  # no waiting out the hub client's retries


def test_hub_id_with_local_files_only_names_the_option() -> None:
    with pytest.raises(BackendUnavailable) as caught:
        TransformersVLMBackend(
            parse_spec("transformers:lineup-tests/no-such-vlm"),
            TransformersOptions(local_files_only=True),
        )
    assert "not on disk" in str(caught.value)
    assert "local_files_only" in str(caught.value)


def test_a_model_that_is_not_a_vlm_is_refused(tmp_path: Path) -> None:
    from transformers import LlamaConfig

    LlamaConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(
        tmp_path
    )
    with pytest.raises(BackendUnavailable, match="'llama' model, not a vision-language model"):
        TransformersVLMBackend(parse_spec(f"transformers:{tmp_path}"))


def test_runner_stores_the_in_process_count(
    llava_dir: Path, store: Store, fresh_registry: Any
) -> None:
    spec = f"transformers:{llava_dir}"
    request = VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=6)
    comparison = start_vlm_comparison(
        store, resolved_all([spec]), request, by_name(fresh_registry.create_backend)
    )
    [result] = comparison.wait()

    assert result.status == "ok", result.error
    _, expected_ids, expected_text = greedy_reference(llava_dir, request)
    row = store.get_generation(result.generation_id)
    assert row is not None
    assert row.status == "ok"
    assert row.output_text == expected_text
    assert row.output_tokens == len(expected_ids)
    assert row.output_tokens_source == "client"
    assert row.input_tokens is not None and row.input_tokens > 0
    assert row.load_s is not None and row.load_s > 0  # first answer of a fresh load
    assert row.backend_metadata["model_type"] == "llava"


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_blip_vqa(tmp_path_factory.mktemp("tiny-blip-vqa"))


def test_blip_vqa_answers_in_one_chunk(blip_dir: Path, store: Store) -> None:
    backend = TransformersVLMBackend(parse_spec(f"transformers:{blip_dir}"))
    assert backend.task == "vqa"
    request = VLMRequest("Is there an error?", image=screenshot(), max_tokens=5)

    chunks = list(backend.stream(request))
    text, usage = split(chunks)

    assert len(chunks) == 2 and text
    assert usage.output_tokens is not None and 1 <= usage.output_tokens <= 5
    assert usage.output_tokens_source == "client"
    assert usage.input_tokens == len(backend.tokenizer(request.question)["input_ids"])
    assert usage.metadata["model_class"] == "BlipForQuestionAnswering"
    assert usage.metadata["task"] == "vqa"

    comparison = start_vlm_comparison(
        store, resolved_all([f"transformers:{blip_dir}"]), request, by_name(lambda spec: backend)
    )
    [result] = comparison.wait()
    assert result.status == "ok", result.error
    assert store.get_generation(result.generation_id).output_tokens == usage.output_tokens


def test_blip_vqa_needs_an_image(blip_dir: Path) -> None:
    backend = TransformersVLMBackend(parse_spec(f"transformers:{blip_dir}"))
    with pytest.raises(BackendError, match="add an image"):
        list(backend.stream(VLMRequest("Is there an error?")))


@pytest.fixture(scope="module")
def git_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git"))


def test_git_captioner_answers_with_its_caption_in_one_chunk(git_dir: Path) -> None:
    backend = TransformersVLMBackend(parse_spec(f"transformers:{git_dir}"))
    assert backend.task == "caption"
    request = VLMRequest("What is this?", image=screenshot(), max_tokens=6)

    chunks = list(backend.stream(request))
    text, usage = split(chunks)

    # The same caption, straight from transformers: [CLS] then the generated ids.
    inputs = backend.processor(images=request.image.rgb(), return_tensors="pt")
    reference = backend.model.generate(**inputs, max_new_tokens=6)[0]
    assert usage.output_tokens == len(reference) - 1
    assert text == backend.tokenizer.decode(reference, skip_special_tokens=True).strip()
    assert len(chunks) == (2 if text else 1)
    assert usage.metadata["model_class"] == "GitForCausalLM"
    assert "question is unused" in usage.metadata["note"]


@pytest.fixture(scope="module")
def tiny_bark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from backends.bark import BarkBackend, BarkOptions

    folder = build_tiny_bark(tmp_path_factory.mktemp("tiny-bark"))
    return BarkBackend(parse_spec(f"bark:{folder}"), BarkOptions(semantic_max_new_tokens=16))


@pytest.mark.integration  # builds a tiny Bark
def test_a_seeded_vlm_and_a_seeded_bark_voice_running_together_keep_their_seeds(
    llava: TransformersVLMBackend, tiny_bark: Any
) -> None:
    # torch has one random generator per process. With a lock of its own per engine, a
    # sampling VLM and Bark drew from it in turn and neither seed held (every round differed);
    # with the one owner in backends.compute they take turns and each gets what it gets alone.
    import numpy as np

    request = VLMRequest(QUESTION, image=screenshot(), temperature=1.5, max_tokens=24, seed=7)

    def answer() -> str:
        return split(list(llava.stream(request)))[0]

    def speak() -> Any:
        return tiny_bark.synthesize("hello world", "v2/en_speaker_0", seed=5).samples

    def together() -> dict[str, Any]:
        results: dict[str, Any] = {}
        start = threading.Barrier(2)

        def run(name: str, work: Any) -> None:
            start.wait()
            results[name] = work()

        threads = [
            threading.Thread(target=run, args=("vlm", answer)),
            threading.Thread(target=run, args=("bark", speak)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    alone_text, alone_audio = answer(), speak()
    assert alone_text != split(list(llava.stream(dataclasses.replace(request, seed=8))))[0]
    for _ in range(3):
        results = together()
        assert results["vlm"] == alone_text
        assert np.array_equal(results["bark"], alone_audio)


def test_the_card_of_an_in_process_model_says_its_dtype_device_and_parameters(
    llava: TransformersVLMBackend, llava_dir: Path, store: Store
) -> None:
    spec = f"transformers:{llava_dir}"
    comparison = start_vlm_comparison(
        store,
        resolved_all([spec]),
        VLMRequest(QUESTION, image=screenshot(), temperature=0, max_tokens=4),
        by_name(lambda _name: llava),
    )
    comparison.wait()
    assert comparison.settle(10)
    card = store.provenance_of(run_id=comparison.run_id)[spec]
    assert (card["engine"], card["host"]) == ("transformers", "in process")
    assert (card["dtype"], card["device"]) == ("float32", "cpu")
    assert card["parameters"] == sum(p.numel() for p in llava.model.parameters())
    assert card["engine_version"].startswith("5.") and card["torch_version"]
    assert card["reasons"] == {}
