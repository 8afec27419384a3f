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


DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


def N_(message: str) -> str:
    """A message marked for Lineup's catalog (backends.base.N_; here too, as base imports this)."""
    return message


class SpecError(ValueError):
    """A model spec that cannot be parsed; the message shows the expected form.

    `SpecError.of(N_("... {spec} ..."), spec=...)` keeps the English template and its values
    beside the English message, as BackendError.of does, so Lineup can say it in Russian."""

    template: str | None = None
    values: dict[str, object] | None = None

    @classmethod
    def of(cls, template: str, **values: object) -> SpecError:
        error = cls(template.format(**values))
        error.template, error.values = template, values
        return error


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
        raise SpecError.of(
            N_(
                "Model spec {spec} has no kind. Write KIND:MODEL, for example "
                "`ollama:llava:7b` or `ocr:eng+rus`."
            ),
            spec=repr(original),
        )
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    if not _KIND.match(kind):
        raise SpecError.of(
            N_("Model spec {spec} starts with {kind}, which is not a backend kind."),
            spec=repr(original),
            kind=repr(kind),
        )
    rest, base_url = split_base_url(rest)
    if base_url is not None:
        if not base_url.split("://", 1)[1]:
            raise SpecError.of(
                N_("Model spec {spec} has an empty base URL after `@`."), spec=repr(original)
            )
        try:
            check_base_url(base_url)
        except SpecError as exc:
            safe = f"{kind}:{rest.strip()}@{redact_url(base_url)}"
            raise SpecError.of(
                N_("Model spec {spec}: {problem}"),
                spec=repr(safe),
                problem=exc.template.format(**(exc.values or {})) if exc.template else str(exc),
            ) from None
    preset: str | None = None
    if "#" in rest:
        rest, preset = rest.split("#", 1)
    model = rest.strip()
    if not model:
        raise SpecError.of(
            N_("Model spec {spec} names no model after `{kind}:`."), spec=repr(original), kind=kind
        )
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
        raise SpecError.of(
            N_("The URL {url} cannot be read ({reason})."), url=repr(redact_url(url)), reason=exc
        ) from None
    if "@" in parts.netloc:
        raise SpecError.of(
            N_(
                "The URL {url} holds a user name or password. Keys stay out of model specs and "
                "URLs, which are stored and shown with answers: put the key in an environment "
                "variable and name that variable with `api_key_env` for this endpoint in "
                "backends.toml."
            ),
            url=repr(redact_url(url)),
        )
    secret = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if _secret(name)]
    if secret:
        raise SpecError.of(
            N_(
                "The URL {url} holds a credential in its query ({names}). Keys stay out of "
                "model specs and URLs, which are stored and shown with answers: put the key in "
                "an environment variable and name that variable with `api_key_env` for this "
                "endpoint in backends.toml."
            ),
            url=repr(redact_url(url)),
            names=", ".join(secret),
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
