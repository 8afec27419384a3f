"""The one owner of in-process compute and of torch's process-wide random generator.

`torch.manual_seed` seeds one generator shared by every thread, and every sampled token,
Bark's three sampling stages included, draws from it. Two in-process engines running at once
would shift each other's draws, so a seed would mean nothing; and their timings and memory
figures would hold each other's work. So in-process engines (transformers VLMs, Bark, Piper,
Whisper) take turns: each holds `lock` for one generation (`seeded(seed)` also seeds the
generator), and the TTS runner holds it around the synthesis it measures.

The lock is re-entrant: a runner that holds it may call an engine that takes it again in the
same thread. Hold it in the thread that computes, and never wait while holding it for another
thread that needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

lock = threading.RLock()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold in-process compute for the block: no other in-process engine runs meanwhile."""
    with lock:
        yield


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Hold in-process compute and, when `seed` is given, seed torch's generator with it
    first, so the block's draws depend on the seed alone."""
    with lock:
        if seed is not None:
            import torch  # only engines that use torch ask for a seed

            torch.manual_seed(seed)
        yield
