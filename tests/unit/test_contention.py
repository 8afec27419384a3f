"""Alone or together (lineup.run.contention): what a host and an endpoint are, the most other
requests in flight beside each one (counted by hand below), and the fair order's rotation."""

from __future__ import annotations

import socket
import threading

import pytest

from lineup.measure import contention_note, in_flight_words
from lineup.run.contention import (
    THIS_MACHINE,
    InFlightRegistry,
    Turn,
    endpoint_of,
    fair_order,
    host_of,
)


@pytest.mark.parametrize(
    ("endpoint", "host", "server"),
    [
        ("in-process:transformers", THIS_MACHINE, "in-process:transformers"),
        ("in-process:ocr", THIS_MACHINE, "in-process:ocr"),
        ("http://127.0.0.1:11434", THIS_MACHINE, "this machine:11434"),
        ("http://localhost:11434", THIS_MACHINE, "this machine:11434"),
        ("http://127.0.0.2:8080/v1", THIS_MACHINE, "this machine:8080"),
        ("http://[::1]:8000/v1", THIS_MACHINE, "this machine:8000"),
        ("http://0.0.0.0:8000", THIS_MACHINE, "this machine:8000"),
        ("ollama", THIS_MACHINE, "ollama"),  # no URL: the kind's default, a loopback one
        ("http://GPU-Box.lan:8000/v1", "gpu-box.lan", "gpu-box.lan:8000"),
        ("http://gpu-box.lan:11434", "gpu-box.lan", "gpu-box.lan:11434"),
        ("https://api.example.com/v1", "api.example.com", "api.example.com:443"),
        ("http://10.0.0.7/v1", "10.0.0.7", "10.0.0.7:80"),
    ],
)
def test_host_is_where_the_compute_runs_and_endpoint_is_one_server(
    endpoint: str, host: str, server: str
) -> None:
    assert host_of(endpoint) == host
    assert endpoint_of(endpoint) == server


def test_this_machines_own_name_is_this_machine() -> None:
    assert host_of(f"http://{socket.gethostname()}:11434") == THIS_MACHINE


def test_most_others_in_flight_counted_by_hand() -> None:
    """Hand-worked timeline (h: this machine, two servers :1 and :2; r: a remote box):
    t1 A(:1) in            A: host 0, endpoint 0
    t2 B(:1) in            A, B: host 1, endpoint 1
    t3 C(:2) in            A, B, C: host 2; C endpoint 0
    t4 A out, B out
    t5 D(:1) in            C, D: host 1 (C keeps 2); D endpoint 0 (A and B left)
    t6 R(remote) in        R: 0 (another host); nothing on this machine changes
    """
    registry = InFlightRegistry()
    a = registry.enter("http://127.0.0.1:1")
    b = registry.enter("http://localhost:1")
    c = registry.enter("http://127.0.0.1:2")
    a.leave()
    b.leave()
    d = registry.enter("http://127.0.0.1:1")
    r = registry.enter("http://gpu-box.lan:1")
    assert registry.in_flight(THIS_MACHINE) == 2 and registry.in_flight() == 3
    for ticket in (c, d, r):
        ticket.leave()
    ticket.leave()  # idempotent
    assert registry.in_flight() == 0
    assert [t.figures() for t in (a, b, c, d, r)] == [
        {"concurrent_max": 2, "concurrent_endpoint_max": 1},
        {"concurrent_max": 2, "concurrent_endpoint_max": 1},
        {"concurrent_max": 2, "concurrent_endpoint_max": 0},
        {"concurrent_max": 1, "concurrent_endpoint_max": 0},
        {"concurrent_max": 0, "concurrent_endpoint_max": 0},
    ]


def test_one_after_another_is_alone() -> None:
    registry = InFlightRegistry()
    for _ in range(3):
        ticket = registry.enter("in-process:transformers")
        ticket.leave()
        assert ticket.figures() == {"concurrent_max": 0, "concurrent_endpoint_max": 0}


def test_fair_order_rotates_per_item_and_repeat() -> None:
    models = ["a", "b", "c"]
    # Hand-listed: item i, repeat r starts at (i + r) mod 3.
    assert fair_order(models, 0, 0) == ["a", "b", "c"]
    assert fair_order(models, 1, 0) == ["b", "c", "a"]
    assert fair_order(models, 2, 0) == ["c", "a", "b"]
    assert fair_order(models, 3, 0) == ["a", "b", "c"]
    assert fair_order(models, 0, 1) == ["b", "c", "a"]
    assert fair_order(models, 2, 1) == ["a", "b", "c"]
    assert fair_order(["solo"], 5, 2) == ["solo"]
    assert fair_order([], 1, 1) == []
    # Over any 3 consecutive items each model goes first once.
    firsts = [fair_order(models, item, 0)[0] for item in range(4, 7)]
    assert sorted(firsts) == models


def test_a_turn_stopped_while_it_waits_is_not_held() -> None:
    host_lock = threading.Lock()
    first, second = Turn(host_lock), Turn(host_lock)
    running, stopped = threading.Event(), threading.Event()
    assert first.take(running)
    taken: list[bool] = []
    waiter = threading.Thread(target=lambda: taken.append(second.take(stopped)))
    waiter.start()
    stopped.set()
    waiter.join(timeout=10)
    assert taken == [False]
    first.give_back()
    first.give_back()  # once only
    assert host_lock.acquire(blocking=False)


def test_the_badge_shows_only_when_the_counted_answers_differ() -> None:
    assert [in_flight_words(*pair) for pair in ((0, 0), (1, 1), (2, 2), (0, 2), (1, 3))] == [
        "alone",
        "with 1 other request in flight",
        "with 2 other requests in flight",
        "alone to 2 other requests in flight",
        "1 to 3 other requests in flight",
    ]
    assert in_flight_words(None, None) == "not counted"
    # Alike: all alone, all beside one other (a parallel run of two), nothing counted.
    assert contention_note([("a", 0, 0), ("b", 0, 0)]) is None
    assert contention_note([("a", 1, 1), ("b", 1, 1)]) is None
    assert contention_note([("a", None, None), ("b", 2, 2)]) is None
    # One alone, one beside two others; or one model's own answers mixed.
    across = contention_note([("a", 0, 0), ("b", 2, 2)])
    assert across is not None and "a alone; b with 2 other requests in flight" in across
    within = contention_note([("a", 0, 1)])
    assert within is not None and "a alone to 1 other request in flight" in within
    assert within.startswith("⚠ uneven contention")
