"""The browser tests' shared pieces: the app served by `streamlit run` on a free loopback port
(with the Ollama protocol fixture, a loopback stand-in for an Ollama server, which cannot be
installed here), Debian's chromium driven by Playwright, and small page helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from testbed.browser import CHROMIUM, CHROMIUM_ARGS
from testbed.net import free_port
from testbed.ollama_server import FakeModel, OllamaFixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def served_app(tmp_path: Path) -> Iterator[tuple[str, Path, OllamaFixture]]:
    models = [
        FakeModel("llava:7b", ["A", "payment", "error."], delay_s=0.05),
        # A word every 0.3 s for a minute: still streaming when Stop is pressed.
        FakeModel("slow:latest", [f"word{i}" for i in range(200)], delay_s=0.3),
    ]
    with serve_app(tmp_path / "home", models) as served:
        yield served


@contextmanager
def serve_app(
    home: Path, models: list[FakeModel], env_extra: dict[str, str] | None = None
) -> Iterator[tuple[str, Path, OllamaFixture]]:
    """`streamlit run app.py` on a free loopback port with LINEUP_HOME `home` and the Ollama
    protocol fixture serving `models` as its Ollama server (and `env_extra` set)."""
    with OllamaFixture(models) as ollama:
        port = free_port()
        env = dict(
            os.environ,
            LINEUP_HOME=str(home),
            OLLAMA_HOST=ollama.base_url,
            LINEUP_BACKENDS_FILE=str(home / "backends.toml"),
            **(env_extra or {}),
        )
        env.pop("LINEUP_DATABASE_URL", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"streamlit did not start:\n{output}")
                time.sleep(0.3)
            yield url, home, ollama
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture()
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (packages.apt).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def app_server() -> Any:
    """`serve_app`, for a test that serves the app with models of its own."""
    return serve_app
