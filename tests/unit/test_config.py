"""backends.toml: endpoints, named models, and the messages for a broken file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.spec import ModelSpec, SpecError
from lineup.config import ConfigError, load_backends_config, resolve_model
from lineup.service import Lineup
from lineup.settings import load_settings

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
    app.refresh_config()
    assert app.config.named("qwen") is not None
