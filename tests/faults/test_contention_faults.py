"""Alone or together against two loopback servers, each a process of its own (one host, two
endpoints): `fair` sends one after the other and stores 0 others in flight for each, `parallel`
sends them together and stores the overlap, and a speed table over both marks the difference.
A Stop while a fair model waits for its turn ends it at once and frees the host's turn."""

from __future__ import annotations

import time

import pytest

from backends.base import VLMRequest
from lineup.catalog import Lane
from lineup.leaderboard import vlm_leaderboard
from lineup.measure import contention_note
from lineup.run.contention import (
    FAIR,
    HOST_TURNS,
    IN_FLIGHT,
    PARALLEL,
    THIS_MACHINE,
    TimingMode,
)
from lineup.run.vlm import Comparison, start_vlm_comparison
from lineup.store.database import Store
from testbed.paced_server import paced_server, server_stamps
from tests.builders import resolved

pytestmark = pytest.mark.timeout(120)

FIRST_TOKEN_S = 0.4


def compare(store: Store, urls: list[str], timing: TimingMode) -> Comparison:
    models = [
        resolved(f"paced-{index}", f"openai:paced@{url}", lane=Lane(url))
        for index, url in enumerate(urls)
    ]
    return start_vlm_comparison(
        store, models, VLMRequest("What does the screen say?"), timeout_s=30.0, timing=timing
    )


def stored(store: Store, comparison: Comparison) -> list[tuple[str, int | None, int | None]]:
    run = store.get_run(comparison.run_id)
    return [(g.status, g.concurrent_max, g.concurrent_endpoint_max) for g in run.generations]


def test_fair_measures_each_alone_parallel_records_the_overlap_and_the_table_says_so(
    store: Store,
) -> None:
    with paced_server(FIRST_TOKEN_S, 5) as first, paced_server(FIRST_TOKEN_S, 5) as second:
        fair = compare(store, [first, second], FAIR)
        fair.wait()
        fair_stamps = [server_stamps(first)[-1], server_stamps(second)[-1]]
        parallel = compare(store, [first, second], PARALLEL)
        parallel.wait()
        parallel_stamps = [server_stamps(first)[-1], server_stamps(second)[-1]]

    assert stored(store, fair) == [("ok", 0, 0), ("ok", 0, 0)]
    # Fair: the second request reached its server after the first answer's last chunk came.
    first_job, second_job = fair.jobs
    assert first_job.clock.last_chunk_at is not None
    assert second_job.clock.started_at is not None
    assert first_job.clock.last_chunk_at <= second_job.clock.started_at
    assert fair_stamps[0]["first_sent_at"] < fair_stamps[1]["received_at"]
    # Parallel: both in flight together on this machine, each alone on its own server.
    assert stored(store, parallel) == [("ok", 1, 0), ("ok", 1, 0)]
    assert abs(parallel_stamps[0]["received_at"] - parallel_stamps[1]["received_at"]) < 0.3
    # The leaderboard's speed table counts both runs: each model alone once, beside the
    # other once, and says so.
    rows = vlm_leaderboard(store)
    assert {(r["model"], r["concurrent_min"], r["concurrent_max"]) for r in rows} == {
        ("paced-0", 0, 1),
        ("paced-1", 0, 1),
    }
    note = contention_note([(r["model"], r["concurrent_min"], r["concurrent_max"]) for r in rows])
    assert note is not None
    assert "paced-0 alone to 1 other request in flight" in note
    # One run alone is like for like: no badge.
    assert contention_note([("paced-0", 0, 0), ("paced-1", 0, 0)]) is None


def test_stop_while_a_fair_model_waits_its_turn_ends_both_and_frees_the_host(
    store: Store,
) -> None:
    with paced_server(3.0, 3) as first, paced_server(3.0, 3) as second:
        comparison = compare(store, [first, second], FAIR)
        deadline = time.monotonic() + 20
        while comparison.jobs[0].in_flight is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the first request is at its server (3 s to go); the second waits
        stopped_at = time.monotonic()
        comparison.cancel()
        comparison.wait()
        ended_s = time.monotonic() - stopped_at
        assert server_stamps(second) == []  # never sent
    assert ended_s < 2.0
    assert [status for status, _, _ in stored(store, comparison)] == ["cancelled", "cancelled"]
    assert IN_FLIGHT.in_flight(THIS_MACHINE) == 0  # the stopped request left the registry
    assert HOST_TURNS.of(THIS_MACHINE).acquire(blocking=False)
    HOST_TURNS.of(THIS_MACHINE).release()
