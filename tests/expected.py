"""What the figures must be, worked out by hand: plain Python over the rows a builder of
tests/builders.py wrote, never Lineup's own code (the oracles of the figure tests)."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import create_engine, text

from lineup.leaderboard.filters import LeaderboardFilter, states_of
from lineup.measure.bradley_terry import ELO_MEAN, ELO_SCALE, L2_PENALTY, Battle
from lineup.measure.overlap import rouge_l_f1
from lineup.measure.wer import corpus_wer
from tests.builders import TABLE_MODELS, TABLE_VOICES, Built, Inserted, LabeledStudy

# Figures by hand -----------------------------------------------------------------------------


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The 95% Wilson interval of k in n, in percent, from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half), 100 * (centre + half)


def median(values: list[float | None]) -> float | None:
    """The median of the values present; None for none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def close(actual: Any, expected: Any) -> bool:
    """Equal, floats to 1e-9, and None for None (a frame holds NaN for it)."""
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, float):
        return actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    return bool(actual == expected)


# A study's tables (over build_vlm_study and build_tts_study) ---------------------------------


def assert_rows(frame: Any, expected: list[dict[str, Any]]) -> None:
    records = frame.to_dict("records")
    assert [r["model"] for r in records] == [e["model"] for e in expected]
    for record, wanted in zip(records, expected, strict=True):
        for key, value in wanted.items():
            assert close(record[key], value), (record["model"], key, record[key], value)


def counted(built: Built, annotator: str | None = None) -> dict[int, list[str]]:
    """Per answer of the study, the relevance of each annotator's latest label."""
    latest: dict[tuple[int, str], str] = {}
    for label in built.labels:  # written one after another: the last written is the latest
        latest[(label["gid"], label["annotator"])] = label["relevance"]
    by_answer: dict[int, list[str]] = {}
    for (gid, who), relevance in latest.items():
        if annotator is None or who == annotator:
            by_answer.setdefault(gid, []).append(relevance)
    return by_answer


def expected_relevance(built: Built, annotator: str | None = None) -> list[dict[str, Any]]:
    labels = counted(built, annotator)
    rows = []
    for model in TABLE_MODELS:
        mine = [a for a in built.answers if a["model"] == model]
        relevances = [r for a in mine for r in labels.get(a["id"], [])]
        n, relevant = len(relevances), relevances.count("relevant")
        # The item bootstrap gives no interval below 5 labeled items: the builders' studies
        # have 3 (test_item_intervals checks the intervals of a larger study).
        items = {a["item_id"] for a in mine if a["id"] in labels}
        assert len(items) < 5, "expected_relevance works out no interval over 5 items or more"
        low = high = None
        # The mean relevance score: per labeled item, the mean over its labeled answers of
        # each answer's mean label (relevant 1, partial 0.5, irrelevant 0); then the mean
        # over those items.
        points = {"relevant": 1.0, "partial": 0.5, "irrelevant": 0.0}
        item_scores = [
            statistics.mean(
                statistics.mean(points[r] for r in labels[a["id"]])
                for a in mine
                if a["item_id"] == item and a["id"] in labels
            )
            for item in sorted(items)
        ]
        rows.append(
            {
                "model": model,
                "requests": n,
                "relevant": relevant,
                "partial": relevances.count("partial"),
                "irrelevant": relevances.count("irrelevant"),
                "pct_relevant": 100 * relevant / n if n else None,
                "pct_relevant_ci_low": low,
                "pct_relevant_ci_high": high,
                "pct_relevant_ci_method": "item-bootstrap",
                "pct_relevant_ci_reason": f"fewer than 5 items ({len(items)}): no interval"
                if n
                else "no label",
                "relevance": statistics.mean(item_scores) if item_scores else None,
                "relevance_ci_low": None,
                "relevance_ci_high": None,
                "relevance_ci_method": "item-bootstrap",
                "relevance_ci_reason": f"fewer than 5 items ({len(items)}): no interval"
                if n
                else "no label",
                "answers": len(mine),
                "ok": sum(a["status"] == "ok" for a in mine),
                "errors": sum(a["status"] not in ("ok", "running") for a in mine),
                "labeled_answers": sum(a["id"] in labels for a in mine),
            }
        )
    # Without intervals, best first by the share; ties keep the study's order.
    labeled = sorted(
        (r for r in rows if r["pct_relevant"] is not None), key=lambda r: -r["pct_relevant"]
    )
    return labeled + [r for r in rows if r["pct_relevant"] is None]


def expected_speed(built: Built) -> list[dict[str, Any]]:
    rows = []
    for model in TABLE_MODELS:
        ok = [a for a in built.answers if a["model"] == model and a["status"] == "ok"]
        both = [a for a in ok if a["output_tokens"] is not None and a["total_s"] is not None]
        tokens = sum(a["output_tokens"] for a in both)
        seconds = sum(a["total_s"] for a in both)
        timed = [a for a in ok if a["total_s"] is not None]
        timed_both = [a for a in timed if a["ttft_s"] is not None]
        rows.append(
            {
                "model": model,
                "ok": len(ok),
                "output_tokens": tokens,
                "time_s": seconds,
                "tokens_per_time_s": tokens / seconds,
                "median_ttft_s": median([a["ttft_s"] for a in timed_both]),
                "median_total_s": median([a["total_s"] for a in timed_both]),
                "median_tokens_per_s": median(
                    [a["tokens_per_s"] for a in ok if a["tokens_per_s"] is not None]
                ),
                "mean_chars": sum(len(a["output_text"]) for a in ok) / len(ok),
                "chars_per_s": sum(len(a["output_text"]) for a in timed)
                / sum(a["total_s"] for a in timed),
            }
        )
    return rows


def expected_repeats(built: Built) -> list[dict[str, Any]]:
    rows = []
    for model in TABLE_MODELS:
        repeated, identical, length_spreads, time_spreads, rouges = 0, 0, [], [], []
        for item in built.items:
            ok = [
                a
                for a in built.answers
                if a["model"] == model and a["item_id"] == item["item_id"] and a["status"] == "ok"
            ]
            if len(ok) >= 2:
                repeated += 1
                identical += len({a["output_text"] for a in ok}) == 1
                length_spreads.append(statistics.stdev(len(a["output_text"]) for a in ok))
                pairs = [
                    rouge_l_f1(x["output_text"], y["output_text"])
                    for i, x in enumerate(ok)
                    for y in ok[i + 1 :]
                ]
                rouges.append(statistics.mean(p if p is not None else 1.0 for p in pairs))
            times = [a["total_s"] for a in ok if a["total_s"] is not None]
            if len(times) >= 2:
                time_spreads.append(statistics.stdev(times))
        rows.append(
            {
                "model": model,
                "items_repeated": repeated,
                "identical_repeats": identical,
                "identical_share": identical / repeated if repeated else None,
                "mean_repeat_rougeL": statistics.mean(rouges) if rouges else None,
                "mean_length_spread": statistics.mean(length_spreads) if length_spreads else None,
                "mean_time_spread": statistics.mean(time_spreads) if time_spreads else None,
            }
        )
    return rows


def expected_voices(built: Built) -> list[dict[str, Any]]:
    rows = []
    for voice in TABLE_VOICES:
        mine = [a for a in built.answers if a["model"] == voice]
        ok = [a for a in mine if a["status"] == "ok"]
        scored = [a for a in ok if a["wer"] is not None and a["transcript"] is not None]
        wers = [a["wer"] for a in scored]
        stt = [a["stt_s"] for a in ok if a["stt_s"] is not None]
        sentences = {a["item_id"] for a in scored}
        assert len(sentences) < 5, "expected_voices works out no interval over 5 items or more"
        few = f"fewer than 5 items ({len(sentences)}): no interval"
        rows.append(
            {
                "model": voice,
                "clips": len(mine),
                "ok": len(ok),
                "scored": len(scored),
                "mean_wer": statistics.mean(wers),
                # The builders' voice study has fewer than 5 sentences: no interval, and why.
                "mean_wer_ci_low": None,
                "mean_wer_ci_high": None,
                "mean_wer_ci_method": "item-bootstrap",
                "mean_wer_ci_reason": few,
                "wer_std": statistics.stdev(wers),
                "corpus_wer": sum(a["word_errors"] for a in scored)
                / sum(a["reference_words"] for a in scored),
                "cer": statistics.mean(a["cer"] for a in scored),
                "cer_ci_low": None,
                "cer_ci_high": None,
                "cer_ci_method": "item-bootstrap",
                "cer_ci_reason": few,
                "gen_s_per_sentence": statistics.mean(a["gen_s"] for a in ok),
                "stt_s_per_sentence": statistics.mean(stt),
                "rtf": statistics.median(a["rtf"] for a in ok),
                "peak_mem_mb": max(a["peak_mem_mb"] for a in ok),
            }
        )
    return rows


# The leaderboards (over fill_leaderboard_store and fill_filtered_store) ----------------------


FAILURE_KEYS = {"error": "errors", "timeout": "timeouts", "cancelled": "cancelled"}
FAILURE_KEYS["interrupted"] = "interrupted"


def counted_labels_by_spec(inserted: Inserted, kind: str) -> dict[str, list[str]]:
    """Per spec, the relevance of each annotator's latest label on each ok generation."""
    generation = {g["id"]: g for g in inserted.generations}
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for label in inserted.labels:
        key = (label["generation_id"], label["annotator"])
        if key not in latest or (label["created_at"], label["id"]) > (
            latest[key]["created_at"],
            latest[key]["id"],
        ):
            latest[key] = label
    counted: dict[str, list[str]] = {}
    for (generation_id, _), label in latest.items():
        g = generation[generation_id]
        if g["kind"] == kind and g["status"] == "ok":
            counted.setdefault(g["spec"], []).append(label["relevance"])
    return counted


def label_figures(relevances: list[str]) -> dict[str, Any]:
    n, relevant = len(relevances), relevances.count("relevant")
    low, high = wilson_by_hand(relevant, n) if n else (None, None)
    return {
        "labels": n,
        "relevant": relevant,
        "partial": relevances.count("partial"),
        "irrelevant": relevances.count("irrelevant"),
        "pct_relevant": 100 * relevant / n if n else None,
        "pct_relevant_ci_low": low,
        "pct_relevant_ci_high": high,
        "pct_relevant_ci_method": "wilson",
    }


def failures(rows: list[dict[str, Any]]) -> dict[str, int]:
    states = [r["status"] for r in rows]
    counts = {key: states.count(state) for state, key in FAILURE_KEYS.items()}
    return {"failed": sum(s not in ("ok", "running") for s in states), **counts}


def contention_ends(ok: list[dict[str, Any]]) -> dict[str, int | None]:
    """The fewest and most others in flight over the complete rows that were counted."""
    counted = [g["concurrent_max"] for g in ok if g.get("concurrent_max") is not None]
    return {
        "concurrent_min": min(counted) if counted else None,
        "concurrent_max": max(counted) if counted else None,
    }


def expected_vlm(inserted: Inserted) -> list[dict[str, Any]]:
    labels = counted_labels_by_spec(inserted, "vlm")
    rows = []
    specs = sorted({g["spec"] for g in inserted.generations if g["kind"] == "vlm"})
    for model in specs:
        mine = [g for g in inserted.generations if g["kind"] == "vlm" and g["spec"] == model]
        ok = [g for g in mine if g["status"] == "ok"]
        # Speed over the warm answers (cold not True); the cold ones counted apart.
        warm = [g for g in ok if g.get("cold") is not True]
        cold = [g for g in ok if g.get("cold") is True]
        timed = [g for g in warm if g.get("ttft_s") is not None and g.get("total_s") is not None]
        rows.append(
            {
                "model": model,
                **label_figures(labels.get(model, [])),
                "generations": len(mine),
                "answers": len(ok),
                **failures(mine),
                "timed": len(timed),
                "median_ttft_s": median([g["ttft_s"] for g in timed]),
                "median_total_s": median([g["total_s"] for g in timed]),
                "median_tokens_per_s": median([g.get("tokens_per_s") for g in warm]),
                **contention_ends(ok),
                "cold_answers": len(cold),
                "cold_median_ttft_s": median([g.get("ttft_s") for g in cold]),
                "cold_median_total_s": median([g.get("total_s") for g in cold]),
                "cold_median_tokens_per_s": median([g.get("tokens_per_s") for g in cold]),
            }
        )
    # Best first by the lower end of the 95% interval, then by the share; unlabeled last.
    rows.sort(
        key=lambda r: (
            r["pct_relevant_ci_low"] is None,
            -(r["pct_relevant_ci_low"] or 0.0),
            -(r["pct_relevant"] or 0.0),
            r["model"],
        )
    )
    return rows


def expected_tts(inserted: Inserted) -> list[dict[str, Any]]:
    labels = counted_labels_by_spec(inserted, "tts")
    rows = []
    for voice in sorted({g["spec"] for g in inserted.generations if g["kind"] == "tts"}):
        mine = [g for g in inserted.generations if g["kind"] == "tts" and g["spec"] == voice]
        ok = [g for g in mine if g["status"] == "ok"]
        scored = [g for g in ok if g.get("wer") is not None and g.get("transcript") is not None]
        wers = [g["wer"] for g in scored]
        cers = [g["cer"] for g in scored if g.get("cer") is not None]
        peaks = [g["peak_mem_mb"] for g in ok if g.get("peak_mem_mb") is not None]
        warm = [g for g in ok if g.get("cold") is not True]
        cold = [g for g in ok if g.get("cold") is True]
        counts = label_figures(labels.get(voice, []))
        rows.append(
            {
                "voice": voice,
                "answers": len(ok),
                **failures(mine),
                "scored": len(scored),
                "mean_wer": statistics.mean(wers) if wers else None,
                "wer_std": statistics.stdev(wers) if len(wers) >= 2 else None,
                "corpus_wer": corpus_wer(
                    [g["sentence"] for g in scored], [g["transcript"] for g in scored]
                )
                if scored
                else None,
                "mean_cer": statistics.mean(cers) if cers else None,
                "median_rtf": median([g.get("rtf") for g in warm]),
                "median_gen_s": median([g.get("gen_s") for g in warm]),
                "peak_mem_mb": max(peaks) if peaks else None,
                **contention_ends(ok),
                "labels": counts["labels"],
                **{k: counts[k] for k in ("relevant", "partial", "irrelevant", "pct_relevant")},
                "pct_relevant_ci_low": counts["pct_relevant_ci_low"],
                "pct_relevant_ci_high": counts["pct_relevant_ci_high"],
                "pct_relevant_ci_method": "wilson",
                "cold_answers": len(cold),
                "cold_median_rtf": median([g.get("rtf") for g in cold]),
                "cold_median_gen_s": median([g.get("gen_s") for g in cold]),
            }
        )
    rows.sort(key=lambda r: (r["mean_wer"] is None, r["mean_wer"] or 0.0, r["voice"]))
    return rows


def assert_same_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """The same rows, keys and order; counts equal, figures equal to floating-point rounding."""
    assert [list(row) for row in actual] == [list(row) for row in expected]
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (got, key)
            else:
                assert got[key] == value, (got, key)


def kept(inserted: Inserted, f: LeaderboardFilter) -> Inserted:
    """The rows a filter keeps, by its definition, in plain Python."""
    states = None if f.status is None else states_of(f.status)

    def keeps(g: dict[str, Any]) -> bool:
        return (
            (f.study_id is None or g["study"] == f.study_id)
            and (f.set_name is None or g["set"] == f.set_name)
            and (f.tag is None or f.tag in g["tags"])
            and (f.since is None or g["started_at"] >= f.since)
            and (f.until is None or g["started_at"] < f.until)
            and (states is None or g["status"] in states)
            and (not f.alone or g.get("concurrent_max") == 0)
        )

    generations = [g for g in inserted.generations if keeps(g)]
    ids = {g["id"] for g in generations}
    labels = [
        label
        for label in inserted.labels
        if label["generation_id"] in ids and f.annotator in (None, label["annotator"])
    ]
    return Inserted(generations, labels)


# Rankings and agreement ----------------------------------------------------------------------


def logistic_regression_ratings(battles: list[Battle], models: list[str]) -> dict[str, float]:
    """Bradley-Terry as a logistic regression without intercept: one row per battle, +1 in
    a's column and -1 in b's, y = a won; a tie is a win and a loss of weight 1/2 each.
    sklearn's L2 term is ||w||^2 / 2 against C times the summed log-loss, so C = 1 / penalty
    fits the same objective."""
    rows, wins, weights = [], [], []
    for a, b, outcome in battles:
        x = np.zeros(len(models))
        x[models.index(a)], x[models.index(b)] = 1.0, -1.0
        for won, weight in ((1, outcome), (0, 1.0 - outcome)):
            if weight:
                rows.append(x)
                wins.append(won)
                weights.append(weight)
    fit = LogisticRegression(fit_intercept=False, C=1 / L2_PENALTY, tol=1e-12, max_iter=100_000)
    fit.fit(np.array(rows), np.array(wins), sample_weight=np.array(weights))
    theta = fit.coef_[0] - fit.coef_[0].mean()
    return {m: ELO_MEAN + ELO_SCALE * t for m, t in zip(models, theta, strict=True)}


def counted_labels(built: LabeledStudy) -> list[tuple[str, int, str]]:
    """(annotator, answer id, relevance) of each annotator's latest label on an answer."""
    latest: dict[tuple[int, str], str] = {}
    for gid, who, relevance in built.labels:
        latest[(gid, who)] = relevance
    return [(who, gid, relevance) for (gid, who), relevance in latest.items()]


# Migrations ----------------------------------------------------------------------------------


def check_after_0004(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        generations = connection.execute(
            text("SELECT id, kind, word_errors, reference_words FROM generations ORDER BY id")
        ).all()
        labels = connection.execute(
            text("SELECT id, kind, model_spec, counted FROM labels ORDER BY id")
        ).all()
    engine.dispose()
    # The sentence as WER normalised it when 0004 was written, worked by hand: "she sold three
    # thousand five hundred tickets on the twenty first of june", 13 words; a quarter of them
    # are the errors.
    words = 13
    assert [tuple(g) for g in generations] == [
        (1, "vlm", None, None),
        (2, "vlm", None, None),
        (3, "tts", round(0.25 * words), words),
        (4, "tts", None, None),
    ]
    assert [(i, kind, spec, bool(counted)) for i, kind, spec, counted in labels] == [
        (1, "vlm", "m:a", True),
        (2, "vlm", "m:a", False),
        (3, "vlm", "m:a", False),
        (4, "vlm", "m:a", True),
        (5, "vlm", "m:b", False),
        (6, "tts", "v:a", True),
    ]


def check_after_0011(url: str) -> None:
    """Migration 0011 on the rows of builders.fill_at_0010: each generation's resolved spec is
    the spec it held, with the credentials in an old row's URL hidden."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = dict(
            connection.execute(text("SELECT id, resolved_spec FROM generations ORDER BY id")).all()
        )
    engine.dispose()
    assert rows == {
        1: "ollama:llava:7b",
        2: "qwen",
        3: "openai:m@http://***@gpu:8000/v1?api_key=***",
    }


def check_after_0012(url: str) -> None:
    """Migration 0012 on the clips of builders.fill_at_0011: each scored again with the
    normalisation that knows languages, worked by hand."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, wer, cer, word_errors, reference_words FROM generations ORDER BY id")
        ).all()
    engine.dispose()
    figures = {gid: (wer, cer, errors, words) for gid, wer, cer, errors, words in rows}
    # 1: both read "цены выросли на десять процентов за год": 0 errors of 7 words.
    assert figures[1] == (0.0, 0.0, 0, 7)
    # 2: the stress mark dropped and ё written е: "молоко еще свежее" on both sides.
    assert figures[2] == (0.0, 0.0, 0, 3)
    # 3: English as before: "the" -> "a", 1 of 6 words; 1 substituted and 2 deleted
    # characters of 22 ("the cat sat on the mat").
    assert figures[3][2:] == (1, 6)
    assert figures[3][0] == pytest.approx(1 / 6) and figures[3][1] == pytest.approx(3 / 22)
    # 4: one word before; now 我 爱 北 京 against 我 爱 上 海: 2 of 4 words and characters.
    assert figures[4] == (0.5, 0.5, 2, 4)
    # 5: its set item says fr: "il a dix ans" on both sides (the script guess read "ten").
    assert figures[5] == (0.0, 0.0, 0, 4)
    # 6: a WER without its transcript cannot be scored again and keeps its figures.
    assert figures[6] == (0.5, 0.25, 3, 6)
