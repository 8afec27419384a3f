"""Cold or warm: which answers are cold (lineup.measure.timing.cold_start), and the speed figures
of the study tables and the leaderboards over the warm ones, the cold ones apart, against a
count by hand."""

from __future__ import annotations

import pytest

from backends.base import Usage
from lineup.leaderboard.boards import vlm_leaderboard
from lineup.leaderboard.filters import LeaderboardFilter
from lineup.measure import COLD_LOAD_S, cold_start
from lineup.report import study_tables
from lineup.store.database import Store
from lineup.study.records import claim, create_study, load_plan
from tests.builders import make_set


def test_cold_is_what_the_engine_says_else_ollamas_load_duration_against_half_a_second() -> None:
    assert COLD_LOAD_S == 0.5
    # An in-process engine knows: the answer that loaded it, and no later one.
    assert cold_start(Usage(load_s=0.2, loaded=True)) is True
    assert cold_start(Usage(load_s=None, loaded=False)) is False
    # Ollama reports load_duration on every answer: milliseconds warm, the load cold.
    assert cold_start(Usage(load_s=9.6)) is True
    assert cold_start(Usage(load_s=0.5)) is True
    assert cold_start(Usage(load_s=0.003)) is False
    assert cold_start(Usage(load_s=0.499)) is False
    # llama.cpp, vLLM and other OpenAI-compatible servers say nothing about loads; a stream
    # cut off before its usage record says nothing either.
    assert cold_start(Usage(decode_tokens_per_s=40.0)) is None
    assert cold_start(None) is None


# One model, two items, three repeats: (cold, ttft_s, total_s, output_tokens, tokens_per_s).
ANSWERS = [
    (True, 9.6, 12.0, 20, 5.0),  # the first answer loaded the model
    (False, 0.5, 2.0, 40, 30.0),
    (None, 0.6, 2.2, 44, 32.0),  # unknown: counted with the warm ones
    (False, 0.7, 2.4, 48, 34.0),
    (True, 8.0, 10.0, 10, 7.0),  # loaded again (unloaded meanwhile)
    (False, 0.8, 2.6, 52, 36.0),
]


def test_a_cold_first_answer_is_kept_out_of_the_warm_medians_by_hand(store: Store) -> None:
    set_id = make_set(store, "pictures", "vlm", [("q1", None), ("q2", None)])
    study_id = create_study(store, set_id=set_id, models=["m:a"], repeats=3, params={})
    rows = iter(ANSWERS)
    for item in load_plan(store, study_id).items:
        for repeat in range(3):
            gid = claim(store, study_id, item, "m:a", repeat, position=0, seed=None)
            assert gid is not None
            cold, ttft, total, tokens, rate = next(rows)
            store.finish_generation(
                gid,
                "ok",
                output_text="x",
                cold=cold,
                ttft_s=ttft,
                total_s=total,
                output_tokens=tokens,
                tokens_per_s=rate,
            )
    # By hand: the warm (not cold) answers are 2, 3, 4 and 6.
    # TTFT 0.5, 0.6, 0.7, 0.8 -> median 0.65 (with the cold ones it would be 0.75);
    # total 2.0, 2.2, 2.4, 2.6 -> 2.3; decode 30, 32, 34, 36 -> 33;
    # tokens over time: (40 + 44 + 48 + 52) / (2.0 + 2.2 + 2.4 + 2.6) = 184 / 9.2 = 20.
    # Cold apart: 2 answers, TTFT 9.6 and 8.0 -> 8.8; total 12 and 10 -> 11; decode 5, 7 -> 6.
    [speed] = study_tables(store, study_id).speed.to_dict("records")
    assert speed["ok"] == 6
    assert speed["median_ttft_s"] == pytest.approx(0.65)
    assert speed["median_total_s"] == pytest.approx(2.3)
    assert speed["median_tokens_per_s"] == pytest.approx(33.0)
    assert speed["output_tokens"] == 184 and speed["time_s"] == pytest.approx(9.2)
    assert speed["tokens_per_time_s"] == pytest.approx(20.0)
    assert speed["cold_answers"] == 2
    assert speed["cold_median_ttft_s"] == pytest.approx(8.8)
    assert speed["cold_median_total_s"] == pytest.approx(11.0)
    assert speed["cold_median_tokens_per_s"] == pytest.approx(6.0)
    # No energy counter on the rows: n/a, never a made-up figure.
    assert speed["median_energy_j"] is None and speed["gpu_mem_mb"] is None

    # The leaderboards, from the indexes alone and over the study's rows, say the same.
    for board_filter in (None, LeaderboardFilter(study_id=study_id)):
        [row] = vlm_leaderboard(store, board_filter)
        assert row["answers"] == 6 and row["timed"] == 4
        assert row["median_ttft_s"] == pytest.approx(0.65)
        assert row["median_total_s"] == pytest.approx(2.3)
        assert row["median_tokens_per_s"] == pytest.approx(33.0)
        assert row["cold_answers"] == 2
        assert row["cold_median_ttft_s"] == pytest.approx(8.8)
        assert row["cold_median_total_s"] == pytest.approx(11.0)
        assert row["cold_median_tokens_per_s"] == pytest.approx(6.0)
