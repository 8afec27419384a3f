"""backends.toml: endpoints, named models, and the messages for a broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.spec import ModelSpec, SpecError
from lineup.app.facade import Lineup
from lineup.catalog.config import ConfigError, load_backends_config, resolve_model
from lineup.core.settings import load_settings

TOML = """
[endpoints.vllm]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
api_key_env = "VLLM_API_KEY"

[models.qwen]
spec = "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1"
options = { timeout_s = 120 }
"""


def write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "backends.toml").write_text(text)


def test_named_models_resolve_with_their_options_and_key_variable(lineup_home: Path) -> None:
    write(lineup_home, TOML)
    config = load_backends_config(load_settings())
    assert [e.name for e in config.endpoints] == ["ollama", "vllm"]  # the default Ollama too
    assert config.endpoints[0].base_url == "http://127.0.0.1:9"  # OLLAMA_HOST, set by conftest
    spec, options = resolve_model("qwen", config)
    assert spec == ModelSpec(
        "openai", "Qwen/Qwen2-VL-7B-Instruct", None, "http://127.0.0.1:8000/v1"
    )
    assert options == {"timeout_s": 120, "api_key_env": "VLLM_API_KEY"}
    # A typed spec on the same endpoint gets the endpoint's key variable too.
    _, typed = resolve_model("openai:other@http://127.0.0.1:8000/v1", config)
    assert typed == {"api_key_env": "VLLM_API_KEY"}
    with pytest.raises(SpecError, match="neither a spec"):
        resolve_model("qwen2", config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[endpoints.x\nkind=1", "not valid TOML"),
        ('[endpoints.x]\nkind = "openai"\n', "needs `kind` and `base_url`"),
        ('[endpoints.x]\nkind = "openai"\nbase_url = "u"\napi_key = "sk-1"\n', "api_key_env"),
        ('[endpoints.x]\nkind = "openai"\nbase_url = "u"\nurl = "v"\n', "unknown keys"),
        ("[models.m]\noptions = {}\n", "needs `spec`"),
    ],
)
def test_a_broken_file_names_the_entry(lineup_home: Path, text: str, message: str) -> None:
    write(lineup_home, text)
    with pytest.raises(ConfigError, match=message):
        load_backends_config(load_settings())


def test_an_edited_file_is_read_again(lineup_home: Path) -> None:
    app = Lineup.open()
    assert app.config.named("qwen") is None
    write(lineup_home, TOML)
    fresh = app.refreshed()
    assert fresh.config.named("qwen") is not None
    assert app.config.named("qwen") is None  # the shared facade is never changed in place


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("options = 5\n", "", "unknown top-level keys ['options']"),
        ('endpoints = "x"\n', "`endpoints`", "not the string 'x'"),
        ("models = 3\n", "`models`", "not a number (3)"),
        ("[endpoints]\nx = 5\n", "[endpoints.x]", "must be a table"),
        ("[models]\nm = [1]\n", "[models.m]", "must be a table with `spec`, not a list"),
        ("[models.m]\nspec = 5\n", "[models.m]", "`spec` must be a non-empty string"),
        ('[models.m]\nspec = ""\n', "[models.m]", "`spec` must be a non-empty string"),
        ('[models.m]\nspec = "ocr:eng"\noptions = 5\n', "[models.m]", "`options` must be a table"),
        ('[endpoints.e]\nkind = 3\nbase_url = "http://h"\n', "[endpoints.e]", "`kind` must be"),
        ('[endpoints.e]\nkind = "openai"\nbase_url = []\n', "[endpoints.e]", "`base_url` must be"),
        (
            '[endpoints.e]\nkind = "openai"\nbase_url = "http://h"\napi_key_env = 1\n',
            "[endpoints.e]",
            "`api_key_env` must be a non-empty string, not a number (1)",
        ),
        (
            '[endpoints.e]\nkind = "openai"\nbase_url = "http://h"\nconcurrency = 0\n',
            "[endpoints.e]",
            "`concurrency` must be a whole number from 1 to 64",
        ),
        (
            '[endpoints.e]\nkind = "openai"\nbase_url = "http://h"\nconcurrency = "2"\n',
            "[endpoints.e]",
            "not the string '2'",
        ),
        (
            '[endpoints.e]\nkind = "ocr"\nbase_url = "http://h"\n',
            "[endpoints.e]",
            "not a kind that talks to a server. Use one of: ollama, openai, openai-tts",
        ),
        (
            '[endpoints.e]\nkind = "openai"\nbase_url = "gpu-box:8000"\n',
            "[endpoints.e]",
            "is not an http:// or https:// address",
        ),
        ('[models.m]\nspec = "llava"\n', "[models.m]: spec", "has no kind"),
        ('[models.m]\nspec = "nope:x"\n', "[models.m]: spec", "Unknown backend kind"),
        (
            '[models.m]\nspec = "ollama:llava"\noptions = { timeout = 5 }\n',
            "[models.m]: options",
            "`timeout` is not an option of this backend (it has: api_key_env, connect_timeout_s",
        ),
        (
            '[models.m]\nspec = "openai:m"\noptions = { timeout_s = "soon" }\n',
            "[models.m]: options",
            "`timeout_s`: Input should be a valid number",
        ),
        (
            '[models.m]\nspec = "espeak:en-us"\noptions = { speed = 1, nope = 2 }\n',
            "[models.m]: options",
            "`nope` is not an option",
        ),
    ],
)
def test_every_wrong_shape_or_type_names_the_file_and_the_key(
    lineup_home: Path, text: str, where: str, message: str
) -> None:
    write(lineup_home, text)
    with pytest.raises(ConfigError) as caught:
        load_backends_config(load_settings())
    assert str(caught.value).startswith(str(lineup_home / "backends.toml"))
    assert where in str(caught.value)
    assert message in str(caught.value)


def test_credentials_in_an_endpoint_url_are_refused_without_repeating_them(
    lineup_home: Path,
) -> None:
    write(lineup_home, '[endpoints.e]\nkind = "openai"\nbase_url = "http://ana:s3cret@h/v1"\n')
    with pytest.raises(ConfigError, match=r"\[endpoints.e\]: base_url: .*api_key_env") as caught:
        load_backends_config(load_settings())
    assert "s3cret" not in str(caught.value)


def test_a_named_model_with_credentials_in_its_spec_is_refused(lineup_home: Path) -> None:
    write(lineup_home, '[models.m]\nspec = "openai:m@http://h/v1?api_key=s3cret"\n')
    with pytest.raises(ConfigError, match=r"\[models.m\]: spec: .*api_key_env") as caught:
        load_backends_config(load_settings())
    assert "s3cret" not in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_message(lineup_home: Path) -> None:
    lineup_home.mkdir(parents=True)
    (lineup_home / "backends.toml").write_bytes(b'[models.m]\nspec = "ocr:\xff"\n')
    with pytest.raises(ConfigError, match="is not UTF-8 text .*Save it as UTF-8"):
        load_backends_config(load_settings())


def test_a_folder_in_place_of_the_file_is_a_message(lineup_home: Path) -> None:
    (lineup_home / "backends.toml").mkdir(parents=True)
    with pytest.raises(ConfigError, match="is a folder, not a backends.toml file"):
        load_backends_config(load_settings())


def test_an_endpoint_of_every_server_kind_loads(lineup_home: Path) -> None:
    write(
        lineup_home,
        "".join(
            f'[endpoints.{kind.replace("-", "_")}]\nkind = "{kind}"\nbase_url = "http://h:1"\n'
            for kind in ("ollama", "openai", "openai-tts")
        ),
    )
    config = load_backends_config(load_settings())
    assert [e.kind for e in config.endpoints] == ["ollama", "openai", "openai-tts"]


def test_an_endpoint_declares_how_many_requests_a_study_sends_at_once(lineup_home: Path) -> None:
    write(
        lineup_home,
        '[endpoints.gpu]\nkind = "openai"\nbase_url = "http://gpu:8000/v1"\nconcurrency = 4\n'
        '[endpoints.cpu]\nkind = "openai"\nbase_url = "http://cpu:8000/v1"\n',
    )
    config = load_backends_config(load_settings())
    assert config.endpoint_at("http://gpu:8000/v1/").concurrency == 4
    assert config.endpoint_at("http://cpu:8000/v1").concurrency == 1
    assert config.endpoint_at("http://elsewhere/v1") is None
