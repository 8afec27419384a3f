"""One rule for short model names (lineup.model_names), shared by the app and the report."""

from __future__ import annotations

from pathlib import Path

from lineup.app.facade import Lineup
from lineup.catalog.names import model_label, short_name, short_names


def test_a_short_name_is_the_model_name_with_its_preset() -> None:
    assert short_name("openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1") == (
        "Qwen2-VL-7B-Instruct"
    )
    assert short_name("transformers:/models/SmolVLM-256M-Instruct/") == "SmolVLM-256M-Instruct"
    assert short_name("ollama:llava:7b") == "llava:7b"
    # A bare language or voice code keeps its kind.
    assert short_name("ocr:eng+rus") == "ocr:eng+rus"
    assert short_name("bark:suno/bark-small#v2/en_speaker_6") == "bark:bark-small #v2/en_speaker_6"
    # An old row's spec the parser refuses (credentials in its URL) shows no URL.
    assert short_name("openai:m@http://user:secret@host:8000/v1") == "openai:m"


def test_short_names_stay_distinct_with_the_least_that_tells_them_apart() -> None:
    # The same model on two hosts and on a third server: the host tells them apart.
    assert short_names(
        [
            "ollama:llava:7b@http://gpu-a.lan:11434",
            "ollama:llava:7b@http://gpu-b.lan:11434",
            "openai:llava:7b@http://127.0.0.1:8000/v1",
            "ollama:moondream",
            "ocr:eng+rus",
        ]
    ) == {
        "ollama:llava:7b@http://gpu-a.lan:11434": "llava:7b @ gpu-a",
        "ollama:llava:7b@http://gpu-b.lan:11434": "llava:7b @ gpu-b",
        "openai:llava:7b@http://127.0.0.1:8000/v1": "llava:7b @ 127.0.0.1",
        "ollama:moondream": "moondream",
        "ocr:eng+rus": "ocr:eng+rus",
    }
    # Two engines: the kind. One host, two ports: the port.
    assert list(
        short_names(["ollama:llava:7b", "openai:llava:7b@http://[::1]:8000/v1"]).values()
    ) == [
        "ollama:llava:7b",
        "openai:llava:7b",
    ]
    assert list(
        short_names(
            [
                "ollama:llava:7b",
                "ollama:llava:7b@http://127.0.0.1:11435",
                "ollama:llava:7b@http://127.0.0.1:11436",
            ]
        ).values()
    ) == ["llava:7b", "llava:7b @ 127.0.0.1:11435", "llava:7b @ 127.0.0.1:11436"]


def test_short_names_never_show_credentials_and_never_repeat() -> None:
    specs = [
        "openai:m@http://ana:one@host:8000/v1",
        "openai:m@http://bo:two@host:8000/v1",
        "openai:m@http://host:8000/v1?key=three",
    ]
    names = short_names(specs)
    assert len(set(names.values())) == 3
    for name in names.values():
        assert not any(secret in name for secret in ("one", "two", "three", "ana", "bo:"))


def test_a_model_shows_its_name_with_the_spec_it_stood_for_in_the_tooltip() -> None:
    qwen = model_label("qwen", "openai:Qwen/Qwen2-VL-7B@http://gpu:8000/v1", named=True)
    assert qwen.title == "qwen"
    assert qwen.tooltip.splitlines() == [
        "**qwen** in backends.toml  ",
        "Spec: `openai:Qwen/Qwen2-VL-7B@http://gpu:8000/v1`  ",
        "Endpoint: `http://gpu:8000/v1`",
    ]
    typed = model_label("ollama:llava:7b")
    assert (typed.title, typed.tooltip) == ("llava:7b", "Spec: `ollama:llava:7b`")
    # An old row's spec with credentials in its URL: no credential in the title or tooltip.
    old = model_label("openai:m@http://user:secret@host:8000/v1")
    assert old.title == "openai:m"
    assert "secret" not in old.tooltip and "***@host:8000" in old.tooltip


def test_the_facade_names_a_model_by_its_stored_spec_else_by_backends_toml(
    app: Lineup, lineup_home: Path
) -> None:
    (lineup_home / "backends.toml").write_text('[models.qwen]\nspec = "ollama:qwen2-vl:7b"\n')
    fresh = app.refreshed()
    # Made when qwen stood for another model: the stored spec wins.
    assert "ollama:llava:7b" in fresh.catalog.model_label("qwen", "ollama:llava:7b").tooltip
    # No stored spec (a picker, an old row that holds the name): what the name stands for now.
    for label in (fresh.catalog.model_label("qwen"), fresh.catalog.model_label("qwen", "qwen")):
        assert label.title == "qwen"
        assert "ollama:qwen2-vl:7b" in label.tooltip and "in backends.toml" in label.tooltip
    assert fresh.catalog.model_label("ocr:eng+rus").title == "ocr:eng+rus"
