"""The argparse types of the commands' options: a bad value is argparse's usage error (exit 2)
with Lineup's own message."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

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
        help="parallel: every model at once (default); fair: the models of one host one "
        "after another, in an order that rotates per item and repeat",
    )
