"""`python -m lineup`: the same engine as the app, for scripts and CI.

With --json, stdout carries exactly one JSON document; progress and messages go to stderr.
Exit status: 0 when the command did its job (even if some models failed), 2 for bad input,
1 for a bug in Lineup (a one-line message; LINEUP_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import select
import sys

from lineup.app import (
    INPUT_ERRORS,
    Lineup,
    _,
    environment_language,
    error_text,
    redact,
    set_language,
)
from lineup.cli import compare, label, leaderboard, models, sets, speak, study
from lineup.cli.arguments import Parser
from lineup.cli.output import EXIT_BAD_INPUT, EXIT_BUG, EXIT_READER_GONE, BadInput, err

DEBUG_ENV = "LINEUP_DEBUG"

# Errors that mean the input, the environment or backends.toml needs fixing, not a bug (see
# lineup.app.INPUT_ERRORS). Anything else is a bug in Lineup: exit 1.
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (BadInput, *INPUT_ERRORS)

# The command groups, in the order of the help: each `register`s its commands and handlers.
GROUPS = (models, compare, speak, label, leaderboard, sets, study)


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser, in the current language (build it after `set_language`)."""
    parser = Parser(
        prog="python -m lineup",
        description=_("`python -m lineup`: the same engine as the app, for scripts and CI."),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Human output and errors in LINEUP_LANG, else LANG (lineup.core.i18n); --json keys and
    # values never change with it.
    set_language(environment_language())
    args = build_parser().parse_args(argv)
    app: Lineup | None = None
    try:
        app = Lineup.open()
        code = int(args.func(app, args))
        sys.stdout.flush()  # a reader that left shows here, not as Python exits
        return code
    except BAD_INPUT_ERRORS as exc:
        err(_("error: {message}").format(message=error_text(exc)))
        return EXIT_BAD_INPUT
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and _reader_gone():
            return _end_quietly()
        if os.environ.get(DEBUG_ENV):
            raise
        secrets = app.secrets() if app is not None else []
        err(
            _(
                "error: this is a bug in Lineup, not a problem with your input: {error}\n"
                "Run again with {variable}=1 for the traceback, and please report it."
            ).format(error=f"{type(exc).__name__}: {redact(str(exc), secrets)}", variable=DEBUG_ENV)
        )
        return EXIT_BUG


def _reader_gone() -> bool:
    """Whether whoever reads Lineup's output (stdout or stderr) has closed the pipe, as
    `head -1` does once it has its line. A broken pipe of Lineup's own (to a subprocess or a
    server) is not that: it is reported."""
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
            continue
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
        # POLLERR: a pipe with no reader left; POLLHUP: a socket or terminal whose peer left.
        if any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
            return True
    return False


def _end_quietly() -> int:
    """End as well-behaved Unix commands do when their reader leaves: no message, the status of
    SIGPIPE. What is still buffered goes nowhere instead of failing again as Python exits (the
    Python docs' recipe; setting SIGPIPE to its default would also kill Lineup when a socket
    to a model server breaks: https://docs.python.org/3/library/signal.html#note-on-sigpipe).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
    os.close(devnull)
    return EXIT_READER_GONE
