"""A process killed or stopped mid-run: its rows end `interrupted`, with the text it streamed.

The model is the loopback Ollama protocol fixture (no Ollama server can be installed here),
streaming one word every 0.2 s; the command is the real CLI in a child process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineup.app.facade import Lineup
from lineup.core.settings import load_settings
from lineup.store.database import Store
from testbed.ollama_server import FakeModel, OllamaFixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def slow_ollama() -> Iterator[OllamaFixture]:
    words = [f"word{i} " for i in range(300)]
    with OllamaFixture([FakeModel("slow", words, delay_s=0.2)]) as fixture:
        yield fixture


def _sigint_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_cli(fixture: OllamaFixture) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lineup",
            "vlm",
            "--question",
            "Describe it at length.",
            "--model",
            f"ollama:slow@{fixture.base_url}",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # As from a terminal: a test run started in the background (`make test &`) ignores
        # SIGINT, its children inherit that, and Python then never installs its Ctrl-C handler.
        preexec_fn=_sigint_as_from_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_partial_text(store: Store, min_chars: int = 20) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = store.latest_runs("vlm", limit=1)
        rows = store.get_run(runs[0].id).generations if runs else []
        if rows:  # the run is written a moment before its generation
            row = rows[0]
            if row.status == "running" and row.output_text and len(row.output_text) >= min_chars:
                return row.output_text
        time.sleep(0.1)
    raise AssertionError("the child never saved partial text")


def _only_row(store: Store):  # noqa: ANN202 - a Generation
    (run,) = store.latest_runs("vlm", limit=1)
    return store.get_run(run.id).generations[0]


def test_sigkill_mid_run_then_a_new_start_marks_the_row_interrupted(
    lineup_home: Path, slow_ollama: OllamaFixture
) -> None:
    store = Store(load_settings().database_url)
    child = _start_cli(slow_ollama)
    try:
        saved = _wait_for_partial_text(store)
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert _only_row(store).status == "running"  # nobody could write anything
    Lineup.open()  # any Lineup process that starts cleans up after the dead one
    row = _only_row(store)
    assert row.status == "interrupted"
    assert row.output_text.startswith(saved)  # nothing streamed before the last save is lost
    assert "gone" in row.error


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_finish_the_rows_interrupted_without_a_traceback(
    lineup_home: Path, slow_ollama: OllamaFixture, how: signal.Signals
) -> None:
    store = Store(load_settings().database_url)
    child = _start_cli(slow_ollama)
    try:
        _wait_for_partial_text(store)
        child.send_signal(how)
        _, stderr = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    row = _only_row(store)
    assert row.status == "interrupted"
    assert len(row.output_text) >= 20
    # A readable reason: str(KeyboardInterrupt()) is empty, and "stopped ()" says nothing.
    why = "Ctrl-C" if how == signal.SIGINT else "SIGTERM"
    assert row.error == (
        f"Interrupted: the command was stopped ({why}). The text streamed until then is kept."
    )
