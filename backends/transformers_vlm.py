"""Hugging Face transformers vision-language models, loaded in process once and shared."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Literal

from pydantic import Field

from backends import compute, hub
from backends.base import (
    N_,
    BackendError,
    BackendUnavailable,
    Chunk,
    Options,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.probe import torch_model_card
from backends.spec import ModelSpec

Task = Literal["chat", "vqa", "caption"]

# transformers lists these in its image-text-to-text mapping, but they have no chat template:
# they caption the image and cannot take a question.
CAPTION_MODEL_TYPES = frozenset({"blip", "git"})
VQA_ARCHITECTURES = frozenset({"BlipForQuestionAnswering"})


class TransformersOptions(Options):
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    max_new_tokens: int = Field(default=256, ge=1)
    trust_remote_code: bool = False
    # True: never ask the hub. Otherwise a hub id that is on disk nowhere is downloaded; a
    # folder, or a model already in the hub cache, always loads from disk (backends.hub).
    local_files_only: bool | None = None
    # Shrink images (longest side, pixels) before the processor sees them; None keeps the upload.
    max_image_side: int | None = Field(default=None, ge=1)


def _import_torch_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable.of(
            N_(
                "The transformers backend needs torch and transformers: "
                "`pip install torch==2.13.0 transformers==5.23.0` (see requirements.txt)."
            )
        ) from exc
    return torch, transformers


class TransformersVLMBackend(VLMBackend):
    """A chat VLM (AutoModelForImageTextToText, streamed), a BLIP VQA model or a captioner.

    Loading happens in the constructor and is timed; the load time is reported in the Usage
    of the first answer only, so a reused instance does not report it again.
    """

    in_process: ClassVar[bool] = True
    Options = TransformersOptions

    def __init__(self, spec: ModelSpec, options: TransformersOptions | None = None) -> None:
        self.spec = spec
        self.options = options or TransformersOptions()
        self._torch, self._transformers = _import_torch_transformers()
        self._load_s_lock = threading.Lock()
        started = time.perf_counter()
        self._load()
        self._pending_load_s: float | None = time.perf_counter() - started

    # Loading ------------------------------------------------------------------------------

    def _load(self) -> None:
        torch, transformers = self._torch, self._transformers
        found = hub.resolve(
            self.spec.model,
            engine="transformers",
            folder_hint=N_(
                "Give the folder a model was saved to with save_pretrained() or downloaded to "
                "with `hf download`."
            ),
            allow_download=self.options.local_files_only is not True,
            download_switch="local_files_only=false",
        )
        source = found.name_or_path
        common: dict[str, Any] = {
            "local_files_only": found.local_only,
            "trust_remote_code": self.options.trust_remote_code,
        }
        try:
            config = transformers.AutoConfig.from_pretrained(source, **common)
        except OSError as exc:
            raise hub.load_failed(exc, found, self.spec.model) from exc
        except ValueError as exc:
            raise BackendError.of(
                N_(
                    "transformers cannot read the config of {model}: {reason} (a model with its "
                    "own code needs the option trust_remote_code=true, if you trust that code)."
                ),
                model=self.spec.model,
                reason=str(exc),
            ) from exc
        self.config = config
        self.task: Task = self._task(config)
        if self.options.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable.of(
                N_(
                    "device={device} was asked for, but torch sees no CUDA device here. Use "
                    "device=cpu."
                ),
                device=self.options.device,
            )
        try:
            # The PIL image processors: torchvision does not import beside the CPU torch build.
            self.processor = transformers.AutoProcessor.from_pretrained(
                source, backend="pil", **common
            )
            if self.task == "chat" and not getattr(self.processor, "chat_template", None):
                raise BackendError.of(
                    N_(
                        "{model} has no chat template (chat_template.jinja or "
                        "processor_config.json), so a question cannot be put to it. Use the "
                        "model's instruct or chat version."
                    ),
                    model=self.spec.model,
                )
            model = self._model_class().from_pretrained(
                source, config=config, dtype=self._dtype(), **common
            )
        except OSError as exc:
            raise hub.load_failed(exc, found, self.spec.model) from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            raise BackendError.of(
                N_("transformers could not load {model}: {reason}"),
                model=self.spec.model,
                reason=str(exc),
            ) from exc
        self.model = model.to(self.options.device).eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.metadata: dict[str, Any] = {
            "model_class": type(self.model).__name__,
            "model_type": config.model_type,
            "task": self.task,
            "loaded_from": found.place,
            "parameter_count": sum(p.numel() for p in self.model.parameters()),
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": str(self.model.device),
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
        }

    def describe(self) -> dict[str, Any]:
        """The loaded model's dtype, device and parameter count, with the versions."""
        return torch_model_card("transformers", "transformers", self.model)

    def _task(self, config: Any) -> Task:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
        )

        architectures = set(getattr(config, "architectures", None) or [])
        if architectures & VQA_ARCHITECTURES:
            return "vqa"
        if config.model_type in CAPTION_MODEL_TYPES:
            return "caption"
        if config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            return "chat"
        auto_map = getattr(config, "auto_map", None) or {}
        if self.options.trust_remote_code and "AutoModelForImageTextToText" in auto_map:
            return "chat"
        raise BackendUnavailable.of(
            N_(
                "{model} is a {model_type} model, not a vision-language model that "
                "transformers' AutoModelForImageTextToText knows. Use a chat VLM (SmolVLM, "
                "Qwen2-VL, Gemma 3, LLaVA, ...), BLIP or GIT."
            ),
            model=self.spec.model,
            model_type=repr(config.model_type),
        )

    def _model_class(self) -> Any:
        transformers = self._transformers
        if self.task == "vqa":
            return transformers.BlipForQuestionAnswering
        return transformers.AutoModelForImageTextToText

    def _dtype(self) -> Any:
        if self.options.dtype == "auto":
            return "auto"
        return getattr(self._torch, self.options.dtype)

    # Answering ----------------------------------------------------------------------------

    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        if self.task == "chat":
            yield from self._stream_chat(request)
        else:
            yield from self._answer_whole(request)

    def _stream_chat(self, request: VLMRequest) -> Iterator[Chunk]:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        inputs = self._chat_inputs(request)
        prompt_tokens = int(inputs["input_ids"].shape[-1])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}

        def generate() -> None:
            try:
                with self._generating(request):
                    outcome["output"] = self.model.generate(
                        **inputs,
                        **self._generation_kwargs(request),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_stop_when_set(cancelled)]),
                    )
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                outcome["error"] = exc
                # Wake the reader. Not streamer.end(): it decodes, and decoding may be what failed.
                streamer.text_queue.put(streamer.stop_signal)

        worker = threading.Thread(target=generate, name=f"generate-{self.spec.model}", daemon=True)
        worker.start()
        try:
            for text in streamer:
                if text:
                    yield Chunk(text=text)
            worker.join()
        finally:
            # A reader that stops early (timeout, closed generator) stops generation at the
            # next token, so the shared model is free for the next request.
            cancelled.set()
        if "error" in outcome:
            raise self._generation_failed(outcome["error"])
        sequences = getattr(outcome["output"], "sequences", outcome["output"])
        if self.model.config.is_encoder_decoder:
            output_tokens = int(sequences.shape[-1]) - 1  # the decoder start token
        else:
            output_tokens = int(sequences.shape[-1]) - prompt_tokens
        yield Chunk(usage=self._usage(prompt_tokens, output_tokens))

    def _chat_inputs(self, request: VLMRequest) -> Any:
        messages: list[dict[str, Any]] = []
        if request.system:
            # Content as a list of parts: the form every multimodal chat template reads.
            messages.append(
                {"role": "system", "content": [{"type": "text", "text": request.system}]}
            )
        content: list[dict[str, Any]] = []
        if request.image is not None:
            content.append({"type": "image", "image": self._image(request)})
        content.append({"type": "text", "text": request.question})
        messages.append({"role": "user", "content": content})
        try:
            inputs = self.processor.apply_chat_template(
                messages,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
            )
        except Exception as exc:
            raise BackendError.of(
                N_("{model}'s processor could not prepare the question: {kind}: {reason}"),
                model=self.spec.model,
                kind=type(exc).__name__,
                reason=str(exc),
            ) from exc
        return self._to_model(inputs)

    def _answer_whole(self, request: VLMRequest) -> Iterator[Chunk]:
        """BLIP VQA and captioners: transformers 5 dropped their pipelines, so call generate()."""
        if request.image is None:
            raise BackendError.of(
                N_("{model} ({model_class}) answers about an image: add an image to the question."),
                model=self.spec.model,
                model_class=self.metadata["model_class"],
            )
        image = self._image(request)
        try:
            if self.task == "vqa":
                inputs = self.processor(images=image, text=request.question, return_tensors="pt")
            else:
                inputs = self.processor(images=image, return_tensors="pt")
        except Exception as exc:
            raise BackendError.of(
                N_("{model}'s processor could not prepare the image: {reason}"),
                model=self.spec.model,
                reason=str(exc),
            ) from exc
        inputs = self._to_model(inputs)
        try:
            with self._generating(request):
                output = self.model.generate(**inputs, **self._generation_kwargs(request))
        except Exception as exc:
            raise self._generation_failed(exc) from exc
        sequence = getattr(output, "sequences", output)[0]
        answer = self.tokenizer.decode(sequence, skip_special_tokens=True).strip()
        # BLIP's decoders and GIT (given no text) start from one start token, which is returned.
        output_tokens = int(sequence.shape[-1]) - 1
        question_tokens = inputs.get("input_ids")
        input_tokens = int(question_tokens.shape[-1]) if question_tokens is not None else None
        if answer:
            yield Chunk(text=answer)
        usage = self._usage(input_tokens, output_tokens)
        if self.task == "caption":
            usage.metadata["note"] = (
                "captioning model: it describes the image, the question is unused"
            )
        yield Chunk(usage=usage)

    def _image(self, request: VLMRequest) -> Any:
        assert request.image is not None
        if self.options.max_image_side is None:
            return request.image.rgb()
        from PIL import Image

        png = request.image.png_bytes(self.options.max_image_side)
        return Image.open(io.BytesIO(png)).convert("RGB")

    def _to_model(self, inputs: Any) -> Any:
        # Floating tensors (pixel values) take the model's dtype; token ids stay integers.
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def _generation_kwargs(self, request: VLMRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": request.max_tokens or self.options.max_new_tokens,
        }
        # No temperature: the model's own generation config decides, as a server would.
        if request.temperature is not None:
            if request.temperature > 0:
                kwargs.update(do_sample=True, temperature=request.temperature)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def _samples(self, request: VLMRequest) -> bool:
        if request.temperature is not None:
            return request.temperature > 0
        return bool(getattr(self.model.generation_config, "do_sample", False))

    def _generating(self, request: VLMRequest) -> AbstractContextManager[None]:
        """Hold in-process compute (this model, torch's generator) for one generate(); a
        sampled generation seeds the generator first."""
        return compute.seeded(request.seed if self._samples(request) else None)

    def _generation_failed(self, exc: BaseException) -> BackendError:
        if isinstance(exc, BackendError):
            return exc
        error = BackendError.of(
            N_("{model} failed while generating: {kind}: {reason}"),
            model=self.spec.model,
            kind=type(exc).__name__,
            reason=str(exc),
        )
        error.__cause__ = exc
        return error

    def _usage(self, input_tokens: int | None, output_tokens: int) -> Usage:
        with self._load_s_lock:
            load_s, self._pending_load_s = self._pending_load_s, None
        return Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            output_tokens_source="client",
            load_s=load_s,
            loaded=load_s is not None,
            metadata=dict(self.metadata),
        )


def _stop_when_set(event: threading.Event) -> Any:
    """A stopping criterion that ends generation once `event` is set."""
    import torch
    from transformers import StoppingCriteria

    class StopWhenSet(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full(
                (input_ids.shape[0],), event.is_set(), dtype=torch.bool, device=input_ids.device
            )

    return StopWhenSet()
