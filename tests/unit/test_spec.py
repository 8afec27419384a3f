import pytest

from backends.registry import check_spec
from backends.spec import ModelSpec, SpecError, parse_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ollama:llava:7b", ModelSpec("ollama", "llava:7b")),
        (
            "ollama:minicpm-v@http://gpu-box:11434",
            ModelSpec("ollama", "minicpm-v", None, "http://gpu-box:11434"),
        ),
        (
            "openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1",
            ModelSpec("openai", "Qwen/Qwen2-VL-7B-Instruct", None, "http://127.0.0.1:8000/v1"),
        ),
        (
            "transformers:/models/SmolVLM-256M-Instruct",
            ModelSpec("transformers", "/models/SmolVLM-256M-Instruct"),
        ),
        ("ocr:eng+rus", ModelSpec("ocr", "eng+rus")),
        (
            "bark:suno/bark-small#v2/en_speaker_6",
            ModelSpec("bark", "suno/bark-small", "v2/en_speaker_6"),
        ),
        ("piper:en_US-joe-medium", ModelSpec("piper", "en_US-joe-medium")),
        ("espeak:en-us+f3", ModelSpec("espeak", "en-us+f3")),
        ("faster-whisper:tiny.en", ModelSpec("faster-whisper", "tiny.en")),
        (
            "openai-tts:kokoro#af_bella@http://127.0.0.1:8880/v1",
            ModelSpec("openai-tts", "kokoro", "af_bella", "http://127.0.0.1:8880/v1"),
        ),
        ("bark:suno/bark-small#", ModelSpec("bark", "suno/bark-small", "")),
        # An @ that does not start a URL belongs to the model name.
        ("openai:user@org/model", ModelSpec("openai", "user@org/model")),
    ],
)
def test_parse_spec_reads_every_documented_form(text: str, expected: ModelSpec) -> None:
    spec = parse_spec(text)
    assert spec == expected
    assert str(spec) == text
    assert parse_spec(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("llava", "has no kind"),
        ("ollama:", "names no model"),
        ("ollama:@http://x:1", "names no model"),
        ("Bad Kind:x", "not a backend kind"),
        ("ollama:llava@http://", "empty base URL"),
    ],
)
def test_parse_spec_rejects_malformed_specs_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(SpecError, match=hint):
        parse_spec(text)


def test_check_spec_rejects_unknown_kind_and_wrong_modality() -> None:
    with pytest.raises(SpecError, match="Known kinds: .*ollama"):
        check_spec("llamafile:x")
    with pytest.raises(SpecError, match="TTS backend"):
        check_spec("espeak:en-us", modality="vlm")
    assert check_spec("ocr:eng", modality="vlm").kind == "ocr"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("openai:m@http://ana:s3cret@gpu-box:8000/v1", "s3cret"),
        ("openai:m@http://:s3cret@gpu-box:8000/v1", "s3cret"),
        ("openai:m@http://s3cret@gpu-box:8000/v1", "s3cret"),  # a token as the user name
        ("ollama:llava@https://u:s3cret@gpu-box", "s3cret"),
        ("openai-tts:kokoro#af@http://h/v1?api_key=s3cret", "s3cret"),
        ("openai:m@http://h/v1?x=1&access-token=s3cret", "s3cret"),
    ],
)
def test_credentials_in_a_spec_url_are_refused_without_repeating_them(
    text: str, secret: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    message = str(caught.value)
    assert secret not in message
    assert "api_key_env" in message and "environment variable" in message
    assert "***" in message  # the spec is still recognisable, its credential hidden


def test_a_url_query_without_credentials_is_kept() -> None:
    spec = parse_spec("openai:m@https://h.example/openai?api-version=2024-10-21")
    assert spec.base_url == "https://h.example/openai?api-version=2024-10-21"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("openai:m@http://gpu-box:80a/v1", "cannot be read"),
        ("openai:m@http://[::1/v1", "cannot be read"),
    ],
)
def test_a_url_that_cannot_be_read_is_a_spec_error(text: str, hint: str) -> None:
    with pytest.raises(SpecError, match=hint):
        parse_spec(text)
