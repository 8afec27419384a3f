"""How a generation's end is told and written: the message of a failure, the timeout's words,
and the final write that never leaves a row `running` (lineup.run.vlm, lineup.run.tts)."""

from __future__ import annotations

import sys
import time
from typing import Any, Literal

from backends.base import BackendError
from lineup.core import ERROR, N_, Message
from lineup.store import Store

# Pauses before each try of a final write; after the last, the failure itself is recorded.
FINAL_WRITE_PAUSES_S = (0.0, 0.5)


def timeout_message(timeout_s: float, what: Literal["model", "voice"] = "model") -> Message:
    seconds = f"{timeout_s:g}"
    if what == "voice":
        return Message.of(
            N_(
                "Timed out after {seconds} s (the per-model timeout). Raise it if this voice "
                "needs longer; the text streamed until then is kept."
            ),
            seconds=seconds,
        )
    return Message.of(
        N_(
            "Timed out after {seconds} s (the per-model timeout). Raise it if this model "
            "needs longer; the text streamed until then is kept."
        ),
        seconds=seconds,
    )


def describe_error(exc: BaseException) -> str:
    """The message a user sees for a failed model: ours as written, others with their type."""
    if isinstance(exc, BackendError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def failure_message(exc: BaseException) -> Message:
    """`describe_error(exc)` with the template a BackendError keeps (stored beside it)."""
    return Message.of_error(exc, describe_error(exc))


def interrupted_message(why: Message) -> Message:
    """An answer's error when its process stopped (`why` as lineup.run.liveness says it)."""
    return Message.of(N_("Interrupted: {why}. The text streamed until then is kept."), why=why)


def write_final(
    store: Store, generation_id: int, status: str, fields: dict[str, Any]
) -> Message | None:
    """Write a generation's final row, retrying; None when stored, else what went wrong.

    When every try fails, the failure itself is recorded as the row's error (without the
    fields that may have caused it), so the row never stays `running`.
    """
    failure: BaseException | None = None
    for pause_s in FINAL_WRITE_PAUSES_S:
        time.sleep(pause_s)
        try:
            store.finish_generation(generation_id, status, **fields)
            return None
        except Exception as exc:  # noqa: BLE001 - any store failure is retried, then recorded
            failure = exc
    message = Message.of(
        N_(
            "Lineup could not store this {status} result: {error}. Check that the database is "
            "writable and not locked by another program."
        ),
        status=Message.of(status),  # a state's code, said as state_word says it
        error=f"{type(failure).__name__}: {failure}",
    )
    try:
        store.finish_generation(
            generation_id, ERROR, error=message.english, error_said=message.stored()
        )
    except Exception as exc:  # noqa: BLE001 - nothing more can be done than say so
        print(
            f"lineup: generation {generation_id} could not be stored ({exc}); its result is "
            "only in this process's output.",
            file=sys.stderr,
            flush=True,
        )
    return message
