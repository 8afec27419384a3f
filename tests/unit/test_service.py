"""The Lineup facade: what the pages and the CLI ask it, one reading of backends.toml per
facade that nothing changes, and one place that checks a comparison's input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import keys
from backends.spec import SpecError
from lineup.app.facade import Lineup
from lineup.app.part import INPUT_ERRORS, read_keys_from
from lineup.catalog.resolver import ResolvedModel
from lineup.core.limits import InputError
from tests.builders import word_counts

NAMED = '[models.narrator]\nspec = "espeak:en-us"\n\n[models.reader]\nspec = "ocr:eng"\n'


def stored_answer(app: Lineup, kind: str = "vlm", status: str = "ok") -> tuple[int, int]:
    run_id = app.store.create_run(kind, "Which error code?")
    generation_id = app.store.add_generation(run_id, "ocr:eng")
    app.store.finish_generation(generation_id, status, output_text="PAY-4021", total_s=0.2)
    return run_id, generation_id


# Config: a value per facade, never assigned --------------------------------------------------


def test_a_refreshed_facade_reads_the_edit_and_the_original_keeps_its_reading(
    app: Lineup, lineup_home: Path
) -> None:
    assert app.refreshed() is app  # nothing changed: nothing new
    (lineup_home / "backends.toml").write_text(NAMED)
    fresh = app.refreshed()
    assert fresh.config.named("narrator") is not None
    assert app.config.named("narrator") is None
    # The new facade is the same engine: one store, one media store.
    assert fresh.store is app.store and fresh.media is app.media


def test_the_shared_facade_cannot_be_changed(app: Lineup) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        app.config = app.config  # type: ignore[misc]


def test_with_config_resolves_names_by_its_own_config(app: Lineup, lineup_home: Path) -> None:
    (lineup_home / "backends.toml").write_text(NAMED)
    fresh = app.refreshed()
    assert fresh.catalog.named_models("tts") == ["narrator"] and fresh.catalog.named_models(
        "vlm"
    ) == ["reader"]
    assert app.catalog.named_models("tts") == []
    with pytest.raises(SpecError, match="neither a spec"):
        app.compare.tts(texts="Hello.", voices=["narrator"], stt=None)


# Runs, labels and media ----------------------------------------------------------------------


def test_a_run_is_found_by_id_and_kind(app: Lineup) -> None:
    run_id, generation_id = stored_answer(app)
    run = app.compare.run(run_id)
    assert run is not None and [g.id for g in run.generations] == [generation_id]
    assert app.compare.run(run_id, kind="vlm") is not None
    assert app.compare.run(run_id, kind="tts") is None
    assert app.compare.run(run_id + 1) is None
    assert [r.id for r in app.compare.runs([run_id + 1, run_id], kind="vlm")] == [run_id]
    assert [r.id for r in app.compare.latest("vlm")] == [run_id]


def test_a_label_is_written_and_the_latest_counts(app: Lineup) -> None:
    _, generation_id = stored_answer(app)
    app.labels.add(generation_id, "partial", annotator="ana")
    app.labels.add(generation_id, "relevant", annotator="ana", comment="exact")
    label = app.labels.current([generation_id], "ana")[generation_id]
    assert (label.relevance, label.comment) == ("relevant", "exact")
    assert app.labels.current([generation_id], "bo") == {}


def test_a_failed_answer_cannot_be_labeled_and_says_so_as_input(app: Lineup) -> None:
    _, generation_id = stored_answer(app, status="error")
    with pytest.raises(INPUT_ERRORS, match="only complete"):
        app.labels.add(generation_id, "relevant", annotator="ana")


def test_media_is_found_by_hash_and_a_missing_file_is_none(app: Lineup) -> None:
    digest = app.media.put(b"RIFF0000WAVE", "wav")
    path = app.media_path(digest)
    assert path is not None and path.read_bytes() == b"RIFF0000WAVE"
    path.unlink()
    assert app.media_path(digest) is None


def test_a_run_is_in_progress_until_its_rows_are_final(app: Lineup) -> None:
    run_id = app.store.create_run("vlm", "q")
    generation_id = app.store.add_generation(run_id, "ocr:eng")
    assert app.compare.in_progress([run_id])
    app.store.finish_generation(generation_id, "ok", output_text="x")
    assert not app.compare.in_progress([run_id])


# Leaderboards and exports --------------------------------------------------------------------


def test_leaderboards_and_raw_exports_come_from_the_store(app: Lineup) -> None:
    _, generation_id = stored_answer(app)
    app.labels.add(generation_id, "relevant", annotator="ana")
    [row] = app.leaderboard.rows("vlm")
    assert (row["model"], row["labels"], row["relevant"]) == ("ocr:eng", 1, 1)
    assert app.leaderboard.rows("tts") == []
    assert (
        app.leaderboard.export_count("vlm", "generations"),
        app.leaderboard.export_count("tts", "generations"),
    ) == (
        1,
        0,
    )
    [generation] = [
        dict(zip(app.leaderboard.export_columns("generations"), row, strict=True))
        for row in app.leaderboard.export_rows("vlm", "generations")
    ]
    assert (generation["id"], generation["output_text"]) == (generation_id, "PAY-4021")
    assert generation["input_text"] == "Which error code?"
    [label] = [
        dict(zip(app.leaderboard.export_columns("labels"), row, strict=True))
        for row in app.leaderboard.export_rows("vlm", "labels")
    ]
    assert (label["generation_id"], label["relevance"]) == (generation_id, "relevant")


def test_voice_figures_are_per_voice_of_a_run(app: Lineup) -> None:
    run_id = app.store.create_run("tts", "a b c d")
    for voice, wer in [("espeak:en-us", 0.25), ("espeak:en-us", 0.5), ("espeak:ru", 0.0)]:
        clip = app.store.add_generation(run_id, voice)
        app.store.finish_generation(
            clip,
            "ok",
            transcript="a b",
            wer=wer,
            **word_counts("a b c d", wer),
            cer=wer,
            gen_s=0.1,
        )
    run = app.compare.run(run_id)
    assert run is not None
    figures = app.compare.voice_figures(run)
    assert figures["espeak:en-us"]["mean_wer"] == pytest.approx(0.375)
    assert figures["espeak:en-us"]["scored"] == 2
    assert figures["espeak:ru"]["mean_wer"] == 0.0


# Warnings ------------------------------------------------------------------------------------


def test_language_warnings_cover_named_voices_and_the_stt_model(
    app: Lineup, lineup_home: Path
) -> None:
    (lineup_home / "backends.toml").write_text(NAMED)
    fresh = app.refreshed()
    warnings = fresh.compare.language_warnings(
        ["Оплата не прошла."], ["narrator", "espeak:ru"], "faster-whisper:tiny.en"
    )
    assert len(warnings) == 2
    assert "narrator speaks en" in warnings[0]
    assert "faster-whisper:tiny.en cannot hear 'ru'" in warnings[1]


def test_no_sentence_or_no_voice_gives_no_warning_and_builds_nothing(
    app: Lineup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unbuildable(self: ResolvedModel, **kwargs: object) -> None:
        raise AssertionError(f"{self.name} was built")

    monkeypatch.setattr(ResolvedModel, "backend", unbuildable)
    assert app.compare.language_warnings(["", "  "], ["espeak:en-us"]) == []
    assert app.compare.language_warnings("Привет.", []) == []


def test_what_is_not_a_voice_gives_no_warning_and_no_error(app: Lineup, lineup_home: Path) -> None:
    (lineup_home / "backends.toml").write_text(NAMED)
    fresh = app.refreshed()
    # A VLM named as a voice or as the STT model, a typo, an unknown kind: the run says so.
    assert fresh.compare.language_warnings("Привет.", ["reader", "llava", "nope:x"], "reader") == []


# Checking once, in the start methods ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"models": []}, SpecError, "Choose at least one model"),
        ({"models": ["espeak:en-us"]}, SpecError, "is not a VLM backend"),
        ({"models": ["llava"]}, SpecError, "neither a spec"),
        ({"question": "  "}, InputError, "The question is empty"),
        ({"timeout_s": 0}, InputError, "The timeout must be a number above 0"),
    ],
)
def test_start_vlm_refuses_bad_input_and_stores_nothing(
    app: Lineup, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"question": "What is shown?", "models": ["ocr:eng"]}
    with pytest.raises(error, match=message):
        app.compare.vlm(**(arguments | kwargs))  # type: ignore[arg-type]
    assert app.compare.latest("vlm") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"voices": []}, "Choose at least one voice"),
        ({"voices": ["ocr:eng"]}, "is not a TTS backend"),
        ({"stt": "espeak:en-us"}, "is not a STT backend"),
        ({"texts": ["", "  "]}, "Type a sentence"),
        ({"samples": 0}, "at least 1"),
        ({"seed": 2**31 - 1, "samples": 2}, "between 0 and 2,147,483,646"),
    ],
)
def test_start_tts_refuses_bad_input_and_stores_nothing(
    app: Lineup, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"texts": ["Hello."], "voices": ["espeak:en-us"], "stt": None}
    with pytest.raises(INPUT_ERRORS, match=message):
        app.compare.tts(**(arguments | kwargs))  # type: ignore[arg-type]
    assert app.compare.latest("tts") == []


def test_input_errors_are_the_domains_and_not_every_value_error() -> None:
    assert InputError in INPUT_ERRORS and SpecError in INPUT_ERRORS
    assert not issubclass(ValueError, INPUT_ERRORS)


# API keys ------------------------------------------------------------------------------------


@pytest.fixture()
def key_source() -> Iterator[dict[str, str]]:
    held: dict[str, str] = {}
    read_keys_from(held.get)
    yield held
    keys.unregister_source(held.get)


def test_secrets_include_keys_from_a_registered_source(
    app: Lineup, lineup_home: Path, key_source: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (lineup_home / "backends.toml").write_text(
        '[endpoints.vllm]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "VLLM_API_KEY"\n'
    )
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    key_source["VLLM_API_KEY"] = "sk-from-secrets-0123"
    assert "sk-from-secrets-0123" in app.refreshed().secrets()
    assert "sk-from-secrets-0123" not in app.secrets()  # its config names no such endpoint
