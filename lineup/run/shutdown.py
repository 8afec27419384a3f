"""A command stopped by Ctrl-C or SIGTERM finishes its rows as `interrupted` and exits quietly."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from lineup.core import N_, Message, ngettext
from lineup.run import liveness

EXIT_INTERRUPTED = 130  # as a shell reports a command ended by SIGINT


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_stoppable(main: Callable[[], int]) -> int:
    """Run `main`; on Ctrl-C or SIGTERM mark this process's unfinished rows `interrupted`
    (their partial text kept) and return 130, with one line on stderr and no traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return main()
    except KeyboardInterrupt as exc:
        # SIGTERM's handler names its signal; Python's own SIGINT handler says nothing.
        why = Message.of(N_("the command was stopped ({signal})"), signal=str(exc) or "Ctrl-C")
        runs = liveness.interrupt_all(why)
        # In the command's language (main set it in this thread); English as it always was.
        stopped = ngettext(
            "Stopped: {runs} run(s) in progress were marked interrupted; the text streamed "
            "until then is kept.",
            "Stopped: {runs} run(s) in progress were marked interrupted; the text streamed "
            "until then is kept.",
            runs,
        )
        print(stopped.format(runs=runs), file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
