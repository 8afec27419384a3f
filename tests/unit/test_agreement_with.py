"""Agreement with a chosen model within one study (lineup.report.against): the identical share
and ROUGE-L to the chosen model's answer worked by hand, the interval recomputed by a plain
loop over seeded draws of the items, the speeds beside them, and `study show --against`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lineup.app.facade import Lineup
from lineup.cli.main import main
from lineup.core import InputError
from tests.builders import FULL, INT4, INT8, build_compared_studies, build_ladder_study


@pytest.fixture()
def ladder(lineup_home: Path) -> tuple[Lineup, int]:
    app = Lineup.open()
    return app, build_ladder_study(app.store)


def test_identical_share_and_rouge_l_to_the_chosen_model_worked_by_hand(
    ladder: tuple[Lineup, int],
) -> None:
    app, study_id = ladder
    against = app.studies.agreement_with(study_id, FULL)
    assert against["model"] == FULL and against["judge"] is None
    assert against["chosen_median_tokens_per_s"] == pytest.approx(10.5)  # median of 10, 11
    int8, int4 = against["models"]
    assert int8["model"] == INT8 and int4["model"] == INT4
    # m:int8: item 0 has one identical pair of two (1/2) and ROUGE-L (1 + 4/7) / 2 = 11/14;
    # items 1-4 are identical: identical (0.5 + 4) / 5 = 0.9, ROUGE-L (11/14 + 4) / 5 = 67/70.
    assert int8["pairs"] == 10 and int8["items"] == 5
    assert int8["identical_share"] == pytest.approx(0.9)
    assert int8["rougeL_to_chosen"] == pytest.approx(67 / 70)
    assert int8["median_tokens_per_s"] == pytest.approx(15.5)
    # m:int4: items 0 and 1 share nothing, item 4 has one pair (its repeat 0 failed):
    # identical and ROUGE-L (0 + 0 + 1 + 1 + 1) / 5 = 0.6 over 9 pairs.
    assert int4["pairs"] == 9 and int4["items"] == 5
    assert int4["identical_share"] == pytest.approx(0.6)
    assert int4["rougeL_to_chosen"] == pytest.approx(0.6)
    # Its interval by a plain loop over numpy's generator (seed 0), 1,000 draws of the 5 items.
    values = [0.0, 0.0, 1.0, 1.0, 1.0]
    draws = np.random.default_rng(0).integers(0, 5, size=(1000, 5))
    means = [sum(values[i] for i in draw) / 5 for draw in draws]
    low, high = np.percentile(means, [2.5, 97.5])
    assert int4["identical_ci_low"] == pytest.approx(low)
    assert int4["identical_ci_high"] == pytest.approx(high)
    assert int4["identical_ci_reason"] is None


def test_study_show_against_in_json_and_text(
    ladder: tuple[Lineup, int], capsys: pytest.CaptureFixture[str]
) -> None:
    app, study_id = ladder
    assert main(["study", "show", str(study_id), "--against", FULL, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["against"]["model"] == FULL
    assert [m["model"] for m in document["against"]["models"]] == [INT8, INT4]
    assert main(["study", "show", str(study_id)]) == 0
    assert "agreement with" not in capsys.readouterr().out
    assert main(["study", "show", str(study_id), "--against", FULL]) == 0
    text = capsys.readouterr().out
    assert f"agreement with {FULL}" in text and "rougeL_to_chosen" in text
    assert main(["study", "show", str(study_id), "--against", "m:nope"]) == 2
    assert "has no model 'm:nope'" in capsys.readouterr().err
    with pytest.raises(InputError, match="no model"):
        app.studies.agreement_with(study_id, "m:nope")


def test_the_reports_show_the_agreement_with_the_first_model(ladder: tuple[Lineup, int]) -> None:
    from lineup.report.html_report import render_html
    from lineup.report.markdown_report import markdown_report

    app, study_id = ladder
    result = app.studies.result(study_id)
    markdown = markdown_report(result)
    assert "## Agreement with the first model, m\\:full (10.5 median decode tok/s)" in markdown
    # m:int4's row: 9 pairs, identical 0.6 with its interval, ROUGE-L 0.6, 21 tokens/s.
    [row] = [line for line in markdown.splitlines() if line.startswith("| m\\:int4 | 9 |")]
    assert "| 0.6 |" in row and row.endswith("| 21 |")
    page = render_html(result, app.media)
    assert 'id="against"' in page and "60%" in page
    baseline, _ = build_compared_studies(app.store)  # one model: nothing to agree with
    assert app.studies.result(baseline).against_first is None
    assert "Agreement with the first model" not in markdown_report(app.studies.result(baseline))
