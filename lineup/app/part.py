"""What the facade's parts share: their base, which reads the root's fields, and the
words of the facade (the errors it raises as bad input, the kinds of run, the limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from backends import keys
from backends.spec import SpecError
from lineup.app.start_once import StartOnce
from lineup.catalog import BackendsConfig, ConfigError
from lineup.core import InputError, MediaError, Settings, SettingsError
from lineup.run import TimingMode, check_timing
from lineup.store import MediaStore, MediaStoreError, Store, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from lineup.app.facade import Lineup


RunKind = Literal["vlm", "tts"]

MAX_REPEATS = 100  # repeats of a study (samples per sentence for voices)

ExportTable = Literal["generations", "labels"]

# What Lineup raises when the input, the environment (settings, a full disk, a read-only
# LINEUP_HOME, a damaged or unreachable database) or backends.toml needs fixing: each is raised
# where the problem is found, with nothing half-stored, and a message that says what to do. The
# pages show these as messages and the CLI exits 2; any other exception is a bug in Lineup and
# is never shown as bad input. (Most are ValueErrors, but a bare ValueError is not one of them.)
INPUT_ERRORS: tuple[type[Exception], ...] = (
    InputError,
    SettingsError,
    ConfigError,
    SpecError,
    MediaError,
    MediaStoreError,
    StoreError,
    StoreUnavailable,
)


def read_keys_from(source: keys.KeySource) -> None:
    """Look API keys up in `source` too (by variable name), after the environment: the app
    passes its Streamlit secrets. Registering the same source again does nothing."""
    keys.register_source(source)


def check_timing_mode(timing: str) -> TimingMode:
    """A comparison's or study's timing mode (lineup.run.contention); InputError otherwise."""
    try:
        return check_timing(timing)
    except ValueError as exc:
        raise InputError(
            f"{exc} parallel: every model at once; fair: one host's models one after another."
        ) from None


def request_key(kind: str, request_id: str | None) -> str | None:
    """A start's request id, apart per kind of start (a token is only ever one form's)."""
    return None if request_id is None else f"{kind}:{request_id}"


class Part:
    """One part of the facade (app.compare, app.studies, ...): a group of its methods
    over the root's fields, which it reads from the root (a part lives as long as its
    root, which builds it on first use)."""

    def __init__(self, app: Lineup) -> None:
        self._app = app

    @property
    def settings(self) -> Settings:
        return self._app.settings

    @property
    def store(self) -> Store:
        return self._app.store

    @property
    def media(self) -> MediaStore:
        return self._app.media

    @property
    def config(self) -> BackendsConfig:
        return self._app.config

    @property
    def started(self) -> StartOnce:
        return self._app.started
