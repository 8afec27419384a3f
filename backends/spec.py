"""The one parser for model specs: KIND:MODEL[#PRESET][@BASE_URL]; and OLLAMA_HOST, read once
here for backends and settings alike."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

_KIND = re.compile(r"^[a-z][a-z0-9-]*$")
_BASE_URL_AT = re.compile(r"@(?=[a-zA-Z][a-zA-Z0-9+.-]*://)")
# Query parameters that carry a credential (compared without `-` and `_`, in lower case).
_SECRET_PARAMS = re.compile(r"key|token|secret|passw|pwd|^auth|^sig(nature)?$|^code$")
_USE_KEY_ENV = (
    "Keys stay out of model specs and URLs, which are stored and shown with answers: put the "
    "key in an environment variable and name that variable with `api_key_env` for this "
    "endpoint in backends.toml."
)


DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


class SpecError(ValueError):
    """A model spec that cannot be parsed; the message shows the expected form."""


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    model: str
    preset: str | None = None
    base_url: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.model}"
        if self.preset is not None:
            text += f"#{self.preset}"
        if self.base_url is not None:
            text += f"@{self.base_url}"
        return text

    def with_base_url(self, base_url: str | None) -> ModelSpec:
        """The same model at another endpoint (the reader process rebuilds a backend with
        the base URL its resolution filled in)."""
        return ModelSpec(self.kind, self.model, self.preset, base_url)


def parse_spec(text: str) -> ModelSpec:
    """Parse `KIND:MODEL[#PRESET][@BASE_URL]`.

    The first `:` ends the kind, so model names may hold colons (`ollama:llava:7b`).
    The base URL starts at the first `@` that is followed by a URL scheme, so a model name
    may hold an `@` of its own. The preset starts at the first `#` before the base URL.
    """
    original = text
    text = text.strip()
    if ":" not in text:
        raise SpecError(
            f"Model spec {original!r} has no kind. Write KIND:MODEL, for example "
            "`ollama:llava:7b` or `ocr:eng+rus`."
        )
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    if not _KIND.match(kind):
        raise SpecError(
            f"Model spec {original!r} starts with {kind!r}, which is not a backend kind."
        )
    rest, base_url = split_base_url(rest)
    if base_url is not None:
        if not base_url.split("://", 1)[1]:
            raise SpecError(f"Model spec {original!r} has an empty base URL after `@`.")
        try:
            check_base_url(base_url)
        except SpecError as exc:
            safe = f"{kind}:{rest.strip()}@{redact_url(base_url)}"
            raise SpecError(f"Model spec {safe!r}: {exc}") from None
    preset: str | None = None
    if "#" in rest:
        rest, preset = rest.split("#", 1)
    model = rest.strip()
    if not model:
        raise SpecError(f"Model spec {original!r} names no model after `{kind}:`.")
    return ModelSpec(kind=kind, model=model, preset=preset, base_url=base_url)


def split_base_url(text: str) -> tuple[str, str | None]:
    """A spec (or the part after its kind) and its base URL, unchecked: the URL starts at the
    first `@` followed by a URL scheme. For reading specs as stored, which today's parser may
    refuse (a credential in an old row's URL)."""
    at = _BASE_URL_AT.search(text)
    if at is None:
        return text, None
    return text[: at.start()], text[at.end() :]


def check_base_url(url: str) -> str:
    """`url` if it can be an endpoint's address; SpecError if it holds credentials or is broken.

    Messages never repeat a credential: they show the URL as `redact_url` writes it.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise SpecError(f"The URL {redact_url(url)!r} cannot be read ({exc}).") from None
    if "@" in parts.netloc:
        raise SpecError(
            f"The URL {redact_url(url)!r} holds a user name or password. {_USE_KEY_ENV}"
        )
    secret = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if _secret(name)]
    if secret:
        raise SpecError(
            f"The URL {redact_url(url)!r} holds a credential in its query "
            f"({', '.join(secret)}). {_USE_KEY_ENV}"
        )
    return url


def redact_url(url: str) -> str:
    """The URL with any user name, password and query values replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority_end = min(
        (i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest)
    )
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        names = [pair.split("=", 1)[0] for pair in query.split("&")]
        query = "&".join(f"{name}=***" for name in names) + hash_ + fragment
    return f"{scheme}{sep}{authority}{path}{qmark}{query}"


def _secret(name: str) -> bool:
    return bool(_SECRET_PARAMS.search(name.lower().replace("-", "").replace("_", "")))


def default_ollama_host() -> str:
    """Where an `ollama:` spec without @URL points: OLLAMA_HOST, read the way the ollama CLI
    reads it, else the local default."""
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return DEFAULT_OLLAMA_HOST
    if "://" not in host:
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    rest = rest.rstrip("/")
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]
    if ":" not in rest.split("/")[0]:
        rest = rest.split("/")[0] + ":11434" + rest[len(rest.split("/")[0]) :]
    return f"{scheme}://{rest}"
