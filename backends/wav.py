"""WAV bytes to and from `Audio`: the one place audio is encoded for the media store and decoded
from engines (espeak-ng's stdout, /v1/audio/speech responses)."""

from __future__ import annotations

import struct

import numpy as np

from backends.base import N_, Audio, BackendError

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


def to_wav_bytes(audio: Audio) -> bytes:
    """Mono 16-bit PCM WAV of the audio (samples clipped to [-1, 1])."""
    samples = np.clip(np.asarray(audio.samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    pcm = np.round(samples * 32767).astype("<i2")
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + pcm.nbytes,
        b"WAVE",
        b"fmt ",
        16,
        _PCM,
        1,
        audio.sample_rate_hz,
        audio.sample_rate_hz * 2,
        2,
        16,
        b"data",
        pcm.nbytes,
    )
    return header + pcm.tobytes()


def from_wav_bytes(data: bytes, *, source: str = "The engine") -> Audio:
    """Decode a PCM (8/16/24/32-bit) or 32/64-bit float WAV to mono float32 `Audio`.

    Streaming writers (espeak-ng --stdout, some speech servers) cannot know the length up
    front and put a placeholder size in the RIFF and data headers; the data chunk then runs
    to the end of the bytes, whatever its header says.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        start = data[:40].decode("latin-1", errors="replace")
        raise BackendError.of(
            N_("{source} did not return WAV audio (it starts with {start})."),
            source=source,
            start=repr(start),
        )
    position = 12
    fmt: tuple[int, int, int, int] | None = None
    while position + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        body_start = position + 8
        if chunk_id == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body_start)
            if tag == _EXTENSIBLE and size >= 26:
                tag = struct.unpack_from("<H", data, body_start + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise BackendError.of(
                    N_("{source} returned a WAV whose data comes before its format."),
                    source=source,
                )
            body = data[body_start : min(len(data), body_start + size)]
            return Audio(_decode(body, *fmt, source=source), fmt[2])
        position = body_start + size + (size & 1)
    raise BackendError.of(
        N_("{source} returned a WAV file with no audio data chunk."), source=source
    )


def _decode(
    body: bytes, tag: int, channels: int, rate: int, bits: int, *, source: str
) -> np.ndarray:
    if channels < 1 or rate < 1:
        raise BackendError.of(
            N_("{source} returned a WAV with {channels} channels at {rate} Hz."),
            source=source,
            channels=channels,
            rate=rate,
        )
    width = bits // 8
    frame = width * channels
    body = body[: len(body) - len(body) % frame] if frame else b""
    if tag == _PCM and bits == 8:
        samples = (np.frombuffer(body, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif tag == _PCM and bits == 16:
        samples = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768
    elif tag == _PCM and bits == 24:
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        samples = values.astype(np.float32) / (1 << 23)
    elif tag == _PCM and bits == 32:
        samples = (np.frombuffer(body, dtype="<i4").astype(np.float64) / 2**31).astype(np.float32)
    elif tag == _FLOAT and bits in (32, 64):
        samples = np.frombuffer(body, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    else:
        raise BackendError.of(
            N_(
                "{source} returned WAV audio in a format Lineup does not read "
                "(format tag {tag}, {bits} bits). Ask it for 16-bit PCM."
            ),
            source=source,
            tag=tag,
            bits=bits,
        )
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32)
