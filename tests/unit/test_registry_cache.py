"""Backends live as long as the process: one per kind, model, resolved server and options."""

from __future__ import annotations

import threading

import httpx
import pytest

from backends import registry


def test_the_same_spec_and_options_give_the_same_backend_every_time() -> None:
    first = registry.create_backend("openai:m@http://127.0.0.1:9/v1", {"timeout_s": 5})
    assert registry.create_backend("openai:m@http://127.0.0.1:9/v1", {"timeout_s": 5}) is first
    # The preset is chosen per call: it makes no new backend.
    assert registry.create_backend("openai:m#fast@http://127.0.0.1:9/v1", {"timeout_s": 5}) is first
    assert registry.create_backend("openai:m@http://127.0.0.1:9/v1", {"timeout_s": 6}) is not first
    assert registry.create_backend("openai:n@http://127.0.0.1:9/v1", {"timeout_s": 5}) is not first


def test_the_default_server_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    nine = registry.create_backend("ollama:llava")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:10")
    ten = registry.create_backend("ollama:llava")
    assert ten is not nine
    assert (nine.base_url, ten.base_url) == ("http://127.0.0.1:9", "http://127.0.0.1:10")


def test_an_injected_client_always_builds_a_fresh_backend() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    one = registry.create_backend("ollama:llava@http://127.0.0.1:9", transport=transport)
    two = registry.create_backend("ollama:llava@http://127.0.0.1:9", transport=transport)
    assert one is not two


def test_threads_asking_at_once_build_one_backend() -> None:
    built: list[object] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        built.append(registry.create_backend("openai:race@http://127.0.0.1:9/v1"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(backend) for backend in built}) == 1
