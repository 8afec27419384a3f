"""The one door the pages and the CLI use into Lineup: the root, `Lineup`, over one store,
one media store and one reading of backends.toml, and its parts (app.compare,
app.studies, app.scores, app.catalog, app.sets, app.labels, app.leaderboard), each a
module of lineup.app."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from backends import keys
from backends.registry import default_api_key_envs
from lineup.app.catalog import Catalog
from lineup.app.compare import Compare
from lineup.app.labels import Labels
from lineup.app.leaderboard import Leaderboard
from lineup.app.scores import Scores
from lineup.app.sets import Sets
from lineup.app.start_once import StartOnce
from lineup.app.studies import Studies
from lineup.catalog import BackendsConfig, load_backends_config
from lineup.core import Settings, ValidatedImage, check_timeout_s, load_settings
from lineup.store import MediaStore, Store


@dataclass(frozen=True)
class Lineup:
    """The engine with one reading of backends.toml.

    Frozen: the app keeps one per settings for the whole server and every session shares it,
    so nothing assigns to it. A page run takes its own reading of backends.toml with
    `refreshed()` (a new facade over the same store, media and caches); what a session sees
    never changes under another session's feet.
    """

    settings: Settings
    store: Store
    media: MediaStore
    config: BackendsConfig
    # The starts of every session of the server, one per request id (a page's form token).
    started: StartOnce = field(default_factory=StartOnce)

    # The parts: each built on first use, once per root (cached_property writes the
    # instance's __dict__, which a frozen dataclass allows). A new root, such as
    # `refreshed()` makes, builds its own.

    @cached_property
    def compare(self) -> Compare:
        """Comparisons of models on one input, and the runs stored."""
        return Compare(self)

    @cached_property
    def studies(self) -> Studies:
        """Studies of a set: run them, follow them, report them."""
        return Studies(self)

    @cached_property
    def scores(self) -> Scores:
        """A study's reference model and its LLM judge."""
        return Scores(self)

    @cached_property
    def catalog(self) -> Catalog:
        """What models there are and what a name stands for."""
        return Catalog(self)

    @cached_property
    def sets(self) -> Sets:
        """Question sets, stored and shipped."""
        return Sets(self)

    @cached_property
    def labels(self) -> Labels:
        """Labels, the labeling queue and the arena's votes."""
        return Labels(self)

    @cached_property
    def leaderboard(self) -> Leaderboard:
        """The leaderboards, their filters' choices and the raw exports."""
        return Leaderboard(self)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Lineup:
        """Open the store (migrating it) and mark rows whose process died `interrupted`."""
        settings = settings or load_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        app = cls(
            settings=settings,
            store=Store(settings.database_url, connect_timeout_s=settings.db_connect_timeout_s),
            media=MediaStore(settings.media_dir),
            config=load_backends_config(settings),
        )
        app.reap_orphans()
        return app

    def with_config(self, config: BackendsConfig) -> Lineup:
        """The same engine (store, media, caches) with another reading of backends.toml."""
        return replace(self, config=config)

    def refreshed(self) -> Lineup:
        """backends.toml read again (the app does so on every page run, so an edit shows
        without a restart): this facade when the file is unchanged, else a new one."""
        fresh = load_backends_config(self.settings)
        return self if fresh == self.config else self.with_config(fresh)

    def secrets(self) -> list[str]:
        """The value of every API key Lineup may send (from the environment or a registered
        source such as Streamlit secrets), to keep out of what is stored and printed."""
        names = default_api_key_envs() | {
            e.api_key_env for e in self.config.endpoints if e.api_key_env
        }
        for named in self.config.models:
            key_env = (named.options or {}).get("api_key_env")
            if isinstance(key_env, str):
                names.add(key_env)
        return [value for name in sorted(names) if (value := keys.api_key(name))]

    def timeout(self, timeout_s: float | None) -> float:
        """The per-model timeout: the one given, else the setting; a positive finite number."""
        if timeout_s is None:
            return self.settings.model_timeout_s
        return float(check_timeout_s(timeout_s))

    def reap_orphans(self) -> list[int]:
        """Running rows whose owner process is gone become `interrupted` (the app calls this
        on every page run, the CLI at start); returns their ids."""
        return self.store.reap_orphans()

    def media_path(self, digest: str) -> Path | None:
        """The file of a stored image or clip, by its hash; None when it is gone from disk."""
        try:
            return self.media.path(digest)
        except FileNotFoundError:
            return None

    def stored_image(self, digest: str) -> ValidatedImage:
        """A stored image, by its hash, validated as an upload is."""
        return self.compare.image(self.media.get(digest))
