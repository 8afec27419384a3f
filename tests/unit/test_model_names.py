"""One rule for short model names (lineup.model_names), shared by the app and the report."""

from __future__ import annotations

from lineup.catalog.names import short_name, short_names


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
