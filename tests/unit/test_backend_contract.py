"""Every registered backend kind honours the contract declared in backends/base.py.

Classes are inspected, not built: no model is loaded here. What the contract promises at run
time (hooks with their defaults, endpoints probed alike) is checked on tiny stand-ins and on
loopback servers.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backends import registry
from backends.base import (
    Audio,
    Backend,
    BackendError,
    BackendUnavailable,
    Chunk,
    EndpointBackend,
    Options,
    STTBackend,
    Transcript,
    TTSBackend,
    Usage,
    VLMBackend,
    VLMRequest,
)
from backends.spec import parse_spec
from lineup.catalog.config import BackendsConfig, Endpoint, load_backends_config
from lineup.catalog.discovery import probe_endpoints
from lineup.core.settings import load_settings
from testbed.net import free_port
from testbed.ollama_server import FakeModel, OllamaFixture

KINDS = sorted(registry.KINDS)
ENDPOINT_KINDS = [kind for kind in KINDS if registry.is_endpoint_kind(kind)]
BASE_OF = {"vlm": VLMBackend, "tts": TTSBackend, "stt": STTBackend}
# The hooks each base declares, checked against every subclass's override.
HOOKS = {
    VLMBackend: ("stream", "describe", "discover_local"),
    TTSBackend: ("synthesize", "describe", "discover_local", "languages"),
    STTBackend: ("transcribe", "describe", "discover_local", "languages"),
}


def shape(function: Any) -> list[tuple[str, Any, Any]]:
    """A signature's parameters as (name, kind, default): what a caller relies on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_registry_names_endpoint_kinds_that_talk_to_a_server() -> None:
    assert ENDPOINT_KINDS == ["ollama", "openai", "openai-tts"]
    assert registry.endpoint_kinds() == ("ollama", "openai", "openai-tts")
    assert registry.default_api_key_envs() == {"OLLAMA_API_KEY", "OPENAI_API_KEY"}


def test_each_kind_is_a_concrete_subclass_of_its_modality_base(kind: str) -> None:
    info = registry.kind_info(kind)
    cls = registry.backend_class(kind)
    assert issubclass(cls, BASE_OF[info.modality])
    assert cls.modality == info.modality
    assert not inspect.isabstract(cls), inspect.getmembers(cls, inspect.isabstract)
    assert isinstance(cls.in_process, bool)
    if issubclass(cls, TTSBackend):
        assert isinstance(cls.supports_seed, bool)


def test_each_kinds_options_forbid_unknown_keys_and_have_defaults(kind: str) -> None:
    cls = registry.backend_class(kind)
    assert issubclass(cls.Options, Options)
    cls.Options()  # every option has a default
    with pytest.raises(ValidationError, match="no_such_option"):
        cls.Options(no_such_option=1)
    # The registry says so before it builds anything.
    with pytest.raises(BackendError, match="no_such_option"):
        registry.create_backend(f"{kind}:any-model", {"no_such_option": 1})


def test_each_kind_is_built_from_a_spec_and_its_options(kind: str) -> None:
    params = list(inspect.signature(registry.backend_class(kind).__init__).parameters.values())
    assert [p.name for p in params[:3]] == ["self", "spec", "options"]
    assert params[2].default is None
    # Anything more is an injected client, by keyword only.
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[3:])


def test_each_kinds_hooks_have_the_declared_signatures(kind: str) -> None:
    cls = registry.backend_class(kind)
    base = BASE_OF[registry.kind_info(kind).modality]
    for name in HOOKS[base]:
        assert shape(getattr(cls, name)) == shape(getattr(base, name)), f"{kind}: {name}"
    if issubclass(cls, EndpointBackend):
        for name in ("discover", "health"):
            assert shape(getattr(cls, name)) == shape(getattr(EndpointBackend, name)), name


def test_local_discovery_offers_specs_of_its_own_kind(kind: str) -> None:
    try:
        found = registry.backend_class(kind).discover_local()
    except BackendUnavailable:
        pytest.skip(f"the engine behind {kind} is not installed here")
    assert isinstance(found, list)
    for model in found:
        assert registry.check_spec(model.spec).kind == kind


def test_only_endpoint_kinds_take_an_api_key_variable(kind: str) -> None:
    cls = registry.backend_class(kind)
    if issubclass(cls, EndpointBackend):
        assert cls.Options().api_key_env == cls.default_api_key_env
    else:
        assert "api_key_env" not in cls.Options.model_fields


@pytest.mark.parametrize("kind", ENDPOINT_KINDS)
def test_an_endpoint_that_is_down_is_unhealthy_whatever_its_kind(kind: str) -> None:
    cls = registry.endpoint_class(kind)
    down = f"http://127.0.0.1:{free_port()}"
    health = cls.health(down, api_key_env="LINEUP_TEST_KEY")
    assert not health.ok and down in health.message
    with pytest.raises(BackendUnavailable):
        cls.discover(down, api_key_env="LINEUP_TEST_KEY")


def test_an_ollama_endpoint_with_a_key_variable_is_probed_like_any_other(
    lineup_home: Path,
) -> None:
    # backends.toml may name `api_key_env` for any endpoint; an Ollama one used to fail the
    # whole Backends page with a TypeError from OllamaBackend.discover.
    with OllamaFixture([FakeModel("llava:7b", ["hi"])]) as ollama:
        config = BackendsConfig(
            endpoints=(Endpoint("cloud", "ollama", ollama.base_url, "LINEUP_TEST_OLLAMA_KEY"),)
        )
        [report] = probe_endpoints(config)
    assert report.health.ok, report.health.message
    assert [model.name for model in report.models] == ["llava:7b"]


def test_backends_toml_accepts_an_endpoint_of_every_endpoint_kind(lineup_home: Path) -> None:
    lineup_home.mkdir(parents=True)
    (lineup_home / "backends.toml").write_text(
        "".join(
            f'[endpoints.e{index}]\nkind = "{kind}"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'api_key_env = "LINEUP_TEST_KEY"\n'
            for index, kind in enumerate(ENDPOINT_KINDS)
        )
    )
    config = load_backends_config(load_settings())
    assert [e.kind for e in config.endpoints if e.name.startswith("e")] == ENDPOINT_KINDS


# The defaults of the optional hooks, on the smallest backends that can be written.


class Minimal(VLMBackend):
    def stream(self, request: VLMRequest) -> Iterator[Chunk]:
        yield Chunk(text="ok")
        yield Chunk(usage=Usage())


class MinimalVoice(TTSBackend):
    def synthesize(self, text: str, preset: str | None = None, *, seed: int | None = None) -> Audio:
        raise NotImplementedError


class MinimalEar(STTBackend):
    def transcribe(self, audio: Audio, language: str | None = None) -> Transcript:
        return Transcript("")


def test_optional_hooks_have_their_documented_defaults() -> None:
    spec = parse_spec("ocr:eng")
    for backend in (Minimal(spec), MinimalVoice(spec), MinimalEar(spec)):
        assert backend.spec == spec
        assert backend.describe() == {"engine": "ocr", "reasons": {}}  # the kind alone
        assert type(backend).discover_local() == []
        assert backend.in_process is False
    assert MinimalVoice(spec).languages("any preset") is None
    assert MinimalEar(spec).languages() is None
    assert MinimalVoice.supports_seed is False
    assert [chunk.text for chunk in Minimal(spec).stream(VLMRequest("q"))] == ["ok", ""]


def test_a_backend_missing_its_modalitys_method_cannot_be_built() -> None:
    class Mute(TTSBackend):
        pass

    with pytest.raises(TypeError, match="synthesize"):
        Mute(parse_spec("espeak:x"))  # type: ignore[abstract]


def test_an_endpoint_kind_gets_health_from_its_model_list() -> None:
    class Listing(Minimal, EndpointBackend):
        default_api_key_env = "LINEUP_TEST_KEY"
        asked: list[tuple[str, str | None]] = []

        @classmethod
        def discover(cls, base_url: str, *, api_key_env: str | None = None) -> list[Any]:
            cls.asked.append((base_url, api_key_env))
            if "down" in base_url:
                raise BackendUnavailable("Nothing answers there.")
            return ["a", "b"]

    up = Listing.health("http://up", api_key_env="MY_KEY")
    down = Listing.health("http://down")
    assert (up.ok, up.message) == (True, "2 model(s) at http://up")
    assert (down.ok, down.message) == (False, "Nothing answers there.")
    assert Listing.asked == [("http://up", "MY_KEY"), ("http://down", None)]
    assert issubclass(Listing, Backend)
