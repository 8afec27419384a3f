"""One start per request id: the facade's start_vlm / start_tts / start_study given the same
page token (a double click, a rerun that repeats the click, two threads at the same moment)
start one run and hand every caller that run; and `start_again` repeats a stored run's inputs.

Models: the real Tesseract OCR baseline and espeak-ng voices (no network)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lineup.app.facade import Lineup
from lineup.app.start_once import StartOnce
from lineup.core.limits import InputError
from lineup.core.settings import load_settings
from tests.builders import png_bytes

THREADS = 8


@pytest.fixture()
def app(lineup_home: Path) -> Lineup:
    return Lineup.open(load_settings())


def at_once(call: Callable[[], Any], threads: int = THREADS) -> list[Any]:
    """`call` from `threads` threads released together; what each returned."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            results.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    return results


def test_concurrent_starts_with_one_token_store_one_run(app: Lineup) -> None:
    image = app.compare.image(png_bytes(text="PAY-4021"))

    def compare() -> int:
        comparison = app.compare.vlm(
            question="What is shown?", models=["ocr:eng"], image=image, request_id="form-1"
        )
        return comparison.run_id

    run_ids = at_once(compare)
    assert len(run_ids) == THREADS and len(set(run_ids)) == 1
    assert [run.id for run in app.compare.latest("vlm")] == run_ids[:1]
    # The next page run's facade (a fresh reading of backends.toml) knows the token too.
    assert (
        app.with_config(app.config)
        .compare.vlm(question="Something else?", models=["ocr:eng"], request_id="form-1")
        .run_id
        == run_ids[0]
    )
    # A new token (the page's next form) is a new run.
    other = app.compare.vlm(question="What is shown?", models=["ocr:eng"], request_id="form-2")
    assert other.run_id != run_ids[0] and len(app.compare.latest("vlm")) == 2
    other.wait()
    app.compare.active(run_ids[0]).wait()  # type: ignore[union-attr]


def test_concurrent_speaks_with_one_token_store_one_comparison(app: Lineup) -> None:
    def speak() -> list[int]:
        comparison = app.compare.tts(
            texts=["The card was declined.", "Call the bank."],
            voices=["espeak:en-us"],
            stt=None,
            request_id="speak-1",
        )
        return comparison.run_ids

    results = at_once(speak)
    assert len({tuple(run_ids) for run_ids in results}) == 1
    assert sorted(run.id for run in app.compare.latest("tts")) == sorted(results[0])
    app.compare.active(results[0][0]).wait()  # type: ignore[union-attr]


def test_concurrent_study_starts_with_one_token_store_one_study(
    app: Lineup, tmp_path: Path
) -> None:
    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "sentences.csv").write_text("text\nThe card was declined.\n")
    app.sets.import_path(folder, name="voices")

    def start() -> int:
        return app.studies.start(
            set_name="voices", models=["espeak:en-us"], stt=None, request_id="study-1"
        ).study_id

    study_ids = at_once(start)
    assert len(set(study_ids)) == 1
    assert [study.id for study in app.studies.latest()] == study_ids[:1]
    deadline = time.monotonic() + 60
    while app.studies.progress(study_ids[0]).status != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_refused_start_leaves_its_token_free_for_the_fixed_input(app: Lineup) -> None:
    with pytest.raises(InputError, match="The question is empty"):
        app.compare.vlm(question=" ", models=["ocr:eng"], request_id="form-1")
    assert app.compare.latest("vlm") == []
    comparison = app.compare.vlm(question="What is shown?", models=["ocr:eng"], request_id="form-1")
    assert [run.id for run in app.compare.latest("vlm")] == [comparison.run_id]
    comparison.wait()


def test_a_waiting_repeat_gets_the_first_start_and_never_starts_its_own() -> None:
    once = StartOnce()
    release = threading.Event()
    calls: list[str] = []

    def slow_start() -> str:
        calls.append("first")
        release.wait(10)
        return "run 1"

    first: list[str] = []
    worker = threading.Thread(target=lambda: first.append(once("token", slow_start)))
    worker.start()
    while not calls:
        time.sleep(0.01)
    repeat: list[str] = []
    waiter = threading.Thread(target=lambda: repeat.append(once("token", lambda: "run 2")))
    waiter.start()
    time.sleep(0.2)
    assert repeat == []  # it waits for the first start instead of starting its own
    release.set()
    worker.join(10)
    waiter.join(10)
    assert first == repeat == ["run 1"] and calls == ["first"]
    assert once(None, lambda: "no token") == "no token"


def test_old_tokens_are_forgotten_but_never_one_being_started() -> None:
    once = StartOnce(keep=2)
    release = threading.Event()
    busy = threading.Thread(target=lambda: once("busy", lambda: release.wait(10)))
    busy.start()
    time.sleep(0.1)
    for index in range(5):
        once(f"t{index}", lambda index=index: index)  # type: ignore[misc]
    assert once("t4", lambda: "again") == 4  # the newest are kept
    assert once("t0", lambda: "again") == "again"  # the oldest are forgotten
    started_twice: list[str] = []
    release.set()
    busy.join(10)
    assert once("busy", lambda: started_twice.append("x")) is True  # kept while it started
    assert started_twice == []


def test_start_again_repeats_a_stored_comparison(app: Lineup) -> None:
    image = app.compare.image(png_bytes(text="PAY-4021"))
    first = app.compare.vlm(
        question="Which code?",
        models=["ocr:eng", "ocr:rus"],
        image=image,
        system="Answer briefly.",
        temperature=0.3,
        max_tokens=64,
        seed=7,
        timeout_s=30,
        blind=True,
    )
    first.wait()
    again = app.compare.rerun([first.run_id], request_id="again-1")
    again.wait()
    assert app.compare.rerun([first.run_id], request_id="again-1").run_id == again.run_id
    old, new = app.compare.run(first.run_id), app.compare.run(again.run_id)
    assert old is not None and new is not None and new.id != old.id
    assert [g.model_spec for g in new.generations] == ["ocr:eng", "ocr:rus"]
    for field in ("input_text", "image_hash", "system_prompt", "params", "seed", "blind"):
        assert getattr(new, field) == getattr(old, field), field


def test_start_again_repeats_every_sentence_of_a_voice_comparison(app: Lineup) -> None:
    first = app.compare.tts(
        texts=["The card was declined.", "Call the bank."],
        voices=["espeak:en-us", "espeak:en-us+f3"],
        samples=2,
        stt=None,
        seed=11,
    )
    first.wait()
    again = app.compare.rerun(first.run_ids)
    again.wait()
    old, new = app.compare.runs(first.run_ids), app.compare.runs(again.run_ids)
    assert [run.input_text for run in new] == [run.input_text for run in old]
    assert [run.seed for run in new] == [11, 11]
    assert [(g.model_spec, g.seed) for g in new[0].generations] == [
        ("espeak:en-us", 11),
        ("espeak:en-us", 12),
        ("espeak:en-us+f3", 11),
        ("espeak:en-us+f3", 12),
    ]


def test_start_again_of_a_run_that_is_gone_says_so(app: Lineup) -> None:
    with pytest.raises(InputError, match="There is no run 99"):
        app.compare.rerun([99])
