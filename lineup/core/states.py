"""The states of an answer (docs/design.md, "States of a generation") and the relevance a label
gives."""

from __future__ import annotations

from typing import Final, Literal

RELEVANCE = ("relevant", "partial", "irrelevant")


# The states of a generation (docs/design.md, "States of a generation"): `running`, then exactly one
# of the final states. Only `ok` (a complete answer, the protocol's end marker seen) can be
# labeled and counted.
RUNNING: Final = "running"


OK: Final = "ok"


ERROR: Final = "error"


TIMEOUT: Final = "timeout"


CANCELLED: Final = "cancelled"  # the person pressed Stop


INTERRUPTED: Final = "interrupted"  # its process died or was stopped; the partial text is kept


FINAL_STATUSES = (OK, ERROR, TIMEOUT, CANCELLED, INTERRUPTED)


Status = Literal["ok", "error", "timeout", "cancelled", "interrupted"]


STATUSES = (RUNNING, *FINAL_STATUSES)
