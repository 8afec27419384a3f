"""Hugging Face transformers vision-language models, loaded in process once and shared."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from backends.base import (
    BackendError,
    BackendUnavailable,
    Chunk,
    Modality,
    Options,
    Usage,
    VLMRequest,
)
from backends.spec import ModelSpec

log = logging.getLogger(__name__)

Task = Literal["chat", "vqa", "caption"]

# transformers lists these in its image-text-to-text mapping, but they have no chat template:
# they caption the image and cannot take a question.
CAPTION_MODEL_TYPES = frozenset({"blip", "git"})
VQA_ARCHITECTURES = frozenset({"BlipForQuestionAnswering"})

# torch.manual_seed seeds one process-wide generator: sampled generations of different models
# take turns on it, or one model's draws would shift another's and a seed would mean nothing.
_RNG_LOCK = threading.Lock()


class TransformersOptions(Options):
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    max_new_tokens: int = Field(default=256, ge=1)
    trust_remote_code: bool = False
    # None: True when the model is a folder on disk, False (the hub may be asked) otherwise.
    local_files_only: bool | None = None
    # Shrink images (longest side, pixels) before the processor sees them; None keeps the upload.
    max_image_side: int | None = Field(default=None, ge=1)


def _import_torch_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable(
            "The transformers backend needs torch and transformers: "
            "`pip install torch==2.13.0 transformers==5.23.0` (see requirements.txt)."
        ) from exc
    return torch, transformers


def _looks_like_path(model: str) -> bool:
    # A hub id is `name` or `owner/name`; anything else that names a place on disk is a path.
    return model.startswith(("/", "~", ".")) or model.count("/") > 1 or "\\" in model


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers at all (any HTTP status counts)."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        httpx.head(constants.ENDPOINT, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def _in_hub_cache(model: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except ValueError:  # not a valid hub id
        return False


def _repo_missing(exc: BaseException) -> bool:
    """True when the hub answered that the repository does not exist (not: was unreachable)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in {"RepositoryNotFoundError", "GatedRepoError"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class TransformersVLMBackend:
    """A chat VLM (AutoModelForImageTextToText, streamed), a BLIP VQA model or a captioner.

    Loading happens in the constructor and is timed; the load time is reported in the Usage
    of the first answer only, so a reused instance does not report it again.
    """

    modality: ClassVar[Modality] = "vlm"
    in_process: ClassVar[bool] = True
    Options = TransformersOptions

    def __init__(self, spec: ModelSpec, options: TransformersOptions | None = None) -> None:
        self.spec = spec
        self.options = options or TransformersOptions()
        self._torch, self._transformers = _import_torch_transformers()
        # One instance serves every comparison in the process; generate() runs one at a time.
        self._generate_lock = threading.Lock()
        self._load_s_lock = threading.Lock()
        started = time.perf_counter()
        self._load()
        self._pending_load_s: float | None = time.perf_counter() - started

    # Loading ------------------------------------------------------------------------------

    def _source(self) -> tuple[str, bool, str]:
        """Where to load from, whether only local files may be used, and what that place is."""
        model = self.spec.model
        path = Path(model).expanduser()
        local_only = self.options.local_files_only
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise BackendUnavailable(
                    f"{path} has no config.json, so it is not a transformers model folder. Give "
                    "the folder a model was saved to with save_pretrained() or downloaded to "
                    "with `hf download`."
                )
            return str(path), True if local_only is None else local_only, "local folder"
        if _looks_like_path(model):
            raise BackendUnavailable(
                f"No model folder at {path}: it is not on disk, and a path cannot come from the "
                "hub. Give a local folder that holds the model's config.json and weights."
            )
        if local_only is not None:
            return model, local_only, "hub cache" if local_only else "hub"
        # Asked first, so an unreachable hub fails at once rather than after the hub client's
        # retries (about 25 s), and a cached model still loads offline.
        if hub_reachable():
            if not _in_hub_cache(model):
                log.warning(
                    "%s is not on disk: downloading it from the Hugging Face hub (this happens "
                    "once; later loads use the hub cache).",
                    model,
                )
            return model, False, "hub"
        if _in_hub_cache(model):
            return model, True, "hub cache"
        raise BackendUnavailable(
            f"{model} is not on disk and the hub is unreachable; give a local folder that holds "
            "the model (config.json and weights), or download it on a machine with hub access "
            "(`hf download MODEL --local-dir FOLDER`) and copy the folder here."
        )

    def _not_found(self, exc: BaseException, local_only: bool, loaded_from: str) -> BackendError:
        model = self.spec.model
        if loaded_from == "local folder":
            return BackendUnavailable(
                f"The model folder {model} is incomplete: copy the whole folder (config, weights, "
                f"tokenizer and processor files), as save_pretrained() writes it. ({exc})"
            )
        if _repo_missing(exc):
            return BackendUnavailable(
                f"The Hugging Face hub has no model {model!r} (or it is gated). Check the id, "
                "or give a local folder."
            )
        if local_only:
            return BackendUnavailable(
                f"{model} is not on disk (not in the hub cache) and local_files_only is on; give a "
                "local folder, or set local_files_only=false to download it."
            )
        return BackendUnavailable(
            f"{model} is not on disk and the hub is unreachable; give a local folder that holds "
            "the model (config.json and weights), or download it on a machine with hub access."
        )

    def _load(self) -> None:
        torch, transformers = self._torch, self._transformers
        source, local_only, loaded_from = self._source()
        common: dict[str, Any] = {
            "local_files_only": local_only,
            "trust_remote_code": self.options.trust_remote_code,
        }
        try:
            config = transformers.AutoConfig.from_pretrained(source, **common)
        except OSError as exc:
            raise self._not_found(exc, local_only, loaded_from) from exc
        except ValueError as exc:
            raise BackendError(
                f"transformers cannot read the config of {self.spec.model}: {exc} (a model with "
                "its own code needs the option trust_remote_code=true, if you trust that code)."
            ) from exc
        self.config = config
        self.task: Task = self._task(config)
        if self.options.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable(
                f"device={self.options.device} was asked for, but torch sees no CUDA device here. "
                "Use device=cpu."
            )
        try:
            # The PIL image processors: torchvision does not import beside the CPU torch build.
            self.processor = transformers.AutoProcessor.from_pretrained(
                source, backend="pil", **common
            )
            if self.task == "chat" and not getattr(self.processor, "chat_template", None):
                raise BackendError(
                    f"{self.spec.model} has no chat template (chat_template.jinja or "
                    "processor_config.json), so a question cannot be put to it. Use the "
                    "model's instruct or chat version."
                )
            model = self._model_class().from_pretrained(
                source, config=config, dtype=self._dtype(), **common
            )
        except OSError as exc:
            raise self._not_found(exc, local_only, loaded_from) from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            raise BackendError(f"transformers could not load {self.spec.model}: {exc}") from exc
        self.model = model.to(self.options.device).eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.metadata: dict[str, Any] = {
            "model_class": type(self.model).__name__,
            "model_type": config.model_type,
            "task": self.task,
            "loaded_from": loaded_from,
            "parameter_count": sum(p.numel() for p in self.model.parameters()),
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": str(self.model.device),
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
        }

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
        raise BackendUnavailable(
            f"{self.spec.model} is a {config.model_type!r} model, not a vision-language model "
            "that transformers' AutoModelForImageTextToText knows. Use a chat VLM (SmolVLM, "
            "Qwen2-VL, Gemma 3, LLaVA, ...), BLIP or GIT."
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
            raise BackendError(
                f"{self.spec.model}'s processor could not prepare the question: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return self._to_model(inputs)

    def _answer_whole(self, request: VLMRequest) -> Iterator[Chunk]:
        """BLIP VQA and captioners: transformers 5 dropped their pipelines, so call generate()."""
        if request.image is None:
            raise BackendError(
                f"{self.spec.model} ({self.metadata['model_class']}) answers about an image: "
                "add an image to the question."
            )
        image = self._image(request)
        try:
            if self.task == "vqa":
                inputs = self.processor(images=image, text=request.question, return_tensors="pt")
            else:
                inputs = self.processor(images=image, return_tensors="pt")
        except Exception as exc:
            raise BackendError(
                f"{self.spec.model}'s processor could not prepare the image: {exc}"
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

    @contextmanager
    def _generating(self, request: VLMRequest) -> Iterator[None]:
        """Hold the model (and, when sampling, the random generator) for one generate()."""
        with ExitStack() as stack:
            stack.enter_context(self._generate_lock)
            if self._samples(request):
                stack.enter_context(_RNG_LOCK)
                if request.seed is not None:
                    self._torch.manual_seed(request.seed)
            yield

    def _generation_failed(self, exc: BaseException) -> BackendError:
        if isinstance(exc, BackendError):
            return exc
        error = BackendError(
            f"{self.spec.model} failed while generating: {type(exc).__name__}: {exc}"
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
