"""The one resolver for in-process models named by a Hugging Face hub id or a local folder
(transformers VLMs, Bark, Whisper): where to load from, and whether the hub may be asked.

Offline first: a folder on disk, or a model already in the hub cache, loads without a single
request to the hub. Only a hub id that is on disk nowhere is downloaded, once, and the log says
so; an unreachable hub is said at once, rather than after the hub client's retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backends.base import N_, BackendUnavailable, Phrase

log = logging.getLogger(__name__)

Place = Literal["local folder", "hub cache", "hub"]


@dataclass(frozen=True)
class ModelSource:
    """What to hand to `from_pretrained` (a folder or a hub id), whether only files on disk
    may be used (`local_files_only`), and where the model comes from."""

    name_or_path: str
    local_only: bool
    place: Place
    repo_id: str

    @property
    def downloads(self) -> bool:
        return self.place == "hub"


def looks_like_path(model: str) -> bool:
    """A hub id is `name` or `owner/name`; anything else that names a place on disk is a path."""
    return model.startswith(("/", "~", ".")) or model.count("/") > 1 or "\\" in model


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers at all (any HTTP status counts)."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        httpx.head(constants.ENDPOINT, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def in_hub_cache(repo_id: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)
    except ValueError:  # not a valid hub id
        return False


def resolve(
    model: str,
    *,
    engine: str,
    marker: str = "config.json",
    folder_hint: str = "",
    repo_id: str | None = None,
    allow_download: bool = True,
    download_switch: str = "",
) -> ModelSource:
    """Where `model` (a folder or a hub id) loads from; BackendUnavailable, with what to do,
    when it cannot be had.

    `engine` names the engine in messages; `marker` is the file every model folder of this
    engine holds (checked in a folder, and looked for in the hub cache); `folder_hint` says how
    such a folder is made (a sentence marked N_, said in the language with the message);
    `repo_id` is the hub repository when it differs from `model` (Whisper's size names).
    With `allow_download` false a model that is not on disk is an error that names
    `download_switch`, the option that allows the download.
    """
    model = model.strip()
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / marker).is_file():
            raise BackendUnavailable.of(
                N_("{path} has no {marker}, so it is not a {engine} model folder. {hint}"),
                path=str(path),
                marker=marker,
                engine=engine,
                hint=Phrase.of(folder_hint) if folder_hint else "",
            )
        return ModelSource(str(path), True, "local folder", str(path))
    if looks_like_path(model):
        raise BackendUnavailable.of(
            N_(
                "No {engine} model folder at {path}: it is not on disk, and a path cannot come "
                "from the hub. Give a local folder that holds the model's {marker} and weights."
            ),
            engine=engine,
            path=str(path),
            marker=marker,
        )
    repo = repo_id or model
    if in_hub_cache(repo, marker):
        return ModelSource(model, True, "hub cache", repo)
    if not allow_download:
        raise BackendUnavailable.of(
            N_(
                "{model} is not on disk (not in the hub cache) and downloads are off; give a "
                "local folder, or set the option {switch} to download it."
            ),
            model=model,
            switch=download_switch,
        )
    if not hub_reachable():
        raise BackendUnavailable.of(
            N_(
                "{model} is not on disk and the hub is unreachable; give a local folder that "
                "holds the model ({marker} and weights), or download it on a machine with hub "
                "access (`hf download {repo} --local-dir FOLDER`) and copy the folder here."
            ),
            model=model,
            marker=marker,
            repo=repo,
        )
    log.warning(
        "%s is not on disk: downloading it from the Hugging Face hub (this happens once; later "
        "loads use the hub cache).",
        model,
    )
    return ModelSource(model, False, "hub", repo)


def load_failed(exc: BaseException, source: ModelSource, model: str) -> BackendUnavailable:
    """What an OSError from `from_pretrained` means, given where the model came from."""
    if source.place == "local folder":
        return BackendUnavailable.of(
            N_(
                "The model folder {model} is incomplete: copy the whole folder (config, "
                "weights, tokenizer and processor files), as save_pretrained() writes it. "
                "({reason})"
            ),
            model=model,
            reason=str(exc),
        )
    if _repo_missing(exc):
        return BackendUnavailable.of(
            N_(
                "The Hugging Face hub has no model {model} (or it is gated). Check the id, or "
                "give a local folder."
            ),
            model=repr(model),
        )
    if source.place == "hub cache":
        return BackendUnavailable.of(
            N_(
                "{model} is in the hub cache but not whole there ({reason}). Download it again "
                "(`hf download {repo}`) or give a local folder."
            ),
            model=model,
            reason=str(exc),
            repo=source.repo_id,
        )
    return BackendUnavailable.of(
        N_(
            "{model} is not on disk and could not be downloaded ({reason}). Download it where "
            "the hub is reachable (`hf download {repo} --local-dir FOLDER`) and give the folder."
        ),
        model=model,
        reason=str(exc),
        repo=source.repo_id,
    )


def _repo_missing(exc: BaseException) -> bool:
    """True when the hub answered that the repository does not exist (not: was unreachable)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in {"RepositoryNotFoundError", "GatedRepoError"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
