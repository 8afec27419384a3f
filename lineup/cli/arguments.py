"""The command line's parser and the argparse types of the commands' options: a bad value is
argparse's usage error (exit 2) with Lineup's own message.

`Parser` speaks the CLI's language (lineup.core.i18n; the parser is built after it is set):
each command's help goes through `_()` where it is written, and argparse's own words ("usage:",
"options", "show this help message and exit", its errors) are said through the catalog too,
from argparse's documented seams only (a formatter class, `error()`, the help option added by
hand). argparse asks Python's `gettext.gettext` for those words, whose language is the process
environment's, not LINEUP_LANG; Lineup installs nothing into argparse."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, TypeAlias, TypeVar

from lineup.app import (
    MAX_SEED,
    N_,
    PARALLEL,
    TIMING_MODES,
    InputError,
    _,
    check_max_tokens,
    check_seed,
    check_temperature,
    check_timeout_s,
    parse_moment,
)

# What each command group's `register` adds its commands to (a string: argparse's class is
# generic only to type checkers).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T", int, float)

# argparse's own words, under their English text (argparse 3.11's messages), said through
# Lineup's catalog: the help's headings and the help option, then the errors a command line
# can meet, each a pattern of argparse's English and Lineup's message for it.
USAGE = N_("usage: ")
GROUP_TITLES = {"positional arguments": N_("positional arguments"), "options": N_("options")}
HELP_OPTION = N_("show this help message and exit")
ERROR_LINE = N_("{prog}: error: {message}")
_ERRORS: tuple[tuple[str, str], ...] = (
    (
        r"the following arguments are required: (?P<names>.+)",
        N_("the following arguments are required: {names}"),
    ),
    (r"unrecognized arguments: (?P<names>.*)", N_("unrecognized arguments: {names}")),
    (
        r"one of the arguments (?P<names>.+) is required",
        N_("one of the arguments {names} is required"),
    ),
    (
        r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)",
        N_("ambiguous option: {option} could match {matches}"),
    ),
    (
        r"invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)",
        N_("invalid choice: {value} (choose from {choices})"),
    ),
    (r"invalid (?P<type>\w+) value: (?P<value>.+)", N_("invalid {type} value: {value}")),
    (r"expected one argument", N_("expected one argument")),
    (r"expected at least one argument", N_("expected at least one argument")),
    (r"expected at most one argument", N_("expected at most one argument")),
    (r"ignored explicit argument (?P<value>.+)", N_("ignored explicit argument {value}")),
    (r"not allowed with argument (?P<other>.+)", N_("not allowed with argument {other}")),
)
_ERROR_PATTERNS = [(re.compile(f"^{pattern}$", re.DOTALL), said) for pattern, said in _ERRORS]
# An error about one argument: "argument --seed: " and what argparse, or Lineup's type, said.
_ARGUMENT = re.compile(r"^argument (?P<argument>[^:]+): (?P<problem>.*)$", re.DOTALL)


def argparse_message(message: str) -> str:
    """An error argparse words in English, in the current language: its known messages
    translated (their values as argparse gave them), any other as it is (Lineup's own are
    translated where they are raised)."""
    found = _ARGUMENT.match(message)
    if found:
        return _("argument {argument}: {problem}").format(
            argument=found["argument"], problem=argparse_message(found["problem"])
        )
    for pattern, said in _ERROR_PATTERNS:
        found = pattern.match(message)
        if found:
            return _(said).format(**found.groupdict())
    return message


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with "usage: " in the current language."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _(USAGE) if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """The CLI's parser (and, by argparse's default, each subcommand's): its headings, its help
    option and its errors in the current language; exit status 2 for a bad command line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        add_help = kwargs.get("add_help", True)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        if add_help:  # argparse's own -h/--help, its line said through the catalog
            self.add_argument(
                "-h", "--help", action="help", default=argparse.SUPPRESS, help=_(HELP_OPTION)
            )

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        """A group; argparse's own two ("positional arguments", "options") titled in the
        current language."""
        if args and isinstance(args[0], str) and args[0] in GROUP_TITLES:
            args = (_(GROUP_TITLES[args[0]]), *args[1:])
        return super().add_argument_group(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """The usage and the error on stderr, exit status 2 (argparse's contract for `error`),
        in the current language."""
        self.print_usage(sys.stderr)
        line = _(ERROR_LINE).format(prog=self.prog, message=argparse_message(message))
        self.exit(2, line + "\n")


def _checked(convert: Callable[[str], T], check: Callable[[T], T], message: str) -> Any:
    """An argparse `type=`: a bad value is argparse's usage error (exit 2) with our message
    (`message`, marked N_: what is said of a value that is not even a number, {text})."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                _(message).format(text=repr(text), maximum=MAX_SEED)
            ) from None
        try:
            return check(value)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _at_least_one_id(value: int) -> int:
    if value < 1:
        raise InputError(_("A study id is a whole number from 1, not {value}.").format(value=value))
    return value


def _at_least_one(value: int) -> int:
    if value < 1:
        raise InputError(
            _("The number of samples must be at least 1, not {value}.").format(value=value)
        )
    return value


TIMEOUT_S = _checked(float, check_timeout_s, N_("{text} is not a number of seconds."))
TEMPERATURE = _checked(float, check_temperature, N_("{text} is not a number."))
MAX_TOKENS = _checked(int, check_max_tokens, N_("{text} is not a whole number."))
SEED = _checked(int, check_seed, N_("{text} is not a whole number from 0 to {maximum}."))
SAMPLES = _checked(int, _at_least_one, N_("{text} is not a whole number."))
STUDY_ID = _checked(int, _at_least_one_id, N_("{text} is not a study id (a whole number)."))


def _moment(text: str) -> datetime:
    """An argparse `type=`: a UTC day (YYYY-MM-DD) or an ISO 8601 moment."""
    try:
        return parse_moment(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MOMENT = _moment


def add_timing(parser: argparse.ArgumentParser) -> None:
    """`--timing parallel|fair` (lineup.run.contention): a bad value is argparse's exit 2."""
    parser.add_argument(
        "--timing",
        choices=TIMING_MODES,
        default=PARALLEL,
        help=_(
            "parallel: every model at once (default); fair: the models of one host one "
            "after another, in an order that rotates per item and repeat"
        ),
    )
