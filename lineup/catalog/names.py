"""Short names for model specs: one rule for the app's column titles, tables and charts and for
the study report, with the full spec kept for a tooltip.

A spec's short name is its model name: the last part of a hub id or a folder, with its preset
(`openai:Qwen/Qwen2-VL-7B-Instruct@http://gpu:8000/v1` is `Qwen2-VL-7B-Instruct`). Engines
whose model part alone is a bare language or voice code keep their kind (`ocr:eng+rus`,
`espeak:en-us+f3`). Names shown side by side must stay distinct (`short_names`): where two
specs share a short name, they take the first longer form that tells them all apart: the
kind in front (`ollama:llava:7b`, `openai:llava:7b`), else the endpoint's host (the same model
on two hosts: `llava:7b @ gpu-a`, `llava:7b @ gpu-b`), its host and port, or both; the spec
itself, without credentials, is the last resort.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from backends.spec import SpecError, parse_spec, redact_url
from lineup.core import _, code_span, escape_markdown

# Engines whose endpoint or model name says what they are; for the others (ocr:eng+rus,
# espeak:en-us) the model part alone is a bare language or voice code, so the kind stays.
NAMED_BY_MODEL = frozenset({"ollama", "openai", "openai-tts", "transformers"})


def hide_credentials(spec: str) -> str:
    """The spec with any credentials in its URL replaced by `***` (backends.spec.redact_url).

    Rows stored before specs with credentials were refused may still hold them, and parse_spec
    refuses such a spec, so the URL is found here the way parse_spec finds it."""
    at = re.search(r"@(?=[a-zA-Z][a-zA-Z0-9+.-]*://)", spec)
    return spec if at is None else spec[: at.end()] + redact_url(spec[at.end() :])


def short_name(spec: str) -> str:
    """The spec's model name (the last part of a path or hub id) and preset, without the
    endpoint URL, which would wrap and render as a link; the kind too where the model part
    alone would not say what it is. A spec today's parser refuses (an old row with
    credentials in its URL) shows the part before its URL."""
    try:
        parsed = parse_spec(spec)
    except SpecError:
        return spec.partition("@")[0]
    short = parsed.model.rstrip("/").rsplit("/", 1)[-1] or parsed.model
    if parsed.preset is not None:
        short += f" #{parsed.preset}"
    return short if parsed.kind in NAMED_BY_MODEL else f"{parsed.kind}:{short}"


def _host(spec: str, with_port: bool) -> str | None:
    """The host of the spec's endpoint (its first label, as `gpu-a` of `gpu-a.lan`, unless
    it is an address), with its port if asked; None without an endpoint or a parsable spec."""
    try:
        base_url = parse_spec(spec).base_url
    except SpecError:
        return None
    if base_url is None:
        return None
    authority = redact_url(base_url).split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if with_port:
        return authority
    host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    return host if re.fullmatch(r"[\d.]+|\[.*\]", host) else host.split(".", 1)[0]


def _kind(spec: str) -> str | None:
    try:
        return parse_spec(spec).kind
    except SpecError:
        return None


def _candidates(spec: str) -> list[str]:
    """Longer names for a spec whose short name another spec shares, shortest first."""
    short = short_name(spec)
    kind = _kind(spec)
    with_kind = f"{kind}:{short}" if kind in NAMED_BY_MODEL else short
    host, authority = _host(spec, with_port=False), _host(spec, with_port=True)
    return [
        with_kind,
        f"{short} @ {host}" if host else short,
        f"{short} @ {authority}" if authority else short,
        f"{with_kind} @ {authority}" if authority else with_kind,
        hide_credentials(spec),
    ]


def short_names(specs: Iterable[str]) -> dict[str, str]:
    """A distinct short name per spec (see the module docstring), in the order given: specs
    that share a short name all take the first longer form that tells them apart."""
    names = {spec: short_name(spec) for spec in dict.fromkeys(specs)}
    shared = Counter(names.values())
    for name, count in shared.items():
        if count < 2:
            continue
        group = [spec for spec, given in names.items() if given == name]
        others = {given for spec, given in names.items() if given != name}
        forms = [_candidates(spec) for spec in group]
        for choice in zip(*forms, strict=True):
            if len(set(choice)) == len(choice) and not others & set(choice):
                names.update(zip(group, choice, strict=True))
                break
    # Two specs that differ only in their credentials still need two names.
    seen: Counter[str] = Counter()
    for spec, name in names.items():
        seen[name] += 1
        if seen[name] > 1:
            names[spec] = f"{name} ({seen[name]})"
    return names


@dataclass(frozen=True)
class ModelLabel:
    """How a model shows where it is named: a short title (plain text: escape it where
    Markdown shows it) and a tooltip in Markdown with the rest."""

    title: str
    tooltip: str


def model_label(name: str, spec: str | None = None, *, named: bool = False) -> ModelLabel:
    """The model's title and tooltip: a name from backends.toml (`named`; `spec` the full
    spec it stands for) keeps its name; a spec shows its short name. The tooltip holds the
    full spec and its endpoint."""
    spec_text = spec or name
    try:
        parsed = parse_spec(spec_text)
    except SpecError:  # an old row's spec that today's parser refuses (credentials in its URL)
        head, at, url = spec_text.partition("@")
        shown = _("Spec: {spec}").format(
            spec=code_span(head + at + (redact_url(url) if url else ""))
        )
        return ModelLabel(name if named else head, shown)
    # The tooltip is Markdown: names and specs in it are shown as the text they are; in the
    # current language.
    details = [_("Spec: {spec}").format(spec=code_span(spec_text))]
    if named:
        details.insert(0, _("**{name}** in backends.toml").format(name=escape_markdown(name)))
    if parsed.base_url:
        details.append(_("Endpoint: {url}").format(url=code_span(parsed.base_url)))
    return ModelLabel(name if named else short_name(name), "  \n".join(details))
