"""Leaderboard figures against independent computations: plain Python over the rows inserted."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineup.metrics import median_or_none, vlm_leaderboard, wilson_interval
from lineup.models import Label
from lineup.scoring import corpus_wer, normalize, score
from lineup.store import Store

STATES = ["ok"] * 6 + ["error", "timeout", "cancelled", "interrupted", "running"]
FAILURE_KEYS = {"error": "errors", "timeout": "timeouts", "cancelled": "cancelled"}
FAILURE_KEYS["interrupted"] = "interrupted"
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Our meeting starts at 10 o'clock and should take about 45 minutes.",
    "She sold 3,500 tickets on the 21st of June.",
    "Turn left at the second light.",
]


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half), 100 * (centre + half)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (7, 10), (3, 40), (50, 50)])
def test_wilson_interval_matches_the_formula(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    expected_low, expected_high = wilson_by_hand(k, n)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)
    assert wilson_interval(0, 0) == (None, None)


@pytest.mark.parametrize(
    "values",
    [[3.0], [1.0, 9.0], [5.0, None, 1.0, 3.0], [None, float("nan")], [], [2.0, 2.0, 1.0, 7.0]],
)
def test_median_or_none_matches_the_statistics_module(values: list[float | None]) -> None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    assert median_or_none(values) == (statistics.median(present) if present else None)


# A store filled at random, and every figure computed again in plain Python --------------------


@dataclass
class Inserted:
    """What fill_store wrote: one dict per generation and per label."""

    generations: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)


def _maybe(rng: random.Random, value: float, none_share: float) -> float | None:
    return None if rng.random() < none_share else value


def fill_store(store: Store, seed: int = 7) -> Inserted:
    """VLM answers and voice clips of every state with gaps in every figure, labels by several
    annotators (relabels, ties in created_at, labels given later with a smaller id, labels on
    failed rows as an old build wrote them), and a spec stored under both kinds."""
    rng = random.Random(seed)
    inserted = Inserted()
    models = ["m:a", "m:b", "m:c-one-answer", "both:spec", "m:no-labels"]
    voices = ["v:a", "v:b", "both:spec", "v:in-process"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for kind, specs, runs in (("vlm", models, 18), ("tts", voices, 14)):
        for r in range(runs):
            sentence = SENTENCES[r % len(SENTENCES)]
            run_id = store.create_run(kind, sentence if kind == "tts" else f"question {r}")
            for spec in specs:
                if spec == "m:c-one-answer" and r:
                    continue
                for _ in range(1 if kind == "vlm" else rng.choice([1, 2])):
                    status = "ok" if spec == "m:c-one-answer" else rng.choice(STATES)
                    gid = store.add_generation(run_id, spec)
                    row: dict[str, Any] = {"id": gid, "kind": kind, "spec": spec}
                    row |= {"status": status, "sentence": sentence}
                    figures: dict[str, Any] = {}
                    if kind == "vlm":
                        ttft = round(rng.uniform(0.1, 2.0), 3)
                        figures = {
                            "output_text": "x",
                            "ttft_s": _maybe(rng, ttft, 0.15),
                            "total_s": _maybe(rng, ttft + rng.uniform(0.1, 3.0), 0.1),
                            "tokens_per_s": _maybe(rng, rng.uniform(5, 90), 0.2),
                        }
                    else:
                        transcript = rng.choice(
                            [sentence, sentence.lower().replace("the", "a"), "uh " + sentence]
                        )
                        scored = rng.random() > 0.2
                        result = score(sentence, transcript)
                        figures = {
                            "transcript": transcript if scored else None,
                            "wer": result.wer if scored else None,
                            "word_errors": result.word_errors if scored else None,
                            "reference_words": result.reference_words if scored else None,
                            "cer": _maybe(rng, result.cer, 0.1) if scored else None,
                            "rtf": _maybe(rng, rng.uniform(0.01, 2.0), 0.1),
                            "gen_s": _maybe(rng, rng.uniform(0.1, 9.0), 0.1),
                            "peak_mem_mb": rng.uniform(100, 900)
                            if spec == "v:in-process"
                            else None,
                        }
                    if status != "running":
                        error = None if status == "ok" else f"{status}: down"
                        store.finish_generation(gid, status, error=error, **figures)
                    else:
                        figures = {}
                    inserted.generations.append(row | figures)
    # A WER stored without its transcript (no build writes one): not a scored clip.
    gid = store.add_generation(store.create_run("tts", SENTENCES[0]), "v:a")
    words = len(normalize(SENTENCES[0]).split())
    store.finish_generation(
        gid, "ok", wer=1.0, word_errors=words, reference_words=words, cer=0.2, rtf=0.3, gen_s=1.0
    )
    inserted.generations.append(
        {"id": gid, "kind": "tts", "spec": "v:a", "status": "ok", "sentence": SENTENCES[0]}
        | {"transcript": None, "wer": 1.0, "cer": 0.2, "rtf": 0.3, "gen_s": 1.0}
    )

    moment = start + timedelta(days=30)
    with store.session() as session:
        for generation in inserted.generations:
            if generation["spec"] == "m:no-labels" or rng.random() < 0.35:
                continue
            if generation["status"] != "ok" and rng.random() < 0.7:
                continue  # labels on failed rows: an old build wrote some
            for annotator in rng.sample(["ana", "bob", "cy"], rng.randint(1, 3)):
                for _ in range(rng.choice([1, 1, 2, 3])):
                    # A relabel in the same microsecond (a double click), a label given later
                    # with a smaller id (written by a slower process), or simply later.
                    step = rng.choice([0, 0, 1, 7, -5])
                    moment += timedelta(microseconds=step)
                    label = Label(
                        generation_id=generation["id"],
                        annotator=annotator,
                        relevance=rng.choice(["relevant", "partial", "irrelevant"]),
                        created_at=moment,
                    )
                    session.add(label)
                    session.flush()
                    inserted.labels.append(
                        {
                            "id": label.id,
                            "generation_id": generation["id"],
                            "annotator": annotator,
                            "relevance": label.relevance,
                            "created_at": moment,
                        }
                    )
    return inserted


def counted_labels(inserted: Inserted, kind: str) -> dict[str, list[str]]:
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
    }


def failures(rows: list[dict[str, Any]]) -> dict[str, int]:
    states = [r["status"] for r in rows]
    counts = {key: states.count(state) for state, key in FAILURE_KEYS.items()}
    return {"failed": sum(s not in ("ok", "running") for s in states), **counts}


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def expected_vlm(inserted: Inserted) -> list[dict[str, Any]]:
    labels = counted_labels(inserted, "vlm")
    rows = []
    specs = sorted({g["spec"] for g in inserted.generations if g["kind"] == "vlm"})
    for model in specs:
        mine = [g for g in inserted.generations if g["kind"] == "vlm" and g["spec"] == model]
        ok = [g for g in mine if g["status"] == "ok"]
        timed = [g for g in ok if g.get("ttft_s") is not None and g.get("total_s") is not None]
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
                "median_tokens_per_s": median([g.get("tokens_per_s") for g in ok]),
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
    labels = counted_labels(inserted, "tts")
    rows = []
    for voice in sorted({g["spec"] for g in inserted.generations if g["kind"] == "tts"}):
        mine = [g for g in inserted.generations if g["kind"] == "tts" and g["spec"] == voice]
        ok = [g for g in mine if g["status"] == "ok"]
        scored = [g for g in ok if g.get("wer") is not None and g.get("transcript") is not None]
        wers = [g["wer"] for g in scored]
        cers = [g["cer"] for g in scored if g.get("cer") is not None]
        peaks = [g["peak_mem_mb"] for g in ok if g.get("peak_mem_mb") is not None]
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
                "median_rtf": median([g.get("rtf") for g in ok]),
                "median_gen_s": median([g.get("gen_s") for g in ok]),
                "peak_mem_mb": max(peaks) if peaks else None,
                "labels": counts["labels"],
                **{k: counts[k] for k in ("relevant", "partial", "irrelevant", "pct_relevant")},
                "pct_relevant_ci_low": counts["pct_relevant_ci_low"],
                "pct_relevant_ci_high": counts["pct_relevant_ci_high"],
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


@pytest.fixture
def filled(store: Store) -> Inserted:
    return fill_store(store)


def test_every_vlm_figure_matches_plain_python_over_the_inserted_rows(
    store: Store, filled: Inserted
) -> None:
    expected = expected_vlm(filled)
    assert_same_rows(vlm_leaderboard(store), expected)
    # The data covers what the figures must get right.
    by_model = {row["model"]: row for row in expected}
    assert (
        by_model["m:no-labels"]["labels"] == 0 and by_model["m:no-labels"]["pct_relevant"] is None
    )
    assert by_model["m:c-one-answer"]["timed"] in (0, 1)
    assert {row["timed"] % 2 for row in expected if row["timed"] > 1} == {0, 1}
    assert any(row["failed"] for row in expected)


def test_a_spec_stored_under_both_kinds_is_counted_in_each_kind_apart(
    store: Store, filled: Inserted
) -> None:
    [row] = [r for r in vlm_leaderboard(store) if r["model"] == "both:spec"]
    vlm_rows = [g for g in filled.generations if g["spec"] == "both:spec" and g["kind"] == "vlm"]
    assert row["generations"] == len(vlm_rows)


def test_latest_label_is_by_created_at_then_by_id(store: Store) -> None:
    gid = store.add_generation(store.create_run("vlm", "q"), "m:a")
    store.finish_generation(gid, "ok", output_text="x", ttft_s=0.1, total_s=0.2)
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with store.session() as session:
        # ana: the later label wins even though it was written first (smaller id).
        session.add(
            Label(
                generation_id=gid,
                annotator="ana",
                relevance="relevant",
                created_at=moment + timedelta(seconds=1),
            )
        )
        session.add(
            Label(generation_id=gid, annotator="ana", relevance="irrelevant", created_at=moment)
        )
        # bob: two labels in the same microsecond: the greater id wins.
        session.add(
            Label(generation_id=gid, annotator="bob", relevance="irrelevant", created_at=moment)
        )
        session.add(
            Label(generation_id=gid, annotator="bob", relevance="partial", created_at=moment)
        )
    [row] = vlm_leaderboard(store)
    assert (row["labels"], row["relevant"], row["partial"], row["irrelevant"]) == (2, 1, 1, 0)


def test_an_empty_store_has_empty_leaderboards(store: Store) -> None:
    from lineup.tts_metrics import tts_leaderboard

    assert vlm_leaderboard(store) == []
    assert tts_leaderboard(store) == []
    store.add_generation(store.create_run("vlm", "q"), "m:running")
    [row] = vlm_leaderboard(store)
    assert (row["generations"], row["answers"], row["failed"], row["timed"]) == (1, 0, 0, 0)
    assert row["median_ttft_s"] is None and row["pct_relevant"] is None


def test_a_failed_answer_labeled_relevant_does_not_make_its_model_relevant(store: Store) -> None:
    model = "openai:qwen@http://127.0.0.1:8000/v1"
    failed = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(failed, "error", error="HTTP 500 Internal Server Error", total_s=0.1)
    # The store refuses such a label today; a row labeled by an older build is written as it was.
    with store.session() as session:
        session.add(Label(generation_id=failed, annotator="ana", relevance="relevant"))
    answered = store.add_generation(store.create_run("vlm", "q"), model)
    store.finish_generation(answered, "ok", output_text="x", ttft_s=0.5, total_s=1.0)
    store.add_label(answered, "irrelevant", annotator="ana")

    [row] = vlm_leaderboard(store)
    assert (row["labels"], row["relevant"], row["irrelevant"]) == (1, 0, 1)
    assert row["pct_relevant"] == 0.0
    assert (row["failed"], row["errors"]) == (1, 1)


def test_failures_are_counted_per_state_and_their_timings_never_count(store: Store) -> None:
    model = "ollama:llava:7b"
    for status in ["ok", "error", "error", "timeout", "cancelled", "interrupted"]:
        gid = store.add_generation(store.create_run("vlm", "q"), model)
        figures = (
            {"ttft_s": 1.0, "total_s": 2.0} if status == "ok" else {"ttft_s": 9, "total_s": 99}
        )
        store.finish_generation(gid, status, output_text="x", tokens_per_s=5.0, **figures)
    store.add_generation(store.create_run("vlm", "q"), model)  # still running

    [row] = vlm_leaderboard(store)
    assert row["generations"] == 7
    assert row["answers"] == 1
    assert row["failed"] == 5
    assert (row["errors"], row["timeouts"], row["cancelled"], row["interrupted"]) == (2, 1, 1, 1)
    assert (row["median_ttft_s"], row["median_total_s"]) == (1.0, 2.0)


def test_median_ttft_never_exceeds_median_total(store: Store) -> None:
    # OCR: each answer arrives as one chunk, so TTFT = total. Some ok rows have a total but no
    # TTFT (an empty answer stored by an older build), and failed rows have a short total only:
    # medians over different rows gave a median TTFT of 1.2 s over a median total of 0.55 s.
    model = "ocr:eng+rus"
    rows = [
        ("ok", 1.0, 1.0),
        ("ok", 1.2, 1.2),
        ("ok", 2.0, 2.0),
        ("ok", None, 0.1),
        ("ok", None, 0.1),
        ("ok", None, 0.1),
        ("error", None, 0.05),
    ]
    for status, ttft, total in rows:
        gid = store.add_generation(store.create_run("vlm", "q"), model)
        store.finish_generation(gid, status, output_text="x", ttft_s=ttft, total_s=total)

    [row] = vlm_leaderboard(store)
    both = [(ttft, total) for status, ttft, total in rows if status == "ok" and ttft is not None]
    assert row["median_ttft_s"] == pytest.approx(statistics.median(t for t, _ in both))
    assert row["median_total_s"] == pytest.approx(statistics.median(t for _, t in both))
    assert row["median_ttft_s"] <= row["median_total_s"]
    assert row["timed"] == 3


def test_raw_export_streams_the_rows_of_one_kind_as_csv(store: Store, filled: Inserted) -> None:
    import csv
    import io

    from components.exports import write_csv
    from lineup.store import GENERATION_EXPORT_COLUMNS, LABEL_EXPORT_COLUMNS

    vlm = [g for g in filled.generations if g["kind"] == "vlm"]
    assert store.export_count("vlm", "generations") == len(vlm)
    rows = list(store.export_rows("vlm", "generations"))
    assert [row[0] for row in rows] == sorted(g["id"] for g in vlm)
    assert "heartbeat_at" not in GENERATION_EXPORT_COLUMNS
    by_id = {g["id"]: g for g in vlm}
    spec_at = GENERATION_EXPORT_COLUMNS.index("model_spec")
    ttft_at = GENERATION_EXPORT_COLUMNS.index("ttft_s")
    assert all(row[spec_at] == by_id[row[0]]["spec"] for row in rows)
    assert all(row[ttft_at] == by_id[row[0]].get("ttft_s") for row in rows)

    labels = list(store.export_rows("tts", "labels"))
    tts_ok = {g["id"] for g in filled.generations if g["kind"] == "tts" and g["status"] == "ok"}
    expected = sorted(lab["id"] for lab in filled.labels if lab["generation_id"] in tts_ok)
    assert [row[0] for row in labels] == expected == sorted(row[0] for row in labels)

    text = write_csv(LABEL_EXPORT_COLUMNS, labels).read().decode()
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(LABEL_EXPORT_COLUMNS)
    assert [int(row[0]) for row in parsed[1:]] == expected


def test_on_sqlite_every_leaderboard_query_reads_an_index_alone(
    store: Store, filled: Inserted
) -> None:
    """No query of either leaderboard scans a table or reads a row beside its index: the
    plans SQLite chooses without statistics (the app never runs ANALYZE)."""
    from sqlalchemy import event

    from lineup.tts_metrics import tts_leaderboard

    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        vlm_leaderboard(store)
        tts_leaderboard(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) > 10
    with store.engine.connect() as connection:
        for statement, params in statements:
            plan = [
                row[-1]
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            steps = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
            assert steps, (statement, plan)
            for step in steps:
                # Read with their rows: the labels that count (their flag is the index's
                # predicate), the normally empty index of WERs without a transcript, and the
                # scored clips when the test data holds such a WER (the fallback reads each
                # row's transcript).
                assert (
                    "COVERING INDEX" in step
                    or "ix_labels_counted" in step
                    or "without_transcript" in step
                    or "transcript IS NOT NULL" in statement
                ), (statement, plan)
